/*
 * CONFIG_HZ from the kernel's config: parsed from a fixture captured from
 * this machine kind's /proc/config.gz, and read from the real one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { kernelHz, parseKconfigHz } from '../src/sys/kconfig';

describe('kernel config: CONFIG_HZ', () => {
  it('parses CONFIG_HZ=N and not its neighbours (CONFIG_HZ_250=y, CONFIG_HZ_PERIODIC, NO_HZ)', () => {
    const text = fs.readFileSync(path.join(__dirname, 'fixtures', 'kconfig-hz.txt'), 'utf8');
    expect(parseKconfigHz(text)).toBe(250);
    expect(parseKconfigHz(text.replace(/^CONFIG_HZ=250$/m, ''))).toBe(0);
    expect(parseKconfigHz('CONFIG_HZ=0\n')).toBe(0);
    expect(parseKconfigHz('')).toBe(0);
  });

  it('reads this kernel\'s tick rate (the allocation stamps then come from jiffies)', () => {
    expect([100, 250, 300, 1000]).toContain(kernelHz());
  });
});
