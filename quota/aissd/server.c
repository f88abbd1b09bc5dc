/* SPDX-License-Identifier: GPL-2.0-or-later */
/* server.c: aissd's single-threaded poll() loop: non-blocking sockets,
 * per-connection buffers, MUNGE on TCP, and group commit (all complete
 * requests of one turn run in one ledger batch; replies go out only after
 * the batch's commit returned). Long reads (journal verify, statements,
 * exports, full listings) run on a worker thread with its own ledger
 * handle, so they never hold up the loop. */
#include "aissd.h"

#include <pthread.h>

#include <errno.h>
#include <fcntl.h>
#include <munge.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Bytes read from one connection per turn, and the most output we let
 * pile up for a client that does not read its replies. */
#define READ_CHUNK (64 * 1024)
#define OUT_HIGH (4u * 1024 * 1024)
/* Buffers above this size are freed when they empty. */
#define IDLE_KEEP (256 * 1024)
/* Requests taken from one connection per turn (fairness). */
#define PER_CONN_MAX 64
/* The worker's page cache (its handle's; the loop's keeps 8 MiB). */
#define WORKER_CACHE_KIB 8192
/* New connections accepted per listener per turn. */
#define ACCEPT_MAX 64

typedef struct conn {
	int fd;
	int tcp;          /* requests must carry MUNGE credentials */
	int eof;          /* peer closed its side */
	int dead;         /* close at the end of this turn */
	aissd_caller who; /* Unix peer (TCP: per request) */
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	int slow_busy; /* a request of it is on the worker: take no more */
	aissd_caller who_req; /* caller of that request (TCP: per request) */
} conn;

typedef struct item {
	conn *c;
	aiss_request req;
	aiss_reply rep;
	int run;  /* 1: go to dispatch; 0: reply already filled (error) */
	int slow; /* run on the worker after the commit */
	int authed;       /* its caller is known (TCP: the credential held) */
	aissd_caller who; /* the caller (for dispatch and the log) */
} item;

/* A long read handed to the worker thread, and its answer. */
typedef struct slow_job {
	conn *c;
	aissd_caller who;
	aiss_request req;
	aiss_reply rep;
	struct slow_job *next;
} slow_job;

struct aissd_server {
	aissd_config cfg;
	time_t started_at;
	aiss_ledger *ledger;
	int unix_fd, tcp_fd;
	int tcp_port;
	int unlink_socket;
	conn **conns;
	size_t n_conns, cap_conns;
	item *batch;
	size_t batch_cap, n_batch;
	struct pollfd *pfds;
	size_t pfd_cap;
	aissd_stats stats;
	munge_ctx_t munge;
	size_t rr;    /* connection to take requests from first */
	size_t last_batch; /* requests in the previous group commit */
	int spare_fd; /* given up to accept-and-close when out of fds */

	/* the worker (only when cfg.db names the ledger's file) */
	int slow_on;
	pthread_t slow_thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	slow_job *todo, *done; /* LIFO under mu; order does not matter: one
				  job per connection at a time */
	int slow_stop;
	int wake[2]; /* worker -> loop: a job is done */
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/* 1 for the reads that may walk the whole ledger. */
static int op_is_slow(aiss_op op)
{
	switch (op) {
	case AISS_OP_JOURNAL_VERIFY:
	case AISS_OP_STATEMENT:
	case AISS_OP_CHARGE_EXPORT:
	case AISS_OP_ADJUSTMENT_EXPORT:
	case AISS_OP_BALANCE_LIST:
	case AISS_OP_GRANT_LIST:
		return 1;
	default:
		return 0;
	}
}

/* The worker: opens its own ledger handle while it has work (closing it
 * when idle gives its page cache back), runs each job, hands it back. */
static void *slow_main(void *arg)
{
	aissd_server *s = arg;
	aiss_ledger *l = NULL;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->todo && !s->slow_stop) {
			if (l) {
				pthread_mutex_unlock(&s->mu);
				aiss_ledger_close(l);
				l = NULL;
				pthread_mutex_lock(&s->mu);
				continue;
			}
			pthread_cond_wait(&s->cv, &s->mu);
		}
		if (s->slow_stop)
			break;
		slow_job *j = s->todo;
		s->todo = j->next;
		pthread_mutex_unlock(&s->mu);

