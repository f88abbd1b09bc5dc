/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * aiss-fsync-floor: the latency floor of any durable group-commit service
 * on this machine, as a baseline for aissd's open-loop figure. It speaks
 * aissd's wire protocol on a Unix socket and answers every request OK, but
 * keeps no ledger: each turn of its poll loop takes every complete request
 * of every connection, appends BYTES per request to a preallocated file
 * (reused from its start, as SQLite reuses its WAL), fdatasyncs it, and
 * only then replies. What aissd adds to this is its ledger work, its
 * checkpoints and its coalescing; what this shows is the machine's fsync,
 * scheduling and socket cost at the same offered load, measured in the
 * same run by the same generator (aiss-quota-load run --rate R).
 *
 * usage: aiss-fsync-floor --socket PATH --file PATH [--bytes N]
 *        (stops on SIGTERM or SIGINT; prints turns and requests)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "aiss_wire.h"

#define MAX_CONNS 256
#define FILE_BYTES (8 << 20) /* like a 1000-frame WAL of 8 KiB pages */

typedef struct fconn {
	int fd;
	uint8_t *in, *out;
	size_t in_len, in_cap, out_len, out_off, out_cap;
	size_t answered; /* frames of in already taken */
} fconn;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "aiss-fsync-floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 65536;
	while (c < need)
		c *= 2;
	uint8_t *b = realloc(*buf, c);
	if (!b)
		die("out of memory");
	*buf = b;
	*cap = c;
}

/* Queues the OK reply to the request in @payload on @c. 0, or -1. */
static int answer(fconn *c, const uint8_t *payload, size_t len)
{
	aiss_request rq;
	aiss_reply rep;
	aiss_error err = {0};
	uint8_t *frame;
	size_t flen;

	memset(&rq, 0, sizeof(rq));
	if (aiss_request_decode(payload, len, &rq, &err))
		return -1;
	aiss_reply_init(&rep, rq.op, rq.id);
	if (aiss_reply_encode(&rep, &frame, &flen, &err)) {
		aiss_reply_clear(&rep);
		return -1;
	}
	grow(&c->out, &c->out_cap, c->out_len + flen);
	memcpy(c->out + c->out_len, frame, flen);
	c->out_len += flen;
	free(frame);
	aiss_reply_clear(&rep);
	return 0;
}

static void flush_out(fconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *path = NULL;
	long bytes = 7000;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--socket"))
			sock = argv[i + 1];
		else if (!strcmp(argv[i], "--file"))
			path = argv[i + 1];
		else if (!strcmp(argv[i], "--bytes"))
			bytes = atol(argv[i + 1]);
	}
	if (!sock || !path || bytes < 1 || bytes > FILE_BYTES / 64) {
		fprintf(stderr, "usage: aiss-fsync-floor --socket PATH --file "
				"PATH [--bytes 1..131072]\n");
		return 2;
	}
	int wfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (wfd < 0)
		die(path);
	uint8_t *page = calloc(1, FILE_BYTES);
	if (!page)
		die("out of memory");
	memset(page, 0x5a, FILE_BYTES);
	if (pwrite(wfd, page, FILE_BYTES, 0) != FILE_BYTES || fsync(wfd))
		die("preallocating the file");

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "aiss-fsync-floor: socket path too long\n");
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	unlink(sock);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 64))
		die(sock);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	fconn *cs = calloc(MAX_CONNS, sizeof(*cs));
	struct pollfd pf[MAX_CONNS + 1];
	size_t nc = 0;
	uint64_t turns = 0, requests = 0;
	off_t woff = 0;

	while (!stop) {
		pf[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < nc; i++)
			pf[i + 1] = (struct pollfd){
			    .fd = cs[i].fd,
			    .events = (short)(POLLIN | (cs[i].out_len
							    ? POLLOUT
							    : 0))};
		if (poll(pf, nc + 1, 1000) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if ((pf[0].revents & POLLIN) && nc < MAX_CONNS) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				cs[nc++] = (fconn){.fd = fd};
		}
		/* Read, then take every complete request of every connection. */
		size_t taken = 0;
		for (size_t i = 0; i < nc; i++) {
			fconn *c = &cs[i];
			if (pf[i + 1].revents & POLLOUT)
				flush_out(c);
			if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			grow(&c->in, &c->in_cap, c->in_len + 65536);
			ssize_t n = recv(c->fd, c->in + c->in_len,
					 c->in_cap - c->in_len, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				close(c->fd);
				free(c->in);
				free(c->out);
				cs[i--] = cs[--nc];
				continue;
			}
			if (n > 0)
				c->in_len += (size_t)n;
		}
		for (size_t i = 0; i < nc; i++) {
			fconn *c = &cs[i];
			size_t off = 0, plen;
			while (aiss_frame_check(c->in + off, c->in_len - off,
						&plen) == 1) {
				/* an undecodable request gets no answer */
				(void)answer(c, c->in + off + AISS_FRAME_HDR,
					     plen);
				off += AISS_FRAME_HDR + plen;
				taken++;
			}
			memmove(c->in, c->in + off, c->in_len - off);
			c->in_len -= off;
		}
		if (!taken)
			continue;
		/* The group commit: the turn's bytes, one fdatasync. */
		size_t len = (size_t)bytes * taken;
		if (len > FILE_BYTES)
			len = FILE_BYTES;
		if (woff + (off_t)len > FILE_BYTES)
			woff = 0;
		if (pwrite(wfd, page, len, woff) != (ssize_t)len ||
		    fdatasync(wfd))
			die("writing the file");
		woff += (off_t)len;
		turns++;
		requests += taken;
		for (size_t i = 0; i < nc; i++)
			flush_out(&cs[i]);
	}
	printf("aiss-fsync-floor: %" PRIu64 " requests in %" PRIu64
	       " group commits\n",
	       requests, turns);
	unlink(sock);
	return 0;
}
