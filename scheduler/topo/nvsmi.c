/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parser of `nvidia-smi topo -m` text: the NVLink counts between GPUs. */
#include "aiss_topo.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Splits @line at tabs/spaces into @tok (pointers into @line, which is
 * modified). Returns the count. */
static int split(char *line, char **tok, int max)
{
	int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t\r", &save); t && n < max;
	     t = strtok_r(NULL, " \t\r", &save))
		tok[n++] = t;
	return n;
}

/* GPU<i> -> i, else -1. Drops ANSI colour codes nvidia-smi may print. */
static int gpu_label(const char *t)
{
	char *end;
	long v;

	while (*t == '\033') {
		const char *m = strchr(t, 'm');

		if (!m)
			return -1;
		t = m + 1;
	}
	if (strncmp(t, "GPU", 3) || !isdigit((unsigned char)t[3]))
		return -1;
	v = strtol(t + 3, &end, 10);
	if (*end && *end != '\033')
		return -1;
	return v < AISS_MAX_GPUS ? (int)v : -1;
}

int aiss_topo_apply_nvsmi(aiss_node *node, const char *text, unsigned link_mbps)
{
	char *copy, *save = NULL, *tok[128];
	int cols[128], ncols = -1, rows = 0, ngpu;
	uint32_t links[AISS_MAX_GPUS][AISS_MAX_GPUS];
	int seen[AISS_MAX_GPUS] = {0};

	if (!node || !text) {
		errno = EINVAL;
		return -1;
	}
	if (!link_mbps)
		link_mbps = 25000;
	ngpu = aiss_node_gpu_count(node);
	memset(links, 0, sizeof(links));
	copy = strdup(text);
	if (!copy)
		return -1;
	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int n = split(line, tok, 128), row;

		if (n == 0)
			continue;
		if (ncols < 0) {
			/* Header: the first line whose first token is GPU0. */
			if (gpu_label(tok[0]) != 0)
				continue;
			ncols = n;
			for (int i = 0; i < n; i++)
				cols[i] = gpu_label(tok[i]);
			continue;
		}
		row = gpu_label(tok[0]);
		if (row < 0)
			continue;
		if (row >= ngpu)
			goto error;
		for (int i = 1; i < n && i - 1 < ncols; i++) {
			int col = cols[i - 1];

			if (col < 0 || col >= ngpu)
				continue;
			if (!strncmp(tok[i], "NV", 2) &&
			    isdigit((unsigned char)tok[i][2]))
				links[row][col] =
				    (uint32_t)strtoul(tok[i] + 2, NULL, 10);
		}
		seen[row] = 1;
		rows++;
	}
	if (!rows)
		goto error;
	for (int a = 0; a < ngpu; a++)
		for (int b = a + 1; b < ngpu; b++)
			if (seen[a] && seen[b]) {
				uint32_t l = links[a][b] > links[b][a]
						 ? links[a][b]
						 : links[b][a];

				aiss_node_set_nvlink(node, a, b, l * link_mbps);
			}
	free(copy);
	if (aiss_node_finalize(node) < 0)
		return -1;
	return rows;
error:
	free(copy);
	errno = EINVAL;
	return -1;
}
