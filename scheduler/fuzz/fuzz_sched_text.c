/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: trace CSV, nvidia-smi topo text, cpusets, GPU lists. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_bind.h"
#include "aiss_sim.h"
#include "aiss_topo.h"
#include "hgx_model.h"

/* The first byte picks the parser; the rest is its input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	aiss_node *node;

	if (size < 1 || size > 65536)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0: {
		FILE *f = fmemopen(text, size - 1 ? size - 1 : 1, "r");
		struct aiss_sim_job *jobs = NULL;
		size_t n = 0;

		if (f) {
			if (aiss_sim_read_trace(f, &jobs, &n, NULL) == 0) {
				node = test_hgx_node();
				struct aiss_sim_result r;

				if (n < 64)
					aiss_sim_run(node, 2, jobs, n,
						     AISS_PLACE_TOPO,
						     AISS_SIM_NODE_DEFAULT, &r);
				aiss_node_destroy(node);
				free(jobs);
			}
			fclose(f);
		}
		break;
	}
	case 1:
		node = test_hgx_node();
		aiss_topo_apply_nvsmi(node, text, 0);
		aiss_node_destroy(node);
		break;
	case 2: {
		aiss_cpuset s;
		char buf[64];

		if (aiss_cpuset_parse(&s, text) == 0)
			aiss_cpuset_format(&s, buf, sizeof(buf));
		break;
	}
	default: {
		/* "<step gpus>\n<CUDA_VISIBLE_DEVICES>" */
		struct aiss_bind_plan p;
		char *nl = strchr(text, '\n');

		if (nl)
			*nl = '\0';
		node = test_hgx_node();
		aiss_bind_plan_make(node, text, nl ? nl + 1 : NULL, &p);
		aiss_node_destroy(node);
		break;
	}
	}
	free(text);
	return 0;
}
