/* SPDX-License-Identifier: GPL-2.0-or-later */
/* client.c: the aissd client library (aiss_client.h): connect, framed
 * request/reply with poll()-bounded timeouts, MUNGE over TCP, paging. */
#include "aiss_client.h"

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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "aiss_wire.h"

struct aiss_client {
	int fd;
	int timeout_ms;
	int tcp;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256];
	int port;
	uint64_t next_id;
	unsigned in_flight; /* pipelined requests sent, replies not read */
	munge_ctx_t munge;  /* TCP only */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
	int64_t l = deadline - now_ms();
	return l < 0 ? 0 : (int)l;
}

/* Waits for @events on @fd until @deadline: 1 ready, 0 timed out, -1. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		return 1;
	}
}

/* Finishes a non-blocking connect(): 0 connected, -1 with errno. */
static int connect_wait(int fd, const struct sockaddr *sa, socklen_t len,
			int64_t deadline)
{
	for (;;) {
		if (connect(fd, sa, len) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) { /* Unix socket backlog full: retry */
			if (now_ms() >= deadline) {
				errno = ETIMEDOUT;
				return -1;
			}
			poll(NULL, 0, 5);
			continue;
		}
		if (errno != EINPROGRESS)
			return -1;
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return -1;
		if (soerr) {
			errno = soerr;
			return -1;
		}
		return 0;
	}
}

static int open_unix(aiss_client *c, aiss_error *err)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "cannot create a socket: %s",
				      strerror(errno));
	if (connect_wait(fd, (struct sockaddr *)&sa, sizeof(sa), deadline)) {
		int e = errno;
		close(fd);
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "cannot reach aissd at %s: %s (is aissd "
				      "running? set --socket or AISS_SOCKET)",
				      c->path, strerror(e));
	}
	c->fd = fd;
	return 0;
}

static int open_tcp(aiss_client *c, aiss_error *err)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	char port[16];
	snprintf(port, sizeof(port), "%d", c->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_family = AF_UNSPEC};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(c->host, port, &hints, &res);
	if (g)
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "cannot resolve %s: %s", c->host,
				      gai_strerror(g));
	int e = ECONNREFUSED;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int fd = socket(a->ai_family,
				a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect_wait(fd, a->ai_addr, a->ai_addrlen, deadline) ==
		    0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
			c->fd = fd;
			freeaddrinfo(res);
			return 0;
		}
		e = errno;
		close(fd);
	}
	freeaddrinfo(res);
	return aiss_error_set(err, AISS_E_UNAVAILABLE,
			      "cannot reach aissd at %s:%d: %s", c->host,
			      c->port, strerror(e));
}

static int reopen(aiss_client *c, aiss_error *err)
{
	return c->tcp ? open_tcp(c, err) : open_unix(c, err);
}

