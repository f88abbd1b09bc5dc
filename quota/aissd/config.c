/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.c: aiss.conf parsing, caller roles from uids, and the daemon log. */
#include "aissd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aiss_client.h"

int aissd_log_level = AISSD_LOG_INFO;

void aissd_log(int level, const char *fmt, ...)
{
	if (level > aissd_log_level)
		return;
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s aissd[%d]: %s%s\n", ts, (int)getpid(),
		level == AISSD_LOG_ERROR ? "error: " : "", line);
}

void aissd_config_defaults(aissd_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "%s", AISS_DEFAULT_SOCKET);
	c->socket_mode = 0666;
	c->max_connections = 1024;
	c->max_user_connections = 32;
	c->batch_max = 256;
	c->coalesce_us = 200;
	c->lien_grace = AISS_LIEN_GRACE_DEFAULT;
	c->log_level = AISSD_LOG_INFO;
	const char *ms = getenv("AISS_MUNGE_SOCKET");
	if (ms)
		snprintf(c->munge_socket, sizeof(c->munge_socket), "%s", ms);
}

int aissd_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon && *s && strspn(s, "0123456789") == strlen(s)) {
		/* A bare port listens on loopback. */
		char *end;
		errno = 0;
		long p = strtol(s, &end, 10);
		if (errno || p < 0 || p > 65535 || hostlen < 10)
			return -1;
		snprintf(host, hostlen, "127.0.0.1");
		*port = (int)p;
		return 0;
	}
	if (!colon || colon == s || !colon[1])
		return -1;
	const char *h = s;
	size_t hl = (size_t)(colon - s);
	if (h[0] == '[') {
		if (hl < 2 || h[hl - 1] != ']')
			return -1;
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno || *end || p < 0 || p > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

static int set_str(char *dst, size_t cap, const char *key, const char *v,
		   aiss_error *err)
{
	if (strlen(v) >= cap)
		return aiss_error_set(err, AISS_E_INVALID,
				      "%s: value too long (at most %zu bytes)",
				      key, cap - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_int(int *dst, const char *key, const char *v, long lo, long hi,
		   aiss_error *err)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || !*v || *end || n < lo || n > hi)
		return aiss_error_set(err, AISS_E_INVALID,
				      "%s: '%s' is not a number in %ld..%ld",
				      key, v, lo, hi);
	*dst = (int)n;
	return 0;
}

/* "3600", "90s", "30m", "2h", "1d" into seconds (0..AISS_LIEN_GRACE_MAX). */
static int set_duration(int64_t *dst, const char *key, const char *v,
			aiss_error *err)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	long long unit = !*end               ? 1
			 : !strcmp(end, "s") ? 1
			 : !strcmp(end, "m") ? 60
			 : !strcmp(end, "h") ? 3600
			 : !strcmp(end, "d") ? 86400
					     : 0;
	if (errno || end == v || !unit || n < 0 ||
	    n > AISS_LIEN_GRACE_MAX / unit)
		return aiss_error_set(err, AISS_E_INVALID,
				      "%s: '%s' is not a duration from 0 to "
				      "366d (seconds, or with s, m, h or d, "
				      "e.g. 1h)",
				      key, v);
	*dst = (int64_t)(n * unit);
	return 0;
}

