/*
 * Owning wrappers over libbpf objects, mirroring libbpf's lifecycle:
 * open -> configure (map sizes, autoload) -> load -> attach -> close.
 * Each step is a method; close() detaches every link and frees the object,
 * and is safe to call twice.  Lookups by name throw on a missing name.
 */
import koffi from 'koffi';
import { raw, lastErrno, errnoNames, registerPrint, Ptr, allocNative, freeNative, readNative, writeNative, TestRunOpts } from './libbpf';
import * as fs from 'fs';
import * as log from '../log';

export class BpfError extends Error {
  readonly errno: number;

  constructor(what: string, errno: number) {
    super(`${what}: ${errnoNames[errno] ?? 'errno ' + errno}`);
    this.name = 'BpfError';
    this.errno = errno;
  }
}

/* libbpf's messages, routed through kmemtop's log (quiet unless --verbose). */
let printCallback: unknown = null;
const libbpfLines: string[] = [];

function installPrint(): void {
  if (printCallback) return;
  /* A verifier log arrives as one message: room for all of it (a va_list cannot be formatted twice). */
  const buf = Buffer.alloc(1 << 20);
  printCallback = registerPrint((level: number, fmt: string, args: Ptr) => {
    const n = raw.vsnprintf(buf, buf.length, fmt, args);
    const text = buf.toString('utf8', 0, Math.max(0, Math.min(n, buf.length - 1))).trimEnd();
    /* Keep the last lines: they explain a failed load (verifier log). */
    libbpfLines.push(text);
    if (libbpfLines.length > 200) libbpfLines.shift();
    log.debug(`libbpf[${level}]: ${text}`);
    return 0;
  });
  raw.libbpf_set_print(printCallback);
}

/* The most recent libbpf messages, for error reports. */
export function recentLibbpfLog(): string[] {
  return libbpfLines.slice();
}

/* An fd for an object pinned on bpffs. */
export function objGet(path: string): number {
  const fd = raw.bpf_obj_get(path);
  if (fd < 0) throw new BpfError(`open pinned object ${path}`, -fd);
  return fd;
}

export class BpfMap {
  constructor(
    readonly name: string,
    private readonly ptr: Ptr,
  ) {}

  setMaxEntries(n: number): void {
    const err = raw.bpf_map__set_max_entries(this.ptr, n);
    if (err) throw new BpfError(`set max_entries of map ${this.name}`, -err);
  }

  setValueSize(n: number): void {
    const err = raw.bpf_map__set_value_size(this.ptr, n);
    if (err) throw new BpfError(`set value size of map ${this.name}`, -err);
  }

  /* Pin the (loaded) map at path on bpffs. */
  pin(path: string): void {
    const err = raw.bpf_map__pin(this.ptr, path);
    if (err) throw new BpfError(`pin map ${this.name} at ${path}`, -err);
  }

  /* Use an existing map (e.g. one pinned by another process) instead of creating it at load. */
  reuse(fd: number): void {
    const err = raw.bpf_map__reuse_fd(this.ptr, fd);
    if (err) throw new BpfError(`reuse map ${this.name}`, -err);
  }

  /* Initial contents of a global-data map (.rodata, .data, ...), before load. */
  setInitialValue(data: Buffer): void {
    if (data.length !== this.valueSize) {
      throw new Error(`initial value of map ${this.name}: ${data.length} bytes, map holds ${this.valueSize}`);
    }
    const err = raw.bpf_map__set_initial_value(this.ptr, data, data.length);
    if (err) throw new BpfError(`set initial value of map ${this.name}`, -err);
  }

  get maxEntries(): number {
    return raw.bpf_map__max_entries(this.ptr);
  }

  /* Kernel memory the map holds, as the kernel accounts it (memlock in its fdinfo). */
  get kernelBytes(): number {
    const m = /^memlock:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${this.fd}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  }

  get keySize(): number {
    return raw.bpf_map__key_size(this.ptr);
  }

  get valueSize(): number {
    return raw.bpf_map__value_size(this.ptr);
  }

  get type(): number {
    return raw.bpf_map__type(this.ptr);
  }

  /* Valid after load. */
  get fd(): number {
    const fd = raw.bpf_map__fd(this.ptr);
    if (fd < 0) throw new BpfError(`map ${this.name} has no fd (not loaded?)`, -fd);
    return fd;
  }
}

export class BpfProgram {
  constructor(
    readonly name: string,
    readonly ptr: Ptr,
  ) {}

  get sectionName(): string {
    return raw.bpf_program__section_name(this.ptr);
  }

  get autoload(): boolean {
    return raw.bpf_program__autoload(this.ptr);
  }

  set autoload(on: boolean) {
    const err = raw.bpf_program__set_autoload(this.ptr, on);
    if (err) throw new BpfError(`set autoload of program ${this.name}`, -err);
  }

