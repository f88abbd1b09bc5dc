/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_slurm: the drain/resume decision and its scontrol calls. */
#ifndef GPUCHECK_SLURM_H
#define GPUCHECK_SLURM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every reason this check sets starts with this prefix; it resumes only
 * nodes whose reason does. */
#define GPUCHECK_REASON_PREFIX "aiss-gpucheck:"

/* Environment variable naming the scontrol to run (tests: a fake). */
#define GPUCHECK_SCONTROL_ENV "AISS_SCONTROL"

/* What `scontrol show node` says about the node. */
typedef struct gpucheck_node_state {
	int found;        /* the node was in the output */
	int drained;      /* State= has DRAIN (DRAINING/DRAINED) */
	char state[64];   /* State= value, e.g. "IDLE+DRAIN" */
	char reason[256]; /* Reason= value without " [user@time]" */
} gpucheck_node_state;

typedef enum gpucheck_action {
	GPUCHECK_ACTION_NONE,
	GPUCHECK_ACTION_DRAIN,
	GPUCHECK_ACTION_RESUME
} gpucheck_action;

/* Name of @a ("none", "drain", "resume"). */
const char *gpucheck_action_name(gpucheck_action a);

/*
 * Parses the output of `scontrol show node NAME` (multi-line or -o) into
 * @st. Returns 0, or -1 with errno ENOENT when no NodeName= is present.
 */
int gpucheck_node_state_parse(const char *text, gpucheck_node_state *st);

/*
 * The decision. A failing node is drained unless it is already drained
 * for another reason (an operator's reason is never overwritten) or
 * already drained by this check with the same @reason. A passing node is
 * resumed only when it is drained with a reason starting with
 * GPUCHECK_REASON_PREFIX, i.e. when this check drained it.
 */
gpucheck_action gpucheck_decide(int passed, const gpucheck_node_state *st,
				const char *reason);

/*
 * Runs scontrol ($AISS_SCONTROL when set, else "scontrol" from PATH) with
 * arguments @args (NULL-terminated, without the program name), no shell.
 * Its stdout goes to @out (NUL-terminated, truncated to @outlen; may be
 * NULL). Returns its exit status (0..255), or -1 with errno when it could
 * not be run or was killed by a signal.
 */
int gpucheck_scontrol(const char *const *args, char *out, size_t outlen);

/*
 * Reads the node's state with scontrol, decides, and carries the decision
 * out: `scontrol update nodename=@node state=drain reason=@reason` or
 * `... state=resume`. *@done receives what was done. Returns 0, or -1 with
 * errno and a sentence in @msg when scontrol failed.
 */
int gpucheck_node_apply(const char *node, int passed, const char *reason,
			gpucheck_action *done, char *msg, size_t msglen);

/* This host's short name (as `hostname -s`) into @buf. Returns 0 or -1. */
int gpucheck_short_hostname(char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
