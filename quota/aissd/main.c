/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c: aissd(8), the quota service daemon: options, signals, daemonising,
 * then the event loop of server.c over the ledger. */
#include "aissd.h"
#include "aiss_client.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aissd --db PATH [--socket PATH] [--config FILE]\n"
		"             [--tcp HOST:PORT] [--foreground] [--verbose]\n"
		"The AI Subsidy Scheme quota service (see aissd(8), "
		"aiss.conf(5)).\n"
		"  --db PATH        the ledger database (SQLite; created if "
		"missing)\n"
		"  --socket PATH    Unix socket to listen on (default %s)\n"
		"  --config FILE    aiss.conf: roles, TCP listener, limits\n"
		"  --tcp HOST:PORT  also listen on TCP (MUNGE required)\n"
		"  --foreground     do not detach; log to stderr\n"
		"  --verbose        log every connection\n",
		AISS_DEFAULT_SOCKET);
}

/* Detaches before the ledger is opened (SQLite's locks do not survive a
 * fork), but the starting process waits on a pipe until the child reports
 * its sockets bound, so a started aissd is ready when the command returns.
 * Returns the pipe's write end in the child, or -1. */
static int daemonize(void)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		char c = 0;
		ssize_t n;
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == 'R' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		return -1;
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return p[1];
}

/* One aissd per ledger: two would each hand out the same subsidy, and the
 * ledger's deferred checkpoint fsync orders only one process's writes. The
 * lock is flock(2) on the database file (SQLite's own locks are fcntl(2)
 * byte ranges, which flock does not touch on a local file system), held by
 * a descriptor open for the daemon's life; the kernel drops it when the
 * process ends, kill -9 included. Taken before detaching, so the starting
 * command sees the error. Returns the descriptor, or -1 after logging. */
static int lock_ledger(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		aissd_log(AISSD_LOG_ERROR, "cannot open ledger %s: %s", path,
			  strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			aissd_log(AISSD_LOG_ERROR,
				  "another aissd is using the ledger %s: stop "
				  "it first, or give this one its own --db",
				  path);
		else
			aissd_log(AISSD_LOG_ERROR, "cannot lock ledger %s: %s",
				  path, strerror(e));
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"tcp", required_argument, NULL, 't'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = NULL, *sock = NULL, *conf = NULL, *tcp = NULL;
	int foreground = 0, verbose = 0, o;
	while ((o = getopt_long(argc, argv, "d:s:c:t:fvh", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			db = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 't':
			tcp = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	aissd_config cfg;
	aissd_config_defaults(&cfg);
	aiss_error err = {0};
	if (conf && aissd_config_load(&cfg, conf, &err)) {
		aissd_log(AISSD_LOG_ERROR, "%s", err.text);
		return 2;
	}
	if ((db && aissd_config_set(&cfg, "db", db, &err)) ||
	    (sock && aissd_config_set(&cfg, "socket", sock, &err)) ||
	    (tcp && aissd_config_set(&cfg, "tcp_listen", tcp, &err))) {
		aissd_log(AISSD_LOG_ERROR, "%s", err.text);
		return 2;
	}
	aissd_log_level = verbose ? AISSD_LOG_DEBUG : cfg.log_level;
	if (!cfg.db[0]) {
		aissd_log(AISSD_LOG_ERROR,
			  "no ledger database: give --db PATH (or db = PATH "
			  "in the config)");
		usage(stderr);
		return 2;
	}

	/* Room for every client: the soft descriptor limit up to the hard. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int lock_fd = lock_ledger(cfg.db);
	if (lock_fd < 0)
		return 1;
	int ready_fd = -1;
	if (!foreground && (ready_fd = daemonize()) < 0) {
		aissd_log(AISSD_LOG_ERROR, "cannot detach: %s",
			  strerror(errno));
		return 1;
	}
	aiss_ledger *l = aiss_ledger_open(cfg.db, &err);
	if (!l) {
		aissd_log(AISSD_LOG_ERROR, "cannot open ledger %s: %s", cfg.db,
			  err.text);
		return 1;
	}
	/* lien_grace was range-checked when the config was read. */
	(void)aiss_ledger_set_lien_grace(l, cfg.lien_grace, &err);
	aissd_server *srv = aissd_server_create(&cfg, l, &err);
	if (!srv || aissd_server_listen(srv, &err)) {
		aissd_log(AISSD_LOG_ERROR, "%s", err.text);
		aissd_server_destroy(srv);
		aiss_ledger_close(l);
		return 1;
	}
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1)
			aissd_log(AISSD_LOG_ERROR, "cannot signal readiness");
		close(ready_fd);
	}
	if (aissd_server_tcp_port(srv))
		aissd_log(AISSD_LOG_INFO,
			  "listening on %s and TCP %s:%d (MUNGE), ledger %s",
			  cfg.socket, cfg.tcp_host, aissd_server_tcp_port(srv),
			  cfg.db);
	else
		aissd_log(AISSD_LOG_INFO, "listening on %s, ledger %s",
			  cfg.socket, cfg.db);

	int rc = aissd_server_run(srv, &stop_flag);
	aissd_stats st;
	aissd_server_stats(srv, &st);
	aissd_log(AISSD_LOG_INFO,
		  "%s: %llu requests in %llu group commits (%llu run again), "
		  "%llu protocol errors",
		  rc ? "stopping after a fatal error" : "stopping on signal",
		  (unsigned long long)st.requests,
		  (unsigned long long)st.batches,
		  (unsigned long long)st.replays,
		  (unsigned long long)st.protocol_errors);
	aissd_server_destroy(srv);
	aiss_ledger_close(l);
	close(lock_fd);
	return rc ? 1 : 0;
}