static void drop(aiss_client *c)
{
	c->in_flight = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

aiss_client *aiss_client_connect(const char *path, int timeout_ms,
				 aiss_error *err)
{
	if (!path || !*path)
		path = getenv("AISS_SOCKET");
	if (!path || !*path)
		path = AISS_DEFAULT_SOCKET;
	aiss_client *c = calloc(1, sizeof(*c));
	if (!c) {
		aiss_error_set(err, AISS_E_UNAVAILABLE, "out of memory");
		return NULL;
	}
	if (strlen(path) >= sizeof(c->path)) {
		free(c);
		aiss_error_set(err, AISS_E_UNAVAILABLE,
			       "socket path too long: %s", path);
		return NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : AISS_DEFAULT_TIMEOUT_MS;
	c->next_id = 1;
	if (open_unix(c, err)) {
		free(c);
		return NULL;
	}
	return c;
}

aiss_client *aiss_client_connect_tcp(const char *host, int port, int timeout_ms,
				     aiss_error *err)
{
	if (!host || !*host || strlen(host) >= 256 || port <= 0 ||
	    port > 65535) {
		aiss_error_set(err, AISS_E_UNAVAILABLE,
			       "bad aissd address %s:%d", host ? host : "",
			       port);
		return NULL;
	}
	aiss_client *c = calloc(1, sizeof(*c));
	if (!c) {
		aiss_error_set(err, AISS_E_UNAVAILABLE, "out of memory");
		return NULL;
	}
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	c->tcp = 1;
	c->fd = -1;
	c->munge = munge_ctx_create();
	/* A private munged (tests, several realms): its socket. */
	const char *ms = getenv("AISS_MUNGE_SOCKET");
	if (c->munge && ms && *ms)
		munge_ctx_set(c->munge, MUNGE_OPT_SOCKET, ms);
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : AISS_DEFAULT_TIMEOUT_MS;
	c->next_id = 1;
	if (open_tcp(c, err)) {
		if (c->munge)
			munge_ctx_destroy(c->munge);
		free(c);
		return NULL;
	}
	return c;
}

void aiss_client_close(aiss_client *c)
{
	if (!c)
		return;
	drop(c);
	if (c->munge)
		munge_ctx_destroy(c->munge);
	free(c);
}

static int send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r <= 0) {
				if (r == 0)
					errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		return -1;
	}
	return 0;
}

static int recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = recv(fd, buf + off, len - off, 0);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = wait_fd(fd, POLLIN, deadline);
			if (r <= 0) {
				if (r == 0)
					errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		return -1;
	}
	return 0;
}

/* Sends @req (id, version and credential filled here) on the open
 * connection. 0, or -1 with @err (the connection is dropped). */
static int send_request(aiss_client *c, aiss_request *req, int64_t deadline,
			aiss_error *err)
{
	req->version = AISS_PROTO_VERSION;
	req->id = c->next_id++;
	req->cred_len = 0;
	req->credential[0] = '\0';
	if (c->tcp) {
		char *cred = NULL;
		munge_err_t me = munge_encode(&cred, c->munge, NULL, 0);
		if (me != EMUNGE_SUCCESS) {
			free(cred);
			return aiss_error_set(err, AISS_E_UNAVAILABLE,
					      "cannot get a MUNGE credential: "
					      "%s (is munged running?)",
					      munge_strerror(me));
		}
		size_t n = strlen(cred);
		if (n > AISS_CRED_MAX) {
			free(cred);
			return aiss_error_set(err, AISS_E_INTERNAL,
					      "MUNGE credential too long");
		}
		memcpy(req->credential, cred, n + 1);
		req->cred_len = n;
		free(cred);
	}
	uint8_t *frame = NULL;
	size_t flen = 0;
	if (aiss_request_encode(req, &frame, &flen, err))
		return -1;
	if (send_all(c->fd, frame, flen, deadline)) {
		int e = errno;
		free(frame);
		drop(c);
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "sending to aissd failed: %s",
				      strerror(e));
	}
	free(frame);
	return 0;
}

/* Receives the next reply into @rep. 0, or -1 with @err (the connection
 * is dropped). */
static int recv_reply(aiss_client *c, aiss_reply *rep, int64_t deadline,
		      aiss_error *err)
{
	uint8_t hdr[AISS_FRAME_HDR];
	size_t plen = 0;
	if (recv_all(c->fd, hdr, sizeof(hdr), deadline)) {
		int e = errno;
		drop(c);
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "no reply from aissd: %s%s", strerror(e),
				      e == ETIMEDOUT ? " (timed out)" : "");
	}
	plen = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) |
	       ((size_t)hdr[2] << 8) | hdr[3];
	if (plen == 0 || plen > AISS_FRAME_MAX) {
		drop(c);
		return aiss_error_set(err, AISS_E_PROTOCOL,
				      "aissd sent a frame of bad size %zu",
				      plen);
	}
	uint8_t *payload = malloc(plen);
	if (!payload) {
		drop(c);
		return aiss_error_set(err, AISS_E_INTERNAL, "out of memory");
	}
	if (recv_all(c->fd, payload, plen, deadline)) {
		int e = errno;
		free(payload);
		drop(c);
		return aiss_error_set(err, AISS_E_UNAVAILABLE,
				      "reply from aissd cut short: %s",
				      strerror(e));
	}
	int rc = aiss_reply_decode(payload, plen, rep, err);
	free(payload);
	if (rc) {
		drop(c);
		return -1;
	}
	return 0;
}

