/*
 * kmemtop's public surface, for the scripts (benchmarks, fixture capture)
 * and anything else that drives it as a library: the tracer, the pure
 * model, the outputs, and -- for tools that fill or inspect the maps --
 * the ABI layouts and the raw binding.
 */
export { Tracer, withTracer, preflightTracer } from './collect/tracer';
export type { TracerOptions, ReadOptions } from './collect/tracer';
export type { RawSnapshot } from './collect/raw';
export { Kallsyms } from './sys/kallsyms';
export { readMeminfo } from './sys/meminfo';
export { readSlabinfo } from './sys/slabinfo';
export { readSlabEntries } from './sys/slabaliases';
export { buildSnapshot } from './model/snapshot';
export { diffSites, phantomByGroup } from './model/diff';
export { toDocument, renderJson, renderText } from './output/report';
export { buildUiModel, History } from './ui/model';
export { renderFrame } from './ui/render';
export { initialState } from './ui/state';
export { SITE_KEY, SITE_STATS, KMEMTOP_STATE } from './abi/layout';
export { raw } from './bpf/libbpf';
export { perCpuValueSize, possibleCpus } from './bpf/map';
