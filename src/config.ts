/* Defaults shared by the CLI and the tracer. */
export const DEFAULTS = {
  /* Live-object map capacity: preallocated, ~80 bytes of kernel memory per entry. */
  maxLive: 1 << 20,
  /* Call-site map capacity (per-CPU values). */
  maxSites: 16384,
  maxCaches: 4096,
  /* --stacks: distinct allocation stacks the stack map holds. */
  maxStacks: 16384,
  /* --stacks/--by-cgroup/--by-task: distinct (site, stack, cgroup, process) tuples counted. */
  maxDetails: 65536,
  /* --stacks without a depth: frames kept per stack. */
  stackDepth: 24,
};