		aiss_error e = {0};
		if (!l) {
			l = aiss_ledger_open(s->cfg.db, &e);
			/* Scans gain little from a big cache, and this one
			 * comes on top of the loop's 8 MiB. */
			if (l && aiss_ledger_set_cache_kib(l, WORKER_CACHE_KIB,
							   &e)) {
				aiss_ledger_close(l);
				l = NULL;
			}
		}
		if (l)
			aissd_dispatch(l, &j->who, &j->req, &j->rep);
		else
			aiss_reply_set_error(&j->rep, &e);

		pthread_mutex_lock(&s->mu);
		j->next = s->done;
		s->done = j;
		pthread_mutex_unlock(&s->mu);
		ssize_t w;
		do
			w = write(s->wake[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	aiss_ledger_close(l);
	return NULL;
}

static int slow_start(aissd_server *s)
{
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->slow_thr, NULL, slow_main, s) != 0) {
		close(s->wake[0]);
		close(s->wake[1]);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		return -1;
	}
	s->slow_on = 1;
	return 0;
}

static void free_jobs(slow_job *j)
{
	while (j) {
		slow_job *n = j->next;
		aiss_reply_clear(&j->rep);
		free(j);
		j = n;
	}
}

static void slow_stop(aissd_server *s)
{
	if (!s->slow_on)
		return;
	pthread_mutex_lock(&s->mu);
	s->slow_stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->slow_thr, NULL);
	free_jobs(s->todo);
	free_jobs(s->done);
	s->todo = s->done = NULL;
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	s->slow_on = 0;
}

aissd_server *aissd_server_create(const aissd_config *cfg, aiss_ledger *l,
				  aiss_error *err)
{
	aissd_server *s = calloc(1, sizeof(*s));
	if (!s) {
		aiss_error_set(err, AISS_E_INTERNAL, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->started_at = time(NULL);
	if (s->cfg.batch_max <= 0)
		s->cfg.batch_max = 256;
	if (s->cfg.max_connections <= 0)
		s->cfg.max_connections = 1024;
	if (s->cfg.max_user_connections <= 0)
		s->cfg.max_user_connections = 32;
	s->ledger = l;
	s->unix_fd = s->tcp_fd = -1;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->batch_cap = (size_t)s->cfg.batch_max;
	if (s->cfg.coalesce_us < 0)
		s->cfg.coalesce_us = 0;
	s->batch = calloc(s->batch_cap, sizeof(item));
	if (!s->batch) {
		if (s->spare_fd >= 0)
			close(s->spare_fd);
		free(s);
		aiss_error_set(err, AISS_E_INTERNAL, "out of memory");
		return NULL;
	}
	/* Without the file's name (tests over socketpair) long reads run in
	 * the loop like everything else. */
	if (s->cfg.db[0] && slow_start(s))
		aissd_log(AISSD_LOG_ERROR,
			  "no worker thread (%s): long reads run in the loop",
			  strerror(errno));
	return s;
}

static void conn_free(conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

void aissd_server_destroy(aissd_server *s)
{
	if (!s)
		return;
	slow_stop(s);
	for (size_t i = 0; i < s->n_conns; i++)
		conn_free(s->conns[i]);
	free(s->conns);
	if (s->unix_fd >= 0) {
		close(s->unix_fd);
		if (s->unlink_socket)
			unlink(s->cfg.socket);
	}
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	if (s->munge)
		munge_ctx_destroy(s->munge);
	free(s->batch);
	free(s->pfds);
	free(s);
}

/* ---- listeners ---- */

static int listen_unix(aissd_server *s, aiss_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(s->cfg.socket) >= sizeof(sa.sun_path))
		return aiss_error_set(err, AISS_E_INVALID,
				      "socket path too long: %s",
				      s->cfg.socket);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->cfg.socket);

	/* A live aissd is left alone. */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return aiss_error_set(err, AISS_E_EXISTS,
					      "another aissd already listens "
					      "on %s",
					      s->cfg.socket);
		}
		close(probe);
	}
	/* A stale socket file is replaced by the rename below. */

	/* Create the directory (e.g. /run/aiss) when missing. */
	char dir[AISSD_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", s->cfg.socket);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}

	/* Bound and listening under a temporary name, then renamed into
	 * place: once the path exists, connect() succeeds (scripts wait for
	 * the socket file to appear). */
	struct sockaddr_un tmp = {.sun_family = AF_UNIX};
	int tl = snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d",
			  s->cfg.socket, (int)getpid());
	if (tl < 0 || (size_t)tl >= sizeof(tmp.sun_path))
		return aiss_error_set(err, AISS_E_INVALID,
				      "socket path too long: %s",
				      s->cfg.socket);
	unlink(tmp.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return aiss_error_set(err, AISS_E_INTERNAL, "socket: %s",
				      strerror(errno));
	mode_t old = umask(0);
	int b = bind(fd, (struct sockaddr *)&tmp, sizeof(tmp));
	umask(old);
	if (b < 0 || chmod(tmp.sun_path, s->cfg.socket_mode) < 0 ||
	    listen(fd, 512) < 0 || rename(tmp.sun_path, s->cfg.socket) < 0) {
		int e = errno;
		close(fd);
		if (b == 0)
			unlink(tmp.sun_path);
		return aiss_error_set(err, AISS_E_INTERNAL,
				      "cannot listen on %s: %s", s->cfg.socket,
				      strerror(e));
	}
	s->unix_fd = fd;
	s->unlink_socket = 1;
	return 0;
}

