/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool.c: durable, ordered settle records for replay (aiss_spool.h). */
#include "aiss_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_MAGIC "aiss-spool 1"
#define REC_SUFFIX ".rec"
#define REC_MAX 2048
#define DIR_MAX 3072 /* leaves room in PATH_MAX for the file names */

struct aiss_spool {
	char dir[DIR_MAX];
	pthread_mutex_t lock;        /* next_seq, the directory's contents */
	pthread_mutex_t replay_lock; /* one replay at a time */
	uint64_t next_seq;
};

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Sequence number of "<digits>.rec", or 0 when @name is not a record. */
static uint64_t rec_seq(const char *name)
{
	char *end;
	unsigned long long v;

	if (name[0] < '0' || name[0] > '9')
		return 0;
	errno = 0;
	v = strtoull(name, &end, 10);
	if (errno || strcmp(end, REC_SUFFIX) != 0)
		return 0;
	return v;
}

aiss_spool *aiss_spool_open(const char *dir, aiss_error *err)
{
	char failed[PATH_MAX];
	aiss_spool *s;
	struct dirent *de;
	DIR *d;

	if (strlen(dir) >= DIR_MAX) {
		aiss_error_set(err, AISS_E_INVALID, "spool path too long");
		return NULL;
	}
	snprintf(failed, sizeof(failed), "%.*s/failed", DIR_MAX, dir);
	if (mkdir_p(failed) < 0) {
		aiss_error_set(err, AISS_E_STORAGE, "spool %s: %s", dir,
			       strerror(errno));
		return NULL;
	}
	d = opendir(dir);
	if (!d) {
		aiss_error_set(err, AISS_E_STORAGE, "spool %s: %s", dir,
			       strerror(errno));
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		closedir(d);
		aiss_error_set(err, AISS_E_STORAGE, "out of memory");
		return NULL;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->replay_lock, NULL);
	s->next_seq = 1;
	while ((de = readdir(d))) {
		uint64_t q = rec_seq(de->d_name);

		if (q >= s->next_seq)
			s->next_seq = q + 1;
		if (!strncmp(de->d_name, ".tmp.", 5))
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	return s;
}

void aiss_spool_close(aiss_spool *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->replay_lock);
	free(s);
}

int aiss_spool_format(const aiss_settle_req *r, char *buf, size_t len)
{
	const char *strs[] = {r->key.cluster, r->account, r->user, r->gpu_type,
			      r->end_state};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strpbrk(strs[i], "\n\r"))
			return -1;
	return snprintf(buf, len,
			SPOOL_MAGIC
			"\ncluster=%s\njob_id=%" PRIu64 "\nrun_start=%" PRId64
			"\naccount=%s\nuser=%s\n"
			"gpu_type=%s\ngpus=%" PRId64 "\nend=%" PRId64
			"\nend_state=%s\nend.\n",
			r->key.cluster, r->key.job_id,
			(int64_t)r->key.run_start, r->account, r->user,
			r->gpu_type, r->gpus, (int64_t)r->end, r->end_state);
}

static int copy_field(const char *v, char *dst, size_t len)
{
	size_t n = strlen(v);

	if (n >= len)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static int parse_i64(const char *v, int64_t *out)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return -1;
	*out = x;
	return 0;
}

