/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_bind_apply: applies a bind plan to this process (affinity, memory). */
#include "aiss_bind.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif

static int numa_node_exists(int n)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
	return access(path, F_OK) == 0;
}

int aiss_bind_apply(const struct aiss_bind_plan *plan, char *why, size_t whylen)
{
	cpu_set_t now, want;
	int done = 0, n = 0;

	if (why && whylen)
		why[0] = '\0';
	if (!plan) {
		errno = EINVAL;
		return -1;
	}
	if (sched_getaffinity(0, sizeof(now), &now) < 0)
		return -1;
	CPU_ZERO(&want);
	for (int c = 0; c < AISS_MAX_CPUS && c < CPU_SETSIZE; c++)
		if (aiss_cpuset_isset(&plan->cpus, c) && CPU_ISSET(c, &now)) {
			CPU_SET(c, &want);
			n++;
		}
	if (n > 0) {
		if (sched_setaffinity(0, sizeof(want), &want) < 0)
			return -1;
		done |= AISS_BIND_APPLIED_CPUS;
	} else if (why && whylen) {
		snprintf(why, whylen,
			 "none of the GPUs' CPUs is usable here; "
			 "CPU affinity left as it was. ");
	}
	if (plan->mems) {
		int all = 1;

		for (int i = 0; i < 64; i++)
			if ((plan->mems >> i & 1) && !numa_node_exists(i))
				all = 0;
		if (all) {
			unsigned long mask = (unsigned long)plan->mems;

			if (syscall(SYS_set_mempolicy, MPOL_BIND, &mask,
				    (unsigned long)(8 * sizeof(mask) + 1)) < 0)
				return -1;
			done |= AISS_BIND_APPLIED_MEMS;
		} else if (why && whylen) {
			size_t used = strlen(why);

			snprintf(why + used, whylen - used,
				 "the GPUs' NUMA nodes are not all present "
				 "here; memory policy left as it was.");
		}
	}
	return done;
}
