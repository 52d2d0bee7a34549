/*
 * Raw FFI declarations of the libbpf (libbpf.so.1) and libc functions kmemtop
 * uses, through koffi.  Nothing here owns memory or interprets results: see
 * object.ts for the owning wrappers and map.ts for typed map access.
 *
 * Pointers come back from koffi as BigInt (NULL as null).  Buffers and typed
 * arrays are passed in place wherever a pointer is expected.
 */
import koffi from 'koffi';
import { KmemtopError } from '../errors';

export type Ptr = bigint;

/* The system's libbpf; without it, one line naming the package (bin/kmemtop prints it). */
function loadLibbpf(): ReturnType<typeof koffi.load> {
  try {
    return koffi.load('libbpf.so.1');
  } catch {
    throw new KmemtopError('kmemtop: libbpf.so.1 not found: install libbpf 1.x (Debian and Ubuntu: apt install libbpf1; Fedora: dnf install libbpf)');
  }
}

const libbpf = loadLibbpf();
const libc = koffi.load('libc.so.6');

/*
 * libbpf log callback: the message arrives as a format and a va_list.  koffi's
 * type names are process-wide, and jest loads this module once per test file:
 * reuse the type when it exists.
 */
function printFnType(): ReturnType<typeof koffi.proto> {
  const name = 'kmemtop_libbpf_print_fn';
  try {
    return koffi.type(name) as ReturnType<typeof koffi.proto>;
  } catch {
    return koffi.proto(`int ${name}(int level, const char *fmt, void *args)`);
  }
}
export const PrintFn = printFnType();

/*
 * struct bpf_test_run_opts (libbpf 1.0+, up to batch_size): how a syscall
 * program is run from user space.  Named once per process, as above.
 */
function testRunOptsType(): ReturnType<typeof koffi.struct> {
  const name = 'kmemtop_bpf_test_run_opts';
  try {
    return koffi.type(name) as ReturnType<typeof koffi.struct>;
  } catch {
    return koffi.struct(name, {
      sz: 'size_t',
      data_in: 'void *',
      data_out: 'void *',
      data_size_in: 'uint32_t',
      data_size_out: 'uint32_t',
      ctx_in: 'void *',
      ctx_out: 'void *',
      ctx_size_in: 'uint32_t',
      ctx_size_out: 'uint32_t',
      retval: 'uint32_t',
      repeat: 'int',
      duration: 'uint32_t',
      flags: 'uint32_t',
      cpu: 'uint32_t',
      batch_size: 'uint32_t',
    });
  }
}
export const TestRunOpts = testRunOptsType();