/*
 * One round trip: sends @req (id and version filled here), waits for the
 * reply into @rep (caller clears it). Returns 0 when a reply arrived (its
 * status may be a refusal), -1 with @err for transport faults.
 */
static int roundtrip(aiss_client *c, aiss_request *req, aiss_reply *rep,
		     aiss_error *err)
{
	memset(rep, 0, sizeof(*rep));
	if (c->in_flight)
		return aiss_error_set(err, AISS_E_INVALID,
				      "%u pipelined requests still await "
				      "their replies (aiss_client_recv)",
				      c->in_flight);
	/* Between calls nothing may arrive: a readable socket means aissd
	 * closed it (restarted). Nothing was sent yet, so reconnect. */
	if (c->fd >= 0) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, 0) > 0)
			drop(c);
	}
	if (c->fd < 0 && reopen(c, err))
		return -1;
	int64_t deadline = now_ms() + c->timeout_ms;
	if (send_request(c, req, deadline, err) ||
	    recv_reply(c, rep, deadline, err))
		return -1;
	if (rep->id != req->id) {
		aiss_reply_clear(rep);
		drop(c);
		return aiss_error_set(err, AISS_E_PROTOCOL,
				      "reply id does not match the request");
	}
	return 0;
}

/* A round trip whose reply status becomes the call's result. */
static int call(aiss_client *c, aiss_request *req, aiss_reply *rep,
		aiss_error *err)
{
	if (!c)
		return aiss_error_set(err, AISS_E_INVALID, "no client handle");
	if (roundtrip(c, req, rep, err))
		return -1;
	if (rep->status != AISS_OK) {
		aiss_error_set(err, rep->status, "%s",
			       rep->message[0] ? rep->message
					       : aiss_status_name(rep->status));
		aiss_reply_clear(rep);
		return -1;
	}
	aiss_error_clear(err);
	return 0;
}

static aiss_request *req_new(aiss_op op, aiss_error *err)
{
	aiss_request *r = calloc(1, sizeof(*r));
	if (!r) {
		aiss_error_set(err, AISS_E_INTERNAL, "out of memory");
		return NULL;
	}
	r->op = op;
	return r;
}

/* Sends a request of op @op whose body was filled by the caller, and
 * discards the reply's result. */
static int simple_call(aiss_client *c, aiss_request *req, aiss_error *err)
{
	aiss_reply rep;
	int rc = call(c, req, &rep, err);
	aiss_reply_clear(&rep);
	free(req);
	return rc;
}

static void copy_id(char *dst, const char *src)
{
	snprintf(dst, AISS_ID_MAX, "%s", src ? src : "");
}

int aiss_client_quote(aiss_client *c, const aiss_job_shape *shape,
		      aiss_quote *out, aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_QUOTE, err);
	if (!req)
		return -1;
	req->u.quote = *shape;
	aiss_reply rep;
	int rc = call(c, req, &rep, err);
	free(req);
	if (rc == 0)
		*out = rep.u.quote;
	aiss_reply_clear(&rep);
	return rc;
}

int aiss_client_reserve(aiss_client *c, const aiss_reserve_req *r,
			aiss_lien *out, aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_RESERVE, err);
	if (!req)
		return -1;
	req->u.reserve = *r;
	aiss_reply rep;
	int rc = call(c, req, &rep, err);
	free(req);
	if (rc == 0 && out)
		*out = rep.u.lien;
	aiss_reply_clear(&rep);
	return rc;
}

