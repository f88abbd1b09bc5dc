/* SPDX-License-Identifier: GPL-2.0-or-later */
/* model.c: names, parsing and small helpers for the quota model's structs. */
#include "aiss_model.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const inst_names[AISS_INST__COUNT] = {
	"unknown", "university", "rd-centre", "enterprise", "government",
};

const char *aiss_inst_type_name(aiss_inst_type t)
{
	if ((int)t < 0 || (int)t >= AISS_INST__COUNT)
		return "unknown";
	return inst_names[t];
}

int aiss_inst_type_parse(const char *s, aiss_inst_type *out)
{
	static const struct {
		const char *name;
		aiss_inst_type t;
	} alias[] = {
		{"university", AISS_INST_UNIVERSITY},
		{"uni", AISS_INST_UNIVERSITY},
		{"rd-centre", AISS_INST_RD_CENTRE},
		{"rd_centre", AISS_INST_RD_CENTRE},
		{"rd-center", AISS_INST_RD_CENTRE},
		{"r&d", AISS_INST_RD_CENTRE},
		{"r&d-centre", AISS_INST_RD_CENTRE},
		{"enterprise", AISS_INST_ENTERPRISE},
		{"startup", AISS_INST_ENTERPRISE},
		{"government", AISS_INST_GOVERNMENT},
		{"gov", AISS_INST_GOVERNMENT},
	};
	if (!s)
		goto bad;
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
		if (strcasecmp(s, alias[i].name) == 0) {
			*out = alias[i].t;
			return 0;
		}
	}
bad:
	errno = EINVAL;
	return -1;
}

const char *aiss_grant_state_name(aiss_grant_state s)
{
	switch (s) {
	case AISS_GRANT_ACTIVE:
		return "active";
	case AISS_GRANT_SUSPENDED:
		return "suspended";
	case AISS_GRANT_CLOSED:
		return "closed";
	}
	return "unknown";
}

int aiss_grant_state_parse(const char *s, aiss_grant_state *out)
{
	for (int st = AISS_GRANT_ACTIVE; st <= AISS_GRANT_CLOSED; st++) {
		if (s && strcasecmp(s, aiss_grant_state_name(st)) == 0) {
			*out = (aiss_grant_state)st;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

int aiss_list_contains(const char *list, const char *item)
{
	size_t n;

	if (!list || !item || !*item)
		return 0;
	n = strlen(item);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, item, n) == 0)
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

/* Appends @src (@n bytes) to @buf at *@o, keeping room for the NUL. */
static void put(char *buf, size_t len, size_t *o, const char *src, size_t n)
{
	if (n > len - 1 - *o)
		n = len - 1 - *o;
	memcpy(buf + *o, src, n);
	*o += n;
}

/* Writes @v in decimal ending just before @end; returns where it starts. */
static char *put_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

char *aiss_run_key_format(const aiss_run_key *k, char *buf, size_t len)
{
	/* "cluster/job@start", without stdio (every reserve and settle
	 * formats its key), truncated as snprintf would. */
	char job[24], start[24], *j, *t;
	int64_t st = (int64_t)k->run_start;
	size_t o = 0;

	if (!buf || len == 0)
		return buf;
	j = put_u64(job + sizeof(job), k->job_id);
	*--j = '/';
	t = put_u64(start + sizeof(start),
		    st < 0 ? (uint64_t)0 - (uint64_t)st : (uint64_t)st);
	if (st < 0)
		*--t = '-';
	*--t = '@';
	put(buf, len, &o, k->cluster, strlen(k->cluster));
	put(buf, len, &o, j, (size_t)(job + sizeof(job) - j));
	put(buf, len, &o, t, (size_t)(start + sizeof(start) - t));
	buf[o] = '\0';
	return buf;
}
