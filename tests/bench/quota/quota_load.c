/* SPDX-License-Identifier: GPL-2.0-or-later */
/* quota_load.c: load generator and crash checker for aissd: sets up grants,
 * drives reserve+settle pairs at a fixed offered load (latency p50/p99), and
 * for the kill -9 test records acknowledged replies and checks them after. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <math.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "aiss_client.h"
#include "aiss_wire.h"

#define LOAD_CLUSTER "load"
#define LOAD_USER "loaduser"
#define LOAD_GPU "h100"
#define LOAD_PRICE_CENTS 1000       /* HK$10.00 per GPU-hour */
#define LOAD_RUN_SECONDS 60         /* each run: 1 GPU for one minute */
#define LOAD_GRANT_SUBSIDY 10000000 /* HK$100,000.00 per grant */

/* Options shared by every mode. */
typedef struct load_opts {
	const char *socket;
	const char *prefix; /* grant ids PREFIX-00000, accounts PREFIX00000 */
	const char *ackdir; /* crash mode: where ack files go */
	const char *cluster;
	int grants;
	int conns;
	double rate;     /* pairs/s offered in total; 0 = closed loop */
	double duration; /* seconds */
	uint64_t job_base;
	int64_t max_pairs; /* per connection; 0 = no bound */
	int timeout_ms;
	int depth;       /* pairs in flight per connection (closed loop; with
			    --rate, the most per connection, default 64) */
	bool poisson;    /* open loop: exponential gaps instead of even ones */
	bool paced;      /* --rate without the open loop: each connection sends
			    one pair at a time on its own schedule */
	bool job_ranges; /* job ids: a range per connection (job_number) */
	aiss_time_t t0; /* run starts are t0 + job % 86400 */
} load_opts;

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aiss-quota-load: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until_ns(int64_t t)
{
	struct timespec ts = {.tv_sec = t / 1000000000,
			      .tv_nsec = t % 1000000000};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static aiss_client *connect_or_die(const load_opts *o)
{
	aiss_error err;
	aiss_client *c;

	aiss_error_clear(&err);
	c = aiss_client_connect(o->socket, o->timeout_ms, &err);
	if (!c)
		die("cannot connect to %s: %s", o->socket ? o->socket : "?",
		    err.text);
	return c;
}

static void account_of(const load_opts *o, int g, char *buf, size_t len)
{
	snprintf(buf, len, "%s%05d", o->prefix, g);
}

/* The run key and usage of job @job on connection-independent terms. */
static void make_req(const load_opts *o, uint64_t job, int grant,
		     aiss_reserve_req *rq, aiss_settle_req *sq)
{
	memset(rq, 0, sizeof(*rq));
	snprintf(rq->key.cluster, sizeof(rq->key.cluster), "%s", o->cluster);
	rq->key.job_id = job;
	rq->key.run_start = o->t0 + (aiss_time_t)(job % 86400);
	account_of(o, grant, rq->shape.account, sizeof(rq->shape.account));
	snprintf(rq->shape.user, sizeof(rq->shape.user), LOAD_USER);
	snprintf(rq->shape.gpu_type, sizeof(rq->shape.gpu_type), LOAD_GPU);
	rq->shape.gpus = 1;
	rq->shape.time_limit = LOAD_RUN_SECONDS;
	rq->shape.count = 1;
	rq->shape.start = rq->key.run_start;
	memset(sq, 0, sizeof(*sq));
	sq->key = rq->key;
	memcpy(sq->account, rq->shape.account, sizeof(sq->account));
	memcpy(sq->user, rq->shape.user, sizeof(sq->user));
	memcpy(sq->gpu_type, rq->shape.gpu_type, sizeof(sq->gpu_type));
	sq->gpus = 1;
	sq->end = rq->key.run_start + LOAD_RUN_SECONDS;
	snprintf(sq->end_state, sizeof(sq->end_state), "COMPLETED");
}

/* ---- setup ---- */

static int tolerate(const aiss_error *err)
{
	return err->code == AISS_E_EXISTS;
}

static int mode_setup(const load_opts *o)
{
	aiss_client *c = connect_or_die(o);
	aiss_error err;
	aiss_scheme s = {0};
	aiss_institution in = {0};
	aiss_price p = {0};
	aiss_grant g;

	aiss_error_clear(&err);
	if (aiss_client_scheme_get(c, &s, &err) < 0 || s.commitment == 0) {
		memset(&s, 0, sizeof(s));
		snprintf(s.name, sizeof(s.name), "AI Subsidy Scheme (load)");
		s.commitment = 300000000000LL; /* HK$3,000,000,000.00 */
		s.start = 1732982400;          /* 2024-12-01 00:00 HKT */
		s.end = 1827590400;            /* 2027-12-01 00:00 HKT */
		if (aiss_client_scheme_init(c, &s, &err) < 0)
			die("scheme init: %s", err.text);
	}
	snprintf(in.name, sizeof(in.name), "Load Test University");
	in.type = AISS_INST_UNIVERSITY;
	if (aiss_client_institution_add(c, &in, &err) < 0 && !tolerate(&err))
		die("institution add: %s", err.text);
	snprintf(p.gpu_type, sizeof(p.gpu_type), LOAD_GPU);
	p.cents_per_gpu_hour = LOAD_PRICE_CENTS;
	p.effective_from = 1577808000; /* 2020-01-01 00:00 HKT */
	if (aiss_client_price_set(c, &p, &err) < 0 && !tolerate(&err))
		die("price set: %s", err.text);
	for (int i = 0; i < o->grants; i++) {
		memset(&g, 0, sizeof(g));
		snprintf(g.id, sizeof(g.id), "%s-%05d", o->prefix, i);
		snprintf(g.institution, sizeof(g.institution), "%s", in.name);
		account_of(o, i, g.accounts, sizeof(g.accounts));
		snprintf(g.members, sizeof(g.members), LOAD_USER);
		snprintf(g.gpu_types, sizeof(g.gpu_types), LOAD_GPU);
		g.rate_bp = 7000;
		g.approved_gpu_seconds = 1000000000000LL;
		g.approved_subsidy = LOAD_GRANT_SUBSIDY;
		g.window_start = 1732982400; /* 2024-12-01 00:00 HKT */
		g.window_end = 1827590400;   /* 2027-12-01 00:00 HKT */
		g.state = AISS_GRANT_ACTIVE;
		if (aiss_client_grant_add(c, &g, &err) < 0 && !tolerate(&err))
			die("grant add %s: %s", g.id, err.text);
	}
	aiss_client_close(c);
	printf("setup: %d grants with prefix %s\n", o->grants, o->prefix);
	return 0;
}

/* ---- run: fixed offered load, latency ---- */

typedef struct worker {
	const load_opts *o;
	int idx;
	pthread_t th;
	int64_t *lat_ns; /* pair latency from the scheduled send */
	int64_t *svc_ns; /* pair latency from the actual send */
	int64_t n, cap;
	int64_t errors;
	int64_t behind; /* scheduled pairs never sent: the deadline came */
	int64_t start_ns, deadline_ns;
	char first_error[640];
	int ackfd; /* crash mode */
	bool stop_on_error;
} worker;

static void ack_write(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ack_write(int fd, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, line, (size_t)n) != n)
		die("cannot write the ack file: %s", strerror(errno));
}