int aiss_client_settle(aiss_client *c, const aiss_settle_req *r,
		       aiss_charge_rec *out, aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_SETTLE, err);
	if (!req)
		return -1;
	req->u.settle = *r;
	aiss_reply rep;
	int rc = call(c, req, &rep, err);
	free(req);
	if (rc == 0 && out)
		*out = rep.u.charge;
	aiss_reply_clear(&rep);
	return rc;
}

int aiss_client_release(aiss_client *c, const aiss_run_key *key,
			aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_RELEASE, err);
	if (!req)
		return -1;
	req->u.release = *key;
	return simple_call(c, req, err);
}

int aiss_client_balance(aiss_client *c, const char *grant_id, aiss_balance *out,
			aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_BALANCE, err);
	if (!req)
		return -1;
	copy_id(req->u.grant_id, grant_id);
	aiss_reply rep;
	int rc = call(c, req, &rep, err);
	free(req);
	if (rc == 0)
		*out = rep.u.balance;
	aiss_reply_clear(&rep);
	return rc;
}

/* ---- listings, paged ---- */

typedef union list_cb {
	int (*balance)(const aiss_balance *, void *);
	int (*entry)(const aiss_journal_entry *, void *);
	int (*earmark)(const aiss_earmark *, void *);
	int (*institution)(const aiss_institution *, void *);
	int (*grant)(const aiss_grant *, void *);
	int (*price)(const aiss_price *, void *);
	int (*charge)(const aiss_charge_rec *, void *);
	int (*adjustment)(const aiss_adjustment *, void *);
	int (*capacity)(const aiss_capacity *, void *);
	int (*lien)(const aiss_lien_info *, void *);
} list_cb;

static int invoke(aiss_op op, list_cb cb, const void *it, void *arg)
{
	switch (op) {
	case AISS_OP_BALANCE_LIST:
		return cb.balance(it, arg);
	case AISS_OP_STATEMENT:
		return cb.entry(it, arg);
	case AISS_OP_EARMARK_LIST:
		return cb.earmark(it, arg);
	case AISS_OP_INSTITUTION_LIST:
		return cb.institution(it, arg);
	case AISS_OP_GRANT_LIST:
		return cb.grant(it, arg);
	case AISS_OP_PRICE_LIST:
		return cb.price(it, arg);
	case AISS_OP_CHARGE_EXPORT:
		return cb.charge(it, arg);
	case AISS_OP_ADJUSTMENT_EXPORT:
		return cb.adjustment(it, arg);
	case AISS_OP_CAPACITY_LIST:
		return cb.capacity(it, arg);
	case AISS_OP_LIEN_LIST:
	case AISS_OP_LIEN_EXPIRE:
		return cb.lien(it, arg);
	default:
		return 1;
	}
}

/* Asks page after page (the server says where the next one starts) and
 * hands every item to @cb. */
static int list_call(aiss_client *c, aiss_op op, const aiss_page *first,
		     list_cb cb, void *arg, aiss_error *err)
{
	aiss_request *req = req_new(op, err);
	if (!req)
		return -1;
	if (first)
		req->u.page = *first;
	size_t isz = aiss_op_item_size(op);
	int rc = 0;
	for (;;) {
		aiss_reply rep;
		if (call(c, req, &rep, err)) {
			rc = -1;
			break;
		}
		int stop = 0;
		for (size_t i = 0; i < rep.n_items && !stop; i++)
			stop = invoke(op, cb, (char *)rep.items + i * isz, arg);
		int more = rep.more && !stop;
		if (more && rep.n_items == 0) {
			aiss_reply_clear(&rep);
			rc = aiss_error_set(err, AISS_E_PROTOCOL,
					    "aissd sent an empty page");
			break;
		}
		req->u.page.offset = rep.next_offset;
		req->u.page.after_seq = rep.next_after_seq;
		if (op == AISS_OP_CHARGE_EXPORT)
			req->u.page.from = rep.next_from;
		aiss_reply_clear(&rep);
		if (!more)
			break;
	}
	free(req);
	return rc;
}

