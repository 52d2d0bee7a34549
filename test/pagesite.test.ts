/* A page site's key (pure): PAGE_SITE | migrate type << 8 | order, as bpf/kmemtop.bpf.c makes it. */
import { PAGE_SITE, zeroContexts } from '../src/abi/layout';
import { toSite } from '../src/model/snapshot';

const stats = (allocs: number, frees: number) => ({
  allocs: { ...zeroContexts(), task: allocs },
  frees: { ...zeroContexts(), softirq: frees },
  bytesReq: 0,
  untrackedAllocs: 0,
  freesUnseen: 0,
  failedAllocs: 0,
  sampledAllocs: 0,
});
const sym = { function: 'pipe_write', offset: 0x1a0, module: null };
const site = (type: bigint, order: bigint) => toSite({ idx: 1, key: { callSite: 0xffffffff81000000n, cache: PAGE_SITE | (type << 8n) | order }, stats: stats(10, 4) }, sym, null);

describe('page sites', () => {
  it('unmovable: page-order-N, order and type from the key, 4096 << order bytes each', () => {
    const s = site(0n, 3n);
    expect(s).toMatchObject({ allocator: 'page', kind: 'page', cache: 'page-order-3', order: 3, pageType: 'unmovable', objectSize: 32768, liveObjects: 6, liveBytes: 6 * 32768 });
  });

  it('reclaimable and other migrate types are named in the cache, so they stay separate rows', () => {
    expect(site(1n, 0n)).toMatchObject({ cache: 'page-order-0-reclaimable', pageType: 'reclaimable', order: 0 });
    expect(site(2n, 9n)).toMatchObject({ cache: 'page-order-9-other', pageType: 'other', order: 9 });
    /* A code this build does not know (a newer BPF object): "other", never a crash. */
    expect(site(7n, 0n)).toMatchObject({ pageType: 'other' });
  });
});
