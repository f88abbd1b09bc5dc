/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_place: plain-C model of a GPU node; GPU/core/NIC placement on it. */
#ifndef AISS_PLACE_H
#define AISS_PLACE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The node model knows nothing of hwloc: scheduler/topo fills it from a live
 * machine or a recorded XML, tests build it by hand. Placement works on GPU
 * index masks (bit i = GPU i, GPUs in PCI bus order), so a decision is a few
 * table look-ups per candidate set.
 */

#define AISS_MAX_GPUS 32
#define AISS_MAX_NICS 32
#define AISS_MAX_CPUS 1024
#define AISS_MAX_DOMAINS 64

/* Locality levels, nearest first. A set of GPUs "spans" the nearest level
 * whose one domain holds all of them. */
enum aiss_level {
	AISS_LVL_SWITCH = 0,     /* same PCIe switch */
	AISS_LVL_HOSTBRIDGE = 1, /* same PCIe host bridge (root complex) */
	AISS_LVL_NUMA = 2,       /* same NUMA node */
	AISS_LVL_PACKAGE = 3,    /* same CPU socket */
	AISS_LVL_NODE = 4,       /* anywhere in the node */
	AISS_LVL__COUNT = 5
};

/* Short name of @lvl ("switch", "hostbridge", "numa", "package", "node"). */
const char *aiss_level_name(enum aiss_level lvl);

/* A set of CPUs (processing units by OS index). */
typedef struct aiss_cpuset {
	uint64_t w[AISS_MAX_CPUS / 64];
} aiss_cpuset;

void aiss_cpuset_zero(aiss_cpuset *s);
/* Adds @cpu; returns 0, or -1 with errno EINVAL when out of range. */
int aiss_cpuset_set(aiss_cpuset *s, int cpu);
int aiss_cpuset_isset(const aiss_cpuset *s, int cpu);
int aiss_cpuset_count(const aiss_cpuset *s);
void aiss_cpuset_or(aiss_cpuset *dst, const aiss_cpuset *src);
/* Lowest CPU in @s, or -1 when empty. */
int aiss_cpuset_first(const aiss_cpuset *s);
/* Writes @s as a list of ranges ("0-3,8,10-11") into @buf; returns the
 * length it needed (like snprintf), or -1 with errno EINVAL. */
int aiss_cpuset_format(const aiss_cpuset *s, char *buf, size_t len);
/* Parses a range list ("0-3,8"); returns 0, or -1 with errno EINVAL. */
int aiss_cpuset_parse(aiss_cpuset *s, const char *text);

/* One PCI device of the node: a GPU or a NIC. */
struct aiss_device_desc {
	char name[32];   /* OS device: "nvml0", "cuda0", "mlx5_0" */
	char busid[16];  /* "0000:34:00.0" */
	char model[64];  /* "NVIDIA H100 80GB HBM3", "ConnectX-7" */
	char netdev[16]; /* NIC: network interface ("ib0"), or "" */
	/* Domain ids at AISS_LVL_SWITCH..AISS_LVL_PACKAGE: equal ids mean the
	 * same switch/host bridge/NUMA node/package; -1 when unknown (the
	 * device is then alone in its domain at that level). NUMA uses the
	 * OS index, package the logical index. */
	int dom[4];
	aiss_cpuset cpus; /* CPUs near the device (its NUMA node's) */
};

/* One CPU package (socket): its cores as a range of logical core indices
 * (the numbering Slurm's gres.conf Cores= uses) and its CPUs. */
struct aiss_package_desc {
	int id; /* logical index */
	int core_first;
	int ncores;
	aiss_cpuset cpus;
};

typedef struct aiss_node aiss_node;

/* Creates an empty node model called @name (may be NULL). Returns NULL
 * with errno ENOMEM. Free with aiss_node_destroy(). */
aiss_node *aiss_node_create(const char *name);

/* Frees @node; NULL is accepted. */
void aiss_node_destroy(aiss_node *node);

/* Adds a GPU (copied). GPUs must be added in PCI bus order (that is the
 * /dev/nvidiaN order). Returns the GPU's index, or -1 with errno ENOSPC
 * (more than AISS_MAX_GPUS) or EINVAL. Un-finalizes the node. */
int aiss_node_add_gpu(aiss_node *node, const struct aiss_device_desc *gpu);

/* Adds a NIC (copied). Returns its index, or -1 with errno ENOSPC/EINVAL.
 * Un-finalizes the node. */
int aiss_node_add_nic(aiss_node *node, const struct aiss_device_desc *nic);

/* Adds a package (copied). Returns its index, or -1 with errno ENOSPC/EINVAL.
 */
int aiss_node_add_package(aiss_node *node, const struct aiss_package_desc *pkg);