int aiss_client_balance_list(aiss_client *c,
			     int (*cb)(const aiss_balance *, void *), void *arg,
			     aiss_error *err)
{
	return list_call(c, AISS_OP_BALANCE_LIST, NULL,
			 (list_cb){.balance = cb}, arg, err);
}

int aiss_client_statement(aiss_client *c, const char *grant_id,
			  int (*cb)(const aiss_journal_entry *, void *),
			  void *arg, aiss_error *err)
{
	aiss_page p = {0};
	copy_id(p.grant_id, grant_id);
	return list_call(c, AISS_OP_STATEMENT, &p, (list_cb){.entry = cb}, arg,
			 err);
}

int aiss_client_scheme_init(aiss_client *c, const aiss_scheme *s,
			    aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_SCHEME_INIT, err);
	if (!req)
		return -1;
	req->u.scheme = *s;
	return simple_call(c, req, err);
}

/* A request with no body whose singular result (@size bytes of the
 * reply's union, which every member starts) goes to @out. */
static int get_call(aiss_client *c, aiss_op op, void *out, size_t size,
		    aiss_error *err)
{
	aiss_request *req = req_new(op, err);
	if (!req)
		return -1;
	aiss_reply rep;
	int rc = call(c, req, &rep, err);
	free(req);
	if (rc == 0)
		memcpy(out, &rep.u, size);
	aiss_reply_clear(&rep);
	return rc;
}

int aiss_client_scheme_get(aiss_client *c, aiss_scheme *out, aiss_error *err)
{
	return get_call(c, AISS_OP_SCHEME_GET, out, sizeof(*out), err);
}

int aiss_client_earmark_set(aiss_client *c, const aiss_earmark *e,
			    aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_EARMARK_SET, err);
	if (!req)
		return -1;
	req->u.earmark = *e;
	return simple_call(c, req, err);
}

int aiss_client_earmark_list(aiss_client *c,
			     int (*cb)(const aiss_earmark *, void *), void *arg,
			     aiss_error *err)
{
	return list_call(c, AISS_OP_EARMARK_LIST, NULL,
			 (list_cb){.earmark = cb}, arg, err);
}

int aiss_client_institution_add(aiss_client *c, const aiss_institution *i,
				aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_INSTITUTION_ADD, err);
	if (!req)
		return -1;
	req->u.institution = *i;
	return simple_call(c, req, err);
}

int aiss_client_institution_list(aiss_client *c,
				 int (*cb)(const aiss_institution *, void *),
				 void *arg, aiss_error *err)
{
	return list_call(c, AISS_OP_INSTITUTION_LIST, NULL,
			 (list_cb){.institution = cb}, arg, err);
}

static int grant_write(aiss_client *c, aiss_op op, const aiss_grant *g,
		       aiss_error *err)
{
	aiss_request *req = req_new(op, err);
	if (!req)
		return -1;
	req->u.grant = *g;
	return simple_call(c, req, err);
}

int aiss_client_grant_add(aiss_client *c, const aiss_grant *g, aiss_error *err)
{
	return grant_write(c, AISS_OP_GRANT_ADD, g, err);
}

int aiss_client_grant_modify(aiss_client *c, const aiss_grant *g,
			     aiss_error *err)
{
	return grant_write(c, AISS_OP_GRANT_MODIFY, g, err);
}

int aiss_client_grant_set_state(aiss_client *c, const char *grant_id,
				aiss_grant_state state, const char *reason,
				aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_GRANT_SET_STATE, err);
	if (!req)
		return -1;
	copy_id(req->u.set_state.grant_id, grant_id);
	req->u.set_state.state = state;
	snprintf(req->u.set_state.reason, sizeof(req->u.set_state.reason), "%s",
		 reason ? reason : "");
	return simple_call(c, req, err);
}