int aissd_config_set(aissd_config *c, const char *key, const char *v,
		     aiss_error *err)
{
	if (!strcmp(key, "db"))
		return set_str(c->db, sizeof(c->db), key, v, err);
	if (!strcmp(key, "socket"))
		return set_str(c->socket, sizeof(c->socket), key, v, err);
	if (!strcmp(key, "socket_mode")) {
		char *end;
		errno = 0;
		unsigned long m = strtoul(v, &end, 8);
		if (errno || !*v || *end || m > 0777)
			return aiss_error_set(err, AISS_E_INVALID,
					      "socket_mode: '%s' is not an "
					      "octal mode like 0666",
					      v);
		c->socket_mode = (unsigned)m;
		return 0;
	}
	if (!strcmp(key, "tcp_listen")) {
		if (!*v || !strcmp(v, "off") || !strcmp(v, "no")) {
			c->tcp_host[0] = '\0';
			c->tcp_port = 0;
			return 0;
		}
		if (aissd_parse_hostport(v, c->tcp_host, sizeof(c->tcp_host),
					 &c->tcp_port))
			return aiss_error_set(err, AISS_E_INVALID,
					      "tcp_listen: '%s' is not "
					      "HOST:PORT (e.g. 127.0.0.1:6820)",
					      v);
		return 0;
	}
	if (!strcmp(key, "munge_socket"))
		return set_str(c->munge_socket, sizeof(c->munge_socket), key, v,
			       err);
	if (!strcmp(key, "slurm_user"))
		return set_str(c->slurm_user, sizeof(c->slurm_user), key, v,
			       err);
	if (!strcmp(key, "admin_users"))
		return set_str(c->admin_users, sizeof(c->admin_users), key, v,
			       err);
	if (!strcmp(key, "finance_users"))
		return set_str(c->finance_users, sizeof(c->finance_users), key,
			       v, err);
	if (!strcmp(key, "max_connections"))
		return set_int(&c->max_connections, key, v, 1, 65536, err);
	if (!strcmp(key, "max_user_connections"))
		return set_int(&c->max_user_connections, key, v, 1, 65536, err);
	if (!strcmp(key, "batch_max"))
		return set_int(&c->batch_max, key, v, 1, 4096, err);
	if (!strcmp(key, "coalesce_us"))
		return set_int(&c->coalesce_us, key, v, 0, 10000, err);
	if (!strcmp(key, "lien_grace"))
		return set_duration(&c->lien_grace, key, v, err);
	if (!strcmp(key, "lien_expire")) {
		if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1"))
			c->lien_expire = 1;
		else if (!strcmp(v, "off") || !strcmp(v, "no") ||
			 !strcmp(v, "0"))
			c->lien_expire = 0;
		else
			return aiss_error_set(err, AISS_E_INVALID,
					      "lien_expire: '%s' is not on or "
					      "off",
					      v);
		return 0;
	}
	if (!strcmp(key, "log_level")) {
		if (!strcmp(v, "error"))
			c->log_level = AISSD_LOG_ERROR;
		else if (!strcmp(v, "info"))
			c->log_level = AISSD_LOG_INFO;
		else if (!strcmp(v, "debug"))
			c->log_level = AISSD_LOG_DEBUG;
		else
			return aiss_error_set(err, AISS_E_INVALID,
					      "log_level: '%s' is not error, "
					      "info or debug",
					      v);
		return 0;
	}
	return aiss_error_set(err, AISS_E_INVALID, "unknown setting '%s'", key);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int aissd_config_load(aissd_config *c, const char *path, aiss_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return aiss_error_set(err, AISS_E_INVALID,
				      "cannot read config %s: %s", path,
				      strerror(errno));
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = aiss_error_set(err, AISS_E_INVALID,
					    "%s:%d: line too long", path,
					    lineno);
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = aiss_error_set(err, AISS_E_INVALID,
					    "%s:%d: expected 'key = value'",
					    path, lineno);
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		aiss_error e2 = {0};
		if (aissd_config_set(c, key, val, &e2)) {
			rc = aiss_error_set(err, AISS_E_INVALID, "%s:%d: %s",
					    path, lineno, e2.text);
			break;
		}
	}
	fclose(f);
	return rc;
}

/* 1 when @list (names or uids separated by commas/spaces) names @user or
 * @uid. */
static int list_names(const char *list, const char *user, uid_t uid)
{
	char uidbuf[24];
	snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)uid);
	const char *p = list;
	while (*p) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		const char *q = p;
		while (*q && *q != ',' && !isspace((unsigned char)*q))
			q++;
		size_t n = (size_t)(q - p);
		if (n && ((strlen(user) == n && !strncmp(p, user, n)) ||
			  (strlen(uidbuf) == n && !strncmp(p, uidbuf, n))))
			return 1;
		p = q;
	}
	return 0;
}

void aissd_caller_resolve(const aissd_config *cfg, uid_t uid, aissd_caller *out)
{
	memset(out, 0, sizeof(*out));
	out->uid = uid;
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
	    strlen(res->pw_name) < sizeof(out->user))
		snprintf(out->user, sizeof(out->user), "%s", res->pw_name);
	else
		snprintf(out->user, sizeof(out->user), "uid:%u", (unsigned)uid);
	out->roles = AISSD_ROLE_USER;
	if (uid == 0)
		out->roles |= AISSD_ROLE_SLURM | AISSD_ROLE_ADMIN;
	if (cfg->slurm_user[0] && list_names(cfg->slurm_user, out->user, uid))
		out->roles |= AISSD_ROLE_SLURM;
	if (list_names(cfg->admin_users, out->user, uid))
		out->roles |= AISSD_ROLE_ADMIN;
	if (list_names(cfg->finance_users, out->user, uid))
		out->roles |= AISSD_ROLE_FINANCE;
}

char *aissd_roles_format(unsigned roles, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{AISSD_ROLE_ADMIN, "admin"},
		     {AISSD_ROLE_SLURM, "slurm"},
		     {AISSD_ROLE_FINANCE, "finance"},
		     {AISSD_ROLE_USER, "user"}};
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(roles & names[i].bit))
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? "+" : "",
				 names[i].name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}