int aiss_spool_parse(const char *text, aiss_settle_req *out)
{
	char line[AISS_TEXT_MAX];
	const char *p = text;
	unsigned seen = 0;
	int lineno = 0, ended = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		size_t n = strcspn(p, "\n");
		char *eq, *k, *v;
		int64_t x = 0;
		int rc = 0;

		if (n >= sizeof(line) || p[n] != '\n')
			goto bad; /* every line ends with '\n' */
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + 1;
		if (lineno++ == 0) {
			if (strcmp(line, SPOOL_MAGIC) != 0)
				goto bad;
			continue;
		}
		if (ended)
			goto bad;
		if (!strcmp(line, "end.")) {
			ended = 1;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		k = line;
		v = eq + 1;
		if (!strcmp(k, "cluster")) {
			rc = copy_field(v, out->key.cluster,
					sizeof(out->key.cluster));
			if (seen & 1)
				goto bad;
			seen |= 1;
		} else if (!strcmp(k, "job_id")) {
			rc = parse_i64(v, &x);
			if (!rc && x < 0)
				rc = -1;
			out->key.job_id = (uint64_t)x;
			if (seen & 2)
				goto bad;
			seen |= 2;
		} else if (!strcmp(k, "run_start")) {
			rc = parse_i64(v, &x);
			out->key.run_start = x;
			if (seen & 4)
				goto bad;
			seen |= 4;
		} else if (!strcmp(k, "account")) {
			rc = copy_field(v, out->account, sizeof(out->account));
			if (seen & 8)
				goto bad;
			seen |= 8;
		} else if (!strcmp(k, "user")) {
			rc = copy_field(v, out->user, sizeof(out->user));
			if (seen & 16)
				goto bad;
			seen |= 16;
		} else if (!strcmp(k, "gpu_type")) {
			rc =
			    copy_field(v, out->gpu_type, sizeof(out->gpu_type));
			if (seen & 32)
				goto bad;
			seen |= 32;
		} else if (!strcmp(k, "gpus")) {
			rc = parse_i64(v, &out->gpus);
			if (seen & 64)
				goto bad;
			seen |= 64;
		} else if (!strcmp(k, "end")) {
			rc = parse_i64(v, &x);
			out->end = x;
			if (seen & 128)
				goto bad;
			seen |= 128;
		} else if (!strcmp(k, "end_state")) {
			rc = copy_field(v, out->end_state,
					sizeof(out->end_state));
			if (seen & 256)
				goto bad;
			seen |= 256;
		} else {
			goto bad;
		}
		if (rc < 0)
			goto bad;
	}
	if (!ended || seen != 511)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int aiss_spool_append(aiss_spool *s, const aiss_settle_req *req,
		      aiss_error *err)
{
	char buf[REC_MAX], tmp[PATH_MAX], path[PATH_MAX];
	int n = aiss_spool_format(req, buf, sizeof(buf));
	int fd, rc = -1;
	uint64_t seq;

	if (n < 0 || n >= (int)sizeof(buf))
		return aiss_error_set(err, AISS_E_INVALID,
				      "settle record not spoolable");
	pthread_mutex_lock(&s->lock);
	seq = s->next_seq++;
	snprintf(tmp, sizeof(tmp), "%.*s/.tmp.%020" PRIu64, DIR_MAX, s->dir,
		 seq);
	snprintf(path, sizeof(path), "%.*s/%020" PRIu64 REC_SUFFIX, DIR_MAX,
		 s->dir, seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (write_all(fd, buf, (size_t)n) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		goto out;
	}
	if (fsync_dir(s->dir) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		aiss_error_set(err, AISS_E_STORAGE, "spool %s: %s", s->dir,
			       strerror(errno));
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorted sequence numbers of the waiting records (caller frees). */
static int list_records(aiss_spool *s, uint64_t **out, size_t *n)
{
	size_t cap = 64, cnt = 0;
	uint64_t *v = malloc(cap * sizeof(*v));
	struct dirent *de;
	DIR *d;

	if (!v)
		return -1;
	pthread_mutex_lock(&s->lock);
	d = opendir(s->dir);
	if (!d) {
		pthread_mutex_unlock(&s->lock);
		free(v);
		return -1;
	}
	while ((de = readdir(d))) {
		uint64_t q = rec_seq(de->d_name);

		if (!q)
			continue;
		if (cnt == cap) {
			uint64_t *nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv) {
				closedir(d);
				pthread_mutex_unlock(&s->lock);
				free(v);
				return -1;
			}
			v = nv;
			cap *= 2;
		}
		v[cnt++] = q;
	}
	closedir(d);
	pthread_mutex_unlock(&s->lock);
	qsort(v, cnt, sizeof(*v), cmp_u64);
	*out = v;
	*n = cnt;
	return 0;
}

size_t aiss_spool_pending(aiss_spool *s)
{
	uint64_t *v;
	size_t n;

	if (list_records(s, &v, &n) < 0)
		return 0;
	free(v);
	return n;
}

static int read_record(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

int aiss_spool_replay(aiss_spool *s,
		      aiss_spool_verdict (*cb)(const aiss_settle_req *, void *),
		      void *arg, size_t *done, aiss_error *err)
{
	uint64_t *seqs;
	size_t n, ndone = 0;
	int rc = 0;

	if (done)
		*done = 0;
	pthread_mutex_lock(&s->replay_lock);
	if (list_records(s, &seqs, &n) < 0) {
		pthread_mutex_unlock(&s->replay_lock);
		return aiss_error_set(err, AISS_E_STORAGE, "spool %s: %s",
				      s->dir, strerror(errno));
	}
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX], bad[PATH_MAX], buf[REC_MAX];
		aiss_settle_req req;
		aiss_spool_verdict v;

		snprintf(path, sizeof(path), "%.*s/%020" PRIu64 REC_SUFFIX,
			 DIR_MAX, s->dir, seqs[i]);
		snprintf(bad, sizeof(bad), "%.*s/failed/%020" PRIu64 REC_SUFFIX,
			 DIR_MAX, s->dir, seqs[i]);
		if (read_record(path, buf, sizeof(buf)) < 0) {
			if (errno == ENOENT)
				continue;
			rc = aiss_error_set(err, AISS_E_STORAGE, "%s: %s", path,
					    strerror(errno));
			break;
		}
		if (aiss_spool_parse(buf, &req) < 0)
			v = AISS_SPOOL_REJECT;
		else
			v = cb(&req, arg);
		if (v == AISS_SPOOL_RETRY)
			break;
		pthread_mutex_lock(&s->lock);
		if (v == AISS_SPOOL_DONE)
			rc = unlink(path);
		else
			rc = rename(path, bad);
		if (!rc)
			rc = fsync_dir(s->dir);
		pthread_mutex_unlock(&s->lock);
		if (rc < 0) {
			aiss_error_set(err, AISS_E_STORAGE, "%s: %s", path,
				       strerror(errno));
			break;
		}
		ndone++;
	}
	free(seqs);
	pthread_mutex_unlock(&s->replay_lock);
	if (done)
		*done = ndone;
	return rc < 0 ? -1 : 0;
}
