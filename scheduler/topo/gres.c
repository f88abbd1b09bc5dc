/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gres.conf lines and the readable map of a node model (no hwloc needed). */
#include "aiss_topo.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

void aiss_topo_gpu_type(const char *model, char *buf, size_t len)
{
	const char *p = model ? model : "";

	if (!buf || !len)
		return;
	while (*p) {
		size_t n = 0;

		while (p[n] && !isspace((unsigned char)p[n]) && p[n] != '-' &&
		       p[n] != '[' && p[n] != ']')
			n++;
		if (n >= 2 && isalpha((unsigned char)p[0]) &&
		    isdigit((unsigned char)p[1])) {
			size_t i;

			for (i = 0; i < n && i + 1 < len; i++)
				buf[i] = (char)tolower((unsigned char)p[i]);
			buf[i] = '\0';
			return;
		}
		p += n;
		while (*p && (isspace((unsigned char)*p) || *p == '-' ||
			      *p == '[' || *p == ']'))
			p++;
	}
	snprintf(buf, len, "gpu");
}

static const struct aiss_package_desc *package_of(const aiss_node *node,
						  int pkg_id)
{
	for (int i = 0; i < aiss_node_package_count(node); i++) {
		const struct aiss_package_desc *p = aiss_node_package(node, i);

		if (p->id == pkg_id)
			return p;
	}
	return NULL;
}

static int has_nvlink(const aiss_node *node)
{
	int n = aiss_node_gpu_count(node);

	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++)
			if (aiss_node_nvlink(node, a, b))
				return 1;
	return 0;
}

int aiss_topo_write_gres(const aiss_node *node, const char *type,
			 const char *nodename, const char *dev_prefix,
			 FILE *out)
{
	int n = aiss_node_gpu_count(node), links = has_nvlink(node);
	uint32_t unit = aiss_node_nvlink_unit(node);
	char tbuf[32];

	if (!node || !out || n == 0) {
		errno = EINVAL;
		return -1;
	}
	fprintf(out,
		"# gres.conf for %s by aiss-topo: %d GPUs; Cores= is the "
		"GPU's whole socket, Links= counts NVLinks (%u MB/s "
		"each, NVSwitch paths included)\n",
		aiss_node_name(node), n, unit);
	for (int g = 0; g < n; g++) {
		const struct aiss_device_desc *d = aiss_node_gpu(node, g);
		const struct aiss_package_desc *p =
		    package_of(node, d->dom[AISS_LVL_PACKAGE]);

		if (type)
			snprintf(tbuf, sizeof(tbuf), "%s", type);
		else
			aiss_topo_gpu_type(d->model, tbuf, sizeof(tbuf));
		if (nodename)
			fprintf(out, "NodeName=%s ", nodename);
		fprintf(out, "Name=gpu Type=%s File=%s%d", tbuf,
			dev_prefix ? dev_prefix : "/dev/nvidia", g);
		if (p && p->ncores > 0) {
			if (p->ncores == 1)
				fprintf(out, " Cores=%d", p->core_first);
			else
				fprintf(out, " Cores=%d-%d", p->core_first,
					p->core_first + p->ncores - 1);
		}
		if (links) {
			fputs(" Links=", out);
			for (int h = 0; h < n; h++)
				fprintf(out, "%s%d", h ? "," : "",
					h == g ? -1
					       : (int)(aiss_node_nvlink(node, g,
									h) /
						       unit));
		}
		fputc('\n', out);
	}
	if (fflush(out) || ferror(out))
		return -1;
	return 0;
}

/* Small ordinal for a domain id at @lvl, in order of first appearance
 * among GPUs then NICs; -1 stays -1. */
static int ordinal(const aiss_node *node, int lvl, int id)
{
	int seen[2 * AISS_MAX_GPUS + AISS_MAX_NICS], n = 0;

	if (id < 0)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		int cnt = pass ? aiss_node_nic_count(node)
			       : aiss_node_gpu_count(node);

		for (int i = 0; i < cnt; i++) {
			const struct aiss_device_desc *d =
			    pass ? aiss_node_nic(node, i)
				 : aiss_node_gpu(node, i);
			int v = d->dom[lvl], k;

			if (v < 0)
				continue;
			for (k = 0; k < n; k++)
				if (seen[k] == v)
					break;
			if (k == n)
				seen[n++] = v;
			if (v == id)
				return k;
		}
	}
	return -1;
}