int aiss_client_grant_get(aiss_client *c, const char *grant_id, aiss_grant *out,
			  aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_GRANT_GET, err);
	if (!req)
		return -1;
	copy_id(req->u.grant_id, grant_id);
	aiss_reply rep;
	int rc = call(c, req, &rep, err);
	free(req);
	if (rc == 0)
		*out = rep.u.grant;
	aiss_reply_clear(&rep);
	return rc;
}

int aiss_client_grant_list(aiss_client *c,
			   int (*cb)(const aiss_grant *, void *), void *arg,
			   aiss_error *err)
{
	return list_call(c, AISS_OP_GRANT_LIST, NULL, (list_cb){.grant = cb},
			 arg, err);
}

int aiss_client_price_set(aiss_client *c, const aiss_price *p, aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_PRICE_SET, err);
	if (!req)
		return -1;
	req->u.price = *p;
	return simple_call(c, req, err);
}

int aiss_client_price_list(aiss_client *c,
			   int (*cb)(const aiss_price *, void *), void *arg,
			   aiss_error *err)
{
	return list_call(c, AISS_OP_PRICE_LIST, NULL, (list_cb){.price = cb},
			 arg, err);
}

int aiss_client_adjust(aiss_client *c, const aiss_adjustment *a,
		       aiss_adjustment *out, aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_ADJUST, err);
	if (!req)
		return -1;
	req->u.adjust = *a;
	aiss_reply rep;
	int rc = call(c, req, &rep, err);
	free(req);
	if (rc == 0 && out)
		*out = rep.u.adjustment;
	aiss_reply_clear(&rep);
	return rc;
}

int aiss_client_journal_verify(aiss_client *c, aiss_verify_result *out,
			       aiss_error *err)
{
	return get_call(c, AISS_OP_JOURNAL_VERIFY, out, sizeof(*out), err);
}

int aiss_client_server_status(aiss_client *c, aiss_server_status *out,
			      aiss_error *err)
{
	return get_call(c, AISS_OP_SERVER_STATUS, out, sizeof(*out), err);
}

int aiss_client_charge_export(aiss_client *c, aiss_time_t from, aiss_time_t to,
			      int (*cb)(const aiss_charge_rec *, void *),
			      void *arg, aiss_error *err)
{
	aiss_page p = {.from = from, .to = to};
	return list_call(c, AISS_OP_CHARGE_EXPORT, &p, (list_cb){.charge = cb},
			 arg, err);
}

int aiss_client_adjustment_export(aiss_client *c, aiss_time_t from,
				  aiss_time_t to,
				  int (*cb)(const aiss_adjustment *, void *),
				  void *arg, aiss_error *err)
{
	aiss_page p = {.from = from, .to = to};
	return list_call(c, AISS_OP_ADJUSTMENT_EXPORT, &p,
			 (list_cb){.adjustment = cb}, arg, err);
}

int aiss_client_capacity_put(aiss_client *c, const aiss_capacity *cap,
			     aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_CAPACITY_PUT, err);
	if (!req)
		return -1;
	req->u.capacity = *cap;
	return simple_call(c, req, err);
}

int aiss_client_capacity_list(aiss_client *c,
			      int (*cb)(const aiss_capacity *, void *),
			      void *arg, aiss_error *err)
{
	return list_call(c, AISS_OP_CAPACITY_LIST, NULL,
			 (list_cb){.capacity = cb}, arg, err);
}

int aiss_client_lien_list(aiss_client *c, const char *grant_id, int stale_only,
			  int (*cb)(const aiss_lien_info *, void *), void *arg,
			  aiss_error *err)
{
	aiss_page p = {.stale = stale_only != 0};
	copy_id(p.grant_id, grant_id);
	return list_call(c, AISS_OP_LIEN_LIST, &p, (list_cb){.lien = cb}, arg,
			 err);
}

