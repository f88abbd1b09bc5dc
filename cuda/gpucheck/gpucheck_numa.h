/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_numa: runs host-link copies on the CPUs next to the GPU. */
#ifndef GPUCHECK_NUMA_H
#define GPUCHECK_NUMA_H

#include <sched.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parses a Linux CPU list ("0-47,96-143\n") into @set. Returns the number
 * of CPUs, or -1 with errno EINVAL when @text is not a CPU list (or names
 * a CPU beyond CPU_SETSIZE).
 */
int gpucheck_parse_cpulist(const char *text, cpu_set_t *set);

/*
 * Binds the calling thread to the CPUs local to PCI device
 * @domain:@bus:@dev.0 (its local_cpulist under @sysfs_root, "/sys"
 * normally), so that pinned host buffers it allocates and touches live on
 * the GPU's socket. The previous affinity goes to @old for
 * gpucheck_unbind(). Returns 0, or -1 with errno (ENOENT: no such device
 * or list; EINVAL: unreadable list or no usable CPU in it); the affinity
 * is then unchanged.
 */
int gpucheck_bind_near_pci(const char *sysfs_root, int domain, int bus, int dev,
			   cpu_set_t *old);

/* Restores the affinity @old saved by gpucheck_bind_near_pci(). */
void gpucheck_unbind(const cpu_set_t *old);

#ifdef __cplusplus
}
#endif
#endif