/* Sets the NVLink bandwidth in MB/s between GPUs @a and @b (both ways).
 * Returns 0, or -1 with errno EINVAL. Un-finalizes the node. */
int aiss_node_set_nvlink(aiss_node *node, int a, int b, uint32_t mbps);

/* Precomputes the placement tables. Call after the last add/set and before
 * aiss_place(); calling it again is harmless. Returns 0, or -1 with errno
 * EINVAL when the node has no GPU. */
int aiss_node_finalize(aiss_node *node);

const char *aiss_node_name(const aiss_node *node);
int aiss_node_gpu_count(const aiss_node *node);
int aiss_node_nic_count(const aiss_node *node);
int aiss_node_package_count(const aiss_node *node);
/* The device/package at @i, or NULL when out of range. Owned by @node. */
const struct aiss_device_desc *aiss_node_gpu(const aiss_node *node, int i);
const struct aiss_device_desc *aiss_node_nic(const aiss_node *node, int i);
const struct aiss_package_desc *aiss_node_package(const aiss_node *node, int i);
/* NVLink bandwidth in MB/s between GPUs @a and @b (0: none or unknown). */
uint32_t aiss_node_nvlink(const aiss_node *node, int a, int b);
/* Bandwidth of one NVLink as this node's numbers imply (20000 for NVLink 1,
 * else 25000 MB/s); links between @a and @b = nvlink / this. */
uint32_t aiss_node_nvlink_unit(const aiss_node *node);
/* Nearest level at which GPUs @a and @b share a domain. */
enum aiss_level aiss_node_pair_level(const aiss_node *node, int a, int b);
/* Nearest level at which GPU @g and NIC @n share a domain. */
enum aiss_level aiss_node_nic_level(const aiss_node *node, int g, int n);
/* Mask of all GPUs of the node. */
uint32_t aiss_node_all_gpus(const aiss_node *node);

enum aiss_place_policy {
	AISS_PLACE_FIRST_FIT = 0, /* lowest free indices (Slurm w/o hints) */
	AISS_PLACE_PAIRWISE = 1,  /* go-gpuallocator's best effort */
	AISS_PLACE_TOPO = 2,      /* aiss: locality, then least fragmentation */
};

/* Short name of @p ("first-fit", "pairwise", "topo"). */
const char *aiss_place_policy_name(enum aiss_place_policy p);

/* A placement decision. */
struct aiss_placement {
	uint32_t gpus;                /* chosen GPUs (mask) */
	int ngpus;                    /* = popcount(gpus) */
	int order[AISS_MAX_GPUS];     /* chosen GPUs in locality order */
	uint32_t nics;                /* the NICs nearest the chosen GPUs */
	int nic_order[AISS_MAX_NICS]; /* those NICs, nearest GPU order */
	int nnics;
	aiss_cpuset cpus;     /* CPUs near the chosen GPUs */
	enum aiss_level span; /* nearest level holding all the GPUs */
};

/*
 * Chooses @k GPUs among @free_mask on @node with @policy and fills @out
 * (caller-owned). AISS_PLACE_TOPO picks, in this order of priority: the
 * nearest span (switch < host bridge < NUMA < package < node); the fewest
 * packages, NUMA nodes, host bridges, switches touched; the highest minimum
 * NVLink bandwidth between chosen pairs; the free set left with the most
 * whole packages, NUMA nodes, host bridges, switches; the highest NVLink
 * bandwidth sum; the lowest indices. Deterministic.
 * Returns 0, or -1 with errno EINVAL (bad argument, node not finalized) or
 * ENOSPC (fewer than @k GPUs free).
 */
int aiss_place(const aiss_node *node, uint32_t free_mask, int k,
	       enum aiss_place_policy policy, struct aiss_placement *out);

/* Fills @out for a given GPU set @gpus (e.g. the GPUs Slurm already gave a
 * job): locality order, nearest NICs, CPUs, span. Returns 0, or -1 with
 * errno EINVAL. */
int aiss_place_describe(const aiss_node *node, uint32_t gpus,
			struct aiss_placement *out);

/* The go-gpuallocator-style score of GPUs @a and @b (higher is better):
 * NVML's P2P kinds (same switch 50, multiple switches 40, host bridge 30,
 * same CPU 20, across CPUs 10) plus 100 per NVLink. AISS_PLACE_PAIRWISE
 * takes, as go-gpuallocator's best-effort policy does, the partition of the
 * free GPUs (padded to a multiple of k) into sets of k with the highest
 * total score, and from it the set with the highest score; k = 1 takes the
 * first free GPU. Where the partitions number over 2 million (16 free GPUs
 * in pairs or fours) it takes the best-scoring single set instead. */
int aiss_place_pair_score(const aiss_node *node, int a, int b);

#endif
