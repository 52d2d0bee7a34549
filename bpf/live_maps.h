/* SPDX-License-Identifier: GPL-2.0 */
/*
 * live_maps.h - the maps kmemtop.bpf.c keeps and sweep.bpf.c also works on
 * (the host hands the sweep the allocation object's own maps with
 * bpf_map__reuse_fd, so one definition serves both objects).  The sizes
 * here are defaults: the host sets them between open and load.
 */
#ifndef KMEMTOP_LIVE_MAPS_H
#define KMEMTOP_LIVE_MAPS_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 17);
	__type(key, __u32);
	__type(value, struct live_bucket);
} live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct live_value);
} live_overflow SEC(".maps");

/* Detail indices of the live slots (kmemtop.h struct live_detail): one element per bucket of live with details, else one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 17);
	__type(key, __u32);
	__type(value, struct live_detail);
} live_details SEC(".maps");

/* Live objects by age per site, written by each sweep (kmemtop.h struct site_age). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct site_age);
} site_ages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct site_key);
} site_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct site_stats);
} site_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kmemtop_state);
} state SEC(".maps");

/* Details (kmemtop.h): counters by index, shared by all CPUs (atomic adds); one entry without --stacks/--by-*. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct detail_stats);
} detail_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KMEMTOP_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

#endif /* KMEMTOP_LIVE_MAPS_H */