/*
 * The job id of the @k-th pair of connection @idx. By default connections
 * take turns (job_base + k * conns + idx), like the ids slurmctld hands
 * out to jobs starting together; --job-ranges gives each connection its
 * own range 10,000,000 apart instead (the layout before, which scatters
 * every commit's inserts over one b-tree leaf per connection).
 */
static uint64_t job_number(const load_opts *o, int idx, uint64_t k)
{
	if (o->job_ranges)
		return o->job_base + (uint64_t)idx * 10000000ULL + k;
	return o->job_base + k * (uint64_t)o->conns + (uint64_t)idx;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	const load_opts *o = w->o;
	aiss_client *c = connect_or_die(o);
	double per_conn = o->rate > 0 ? o->rate / o->conns : 0;
	int grant = w->idx % o->grants;

	for (int64_t k = 0;; k++) {
		uint64_t job = job_number(o, w->idx, (uint64_t)k);
		int64_t sched = w->start_ns, t1, t2;
		aiss_reserve_req rq;
		aiss_settle_req sq;
		aiss_lien lien;
		aiss_charge_rec ch;
		aiss_error err;

		if (o->max_pairs && k >= o->max_pairs)
			break;
		if (per_conn > 0) {
			sched =
			    w->start_ns + (int64_t)((double)k * 1e9 / per_conn);
			if (sched >= w->deadline_ns)
				break;
			if (now_ns() >= w->deadline_ns) {
				/* Fell behind the schedule: count what was
				 * offered but never sent, and stop. */
				w->behind = (int64_t)((double)(w->deadline_ns -
							       w->start_ns) *
						      per_conn / 1e9) -
					    k;
				break;
			}
			sleep_until_ns(sched);
		} else if (w->deadline_ns && now_ns() >= w->deadline_ns) {
			break;
		}
		make_req(o, job, grant, &rq, &sq);
		aiss_error_clear(&err);
		t1 = now_ns();
		if (per_conn <= 0)
			sched = t1;
		if (w->ackfd >= 0)
			ack_write(w->ackfd, "A %" PRIu64 " %d\n", job, grant);
		if (aiss_client_reserve(c, &rq, &lien, &err) < 0)
			goto failed;
		if (w->ackfd >= 0)
			ack_write(w->ackfd, "R %" PRIu64 " %d %" PRId64 "\n",
				  job, grant, lien.held_subsidy);
		if (aiss_client_settle(c, &sq, &ch, &err) < 0)
			goto failed;
		t2 = now_ns();
		if (w->ackfd >= 0)
			ack_write(w->ackfd, "S %" PRIu64 " %d %" PRId64 "\n",
				  job, grant, ch.charge.subsidy);
		if (w->n == w->cap) {
			int64_t ncap = w->cap ? w->cap * 2 : 65536;

			w->lat_ns = realloc(w->lat_ns, ncap * sizeof(int64_t));
			w->svc_ns = realloc(w->svc_ns, ncap * sizeof(int64_t));
			if (!w->lat_ns || !w->svc_ns)
				die("out of memory");
			w->cap = ncap;
		}
		w->lat_ns[w->n] = t2 - sched;
		w->svc_ns[w->n] = t2 - t1;
		w->n++;
		continue;
	failed:
		w->errors++;
		if (!w->first_error[0])
			snprintf(w->first_error, sizeof(w->first_error),
				 "%s: %s", aiss_status_name(err.code),
				 err.text);
		if (w->stop_on_error)
			break;
		if (err.code == AISS_E_UNAVAILABLE ||
		    err.code == AISS_E_PROTOCOL) {
			aiss_client_close(c);
			c = connect_or_die(o);
		}
	}
	aiss_client_close(c);
	return NULL;
}

/* Records one pair's latency in @w. */
static void record(worker *w, int64_t lat, int64_t svc)
{
	if (w->n == w->cap) {
		int64_t ncap = w->cap ? w->cap * 2 : 65536;

		w->lat_ns = realloc(w->lat_ns, ncap * sizeof(int64_t));
		w->svc_ns = realloc(w->svc_ns, ncap * sizeof(int64_t));
		if (!w->lat_ns || !w->svc_ns)
			die("out of memory");
		w->cap = ncap;
	}
	w->lat_ns[w->n] = lat;
	w->svc_ns[w->n] = svc;
	w->n++;
}

