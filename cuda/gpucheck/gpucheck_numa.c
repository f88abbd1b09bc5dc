/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_numa: CPU lists from sysfs and thread affinity near a GPU. */
#include "gpucheck_numa.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gpucheck_parse_cpulist(const char *text, cpu_set_t *set)
{
	const char *p = text;
	int count = 0;

	CPU_ZERO(set);
	if (!text)
		goto bad;
	while (*p && *p != '\n') {
		char *end;
		long lo, hi;

		if (!isdigit((unsigned char)*p))
			goto bad;
		lo = strtol(p, &end, 10);
		hi = lo;
		p = end;
		if (*p == '-') {
			if (!isdigit((unsigned char)p[1]))
				goto bad;
			hi = strtol(p + 1, &end, 10);
			p = end;
		}
		if (lo < 0 || hi < lo || hi >= CPU_SETSIZE)
			goto bad;
		for (long c = lo; c <= hi; c++) {
			if (!CPU_ISSET((int)c, set))
				count++;
			CPU_SET((int)c, set);
		}
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			goto bad;
	}
	if (count == 0)
		goto bad;
	return count;
bad:
	CPU_ZERO(set);
	errno = EINVAL;
	return -1;
}

int gpucheck_bind_near_pci(const char *sysfs_root, int domain, int bus, int dev,
			   cpu_set_t *old)
{
	char path[512], text[4096];
	cpu_set_t local, allowed, want;
	FILE *f;

	snprintf(path, sizeof(path),
		 "%s/bus/pci/devices/%04x:%02x:%02x.0/local_cpulist",
		 sysfs_root, domain, bus, dev);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(text, sizeof(text), f)) {
		fclose(f);
		errno = EINVAL;
		return -1;
	}
	fclose(f);
	if (gpucheck_parse_cpulist(text, &local) < 0)
		return -1;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -1;
	/* Only CPUs this process may use (cgroups, taskset). */
	CPU_AND(&want, &local, &allowed);
	if (CPU_COUNT(&want) == 0) {
		errno = EINVAL;
		return -1;
	}
	if (sched_setaffinity(0, sizeof(want), &want) < 0)
		return -1;
	*old = allowed;
	return 0;
}

void gpucheck_unbind(const cpu_set_t *old)
{
	sched_setaffinity(0, sizeof(*old), old);
}
