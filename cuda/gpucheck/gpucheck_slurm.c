/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_slurm: scontrol node state, drain/resume decision, scontrol. */
#include "gpucheck_slurm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *gpucheck_action_name(gpucheck_action a)
{
	switch (a) {
	case GPUCHECK_ACTION_NONE:
		return "none";
	case GPUCHECK_ACTION_DRAIN:
		return "drain";
	case GPUCHECK_ACTION_RESUME:
		return "resume";
	}
	return "?";
}

/* Copies the value after "@key=" in @text up to a space or end of line
 * into @out; returns 1 when found. Keys match only at a word start. */
static int field(const char *text, const char *key, char *out, size_t len,
		 int to_eol)
{
	size_t kl = strlen(key);
	const char *p = text;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == ' ' || p[-1] == '\n' ||
		     p[-1] == '\t') &&
		    p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t n =
			    to_eol ? strcspn(v, "\n") : strcspn(v, " \t\n");
			if (n >= len)
				n = len - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
		p += kl;
	}
	return 0;
}

int gpucheck_node_state_parse(const char *text, gpucheck_node_state *st)
{
	char name[128];

	memset(st, 0, sizeof(*st));
	if (!text || !field(text, "NodeName", name, sizeof(name), 0)) {
		errno = ENOENT;
		return -1;
	}
	st->found = 1;
	field(text, "State", st->state, sizeof(st->state), 0);
	st->drained = strstr(st->state, "DRAIN") != NULL;
	if (field(text, "Reason", st->reason, sizeof(st->reason), 1)) {
		/* Slurm appends " [user@time]"; in -o output other fields
		 * may follow it on the same line. */
		char *at = strstr(st->reason, " [");
		if (at && strchr(at, ']'))
			*at = '\0';
		else if (strcmp(st->reason, "(null)") == 0)
			st->reason[0] = '\0';
	}
	return 0;
}

gpucheck_action gpucheck_decide(int passed, const gpucheck_node_state *st,
				const char *reason)
{
	int ours = st && st->drained &&
		   strncmp(st->reason, GPUCHECK_REASON_PREFIX,
			   strlen(GPUCHECK_REASON_PREFIX)) == 0;

	if (passed)
		return ours ? GPUCHECK_ACTION_RESUME : GPUCHECK_ACTION_NONE;
	if (!st || !st->drained)
		return GPUCHECK_ACTION_DRAIN;
	if (ours && reason && strcmp(st->reason, reason) != 0)
		return GPUCHECK_ACTION_DRAIN; /* refresh our own figures */
	return GPUCHECK_ACTION_NONE;
}

int gpucheck_scontrol(const char *const *args, char *out, size_t outlen)
{
	const char *prog = getenv(GPUCHECK_SCONTROL_ENV);
	const char *argv[16];
	int pfd[2], status, n = 0;
	size_t used = 0;
	pid_t pid;

	if (!prog || !*prog)
		prog = "scontrol";
	argv[n++] = prog;
	for (int i = 0; args && args[i]; i++) {
		if (n >= 15) {
			errno = E2BIG;
			return -1;
		}
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	if (out && outlen)
		out[0] = '\0';
	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execvp(prog, (char *const *)argv);
		fprintf(stderr, "aiss-gpucheck: cannot run %s: %s\n", prog,
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char sink[512];
		char *dst = sink;
		size_t room = sizeof(sink);
		ssize_t got;
		if (out && used + 1 < outlen) {
			dst = out + used;
			room = outlen - 1 - used;
		}
		got = read(pfd[0], dst, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (dst != sink) {
			used += (size_t)got;
			out[used] = '\0';
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (!WIFEXITED(status)) {
		errno = ECHILD;
		return -1;
	}
	return WEXITSTATUS(status);
}

int gpucheck_node_apply(const char *node, int passed, const char *reason,
			gpucheck_action *done, char *msg, size_t msglen)
{
	char out[8192], nodearg[300], reasonarg[600];
	gpucheck_node_state st;
	gpucheck_action act;
	int rc;

	*done = GPUCHECK_ACTION_NONE;
	{
		const char *show[] = {"show", "node", node, NULL};
		rc = gpucheck_scontrol(show, out, sizeof(out));
	}
	if (rc != 0 || gpucheck_node_state_parse(out, &st) < 0) {
		snprintf(msg, msglen,
			 "scontrol show node %s failed (status %d); node "
			 "state left unchanged",
			 node, rc);
		errno = EIO;
		return -1;
	}
	act = gpucheck_decide(passed, &st, reason);
	if (act == GPUCHECK_ACTION_NONE) {
		snprintf(msg, msglen, "node %s: %s%s%s", node,
			 st.drained ? "drained" : "not drained",
			 st.reason[0] ? ", reason: " : "", st.reason);
		return 0;
	}
	snprintf(nodearg, sizeof(nodearg), "nodename=%s", node);
	snprintf(reasonarg, sizeof(reasonarg), "reason=%s", reason);
	{
		const char *drain[] = {"update", nodearg, "state=drain",
				       reasonarg, NULL};
		const char *resume[] = {"update", nodearg, "state=resume",
					NULL};
		rc = gpucheck_scontrol(
		    act == GPUCHECK_ACTION_DRAIN ? drain : resume, NULL, 0);
	}
	if (rc != 0) {
		snprintf(msg, msglen,
			 "scontrol update nodename=%s state=%s "
			 "failed (status %d)",
			 node,
			 act == GPUCHECK_ACTION_DRAIN ? "drain" : "resume", rc);
		errno = EIO;
		return -1;
	}
	*done = act;
	snprintf(msg, msglen, "node %s: %s", node,
		 act == GPUCHECK_ACTION_DRAIN ? "drained" : "resumed");
	return 0;
}

int gpucheck_short_hostname(char *buf, size_t len)
{
	char *dot;

	if (gethostname(buf, len) < 0)
		return -1;
	buf[len - 1] = '\0';
	dot = strchr(buf, '.');
	if (dot)
		*dot = '\0';
	return 0;
}
