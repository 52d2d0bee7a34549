/*
 * kmemtop leaves itself out: its processes' task-context allocations
 * (loading programs and maps, reading them, its own files) are counted in
 * one counter instead of tracked (bpf/kmemtop.bpf.c, by_self).  Each
 * process that traces or reads a session writes its tgid into the
 * self_tgids map first and takes it out when it closes; slots of processes
 * that are gone are reused.
 */
import * as fs from 'fs';
import { raw } from '../bpf/libbpf';
import { BpfError } from '../bpf/object';
import { decodeSelf, encodeSelf, KMEMTOP_SELF } from '../abi/layout';
import * as log from '../log';

/* Pure: the slots with tgid added (in place of a free or dead slot); null when it does not fit. */
export function withTgid(slots: number[], tgid: number, alive: (pid: number) => boolean): number[] | null {
  const out = slots.map((t) => (t !== 0 && t !== tgid && !alive(t) ? 0 : t));
  if (out.includes(tgid)) return out;
  const free = out.indexOf(0);
  if (free < 0) return null;
  out[free] = tgid;
  return out;
}

export function withoutTgid(slots: number[], tgid: number): number[] {
  return slots.map((t) => (t === tgid ? 0 : t));
}

function alive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}

const KEY = Buffer.alloc(4);

function readSlots(fd: number): number[] {
  const v = Buffer.alloc(KMEMTOP_SELF.size);
  const err = raw.bpf_map_lookup_elem(fd, KEY, v);
  if (err) throw new BpfError('read self_tgids', -err);
  return decodeSelf(v);
}

function writeSlots(fd: number, slots: number[]): void {
  const err = raw.bpf_map_update_elem(fd, KEY, encodeSelf(slots), 0n);
  if (err) throw new BpfError('write self_tgids', -err);
}

/* List this process in the self_tgids map behind fd; false when every slot is taken (it is then traced). */
export function registerSelf(fd: number, tgid = process.pid): boolean {
  const next = withTgid(readSlots(fd), tgid, alive);
  if (!next) {
    log.warn('more than 8 kmemtop processes at once: this one is traced like any other');
    return false;
  }
  writeSlots(fd, next);
  return true;
}

export function unregisterSelf(fd: number, tgid = process.pid): void {
  writeSlots(fd, withoutTgid(readSlots(fd), tgid));
}