/*
 * Closed loop with --depth D pairs in flight on one connection: D
 * reserves go out at once; each reserve's reply sends that run's settle,
 * each settle's reply starts a new pair (until the deadline). Replies come
 * in the order of the requests, so a FIFO of what was sent tells which
 * reply is which (checked against the request ids). A pair's latency runs
 * from its reserve's send to its settle's reply.
 */
typedef struct pipe_slot {
	uint64_t id;  /* request id awaiting its reply */
	uint64_t job; /* the run */
	int settle;   /* 0: reserve sent, 1: settle sent */
	int64_t t1;   /* reserve sent */
} pipe_slot;

static void *worker_pipe_main(void *arg)
{
	worker *w = arg;
	const load_opts *o = w->o;
	aiss_client *c = connect_or_die(o);
	int grant = w->idx % o->grants;
	size_t cap = (size_t)o->depth * 2 + 1, head = 0, len = 0;
	pipe_slot *q = calloc(cap, sizeof(*q));
	uint64_t next_job = 0;
	bool stopping = false;

	if (!q)
		die("out of memory");
	sleep_until_ns(w->start_ns);
	for (;;) {
		aiss_reserve_req rq;
		aiss_settle_req sq;
		aiss_error err;
		pipe_slot *sl;
		uint64_t id = 0;

		if (!stopping && w->deadline_ns && now_ns() >= w->deadline_ns)
			stopping = true;
		/* Top up to depth pairs in flight. */
		while (!stopping && len < (size_t)o->depth) {
			uint64_t job = job_number(o, w->idx, next_job++);

			make_req(o, job, grant, &rq, &sq);
			aiss_error_clear(&err);
			sl = &q[(head + len) % cap];
			sl->job = job;
			sl->settle = 0;
			sl->t1 = now_ns();
			if (aiss_client_send_reserve(c, &rq, &sl->id, &err) < 0)
				goto fault;
			len++;
		}
		if (!len)
			break;
		sl = &q[head];
		aiss_error_clear(&err);
		if (aiss_client_recv(c, &id, &err) < 0) {
			if (err.code == AISS_E_UNAVAILABLE ||
			    err.code == AISS_E_PROTOCOL)
				goto fault;
			w->errors++; /* refused: that pair ends here */
			if (!w->first_error[0])
				snprintf(w->first_error,
					 sizeof(w->first_error), "%s: %s",
					 aiss_status_name(err.code), err.text);
			head = (head + 1) % cap;
			len--;
			continue;
		}
		if (id != sl->id)
			die("pipelined reply %" PRIu64 " where %" PRIu64
			    " was expected",
			    id, sl->id);
		head = (head + 1) % cap;
		len--;
		if (sl->settle) {
			int64_t t2 = now_ns();

			record(w, t2 - sl->t1, t2 - sl->t1);
			continue;
		}
		/* the reserve is in: settle that run */
		{
			pipe_slot done = *sl;
			pipe_slot *ns = &q[(head + len) % cap];

			make_req(o, done.job, grant, &rq, &sq);
			*ns = done;
			ns->settle = 1;
			if (aiss_client_send_settle(c, &sq, &ns->id, &err) < 0)
				goto fault;
			len++;
		}
	}
	free(q);
	aiss_client_close(c);
	return NULL;
fault:
	w->errors += (int64_t)len + 1;
	if (!w->first_error[0])
		snprintf(w->first_error, sizeof(w->first_error), "%s: %s",
			 aiss_status_name(AISS_E_UNAVAILABLE),
			 "connection lost with pipelined requests in flight");
	free(q);
	aiss_client_close(c);
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t pct(const int64_t *v, int64_t n, int p)
{
	int64_t i;

	if (n == 0)
		return 0;
	i = (n * p + 99) / 100 - 1; /* nearest-rank */
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

/* Appends one request's latency to a growing array. */
static void req_add(int64_t **v, int64_t *n, int64_t *cap, int64_t x)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 65536;
		*v = realloc(*v, (size_t)*cap * sizeof(int64_t));
		if (!*v)
			die("out of memory");
	}
	(*v)[(*n)++] = x;
}

/*
 * Open loop (--rate R > 0): pair arrivals on a fixed schedule that does not
 * wait for replies. Pair k is due at t0 + k / R (or after exponential gaps,
 * --poisson) and goes out on connection k mod N, or the next one with fewer
 * than --depth pairs in flight; its reserve's reply sends its settle on the
 * same connection. One thread drives every connection with poll(), speaking
 * the wire format itself, so a slow reply never delays later arrivals. A
 * pair's latency runs from its scheduled time (not from when it could be
 * sent) to its settle's reply: no coordinated omission. lag_p99_us (send
 * time - scheduled time of reserves) shows whether the generator kept up.
 */
typedef struct open_slot {
	int64_t sched; /* when the pair was due */
	int64_t sent;  /* when its reserve went out */
	uint64_t job;
	uint64_t id; /* request awaiting its reply */
	int settle;  /* 0: reserve in flight, 1: settle in flight */
	int64_t settle_sent; /* when its settle went out */
} open_slot;

typedef struct open_conn {
	int fd;
	int grant;
	uint8_t *in;
	size_t in_len, in_cap;
	open_slot *q; /* FIFO: replies come in request order */
	size_t head, len, cap;
} open_conn;

static int open_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		die("bad socket path");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot connect to %s: %s", path, strerror(errno));
	return fd;
}

