/*
 * One BPF object's lifecycle, as every collector goes through it:
 *   open -> configure -> load -> attach -> pin (a session)   -> close
 *   open -> reopen the pinned maps, load no program (a reader) -> close
 * A collector names its object file and the maps a session pins (and a
 * reader reuses); which programs it attaches is their autoload flag, set
 * while configuring.  Failures to load or attach become one line that says
 * why (sys/preflight.ts); close() detaches and frees, and is safe twice.
 */
import * as path from 'path';
import { BpfError, BpfLink, BpfMap, BpfObject, objGet, recentLibbpfLog } from '../bpf/object';
import { explainBpfFailure } from '../sys/preflight';
import { makePinDirs } from '../session';

export interface ObjectSpec {
  /* The compiled object (build/NAME.bpf.o). */
  path: string;
  /* The maps a session pins and a reader of it reuses. */
  maps: readonly string[];
}

export interface ProgramRef {
  name: string;
  /* The tracepoint (section name without its type prefix). */
  tracepoint: string;
}

/* build/NAME next to dist/: where scripts/build puts the objects. */
/* The built BPF objects; KMEMTOP_BPF_DIR points elsewhere (scripts/bench-overhead measures variant builds so). */
export function objectPath(name: string): string {
  return path.resolve(process.env.KMEMTOP_BPF_DIR ?? path.resolve(__dirname, '..', '..', 'build'), name);
}

export class LoadedObject {
  private obj: BpfObject | null;
  private readonly links: BpfLink[] = [];

  private constructor(
    readonly spec: ObjectSpec,
    obj: BpfObject,
  ) {
    this.obj = obj;
  }

  /* Open (parse) the object: nothing in the kernel yet; configure it next. */
  static open(spec: ObjectSpec): LoadedObject {
    return new LoadedObject(spec, BpfObject.open(spec.path));
  }

  /* Open the object over the maps a session pinned under dir, with no program loaded. */
  static reopen(spec: ObjectSpec, dir: string): LoadedObject {
    const o = LoadedObject.open(spec);
    try {
      for (const name of spec.maps) o.object.map(name).reuse(objGet(path.join(dir, 'maps', name)));
      for (const p of o.object.programs()) p.autoload = false;
      o.object.load();
      return o;
    } catch (e) {
      o.close();
      throw e;
    }
  }

  get object(): BpfObject {
    if (!this.obj) throw new Error(`BPF object ${this.spec.path} is closed`);
    return this.obj;
  }

  map(name: string): BpfMap {
    return this.object.map(name);
  }

  /*
   * Turn off the programs whose tracepoint this kernel lacks (a raw_tp or
   * tp_btf program would fail to attach); returns those tracepoints.
   */
  skipMissingTracepoints(has: (tracepoint: string) => boolean): string[] {
    const off: string[] = [];
    for (const p of this.object.programs()) {
      const m = /^(raw_tp|tp_btf)\/(.+)$/.exec(p.sectionName);
      if (!m || !p.autoload || has(m[2])) continue;
      p.autoload = false;
      off.push(m[2]);
    }
    return off;
  }

  /* Create the maps, verify and load the programs. */
  load(): void {
    try {
      this.object.load();
    } catch (e) {
      if (e instanceof BpfError) throw explainBpfFailure(e, 'load', recentLibbpfLog());
      throw e;
    }
  }

  /* Attach every program that loaded, in the object's order (a *_nested program right after its primary). */
  attach(): void {
    for (const prog of this.object.programs().filter((p) => p.autoload)) {
      try {
        this.links.push(this.object.attach(prog));
      } catch (e) {
        if (e instanceof BpfError) throw explainBpfFailure(e, 'attach', recentLibbpfLog(), prog.sectionName);
        throw e;
      }
    }
  }

  get attached(): boolean {
    return this.links.length > 0;
  }

  /* The programs loaded, with their fds (for statistics). */
  programs(): (ProgramRef & { fd: number })[] {
    return this.object
      .programs()
      .filter((p) => p.autoload)
      .map((p) => ({ name: p.name, tracepoint: p.sectionName.replace(/^[^/]*\//, ''), fd: p.fd }));
  }

  /* Pin maps, programs and links under dir (root-only, see session.ts); returns the programs. */
  pin(dir: string): ProgramRef[] {
    makePinDirs(dir);
    for (const name of this.spec.maps) this.object.map(name).pin(path.join(dir, 'maps', name));
    for (const p of this.object.programs().filter((x) => x.autoload)) p.pin(path.join(dir, 'progs', p.name));
    for (const l of this.links) l.pin(path.join(dir, 'links', l.program));
    return this.programs().map(({ name, tracepoint }) => ({ name, tracepoint }));
  }

  /* Kernel memory of the spec's maps, as the kernel accounts it. */
  kernelBytes(): number {
    return this.spec.maps.reduce((n, m) => n + this.object.map(m).kernelBytes, 0);
  }

  /*
   * Stop tracing, keep the maps readable: primaries first, then the
   * *_nested programs (alone, a nested program handles every event, so
   * nothing is lost while the primaries go).
   */
  detach(): void {
    const links = this.links.splice(0);
    for (const l of links.filter((x) => !x.program.endsWith('_nested'))) l.destroy();
    for (const l of links.filter((x) => x.program.endsWith('_nested'))) l.destroy();
  }

  /* Detach and free everything. Safe to call twice; pinned links stay attached (a session). */
  close(): void {
    this.detach();
    if (this.obj) {
      this.obj.close();
      this.obj = null;
    }
  }
}