  pin(path: string): void {
    const err = raw.bpf_program__pin(this.ptr, path);
    if (err) throw new BpfError(`pin program ${this.name} at ${path}`, -err);
  }

  /* Valid after load. */
  get fd(): number {
    const fd = raw.bpf_program__fd(this.ptr);
    if (fd < 0) throw new BpfError(`program ${this.name} has no fd (not loaded?)`, -fd);
    return fd;
  }

  /*
   * Run a loaded syscall program once (BPF_PROG_TEST_RUN) with ctx as its
   * context; the kernel copies the context back, so it returns what the
   * program left there, and its return value.
   */
  run(ctx: Buffer): { retval: number; ctx: Buffer } {
    const mem = allocNative(ctx.length);
    try {
      writeNative(mem, ctx);
      const opts = {
        sz: koffi.sizeof(TestRunOpts),
        data_in: null,
        data_out: null,
        data_size_in: 0,
        data_size_out: 0,
        ctx_in: mem,
        ctx_out: null,
        ctx_size_in: ctx.length,
        ctx_size_out: 0,
        retval: 0,
        repeat: 0,
        duration: 0,
        flags: 0,
        cpu: 0,
        batch_size: 0,
      };
      const err = raw.bpf_prog_test_run_opts(this.fd, opts);
      if (err) throw new BpfError(`run program ${this.name}`, -err || lastErrno());
      return { retval: opts.retval, ctx: readNative(mem, ctx.length) };
    } finally {
      freeNative(mem);
    }
  }
}

export class BpfLink {
  private ptr: Ptr | null;

  constructor(
    readonly program: string,
    ptr: Ptr,
  ) {
    this.ptr = ptr;
  }

  /* Pin the link: the program stays attached after this process ends, until the pin is removed. */
  pin(path: string): void {
    if (this.ptr === null) throw new Error(`link of ${this.program} is destroyed`);
    const err = raw.bpf_link__pin(this.ptr, path);
    if (err) throw new BpfError(`pin link of ${this.program} at ${path}`, -err);
  }

  destroy(): void {
    if (this.ptr === null) return;
    raw.bpf_link__destroy(this.ptr);
    this.ptr = null;
  }
}

export class BpfObject {
  private ptr: Ptr | null;
  private readonly links: BpfLink[] = [];
  private loaded = false;

  private constructor(
    readonly path: string,
    ptr: Ptr,
  ) {
    this.ptr = ptr;
  }

  /* Open (parse) a BPF ELF object; nothing reaches the kernel yet. */
  static open(path: string): BpfObject {
    installPrint();
    const ptr = raw.bpf_object__open_file(path, null) as Ptr | null;
    if (!ptr) throw new BpfError(`open BPF object ${path}`, lastErrno());
    return new BpfObject(path, ptr);
  }

  private get handle(): Ptr {
    if (this.ptr === null) throw new Error(`BPF object ${this.path} is closed`);
    return this.ptr;
  }

  map(name: string): BpfMap {
    const p = raw.bpf_object__find_map_by_name(this.handle, name) as Ptr | null;
    if (!p) throw new Error(`BPF object ${this.path} has no map named ${name}`);
    return new BpfMap(name, p);
  }

  program(name: string): BpfProgram {
    const p = raw.bpf_object__find_program_by_name(this.handle, name) as Ptr | null;
    if (!p) throw new Error(`BPF object ${this.path} has no program named ${name}`);
    return new BpfProgram(name, p);
  }

  programs(): BpfProgram[] {
    const out: BpfProgram[] = [];
    let p: Ptr | null = null;
    while ((p = raw.bpf_object__next_program(this.handle, p) as Ptr | null)) {
      out.push(new BpfProgram(raw.bpf_program__name(p), p));
    }
    return out;
  }

  /* Create the maps and verify and load the programs. */
  load(): void {
    const err = raw.bpf_object__load(this.handle);
    if (err) throw new BpfError(`load BPF object ${this.path}`, -err);
    this.loaded = true;
  }

  /* Attach one program as its section says (tp_btf/..., raw_tp/...). */
  attach(prog: BpfProgram): BpfLink {
    if (!this.loaded) throw new Error(`attach ${prog.name}: object not loaded`);
    const p = raw.bpf_program__attach(prog.ptr) as Ptr | null;
    if (!p) throw new BpfError(`attach program ${prog.name} (${prog.sectionName})`, lastErrno());
    const link = new BpfLink(prog.name, p);
    this.links.push(link);
    return link;
  }

  /* Detach every link, then free the object (maps and programs). Idempotent. */
  close(): void {
    /* Reverse attach order: a program attached to back up another goes first. */
    for (const link of this.links.splice(0).reverse()) link.destroy();
    if (this.ptr !== null) {
      raw.bpf_object__close(this.ptr);
      this.ptr = null;
    }
  }

  get closed(): boolean {
    return this.ptr === null;
  }
}