static void dom_text(const aiss_node *node, const struct aiss_device_desc *d,
		     int lvl, const char *prefix, char *buf, size_t len)
{
	int o = ordinal(node, lvl, d->dom[lvl]);

	if (o < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s%d", prefix, o);
}

static void show_device(const aiss_node *node, const struct aiss_device_desc *d,
			int idx, const char *extra, FILE *out)
{
	char sw[16], hb[16], numa[16], pkg[16], cpus[256];

	dom_text(node, d, AISS_LVL_SWITCH, "sw", sw, sizeof(sw));
	dom_text(node, d, AISS_LVL_HOSTBRIDGE, "hb", hb, sizeof(hb));
	if (d->dom[AISS_LVL_NUMA] >= 0)
		snprintf(numa, sizeof(numa), "%d", d->dom[AISS_LVL_NUMA]);
	else
		snprintf(numa, sizeof(numa), "-");
	if (d->dom[AISS_LVL_PACKAGE] >= 0)
		snprintf(pkg, sizeof(pkg), "%d", d->dom[AISS_LVL_PACKAGE]);
	else
		snprintf(pkg, sizeof(pkg), "-");
	aiss_cpuset_format(&d->cpus, cpus, sizeof(cpus));
	fprintf(out, "  %-3d %-12s %-12s %-6s %-5s %-4s %-7s %-20s %-8s %s\n",
		idx, d->name, d->busid, sw, hb, numa, pkg, cpus, extra,
		d->model);
}

int aiss_topo_write_show(const aiss_node *node, FILE *out)
{
	int n = aiss_node_gpu_count(node), nn = aiss_node_nic_count(node);
	static const char lvl_char[AISS_LVL__COUNT] = {'S', 'H', 'N', 'P', 'X'};

	if (!node || !out) {
		errno = EINVAL;
		return -1;
	}
	fprintf(out, "node %s: %d packages, %d GPUs, %d NICs\n",
		aiss_node_name(node), aiss_node_package_count(node), n, nn);
	for (int i = 0; i < aiss_node_package_count(node); i++) {
		const struct aiss_package_desc *p = aiss_node_package(node, i);
		char cpus[512];

		aiss_cpuset_format(&p->cpus, cpus, sizeof(cpus));
		fprintf(out, "package %d: cores %d-%d (%d), cpus %s\n", p->id,
			p->core_first, p->core_first + p->ncores - 1, p->ncores,
			cpus);
	}
	fprintf(out,
		"\nGPUs:\n  %-3s %-12s %-12s %-6s %-5s %-4s %-7s %-20s "
		"%-8s %s\n",
		"#", "name", "pci", "switch", "hbr", "numa", "package", "cpus",
		"nic", "model");
	for (int g = 0; g < n; g++) {
		struct aiss_placement pl;
		char nic[32] = "-";

		if (aiss_place_describe(node, 1U << g, &pl) == 0 && pl.nnics)
			snprintf(nic, sizeof(nic), "%s",
				 aiss_node_nic(node, pl.nic_order[0])->name);
		show_device(node, aiss_node_gpu(node, g), g, nic, out);
	}
	if (nn) {
		fprintf(out,
			"\nNICs:\n  %-3s %-12s %-12s %-6s %-5s %-4s %-7s "
			"%-20s %-8s %s\n",
			"#", "name", "pci", "switch", "hbr", "numa", "package",
			"cpus", "netdev", "model");
		for (int i = 0; i < nn; i++) {
			const struct aiss_device_desc *d =
			    aiss_node_nic(node, i);
			show_device(node, d, i, d->netdev[0] ? d->netdev : "-",
				    out);
		}
	}
	fprintf(out,
		"\nGPU pairs: locality (S switch, H host bridge, N NUMA, "
		"P package, X node) and NVLinks (x %u MB/s)\n      ",
		aiss_node_nvlink_unit(node));
	for (int h = 0; h < n; h++)
		fprintf(out, " GPU%-3d", h);
	fputc('\n', out);
	for (int g = 0; g < n; g++) {
		fprintf(out, "GPU%-3d", g);
		for (int h = 0; h < n; h++) {
			if (g == h)
				fprintf(out, "  %-5s", "-");
			else
				fprintf(
				    out, "  %c%-4u",
				    lvl_char[aiss_node_pair_level(node, g, h)],
				    aiss_node_nvlink(node, g, h) /
					aiss_node_nvlink_unit(node));
		}
		fputc('\n', out);
	}
	if (fflush(out) || ferror(out))
		return -1;
	return 0;
}
