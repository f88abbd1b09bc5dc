/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plugin_conf.c: the Slurm plugins' configuration file, aiss-plugins.conf
 * (aissd has its own, aiss.conf(5)). */
#include "aiss_slurm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void aiss_plugin_conf_defaults(aiss_plugin_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = 200;
	c->settle_timeout_ms = 2000;
	c->fail_open = false;
	snprintf(c->spool_dir, sizeof(c->spool_dir), "%s",
		 AISS_SPOOL_DIR_DEFAULT);
	c->poll_interval_s = 10;
	c->stats_every = 1000;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcmp(v, "1") || !strcasecmp(v, "on"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
		 !strcmp(v, "0") || !strcasecmp(v, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return -1;
	*out = (int)x;
	return 0;
}

static int copy_str(const char *v, char *dst, size_t len)
{
	if (strlen(v) >= len)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_key(aiss_plugin_conf *c, const char *k, const char *v)
{
	if (!strcasecmp(k, "AissdSocket"))
		return copy_str(v, c->socket, sizeof(c->socket));
	if (!strcasecmp(k, "TimeoutMs"))
		return parse_int(v, 1, 60000, &c->timeout_ms);
	if (!strcasecmp(k, "SettleTimeoutMs"))
		return parse_int(v, 1, 600000, &c->settle_timeout_ms);
	if (!strcasecmp(k, "FailOpen"))
		return parse_bool(v, &c->fail_open);
	if (!strcasecmp(k, "Cluster"))
		return copy_str(v, c->cluster, sizeof(c->cluster));
	if (!strcasecmp(k, "SpoolDir"))
		return copy_str(v, c->spool_dir, sizeof(c->spool_dir));
	if (!strcasecmp(k, "PollInterval"))
		return parse_int(v, 1, 3600, &c->poll_interval_s);
	if (!strcasecmp(k, "StatsEvery"))
		return parse_int(v, 0, 100000000, &c->stats_every);
	errno = ENOENT;
	return -1;
}

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

int aiss_plugin_conf_load(const char *path, aiss_plugin_conf *c,
			  aiss_error *err)
{
	char line[512];
	const char *env;
	FILE *f;
	int lineno = 0;

	aiss_plugin_conf_defaults(c);
	if (!path)
		path = getenv("AISS_PLUGIN_CONF");
	if (!path || !*path)
		path = AISS_PLUGIN_CONF_DEFAULT;
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *hash = strchr(line, '#'), *eq, *k, *v;

			lineno++;
			if (hash)
				*hash = '\0';
			k = trim(line);
			if (!*k)
				continue;
			eq = strchr(k, '=');
			if (!eq) {
				fclose(f);
				return aiss_error_set(
				    err, AISS_E_INVALID,
				    "%s:%d: expected Key=Value", path, lineno);
			}
			*eq = '\0';
			k = trim(k);
			v = trim(eq + 1);
			errno = 0;
			if (set_key(c, k, v) < 0) {
				int unknown = errno == ENOENT;

				fclose(f);
				return aiss_error_set(
				    err, AISS_E_INVALID, "%s:%d: %s '%s'", path,
				    lineno,
				    unknown ? "unknown key" : "bad value for",
				    k);
			}
		}
		fclose(f);
	} else if (errno != ENOENT) {
		return aiss_error_set(err, AISS_E_INVALID, "%s: %s", path,
				      strerror(errno));
	}
	env = getenv("AISS_FAIL_OPEN");
	if (env && *env && parse_bool(env, &c->fail_open) < 0)
		return aiss_error_set(err, AISS_E_INVALID,
				      "AISS_FAIL_OPEN='%s': use yes or no",
				      env);
	env = getenv("AISS_SOCKET");
	if (env && *env && !c->socket[0] &&
	    copy_str(env, c->socket, sizeof(c->socket)) < 0)
		return aiss_error_set(err, AISS_E_INVALID,
				      "AISS_SOCKET too long");
	return 0;
}