static int listen_tcp(aissd_server *s, aiss_error *err)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", s->cfg.tcp_port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(s->cfg.tcp_host, port, &hints, &res);
	if (g)
		return aiss_error_set(err, AISS_E_INVALID,
				      "tcp_listen %s:%d: %s", s->cfg.tcp_host,
				      s->cfg.tcp_port, gai_strerror(g));
	int fd = socket(res->ai_family,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 512)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return aiss_error_set(
		    err, AISS_E_INTERNAL, "cannot listen on %s:%d: %s",
		    s->cfg.tcp_host, s->cfg.tcp_port, strerror(e));
	}
	freeaddrinfo(res);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			s->tcp_port =
			    ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			s->tcp_port =
			    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	s->tcp_fd = fd;
	s->munge = munge_ctx_create();
	if (s->munge && s->cfg.munge_socket[0])
		munge_ctx_set(s->munge, MUNGE_OPT_SOCKET, s->cfg.munge_socket);
	return 0;
}

int aissd_server_listen(aissd_server *s, aiss_error *err)
{
	if (listen_unix(s, err))
		return -1;
	if (s->cfg.tcp_host[0] && listen_tcp(s, err))
		return -1;
	return 0;
}

int aissd_server_tcp_port(const aissd_server *s)
{
	return s->tcp_fd >= 0 ? s->tcp_port : 0;
}

/* ---- connections ---- */

static conn *conn_add(aissd_server *s, int fd)
{
	if (s->n_conns == s->cap_conns) {
		size_t cap = s->cap_conns ? s->cap_conns * 2 : 16;
		conn **p = realloc(s->conns, cap * sizeof(*p));
		if (!p)
			return NULL;
		s->conns = p;
		s->cap_conns = cap;
	}
	conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	s->conns[s->n_conns++] = c;
	s->stats.connections++;
	return c;
}

int aissd_server_add_conn(aissd_server *s, int fd, const aissd_caller *who,
			  int tcp)
{
	if (set_nonblock(fd))
		return -1;
	conn *c = conn_add(s, fd);
	if (!c) {
		errno = ENOMEM;
		return -1;
	}
	c->tcp = tcp;
	if (who)
		c->who = *who;
	return 0;
}

/* Counts open connections that count against max_connections (plain
 * users and TCP), and those of @uid among them. */
static void count_conns(const aissd_server *s, uid_t uid, size_t *limited,
			size_t *of_uid)
{
	*limited = *of_uid = 0;
	for (size_t i = 0; i < s->n_conns; i++) {
		const conn *c = s->conns[i];
		if (c->dead || (!c->tcp && (c->who.roles & ~AISSD_ROLE_USER)))
			continue;
		(*limited)++;
		if (!c->tcp && c->who.uid == uid)
			(*of_uid)++;
	}
}

/*
 * Accepts new clients. Slurm, administrators and finance (Unix peers with
 * those roles) are never turned away for lack of room, so that no number
 * of other users' idle connections can lock slurmctld out; plain users
 * and TCP clients share max_connections, each user at most
 * max_user_connections of them.
 */