/* Sends request @rq (id and version set here) on @oc. */
static void open_send(open_conn *oc, aiss_request *rq, uint64_t id)
{
	uint8_t *frame = NULL;
	size_t len = 0, off = 0;
	aiss_error err;

	aiss_error_clear(&err);
	rq->version = AISS_PROTO_VERSION;
	rq->id = id;
	if (aiss_request_encode(rq, &frame, &len, &err))
		die("encoding a request: %s", err.text);
	while (off < len) {
		ssize_t n = send(oc->fd, frame + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("sending to aissd: %s", strerror(errno));
		off += (size_t)n;
	}
	free(frame);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int mode_open(const load_opts *o)
{
	int n = o->conns, depth = o->depth > 1 ? o->depth : 64;
	open_conn *cs = calloc((size_t)n, sizeof(*cs));
	struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
	aiss_request *rq = malloc(sizeof(*rq));
	aiss_reply rep;
	worker acc = {0}; /* latencies, errors */
	int64_t *lag = NULL, n_lag = 0, cap_lag = 0;
	int64_t *reqs = NULL, n_req = 0, req_cap = 0;
	int64_t t_start, deadline, next_t, t_last, drain_until = 0;
	int64_t deferred = 0, unanswered = 0, total_in_flight = 0,
		max_in_flight = 0;
	uint64_t k = 0, next_id = 1, rng = 0x9e3779b97f4a7c15ULL;
	double gap_ns = 1e9 / o->rate;
	bool sched_done = false, was_deferred = false;

	if (!cs || !pf || !rq)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		cs[i].fd = open_connect(o->socket);
		cs[i].grant = i % o->grants;
		cs[i].cap = (size_t)depth;
		cs[i].q = calloc(cs[i].cap, sizeof(open_slot));
		cs[i].in_cap = 64 * 1024;
		cs[i].in = malloc(cs[i].in_cap);
		if (!cs[i].q || !cs[i].in)
			die("out of memory");
		pf[i].fd = cs[i].fd;
		pf[i].events = POLLIN;
	}
	t_start = now_ns() + 20000000;
	deadline = t_start + (int64_t)(o->duration * 1e9);
	next_t = t_start;
	t_last = t_start;
	for (;;) {
		int64_t now = now_ns(), wait_ns;
		struct timespec ts;

		/* Every pair now due goes out. */
		while (!sched_done && next_t <= now) {
			open_conn *oc = NULL;
			aiss_settle_req sq;
			open_slot *sl;

			if (next_t >= deadline) {
				sched_done = true;
				drain_until =
				    now + (int64_t)o->timeout_ms * 1000000;
				break;
			}
			for (int j = 0; j < n && !oc; j++) {
				open_conn *c =
				    &cs[(k + (uint64_t)j) % (uint64_t)n];

				if (c->len < c->cap)
					oc = c;
			}
			if (!oc) { /* every connection full: wait for one */
				if (!was_deferred)
					deferred++;
				was_deferred = true;
				break;
			}
			was_deferred = false;
			memset(rq, 0, sizeof(*rq));
			rq->op = AISS_OP_RESERVE;
			make_req(o, o->job_base + k, oc->grant, &rq->u.reserve,
				 &sq);
			sl = &oc->q[(oc->head + oc->len) % oc->cap];
			sl->sched = next_t;
			sl->job = o->job_base + k;
			sl->id = next_id++;
			sl->settle = 0;
			open_send(oc, rq, sl->id);
			sl->sent = now_ns();
			oc->len++;
			if (++total_in_flight > max_in_flight)
				max_in_flight = total_in_flight;
			if (n_lag == cap_lag) {
				cap_lag = cap_lag ? cap_lag * 2 : 65536;
				lag = realloc(lag,
					      (size_t)cap_lag * sizeof(*lag));
				if (!lag)
					die("out of memory");
			}
			lag[n_lag++] = sl->sent - sl->sched;
			k++;
			if (o->poisson) {
				double u = (double)(rng_next(&rng) >> 11) /
					   9007199254740992.0; /* [0, 1) */
				next_t += (int64_t)(-log(1.0 - u) * gap_ns);
			} else {
				next_t =
				    t_start + (int64_t)((double)k * gap_ns);
			}
		}
		if (sched_done && total_in_flight == 0)
			break;
		if (sched_done && now >= drain_until) {
			unanswered = total_in_flight;
			break;
		}
		if (!sched_done && !was_deferred)
			wait_ns = next_t - now;
		else if (sched_done)
			wait_ns = drain_until - now;
		else
			wait_ns = 1000000000;
		if (wait_ns < 0)
			wait_ns = 0;
		ts.tv_sec = wait_ns / 1000000000;
		ts.tv_nsec = wait_ns % 1000000000;
		if (ppoll(pf, (nfds_t)n, &ts, NULL) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			open_conn *oc = &cs[i];
			size_t off = 0, plen;
			ssize_t got;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = recv(oc->fd, oc->in + oc->in_len,
				   oc->in_cap - oc->in_len, MSG_DONTWAIT);
			if (got == 0)
				die("aissd closed a connection");
			if (got < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				die("reading from aissd: %s", strerror(errno));
			}
			oc->in_len += (size_t)got;
			while (aiss_frame_check(oc->in + off, oc->in_len - off,
						&plen) == 1) {
				open_slot *sl = &oc->q[oc->head];
				aiss_error err;
				int64_t t2;

				aiss_error_clear(&err);
				memset(&rep, 0, sizeof(rep));
				if (aiss_reply_decode(oc->in + off +
							  AISS_FRAME_HDR,
						      plen, &rep, &err))
					die("bad reply: %s", err.text);
				off += AISS_FRAME_HDR + plen;
				if (!oc->len || rep.id != sl->id)
					die("reply %" PRIu64 " where %" PRIu64
					    " was expected",
					    rep.id, oc->len ? sl->id : 0);
				oc->head = (oc->head + 1) % oc->cap;
				oc->len--;
				t2 = now_ns();
				if (rep.status != AISS_OK) {
					acc.errors++;
					if (!acc.first_error[0])
						snprintf(
						    acc.first_error,
						    sizeof(acc.first_error),
						    "%s: %s",
						    aiss_status_name(
							rep.status),
						    rep.message);
					total_in_flight--;
				} else if (!sl->settle) {
					open_slot done = *sl, *ns;
					aiss_reserve_req rr;

					/* The reserve alone, from its
					 * scheduled time. */
					req_add(&reqs, &n_req, &req_cap,
						t2 - sl->sched);

					memset(rq, 0, sizeof(*rq));
					rq->op = AISS_OP_SETTLE;
					make_req(o, done.job, oc->grant, &rr,
						 &rq->u.settle);
					ns = &oc->q[(oc->head + oc->len) %
						    oc->cap];
					*ns = done;
					ns->settle = 1;
					ns->id = next_id++;
					ns->settle_sent = now_ns();
					open_send(oc, rq, ns->id);
					oc->len++;
				} else {
					/* The settle alone, from when it
					 * went out (its reserve's reply). */
					req_add(&reqs, &n_req, &req_cap,
						t2 - sl->settle_sent);
					record(&acc, t2 - sl->sched,
					       t2 - sl->sent);
					total_in_flight--;
					t_last = t2;
				}
				aiss_reply_clear(&rep);
			}
			if (off) {
				memmove(oc->in, oc->in + off, oc->in_len - off);
				oc->in_len -= off;
			}
			if (oc->in_len == oc->in_cap) {
				oc->in_cap *= 2;
				oc->in = realloc(oc->in, oc->in_cap);
				if (!oc->in)
					die("out of memory");
			}
		}
	}
	qsort(acc.lat_ns, (size_t)acc.n, sizeof(int64_t), cmp_i64);
	qsort(acc.svc_ns, (size_t)acc.n, sizeof(int64_t), cmp_i64);
	qsort(lag, (size_t)n_lag, sizeof(int64_t), cmp_i64);
	qsort(reqs, (size_t)n_req, sizeof(int64_t), cmp_i64);
	{
		double secs = (double)(t_last - t_start) / 1e9;

		printf("pairs=%" PRId64 " errors=%" PRId64 " unsent=0"
		       " seconds=%.2f pairs_per_s=%.0f offered_per_s=%.0f"
		       " conns=%d depth=%d mode=open%s p50_us=%" PRId64
		       " p99_us=%" PRId64 " p999_us=%" PRId64 " max_us=%" PRId64
		       " svc_p50_us=%" PRId64 " svc_p99_us=%" PRId64
		       " lag_p99_us=%" PRId64 " lag_max_us=%" PRId64
		       " max_in_flight=%" PRId64 " deferred=%" PRId64
		       " unanswered=%" PRId64 "\n",
		       acc.n, acc.errors + unanswered, secs,
		       acc.n / (secs > 0 ? secs : 1), o->rate, n, depth,
		       o->poisson ? "-poisson" : "",
		       pct(acc.lat_ns, acc.n, 50) / 1000,
		       pct(acc.lat_ns, acc.n, 99) / 1000,
		       acc.n ? acc.lat_ns[(acc.n * 999 + 999) / 1000 - 1] / 1000
			     : 0,
		       acc.n ? acc.lat_ns[acc.n - 1] / 1000 : 0,
		       pct(acc.svc_ns, acc.n, 50) / 1000,
		       pct(acc.svc_ns, acc.n, 99) / 1000,
		       pct(lag, n_lag, 99) / 1000,
		       n_lag ? lag[n_lag - 1] / 1000 : 0, max_in_flight,
		       deferred, unanswered);
		/* Each request on its own (a reserve from its scheduled
		 * time, a settle from its send): what a Slurm plugin waits
		 * for, since a job's two requests come hours apart. */
		printf("requests=%" PRId64 " req_p50_us=%" PRId64
		       " req_p99_us=%" PRId64 " req_p999_us=%" PRId64 "\n",
		       n_req, pct(reqs, n_req, 50) / 1000,
		       pct(reqs, n_req, 99) / 1000,
		       n_req ? reqs[(n_req * 999 + 999) / 1000 - 1] / 1000 : 0);
		if (acc.first_error[0])
			printf("first_error=%s\n", acc.first_error);
	}
	for (int i = 0; i < n; i++) {
		close(cs[i].fd);
		free(cs[i].q);
		free(cs[i].in);
	}
	free(cs);
	free(pf);
	free(rq);
	free(lag);
	free(reqs);
	free(acc.lat_ns);
	free(acc.svc_ns);
	return (acc.errors + unanswered) ? 1 : 0;
}

static int mode_run(const load_opts *o, bool crash)
{
	worker *ws = calloc((size_t)o->conns, sizeof(*ws));
	int64_t total = 0, errors = 0, behind = 0, t_start, t_end, *all, *svc,
		k = 0;
	const char *first_error = "";

	if (!ws)
		die("out of memory");
	t_start = now_ns() + 20000000; /* 20 ms for every thread to connect */
	for (int i = 0; i < o->conns; i++) {
		ws[i].o = o;
		ws[i].idx = i;
		ws[i].ackfd = -1;
		ws[i].start_ns =
		    t_start + (o->rate > 0 ? (int64_t)(1e9 * i / o->rate) : 0);
		ws[i].deadline_ns = o->duration > 0
					? t_start + (int64_t)(o->duration * 1e9)
					: 0;
		if (crash) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/ack.%" PRIu64 ".%d",
				 o->ackdir, o->job_base, i);
			ws[i].ackfd = open(
			    path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			    0644);
			if (ws[i].ackfd < 0)
				die("cannot open %s: %s", path,
				    strerror(errno));
			ws[i].stop_on_error = true;
		}
		if (pthread_create(&ws[i].th, NULL,
				   o->depth > 1 ? worker_pipe_main : worker_main,
				   &ws[i]) != 0)
			die("pthread_create failed");
	}
	for (int i = 0; i < o->conns; i++) {
		pthread_join(ws[i].th, NULL);
		total += ws[i].n;
		errors += ws[i].errors;
		behind += ws[i].behind > 0 ? ws[i].behind : 0;
		if (ws[i].first_error[0] && !first_error[0])
			first_error = ws[i].first_error;
	}
	t_end = now_ns();
	all = malloc((size_t)(total ? total : 1) * sizeof(int64_t));
	svc = malloc((size_t)(total ? total : 1) * sizeof(int64_t));
	if (!all || !svc)
		die("out of memory");
	for (int i = 0; i < o->conns; i++) {
		memcpy(all + k, ws[i].lat_ns,
		       (size_t)ws[i].n * sizeof(int64_t));
		memcpy(svc + k, ws[i].svc_ns,
		       (size_t)ws[i].n * sizeof(int64_t));
		k += ws[i].n;
	}
	qsort(all, (size_t)total, sizeof(int64_t), cmp_i64);
	qsort(svc, (size_t)total, sizeof(int64_t), cmp_i64);
	{
		double secs = (double)(t_end - t_start) / 1e9;

		printf("pairs=%" PRId64 " errors=%" PRId64 " unsent=%" PRId64
		       " seconds=%.2f "
		       "pairs_per_s=%.0f offered_per_s=%.0f conns=%d depth=%d "
		       "p50_us=%" PRId64 " p99_us=%" PRId64 " max_us=%" PRId64
		       " svc_p50_us=%" PRId64 " svc_p99_us=%" PRId64 "\n",
		       total, errors, behind, secs,
		       total / (secs > 0 ? secs : 1), o->rate, o->conns,
		       o->depth > 1 ? o->depth : 1,
		       pct(all, total, 50) / 1000, pct(all, total, 99) / 1000,
		       total ? all[total - 1] / 1000 : 0,
		       pct(svc, total, 50) / 1000, pct(svc, total, 99) / 1000);
		if (first_error[0])
			printf("first_error=%s\n", first_error);
	}
	for (int i = 0; i < o->conns; i++) {
		free(ws[i].lat_ns);
		free(ws[i].svc_ns);
		if (ws[i].ackfd >= 0)
			close(ws[i].ackfd);
	}
	free(all);
	free(svc);
	free(ws);
	return crash ? 0 : (errors ? 1 : 0);
}

