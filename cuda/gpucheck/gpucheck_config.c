/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_config: default floors and the aiss.conf reader. */
#include "gpucheck_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gpucheck_floors_default(gpucheck_floors *f)
{
	f->hbm = 0.80;
	f->gemm = 0.50;
	f->fp32 = 0.70;
	f->fp64 = 0.70;
	f->pcie = 0.60;
	f->p2p = 0.50;
	f->expect_gpus = 0;
}

static int set_err(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills @err printf-style, sets errno to @e and returns -1. */
static int set_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

int gpucheck_floors_set(gpucheck_floors *f, const char *key, const char *value,
			char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
	    {"gpucheck.hbm_floor", offsetof(gpucheck_floors, hbm)},
	    {"gpucheck.gemm_floor", offsetof(gpucheck_floors, gemm)},
	    {"gpucheck.fp32_floor", offsetof(gpucheck_floors, fp32)},
	    {"gpucheck.fp64_floor", offsetof(gpucheck_floors, fp64)},
	    {"gpucheck.pcie_floor", offsetof(gpucheck_floors, pcie)},
	    {"gpucheck.p2p_floor", offsetof(gpucheck_floors, p2p)},
	};
	char *end;
	double v;

	if (!f || !key || !value)
		return set_err(err, errlen, EINVAL, "missing key or value");
	errno = 0;
	v = strtod(value, &end);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (errno || end == value || *end)
		return set_err(err, errlen, EINVAL, "%s: '%s' is not a number",
			       key, value);
	if (strcmp(key, "gpucheck.expect_gpus") == 0) {
		if (v < 0 || v > 64 || v != (int)v)
			return set_err(err, errlen, EINVAL,
				       "%s: '%s' is not a GPU count in 0..64",
				       key, value);
		f->expect_gpus = (int)v;
		return 0;
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (strcmp(key, keys[k].key) != 0)
			continue;
		if (!(v >= 0.0 && v <= 1.0))
			return set_err(
			    err, errlen, EINVAL,
			    "%s: '%s' is not a fraction of nominal in "
			    "0..1 (e.g. 0.80)",
			    key, value);
		*(double *)((char *)f + keys[k].off) = v;
		return 0;
	}
	return set_err(err, errlen, ENOENT, "unknown key '%s'%s", key,
		       " (see aiss-gpucheck(8) for the gpucheck.* keys)");
}

/* Trims @s in place; returns the first non-space character. */
static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int gpucheck_floors_load(gpucheck_floors *f, const char *path, char *err,
			 size_t errlen)
{
	char line[1024], msg[512];
	FILE *fp;
	int lineno = 0;

	fp = fopen(path, "r");
	if (!fp) {
		int e = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *hash, *eq, *key, *val;

		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key || *key == '[')
			continue;
		eq = strchr(key, '=');
		if (!eq)
			continue;
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		if (strncmp(key, "gpucheck.", 9) != 0)
			continue;
		if (gpucheck_floors_set(f, key, val, msg, sizeof(msg)) < 0) {
			int e = errno;
			if (err && errlen)
				snprintf(err, errlen, "%s:%d: %s", path, lineno,
					 msg);
			fclose(fp);
			errno = e;
			return -1;
		}
	}
	fclose(fp);
	return 0;
}