static void accept_some(aissd_server *s, int lfd, int tcp)
{
	for (int i = 0; i < ACCEPT_MAX; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
		    s->spare_fd >= 0) {
			/* Out of descriptors: accept with the spare one and
			 * close at once, or poll would report the listener
			 * ready turn after turn. */
			close(s->spare_fd);
			fd = accept(lfd, NULL, NULL);
			if (fd >= 0)
				close(fd);
			s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			aissd_log(AISSD_LOG_ERROR,
				  "refusing a connection: out of file "
				  "descriptors (%zu connections open)",
				  s->n_conns);
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				aissd_log(AISSD_LOG_ERROR, "accept: %s",
					  strerror(errno));
			return;
		}
		aissd_caller who = {0};
		if (!tcp) {
			struct ucred uc;
			socklen_t ul = sizeof(uc);
			if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) <
			    0) {
				aissd_log(AISSD_LOG_ERROR, "SO_PEERCRED: %s",
					  strerror(errno));
				close(fd);
				continue;
			}
			aissd_caller_resolve(&s->cfg, uc.uid, &who);
		}
		if (tcp || !(who.roles & ~AISSD_ROLE_USER)) {
			size_t limited, of_uid;
			count_conns(s, who.uid, &limited, &of_uid);
			const char *why = NULL;
			if (limited >= (size_t)s->cfg.max_connections)
				why = "max_connections";
			else if (!tcp &&
				 of_uid >= (size_t)s->cfg.max_user_connections)
				why = "max_user_connections";
			if (why) {
				aissd_log(AISSD_LOG_ERROR,
					  "refusing a connection of %s: %zu "
					  "open (%s)",
					  tcp ? "a TCP client" : who.user,
					  why[4] == 'u' ? of_uid : limited,
					  why);
				close(fd);
				continue;
			}
		}
		conn *c = conn_add(s, fd);
		if (!c) {
			close(fd);
			continue;
		}
		c->tcp = tcp;
		c->who = who;
		if (tcp) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
			continue;
		}
		if (aissd_log_level >= AISSD_LOG_DEBUG) {
			char rb[64];
			aissd_log(
			    AISSD_LOG_DEBUG, "connection from %s (uid %u, %s)",
			    who.user, (unsigned)who.uid,
			    aissd_roles_format(who.roles, rb, sizeof(rb)));
		}
	}
}

static void read_some(aissd_server *s, conn *c)
{
	(void)s;
	/* Room for one whole frame plus a chunk. */
	size_t want = AISS_FRAME_HDR + AISS_FRAME_MAX + READ_CHUNK;
	if (c->in_off && c->in_off == c->in_len) {
		c->in_off = c->in_len = 0;
	} else if (c->in_off > c->in_cap / 2) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_cap - c->in_len < READ_CHUNK) {
		size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK;
		while (cap - c->in_len < READ_CHUNK)
			cap *= 2;
		if (cap > want)
			cap = want;
		if (cap <= c->in_cap) {
			/* Buffer full of unconsumed frames: wait. */
			return;
		}
		uint8_t *p = realloc(c->in, cap);
		if (!p) {
			c->dead = 1;
			return;
		}
		c->in = p;
		c->in_cap = cap;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	if (n > 0) {
		c->in_len += (size_t)n;
	} else if (n == 0) {
		c->eof = 1;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		c->dead = 1;
	}
}

static void flush_out(conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->dead = 1; /* EPIPE, ECONNRESET: the client is gone */
		return;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > IDLE_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
}