export const raw = {
  libbpf_set_print: libbpf.func('void *libbpf_set_print(kmemtop_libbpf_print_fn *fn)'),
  libbpf_num_possible_cpus: libbpf.func('int libbpf_num_possible_cpus()'),
  libbpf_major_version: libbpf.func('uint32_t libbpf_major_version()'),
  libbpf_minor_version: libbpf.func('uint32_t libbpf_minor_version()'),

  bpf_object__open_file: libbpf.func('void *bpf_object__open_file(const char *path, void *opts)'),
  bpf_object__load: libbpf.func('int bpf_object__load(void *obj)'),
  bpf_object__close: libbpf.func('void bpf_object__close(void *obj)'),
  bpf_object__find_map_by_name: libbpf.func('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
  bpf_object__find_program_by_name: libbpf.func('void *bpf_object__find_program_by_name(void *obj, const char *name)'),
  bpf_object__next_program: libbpf.func('void *bpf_object__next_program(void *obj, void *prev)'),

  bpf_program__name: libbpf.func('const char *bpf_program__name(void *prog)'),
  bpf_program__section_name: libbpf.func('const char *bpf_program__section_name(void *prog)'),
  bpf_program__set_autoload: libbpf.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
  bpf_program__autoload: libbpf.func('bool bpf_program__autoload(void *prog)'),
  bpf_program__fd: libbpf.func('int bpf_program__fd(void *prog)'),
  bpf_program__attach: libbpf.func('void *bpf_program__attach(void *prog)'),

  bpf_link__destroy: libbpf.func('int bpf_link__destroy(void *link)'),
  bpf_link__pin: libbpf.func('int bpf_link__pin(void *link, const char *path)'),
  bpf_program__pin: libbpf.func('int bpf_program__pin(void *prog, const char *path)'),
  bpf_map__pin: libbpf.func('int bpf_map__pin(void *map, const char *path)'),
  bpf_map__reuse_fd: libbpf.func('int bpf_map__reuse_fd(void *map, int fd)'),
  bpf_obj_get: libbpf.func('int bpf_obj_get(const char *path)'),

  bpf_map__fd: libbpf.func('int bpf_map__fd(void *map)'),
  bpf_map__set_max_entries: libbpf.func('int bpf_map__set_max_entries(void *map, uint32_t max_entries)'),
  bpf_map__set_value_size: libbpf.func('int bpf_map__set_value_size(void *map, uint32_t size)'),
  bpf_map__max_entries: libbpf.func('uint32_t bpf_map__max_entries(void *map)'),
  bpf_map__key_size: libbpf.func('uint32_t bpf_map__key_size(void *map)'),
  bpf_map__value_size: libbpf.func('uint32_t bpf_map__value_size(void *map)'),
  bpf_map__type: libbpf.func('int bpf_map__type(void *map)'),
  bpf_map__set_initial_value: libbpf.func('int bpf_map__set_initial_value(void *map, void *data, size_t size)'),

  bpf_map_lookup_elem: libbpf.func('int bpf_map_lookup_elem(int fd, void *key, void *value)'),
  bpf_map_update_elem: libbpf.func('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)'),
  bpf_map_get_next_key: libbpf.func('int bpf_map_get_next_key(int fd, void *key, void *next_key)'),
  bpf_map_lookup_batch: libbpf.func(
    'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, void *opts)',
  ),
  bpf_obj_get_info_by_fd: libbpf.func('int bpf_obj_get_info_by_fd(int fd, void *info, void *info_len)'),
  bpf_enable_stats: libbpf.func('int bpf_enable_stats(int type)'),
  bpf_prog_test_run_opts: libbpf.func('int bpf_prog_test_run_opts(int prog_fd, _Inout_ kmemtop_bpf_test_run_opts *opts)'),

  btf__parse: libbpf.func('void *btf__parse(const char *path, void *btf_ext)'),
  btf__free: libbpf.func('void btf__free(void *btf)'),
  btf__find_by_name_kind: libbpf.func('int32_t btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)'),
  btf__type_by_id: libbpf.func('void *btf__type_by_id(void *btf, uint32_t id)'),
  btf__type_cnt: libbpf.func('uint32_t btf__type_cnt(void *btf)'),
  btf__name_by_offset: libbpf.func('const char *btf__name_by_offset(void *btf, uint32_t offset)'),

  vsnprintf: libc.func('int vsnprintf(void *buf, size_t size, const char *fmt, void *args)'),
  close: libc.func('int close(int fd)'),
  /* Give the heap libbpf freed after load (vmlinux BTF for CO-RE, ~10 MB) back to the system. */
  malloc_trim: libc.func('int malloc_trim(size_t pad)'),
};

/* errno of the last call made through koffi on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

/* Native memory that stays put (a pointer a struct can carry), len bytes, zeroed. */
export function allocNative(len: number): unknown {
  const mem = koffi.alloc('uint8_t', len);
  koffi.encode(mem, koffi.array('uint8_t', len), new Array(len).fill(0));
  return mem;
}

export function freeNative(mem: unknown): void {
  koffi.free(mem as never);
}

/* len bytes of native memory from allocNative, copied into (or out of) a Buffer. */
export function writeNative(mem: unknown, data: Buffer): void {
  koffi.encode(mem as never, koffi.array('uint8_t', data.length), Array.from(data));
}

export function readNative(mem: unknown, len: number): Buffer {
  return Buffer.from(koffi.decode(mem as never, koffi.array('uint8_t', len, 'Typed')) as Uint8Array);
}

/* Copy len bytes of native memory at ptr. */
export function readMemory(ptr: Ptr, len: number): Buffer {
  return Buffer.from(koffi.view(ptr as never, len) as ArrayBuffer).subarray(0, len);
}

export function registerPrint(fn: (level: number, fmt: string, args: Ptr) => number): unknown {
  return koffi.register(fn, koffi.pointer(PrintFn));
}

export function unregister(cb: unknown): void {
  koffi.unregister(cb as never);
}

export const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(koffi.os.errno as Record<string, number>).map(([name, no]) => [no, name]),
);
