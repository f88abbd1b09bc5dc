/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss-topo: show a GPU node, write its gres.conf, try placements. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_topo.h"

static void usage(FILE *f)
{
	fputs(
	    "usage: aiss-topo [--xml FILE] [--nvsmi FILE] [--type NAME]\n"
	    "                 [--nodename NAME] [--dev-prefix PATH]\n"
	    "                 [--policy first-fit|pairwise|topo]\n"
	    "                 show | gres | place K [FREE]\n"
	    "  show        GPU/NIC/NUMA/core map of the node\n"
	    "  gres        gres.conf lines (Name=gpu Type= File= Cores= "
	    "Links=);\n"
	    "              File= is PATH<N> (default /dev/nvidia<N>)\n"
	    "  place K     choose K GPUs among FREE (e.g. 1-3,6; default all)\n"
	    "Without --xml the machine hwloc sees is used (HWLOC_XMLFILE is\n"
	    "honoured). --nvsmi FILE takes NVLink counts from the text of\n"
	    "`nvidia-smi topo -m` (\"-\": standard input).\n",
	    f);
}

/* Reads all of @path ("-": standard input); NULL on error. */
static char *read_file(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = len + 65536);

			if (!nb) {
				free(buf);
				if (f != stdin)
					fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (f != stdin)
		fclose(f);
	buf[len] = '\0';
	return buf;
}

static int do_place(aiss_node *node, int argc, char **argv,
		    enum aiss_place_policy pol)
{
	struct aiss_placement pl;
	uint32_t free_mask = aiss_node_all_gpus(node);
	char *end, cpus[1024];
	long k;

	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	k = strtol(argv[0], &end, 10);
	if (*end || k < 1 || k > AISS_MAX_GPUS) {
		fprintf(stderr, "aiss-topo: bad GPU count '%s'\n", argv[0]);
		return 2;
	}
	if (argc > 1) {
		aiss_cpuset s;

		if (aiss_cpuset_parse(&s, argv[1]) < 0) {
			fprintf(stderr, "aiss-topo: bad free list '%s'\n",
				argv[1]);
			return 2;
		}
		free_mask = (uint32_t)s.w[0];
	}
	if (aiss_place(node, free_mask, (int)k, pol, &pl) < 0) {
		fprintf(stderr, "aiss-topo: cannot place %ld GPUs: %s\n", k,
			errno == ENOSPC ? "not enough free GPUs"
					: strerror(errno));
		return 1;
	}
	printf("policy %s: GPUs", aiss_place_policy_name(pol));
	for (int i = 0; i < pl.ngpus; i++)
		printf("%s%d", i ? "," : " ", pl.order[i]);
	printf(" (span %s)\nNICs", aiss_level_name(pl.span));
	for (int i = 0; i < pl.nnics; i++)
		printf("%s%s", i ? "," : " ",
		       aiss_node_nic(node, pl.nic_order[i])->name);
	aiss_cpuset_format(&pl.cpus, cpus, sizeof(cpus));
	printf("%s\ncpus %s\n", pl.nnics ? "" : " -", cpus);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"xml", required_argument, NULL, 'x'},
	    {"nvsmi", required_argument, NULL, 'n'},
	    {"type", required_argument, NULL, 't'},
	    {"nodename", required_argument, NULL, 'N'},
	    {"dev-prefix", required_argument, NULL, 'd'},
	    {"policy", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *xml = NULL, *nvsmi = NULL, *type = NULL, *nodename = NULL;
	const char *dev_prefix = NULL;
	enum aiss_place_policy pol = AISS_PLACE_TOPO;
	char err[512];
	aiss_node *node;
	int c, rc;

	while ((c = getopt_long(argc, argv, "x:n:t:N:d:p:h", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'x':
			xml = optarg;
			break;
		case 'n':
			nvsmi = optarg;
			break;
		case 't':
			type = optarg;
			break;
		case 'N':
			nodename = optarg;
			break;
		case 'd':
			dev_prefix = optarg;
			break;
		case 'p':
			if (!strcmp(optarg, "first-fit"))
				pol = AISS_PLACE_FIRST_FIT;
			else if (!strcmp(optarg, "pairwise"))
				pol = AISS_PLACE_PAIRWISE;
			else if (!strcmp(optarg, "topo"))
				pol = AISS_PLACE_TOPO;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc ||
	    (strcmp(argv[optind], "show") && strcmp(argv[optind], "gres") &&
	     strcmp(argv[optind], "place"))) {
		usage(stderr);
		return 2;
	}
	node = aiss_topo_load(xml, err, sizeof(err));
	if (!node) {
		fprintf(stderr, "aiss-topo: %s\n", err);
		return 1;
	}
	if (nvsmi) {
		char *text = read_file(nvsmi);

		if (!text || aiss_topo_apply_nvsmi(node, text, 0) < 0) {
			fprintf(stderr,
				"aiss-topo: cannot use %s as "
				"`nvidia-smi topo -m` output\n",
				nvsmi);
			free(text);
			aiss_node_destroy(node);
			return 1;
		}
		free(text);
	}
	if (!strcmp(argv[optind], "show")) {
		rc = aiss_topo_write_show(node, stdout) < 0;
	} else if (!strcmp(argv[optind], "gres")) {
		rc = aiss_topo_write_gres(node, type, nodename, dev_prefix,
					  stdout) < 0;
	} else if (!strcmp(argv[optind], "place")) {
		rc = do_place(node, argc - optind - 1, argv + optind + 1, pol);
	} else {
		usage(stderr);
		rc = 2;
	}
	aiss_node_destroy(node);
	return rc;
}