static int queue_out(conn *c, const uint8_t *buf, size_t len)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_cap - c->out_len < len) {
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off,
				c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap - c->out_len < len)
			cap *= 2;
		if (cap != c->out_cap) {
			uint8_t *p = realloc(c->out, cap);
			if (!p)
				return -1;
			c->out = p;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

/* ---- requests ---- */

/* Checks a TCP request's MUNGE credential and sets @who from its uid. */
static int munge_caller(aissd_server *s, const aiss_request *req,
			aissd_caller *who, aiss_reply *rep)
{
	if (!req->cred_len) {
		rep->status = AISS_E_PERMISSION;
		snprintf(rep->message, sizeof(rep->message),
			 "requests over TCP must carry a MUNGE credential");
		return -1;
	}
	uid_t uid;
	gid_t gid;
	munge_err_t me =
	    munge_decode(req->credential, s->munge, NULL, NULL, &uid, &gid);
	if (me != EMUNGE_SUCCESS) {
		rep->status = AISS_E_PERMISSION;
		snprintf(rep->message, sizeof(rep->message),
			 "MUNGE credential refused: %s", munge_strerror(me));
		return -1;
	}
	aissd_caller_resolve(&s->cfg, uid, who);
	return 0;
}

/* Takes the complete frames of @c into the batch (up to its capacity and
 * PER_CONN_MAX per turn). A framing violation (zero or oversized length)
 * marks @c dead: past it the stream cannot be resynchronised. */
static void take_frames(aissd_server *s, conn *c)
{
	size_t taken = 0;
	if (!c->in || c->slow_busy)
		return;
	while (s->n_batch < s->batch_cap && taken < PER_CONN_MAX && !c->dead) {
		size_t plen = 0;
		int fr = aiss_frame_check(c->in + c->in_off,
					  c->in_len - c->in_off, &plen);
		if (fr == 0)
			break;
		if (fr < 0) {
			const uint8_t *h = c->in + c->in_off;
			aissd_log(AISSD_LOG_INFO,
				  "closing a connection of %s: frame length "
				  "%u is outside 1..%u",
				  c->tcp ? "a TCP client" : c->who.user,
				  ((unsigned)h[0] << 24) |
				      ((unsigned)h[1] << 16) |
				      ((unsigned)h[2] << 8) | h[3],
				  AISS_FRAME_MAX);
			s->stats.protocol_errors++;
			s->stats.closed_bad++;
			c->dead = 1;
			break;
		}
		const uint8_t *payload = c->in + c->in_off + AISS_FRAME_HDR;
		item *it = &s->batch[s->n_batch++];
		taken++;
		it->c = c;
		it->run = 0;
		it->who = c->who;
		aiss_error e = {0};
		if (aiss_request_decode(payload, plen, &it->req, &e)) {
			aiss_reply_init(&it->rep, AISS_OP_NONE, it->req.id);
			aiss_reply_set_error(&it->rep, &e);
			s->stats.protocol_errors++;
		} else if (it->req.version != AISS_PROTO_VERSION) {
			aiss_reply_init(&it->rep, it->req.op, it->req.id);
			it->rep.status = AISS_E_PROTOCOL;
			snprintf(it->rep.message, sizeof(it->rep.message),
				 "protocol version %u is not supported: this "
				 "aissd speaks version %d; upgrade the client "
				 "or the daemon",
				 it->req.version, AISS_PROTO_VERSION);
			s->stats.protocol_errors++;
		} else {
			aiss_reply_init(&it->rep, it->req.op, it->req.id);
			it->run = 1;
		}
		c->in_off += AISS_FRAME_HDR + plen;
		it->slow = 0;
		if (it->run && s->slow_on && op_is_slow(it->req.op)) {
			/* Its answer comes from the worker; the requests
			 * behind it wait so replies keep their order. */
			it->slow = 1;
			c->slow_busy = 1;
			break;
		}
	}
	/* An idle connection gives back a large input buffer. */
	if (c->in_off == c->in_len && c->in_cap > IDLE_KEEP) {
		free(c->in);
		c->in = NULL;
		c->in_off = c->in_len = c->in_cap = 0;
	}
}

/* Encodes @it's reply into its connection's output. */
static void queue_reply(aissd_server *s, item *it)
{
	(void)s;
	uint8_t *frame = NULL;
	size_t len = 0;
	aiss_error e = {0};
	if (aiss_reply_encode(&it->rep, &frame, &len, &e)) {
		/* Too big or no memory: say so instead. */
		aiss_reply_clear(&it->rep);
		aiss_reply_init(&it->rep, it->req.op, it->req.id);
		aiss_reply_set_error(&it->rep, &e);
		if (aiss_reply_encode(&it->rep, &frame, &len, &e)) {
			it->c->dead = 1;
			return;
		}
	}
	if (!it->c->dead && queue_out(it->c, frame, len))
		it->c->dead = 1;
	free(frame);
}

/* --verbose: one line per answered request. */
static void log_request(const aissd_caller *who, const aiss_reply *rep)
{
	if (aissd_log_level < AISSD_LOG_DEBUG)
		return;
	aissd_log(AISSD_LOG_DEBUG, "%s %s #%llu: %s%s%s", who->user,
		  aiss_op_name(rep->op), (unsigned long long)rep->id,
		  aiss_status_name(rep->status), rep->message[0] ? ": " : "",
		  rep->message);
}

/* Hands @it (a long read whose batch committed) to the worker. 0, or -1
 * (no memory): the caller answers it with an error. */
static int slow_submit(aissd_server *s, item *it)
{
	slow_job *j = malloc(sizeof(*j));
	if (!j) {
		it->rep.status = AISS_E_INTERNAL;
		snprintf(it->rep.message, sizeof(it->rep.message),
			 "aissd is out of memory");
		return -1;
	}
	j->c = it->c;
	j->who = it->c->who_req;
	j->req = it->req;
	j->rep = it->rep; /* initialised, no items yet */
	pthread_mutex_lock(&s->mu);
	j->next = s->todo;
	s->todo = j;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* SERVER_STATUS: the loop's part (dispatch filled the ledger's). */
static void status_fill(const aissd_server *s, aiss_server_status *st)
{
	st->pid = (int32_t)getpid();
	st->started_at = (aiss_time_t)s->started_at;
	st->as_of = (aiss_time_t)time(NULL);
	st->requests = s->stats.requests;
	st->group_commits = s->stats.batches;
	st->replays = s->stats.replays;
	st->connections_open = s->n_conns;
	st->connections = s->stats.connections;
	st->protocol_errors = s->stats.protocol_errors;
}

/* Runs the batch: one ledger transaction around every request of this
 * turn, commit (one fsync), and only then the replies. */
static int run_batch(aissd_server *s)
{
	size_t n = s->n_batch;
	int any = 0;
	/* Callers first, once each (a MUNGE credential decodes only once). */
	for (size_t i = 0; i < n; i++) {
		item *it = &s->batch[i];
		it->authed = 0;
		if (!it->run)
			continue;
		it->who = it->c->who;
		if (it->c->tcp &&
		    munge_caller(s, &it->req, &it->who, &it->rep)) {
			if (it->slow) /* refused here: nothing for the worker */
				it->c->slow_busy = it->slow = 0;
			continue;
		}
		it->authed = 1;
		if (it->slow)
			it->c->who_req = it->who;
		else
			any = 1;
	}
	aiss_error e = {0};
	int batch_ok = 1;
	/* Without a savepoint per request; if one fails half done, the
	 * batch runs again from the start with them. */
	if (any && aiss_ledger_batch_begin_optimistic(s->ledger, &e)) {
		aissd_log(AISSD_LOG_ERROR, "batch begin: %s", e.text);
		batch_ok = 0;
	}
	for (int pass = 0; pass < 2 && any && batch_ok; pass++) {
		int spoiled = 0;
		for (size_t i = 0; i < n && !spoiled; i++) {
			item *it = &s->batch[i];
			if (!it->authed || it->slow)
				continue;
			if (pass) { /* the answer of the first try is void */
				aiss_reply_clear(&it->rep);
				aiss_reply_init(&it->rep, it->req.op,
						it->req.id);
			}
			aissd_dispatch(s->ledger, &it->who, &it->req, &it->rep);
			if (it->req.op == AISS_OP_SERVER_STATUS &&
			    it->rep.status == AISS_OK)
				status_fill(s, &it->rep.u.status);
			spoiled = aiss_ledger_batch_spoiled(s->ledger);
		}
		if (!spoiled)
			break;
		s->stats.replays++;
		aissd_log(AISSD_LOG_INFO,
			  "a request failed half done: running its batch of "
			  "%zu again with a savepoint each",
			  n);
		aiss_ledger_batch_rollback(s->ledger, NULL);
		if (aiss_ledger_batch_begin(s->ledger, &e)) {
			aissd_log(AISSD_LOG_ERROR, "batch begin: %s", e.text);
			batch_ok = 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		item *it = &s->batch[i];
		if (!it->authed || it->slow)
			continue;
		if (!batch_ok) {
			aiss_reply_clear(&it->rep);
			aiss_reply_init(&it->rep, it->req.op, it->req.id);
			aiss_reply_set_error(&it->rep, &e);
		}
		s->stats.requests++;
	}
	if (any && batch_ok) {
		if (aiss_ledger_batch_commit(s->ledger, &e)) {
			/* Nothing of the batch is durable: no request of it
			 * may be acknowledged as done. */
			aissd_log(AISSD_LOG_ERROR,
				  "group commit of %zu requests failed: %s", n,
				  e.text);
			if (aiss_ledger_in_batch(s->ledger)) {
				aiss_error e2 = {0};
				aiss_ledger_batch_rollback(s->ledger, &e2);
			}
			for (size_t i = 0; i < n; i++) {
				item *it = &s->batch[i];
				if (!it->run)
					continue;
				aiss_reply_clear(&it->rep);
				aiss_reply_init(&it->rep, it->req.op,
						it->req.id);
				it->rep.status = AISS_E_STORAGE;
				snprintf(it->rep.message,
					 sizeof(it->rep.message),
					 "the ledger could not be written "
					 "(%.400s); nothing was changed, retry",
					 e.text);
			}
		}
		s->stats.batches++;
	}
	for (size_t i = 0; i < n; i++) {
		item *it = &s->batch[i];
		if (it->slow && it->run && it->rep.status == AISS_OK &&
		    slow_submit(s, it) == 0)
			continue; /* answered by the worker, after the commit */
		if (it->slow)
			it->c->slow_busy = 0;
		if (it->run)
			log_request(&it->who, &it->rep);
		queue_reply(s, it);
		aiss_reply_clear(&it->rep);
	}
	s->n_batch = 0;
	return 0;
}

/* Takes back the worker's answers and queues them. */
static void slow_collect(aissd_server *s)
{
	char buf[64];
	while (read(s->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&s->mu);
	slow_job *j = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->mu);
	while (j) {
		slow_job *n = j->next;
		item it = {.c = j->c};
		it.req.op = j->req.op;
		it.req.id = j->req.id;
		it.rep = j->rep;
		j->c->slow_busy = 0;
		log_request(&j->who, &j->rep);
		if (!j->c->dead)
			queue_reply(s, &it);
		aiss_reply_clear(&it.rep);
		s->stats.requests++;
		free(j);
		j = n;
	}
}

static void reap(aissd_server *s)
{
	size_t j = 0;
	for (size_t i = 0; i < s->n_conns; i++) {
		conn *c = s->conns[i];
		int done = c->dead || (c->eof && c->in_off == c->in_len &&
				       c->out_off == c->out_len);
		/* A peer that closed with a partial frame pending: drop. */
		if (!done && c->eof && c->out_off == c->out_len) {
			size_t pl;
			if (!c->in ||
			    aiss_frame_check(c->in + c->in_off,
					     c->in_len - c->in_off, &pl) != 1)
				done = 1;
		}
		if (done && c->slow_busy) {
			/* The worker still answers for it: keep the struct.
			 * A dead one drops its socket now; a half-closed
			 * one still gets its answer. */
			if (c->dead && c->fd >= 0) {
				close(c->fd);
				c->fd = -1;
			}
			s->conns[j++] = c;
		} else if (done) {
			conn_free(c);
		} else {
			s->conns[j++] = c;
		}
	}
	s->n_conns = j;
}

static int has_frame(const conn *c)
{
	size_t pl;
	return !c->dead && c->in &&
	       aiss_frame_check(c->in + c->in_off, c->in_len - c->in_off,
				&pl) != 0;
}

/* Group commit under a closed loop: the clients answered by the previous
 * commit send their next requests a few microseconds apart, and a turn
 * that starts at once takes only the first of them, so commits alternate
 * between small batches. When this turn has fewer requests than the last
 * commit had, wait a bounded moment (coalesce_us) for the others. */
static void coalesce(aissd_server *s, size_t base, size_t nc)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < nc; i++) {
		struct pollfd *p = &s->pfds[base + i];
		conn *c = s->conns[i];
		p->fd = (!c->dead && !c->eof && !c->slow_busy &&
			 c->out_len - c->out_off < OUT_HIGH)
			    ? c->fd
			    : -1;
		p->events = POLLIN;
		p->revents = 0;
	}
	while (s->n_batch < s->last_batch && s->n_batch < s->batch_cap) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = (long)s->cfg.coalesce_us * 1000 -
			    ((t.tv_sec - t0.tv_sec) * 1000000000L +
			     (t.tv_nsec - t0.tv_nsec));
		if (left <= 0)
			break;
		struct timespec to = {.tv_sec = 0, .tv_nsec = left};
		int n = ppoll(s->pfds + base, nc, &to, NULL);
		if (n <= 0)
			break;
		for (size_t i = 0; i < nc; i++) {
			conn *c = s->conns[i];
			if (!(s->pfds[base + i].revents &
			      (POLLIN | POLLHUP | POLLERR)))
				continue;
			s->pfds[base + i].revents = 0;
			read_some(s, c);
			if (c->eof || c->dead)
				s->pfds[base + i].fd = -1;
			take_frames(s, c);
		}
	}
}