int aiss_client_lien_expire(aiss_client *c, const char *grant_id, int dry_run,
			    int (*cb)(const aiss_lien_info *, void *),
			    void *arg, aiss_error *err)
{
	aiss_page p = {.stale = 1, .dry_run = dry_run != 0};
	copy_id(p.grant_id, grant_id);
	return list_call(c, AISS_OP_LIEN_EXPIRE, &p, (list_cb){.lien = cb}, arg,
			 err);
}

/* ---- pipelining ---- */

static int send_async(aiss_client *c, aiss_request *req, uint64_t *id,
		      aiss_error *err)
{
	if (!c)
		return aiss_error_set(err, AISS_E_INVALID, "no client handle");
	/* Nothing in flight: as roundtrip(), a readable socket means aissd
	 * closed it, and nothing was sent yet, so reconnect. */
	if (!c->in_flight && c->fd >= 0) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, 0) > 0)
			drop(c);
	}
	if (c->fd < 0 && reopen(c, err))
		return -1;
	if (send_request(c, req, now_ms() + c->timeout_ms, err))
		return -1;
	c->in_flight++;
	if (id)
		*id = req->id;
	return 0;
}

int aiss_client_send_reserve(aiss_client *c, const aiss_reserve_req *r,
			     uint64_t *id, aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_RESERVE, err);
	if (!req)
		return -1;
	req->u.reserve = *r;
	int rc = send_async(c, req, id, err);
	free(req);
	return rc;
}

int aiss_client_send_settle(aiss_client *c, const aiss_settle_req *r,
			    uint64_t *id, aiss_error *err)
{
	aiss_request *req = req_new(AISS_OP_SETTLE, err);
	if (!req)
		return -1;
	req->u.settle = *r;
	int rc = send_async(c, req, id, err);
	free(req);
	return rc;
}

/* The next pipelined reply into @rep (cleared by the caller), its request
 * id into @id; 0, or -1 with @err when nothing could be read. */
static int recv_next(aiss_client *c, aiss_reply *rep, uint64_t *id,
		     aiss_error *err)
{
	if (!c)
		return aiss_error_set(err, AISS_E_INVALID, "no client handle");
	if (!c->in_flight || c->fd < 0)
		return aiss_error_set(err, AISS_E_INVALID,
				      "no pipelined request awaits a reply");
	memset(rep, 0, sizeof(*rep));
	if (recv_reply(c, rep, now_ms() + c->timeout_ms, err))
		return -1;
	c->in_flight--;
	if (id)
		*id = rep->id;
	return 0;
}

/* @rep's status as the call's result. */
static int reply_status(const aiss_reply *rep, aiss_error *err)
{
	if (rep->status != AISS_OK)
		return aiss_error_set(err, rep->status, "%s",
				      rep->message[0]
					  ? rep->message
					  : aiss_status_name(rep->status));
	aiss_error_clear(err);
	return 0;
}

int aiss_client_recv(aiss_client *c, uint64_t *id, aiss_error *err)
{
	aiss_reply rep;

	if (recv_next(c, &rep, id, err))
		return -1;
	int rc = reply_status(&rep, err);
	aiss_reply_clear(&rep);
	return rc;
}

int aiss_client_recv_settle(aiss_client *c, uint64_t *id, aiss_charge_rec *out,
			    aiss_error *err)
{
	aiss_reply rep;

	if (recv_next(c, &rep, id, err))
		return -1;
	int rc = reply_status(&rep, err);
	if (rc == 0 && rep.op != AISS_OP_SETTLE)
		rc = aiss_error_set(err, AISS_E_PROTOCOL,
				    "aissd answered a settle with a %s reply",
				    aiss_op_name(rep.op));
	else if (rc == 0 && out)
		*out = rep.u.charge;
	aiss_reply_clear(&rep);
	return rc;
}