/* ---- check: after a crash and restart ---- */

typedef struct job_rec {
	uint64_t job;
	int grant;
	int attempted, reserved, settled; /* acknowledged steps */
	int64_t held, subsidy;            /* from the acks */
	int charges;                      /* times found in the export */
	int64_t exported_subsidy;
} job_rec;

typedef struct check_state {
	job_rec *jobs;
	size_t n, cap;
	const load_opts *o;
	int64_t foreign; /* charges of other clusters */
	int64_t unknown; /* charges of this cluster never attempted */
	int64_t *grant_subsidy;
	int64_t *grant_runs;
} check_state;

static int cmp_job(const void *a, const void *b)
{
	uint64_t x = ((const job_rec *)a)->job, y = ((const job_rec *)b)->job;

	return (x > y) - (x < y);
}

static job_rec *find_job(check_state *cs, uint64_t job)
{
	job_rec key = {.job = job};

	return bsearch(&key, cs->jobs, cs->n, sizeof(job_rec), cmp_job);
}

static void read_acks(check_state *cs, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		die("cannot open %s: %s", dir, strerror(errno));
	/* Pass 1: every attempted job. */
	while ((e = readdir(d))) {
		char path[4096], line[256];
		FILE *f;

		if (strncmp(e->d_name, "ack.", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			die("cannot read %s", path);
		while (fgets(line, sizeof(line), f)) {
			uint64_t job;
			int grant;
			char kind;

			/* A torn last line cannot happen (the loader is
			 * never killed), but skip anything unexpected. */
			if (sscanf(line, "%c %" SCNu64 " %d", &kind, &job,
				   &grant) != 3 ||
			    kind != 'A')
				continue;
			if (cs->n == cs->cap) {
				cs->cap = cs->cap ? cs->cap * 2 : 65536;
				cs->jobs = realloc(cs->jobs,
						   cs->cap * sizeof(job_rec));
				if (!cs->jobs)
					die("out of memory");
			}
			memset(&cs->jobs[cs->n], 0, sizeof(job_rec));
			cs->jobs[cs->n].job = job;
			cs->jobs[cs->n].grant = grant;
			cs->jobs[cs->n].attempted = 1;
			cs->n++;
		}
		fclose(f);
	}
	qsort(cs->jobs, cs->n, sizeof(job_rec), cmp_job);
	for (size_t i = 1; i < cs->n; i++)
		if (cs->jobs[i].job == cs->jobs[i - 1].job)
			die("job %" PRIu64 " attempted twice: reused job "
			    "numbers across rounds",
			    cs->jobs[i].job);
	/* Pass 2: acknowledgements. */
	rewinddir(d);
	while ((e = readdir(d))) {
		char path[4096], line[256];
		FILE *f;

		if (strncmp(e->d_name, "ack.", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			die("cannot read %s", path);
		while (fgets(line, sizeof(line), f)) {
			uint64_t job;
			int grant;
			int64_t v;
			char kind;
			job_rec *j;

			if (sscanf(line, "%c %" SCNu64 " %d %" SCNd64, &kind,
				   &job, &grant, &v) != 4)
				continue;
			j = find_job(cs, job);
			if (grant < 0 || grant >= cs->o->grants)
				die("ack of job %" PRIu64 " names grant %d of "
				    "%d: wrong --grants",
				    job, grant, cs->o->grants);
			if (!j)
				die("ack of job %" PRIu64 " never attempted",
				    job);
			if (kind == 'R') {
				j->reserved = 1;
				j->held = v;
			} else if (kind == 'S') {
				j->settled = 1;
				j->subsidy = v;
			}
		}
		fclose(f);
	}
	closedir(d);
}

static int export_cb(const aiss_charge_rec *c, void *arg)
{
	check_state *cs = arg;
	job_rec *j;

	if (strcmp(c->key.cluster, cs->o->cluster) != 0) {
		cs->foreign++;
		return 0;
	}
	j = find_job(cs, c->key.job_id);
	if (!j) {
		cs->unknown++;
		return 0;
	}
	j->charges++;
	j->exported_subsidy = c->charge.subsidy;
	if (j->grant >= 0 && j->grant < cs->o->grants) {
		cs->grant_subsidy[j->grant] += c->charge.subsidy;
		cs->grant_runs[j->grant]++;
	}
	return 0;
}

static void export_all(check_state *cs, aiss_client *c)
{
	aiss_error err;

	for (size_t i = 0; i < cs->n; i++)
		cs->jobs[i].charges = 0;
	memset(cs->grant_subsidy, 0, sizeof(int64_t) * cs->o->grants);
	memset(cs->grant_runs, 0, sizeof(int64_t) * cs->o->grants);
	cs->foreign = cs->unknown = 0;
	aiss_error_clear(&err);
	if (aiss_client_charge_export(c, 0, 0, export_cb, cs, &err) < 0)
		die("charge export: %s", err.text);
}

static int mode_check(const load_opts *o)
{
	check_state cs = {.o = o};
	aiss_client *c = connect_or_die(o);
	aiss_error err;
	aiss_verify_result v;
	int64_t acked_settles = 0, lost = 0, dup = 0, mismatch = 0,
		acked_open = 0, attempted_open = 0, repaired = 0, bad = 0,
		liens_total = 0, runs_total = 0;
	int64_t *open_acked, *open_attempted;

	cs.grant_subsidy = calloc((size_t)o->grants, sizeof(int64_t));
	cs.grant_runs = calloc((size_t)o->grants, sizeof(int64_t));
	open_acked = calloc((size_t)o->grants, sizeof(int64_t));
	open_attempted = calloc((size_t)o->grants, sizeof(int64_t));
	if (!cs.grant_subsidy || !cs.grant_runs || !open_acked ||
	    !open_attempted)
		die("out of memory");
	read_acks(&cs, o->ackdir);
	export_all(&cs, c);

	/* 1. Every acknowledged settle is present exactly once, with the
	 *    subsidy that was acknowledged. */
	for (size_t i = 0; i < cs.n; i++) {
		job_rec *j = &cs.jobs[i];

		if (j->charges > 1)
			dup++;
		if (j->settled) {
			acked_settles++;
			if (j->charges == 0)
				lost++;
			else if (j->exported_subsidy != j->subsidy)
				mismatch++;
		}
		if (j->charges == 0) {
			if (j->reserved)
				open_acked[j->grant]++, acked_open++;
			open_attempted[j->grant]++, attempted_open++;
		}
	}
	if (cs.unknown) {
		fprintf(stderr,
			"check: %" PRId64 " charges of cluster %s "
			"were never attempted\n",
			cs.unknown, o->cluster);
		bad++;
	}

	/* 2. No lien lost: each grant holds at least the liens of its
	 *    acknowledged, unsettled reserves, and at most those attempted. */
	for (int g = 0; g < o->grants; g++) {
		aiss_balance b;
		char id[AISS_ID_MAX];

		snprintf(id, sizeof(id), "%s-%05d", o->prefix, g);
		aiss_error_clear(&err);
		if (aiss_client_balance(c, id, &b, &err) < 0)
			die("balance %s: %s", id, err.text);
		liens_total += b.n_liens;
		if (b.n_liens < open_acked[g] ||
		    b.n_liens > open_attempted[g]) {
			fprintf(stderr,
				"check: grant %s holds %" PRId64
				" liens; acknowledged open %" PRId64
				", attempted open %" PRId64 "\n",
				id, b.n_liens, open_acked[g],
				open_attempted[g]);
			bad++;
		}
	}

	/* 3. Idempotency after restart: settling an acknowledged run again
	 *    returns the first answer and adds nothing. Then settle every
	 *    attempted, uncharged run so the next round starts clean. */
	for (size_t i = 0; i < cs.n; i++) {
		job_rec *j = &cs.jobs[i];
		aiss_reserve_req rq;
		aiss_settle_req sq;
		aiss_charge_rec ch;

		if (!(j->charges == 0 || (j->settled && i % 97 == 0)))
			continue;
		make_req(o, j->job, j->grant, &rq, &sq);
		aiss_error_clear(&err);
		if (aiss_client_settle(c, &sq, &ch, &err) < 0)
			die("settle of job %" PRIu64 " after restart: %s",
			    j->job, err.text);
		if (j->charges == 0)
			repaired++;
		else if (ch.charge.subsidy != j->subsidy)
			mismatch++;
	}
	export_all(&cs, c);
	for (size_t i = 0; i < cs.n; i++)
		if (cs.jobs[i].charges != 1) {
			fprintf(stderr,
				"check: job %" PRIu64 " has %d "
				"charges after repair\n",
				cs.jobs[i].job, cs.jobs[i].charges);
			bad++;
			break;
		}

	/* 4. Balance math per grant: charged == sum of its charges, no lien
	 *    left, remaining == approved - charged - held + adjustments. */
	liens_total = 0;
	for (int g = 0; g < o->grants; g++) {
		aiss_balance b;
		char id[AISS_ID_MAX];

		snprintf(id, sizeof(id), "%s-%05d", o->prefix, g);
		if (aiss_client_balance(c, id, &b, &err) < 0)
			die("balance %s: %s", id, err.text);
		liens_total += b.n_liens;
		runs_total += b.n_runs;
		if (b.charged_subsidy != cs.grant_subsidy[g] ||
		    b.n_runs != cs.grant_runs[g] || b.n_liens != 0 ||
		    b.held_subsidy != 0 ||
		    b.remaining != b.approved_subsidy - b.charged_subsidy -
				       b.held_subsidy + b.adjustments) {
			fprintf(stderr,
				"check: grant %s: charged %" PRId64
				" vs %" PRId64 " exported, runs %" PRId64
				" vs %" PRId64 ", liens %" PRId64
				", held %" PRId64 ", remaining %" PRId64 "\n",
				id, b.charged_subsidy, cs.grant_subsidy[g],
				b.n_runs, cs.grant_runs[g], b.n_liens,
				b.held_subsidy, b.remaining);
			bad++;
		}
	}

	/* 5. The hash chain verifies. */
	memset(&v, 0, sizeof(v));
	if (aiss_client_journal_verify(c, &v, &err) < 0)
		die("journal verify: %s", err.text);
	if (!v.ok) {
		fprintf(stderr, "check: journal broken at %" PRId64 ": %s\n",
			v.first_bad_seq, v.reason);
		bad++;
	}
	printf("check: attempted=%zu acked_settles=%" PRId64 " lost=%" PRId64
	       " duplicated=%" PRId64 " mismatched=%" PRId64
	       " open_acked_liens=%" PRId64 " open_attempted=%" PRId64
	       " repaired=%" PRId64 " runs=%" PRId64 " journal_entries=%" PRId64
	       " journal_ok=%d problems=%" PRId64 "\n",
	       cs.n, acked_settles, lost, dup, mismatch, acked_open,
	       attempted_open, repaired, runs_total, v.n_entries, v.ok,
	       bad + lost + dup + mismatch);
	aiss_client_close(c);
	free(cs.jobs);
	free(cs.grant_subsidy);
	free(cs.grant_runs);
	free(open_acked);
	free(open_attempted);
	return (bad + lost + dup + mismatch) ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: aiss-quota-load --socket PATH [--prefix P] "
		"[--grants G] MODE\n"
		"  setup                          create the scheme, a price "
		"and G grants\n"
		"  run [--conns N] [--rate R] [--duration S] [--job-base B]\n"
		"                                 reserve+settle pairs at R "
		"pairs/s (0: as fast as possible)\n"
		"      [--depth D]                closed loop: D pairs in "
		"flight per connection\n"
		"                                 (pipelined; N x D requests "
		"in flight in all)\n"
		"      --rate R [--depth D] [--poisson]\n"
		"                                 open loop: pairs due every "
		"1/R s (or Poisson), spread\n"
		"                                 over N connections, at most "
		"D (64) in flight on each;\n"
		"                                 latency from the scheduled "
		"time\n"
		"      --rate R --paced           each connection one pair at "
		"a time on its own schedule\n"
		"      [--job-ranges]             job ids in a range per "
		"connection, not taking turns\n"
		"  crash --ackdir D --job-base B [--conns N]\n"
		"                                 pairs until aissd dies, "
		"acknowledgements to D/ack.*\n"
		"  check --ackdir D               after a restart: every "
		"acknowledged settle once, no lien lost\n");
	exit(2);
}

int main(int argc, char **argv)
{
	load_opts o = {.prefix = "LOAD",
		       .cluster = LOAD_CLUSTER,
		       .grants = 1,
		       .conns = 4,
		       .rate = 0,
		       .duration = 5,
		       .job_base = 1,
		       .timeout_ms = 10000};
	const char *mode = NULL;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
		if (OPT("--socket"))
			o.socket = v;
		else if (OPT("--prefix"))
			o.prefix = v;
		else if (OPT("--cluster"))
			o.cluster = v;
		else if (OPT("--grants"))
			o.grants = atoi(v);
		else if (OPT("--conns"))
			o.conns = atoi(v);
		else if (OPT("--rate"))
			o.rate = atof(v);
		else if (OPT("--duration"))
			o.duration = atof(v);
		else if (OPT("--job-base"))
			o.job_base = strtoull(v, NULL, 10);
		else if (OPT("--max-pairs"))
			o.max_pairs = strtoll(v, NULL, 10);
		else if (OPT("--ackdir"))
			o.ackdir = v;
		else if (OPT("--timeout"))
			o.timeout_ms = atoi(v);
		else if (OPT("--depth"))
			o.depth = atoi(v);
		else if (strcmp(a, "--poisson") == 0)
			o.poisson = true;
		else if (strcmp(a, "--paced") == 0)
			o.paced = true;
		else if (strcmp(a, "--job-ranges") == 0)
			o.job_ranges = true;
		else if (a[0] != '-' && !mode)
			mode = a;
		else
			usage();
#undef OPT
	}
	if (!mode || o.grants <= 0 || o.conns <= 0 || o.conns > 1024 ||
	    o.depth < 0 || o.depth > 1024 || (o.depth > 1 && o.paced))
		usage();
	/* Run starts: 2026-01-01 00:00 HKT plus up to a day, inside the grant
	 * windows and after the price (fixed, so that check mode rebuilds the
	 * same run keys whenever it runs). */
	o.t0 = 1767196800;
	if (strcmp(mode, "setup") == 0)
		return mode_setup(&o);
	if (strcmp(mode, "run") == 0 && o.rate > 0 && !o.paced)
		return mode_open(&o);
	if (strcmp(mode, "run") == 0)
		return mode_run(&o, false);
	if (strcmp(mode, "crash") == 0) {
		if (!o.ackdir)
			usage();
		o.duration = 0;
		o.rate = 0;
		o.depth = 0; /* the crash checker's acks need one at a time */
		return mode_run(&o, true);
	}
	if (strcmp(mode, "check") == 0) {
		if (!o.ackdir)
			usage();
		return mode_check(&o);
	}
	usage();
}