int aissd_server_step(aissd_server *s, int timeout_ms)
{
	size_t need = s->n_conns + 3;
	if (need > s->pfd_cap) {
		struct pollfd *p = realloc(s->pfds, need * 2 * sizeof(*p));
		if (!p) {
			aissd_log(AISSD_LOG_ERROR, "out of memory");
			return -1;
		}
		s->pfds = p;
		s->pfd_cap = need * 2;
	}
	size_t np = 0;
	int lu = -1, lt = -1;
	if (s->unix_fd >= 0) {
		lu = (int)np;
		s->pfds[np++] =
		    (struct pollfd){.fd = s->unix_fd, .events = POLLIN};
	}
	if (s->tcp_fd >= 0) {
		lt = (int)np;
		s->pfds[np++] =
		    (struct pollfd){.fd = s->tcp_fd, .events = POLLIN};
	}
	int lw = -1;
	if (s->slow_on) {
		lw = (int)np;
		s->pfds[np++] =
		    (struct pollfd){.fd = s->wake[0], .events = POLLIN};
	}
	size_t base = np;
	int pending = 0;
	for (size_t i = 0; i < s->n_conns; i++) {
		conn *c = s->conns[i];
		short ev = 0;
		/* Back-pressure: a client not reading replies is not read. */
		if (!c->eof && c->out_len - c->out_off < OUT_HIGH)
			ev |= POLLIN;
		if (c->out_off < c->out_len)
			ev |= POLLOUT;
		if (!c->slow_busy && has_frame(c))
			pending = 1;
		/* Nothing to wait for (closed, or waiting on the worker with
		 * the peer gone): keep it out of poll, which would otherwise
		 * report its hang-up at once, turn after turn. */
		int fd = (ev && !c->dead) ? c->fd : -1;
		s->pfds[np++] = (struct pollfd){.fd = fd, .events = ev};
	}
	int n = poll(s->pfds, np, pending ? 0 : timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		aissd_log(AISSD_LOG_ERROR, "poll: %s", strerror(errno));
		return -1;
	}
	size_t nc = s->n_conns; /* accepted ones join next turn */
	for (size_t i = 0; i < nc; i++) {
		conn *c = s->conns[i];
		short re = s->pfds[base + i].revents;
		if (re & POLLOUT)
			flush_out(c);
		if (re & (POLLIN | POLLHUP | POLLERR))
			read_some(s, c);
	}
	if (lw >= 0 && (s->pfds[lw].revents & POLLIN))
		slow_collect(s);
	if (lu >= 0 && (s->pfds[lu].revents & POLLIN))
		accept_some(s, s->unix_fd, 0);
	if (lt >= 0 && (s->pfds[lt].revents & POLLIN))
		accept_some(s, s->tcp_fd, 1);

	/* Gather complete requests from every connection, bounded; the
	 * starting connection rotates so none waits behind busy ones. */
	for (size_t i = 0; i < nc && s->n_batch < s->batch_cap; i++)
		take_frames(s, s->conns[(s->rr + i) % nc]);
	if (nc)
		s->rr = (s->rr + 1) % nc;
	if (s->n_batch && s->n_batch < s->last_batch && s->cfg.coalesce_us > 0)
		coalesce(s, base, nc);
	if (s->n_batch) {
		s->last_batch = s->n_batch;
		run_batch(s);
	}
	for (size_t i = 0; i < nc; i++) {
		conn *c = s->conns[i];
		if (!c->dead && c->out_off < c->out_len)
			flush_out(c);
	}
	reap(s);
	return 0;
}

int aissd_server_run(aissd_server *s, volatile sig_atomic_t *stop)
{
	int64_t next_sweep = 0; /* aiss.conf lien_expire (dispatch_lien.c) */
	while (!*stop) {
		if (aissd_server_step(s, 1000))
			return -1;
		aissd_lien_sweep(s->ledger, &s->cfg, &next_sweep);
	}
	/* Replies already committed still go out before we leave. */
	for (int i = 0; i < 20; i++) {
		int left = 0;
		for (size_t k = 0; k < s->n_conns; k++) {
			conn *c = s->conns[k];
			if (!c->dead && c->out_off < c->out_len) {
				flush_out(c);
				left |= !c->dead && c->out_off < c->out_len;
			}
		}
		if (!left)
			break;
		poll(NULL, 0, 10);
	}
	return 0;
}

size_t aissd_server_nconns(const aissd_server *s)
{
	return s->n_conns;
}

void aissd_server_stats(const aissd_server *s, aissd_stats *out)
{
	*out = s->stats;
}
