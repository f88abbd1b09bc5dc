/* SPDX-License-Identifier: GPL-2.0-or-later */
/* job_submit/aiss: quotes a GPU job's worst case with aissd at submit and
 * refuses it with the reason. Translation only; rules live in plugin/lib. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "src/common/uid.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "aiss_glue.h"

#define AISS_EXPORT __attribute__((visibility("default")))

AISS_EXPORT const char plugin_name[] = "AI Subsidy Scheme quote at submit";
AISS_EXPORT const char plugin_type[] = "job_submit/aiss";
AISS_EXPORT const uint32_t plugin_version = SLURM_VERSION_NUMBER;

static aiss_plugin_conf conf;
static aiss_glue_conn conn = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_mutex_t lat_lock = PTHREAD_MUTEX_INITIALIZER;
static aiss_lat lat;

static void log_latency(const char *when)
{
	info("aiss: job_submit under slurmctld locks (%s): n=%zu p50=%uus "
	     "p99=%uus max=%uus",
	     when, lat.n, aiss_lat_pct(&lat, 500), aiss_lat_pct(&lat, 990),
	     aiss_lat_pct(&lat, 1000));
}

static void record_latency(uint64_t t0)
{
	pthread_mutex_lock(&lat_lock);
	aiss_lat_add(&lat, (uint32_t)(aiss_glue_usec() - t0));
	if (conf.stats_every && lat.total % (uint64_t)conf.stats_every == 0)
		log_latency("periodic");
	pthread_mutex_unlock(&lat_lock);
}

AISS_EXPORT extern int init(void)
{
	aiss_error err;

	if (aiss_plugin_conf_load(NULL, &conf, &err) < 0) {
		error("aiss: %s", err.text);
		return SLURM_ERROR;
	}
	conn.socket = conf.socket[0] ? conf.socket : NULL;
	conn.timeout_ms = conf.timeout_ms;
	info("aiss: job_submit/aiss loaded (aissd %s, timeout %d ms, %s)",
	     conf.socket[0] ? conf.socket : AISS_DEFAULT_SOCKET,
	     conf.timeout_ms, conf.fail_open ? "fail-open" : "fail-closed");
	return SLURM_SUCCESS;
}

AISS_EXPORT extern void fini(void)
{
	pthread_mutex_lock(&lat_lock);
	if (lat.n)
		log_latency("final");
	pthread_mutex_unlock(&lat_lock);
	pthread_mutex_lock(&conn.lock);
	aiss_glue_drop(&conn);
	pthread_mutex_unlock(&conn.lock);
}

/* One quote, retried once on a fresh connection when the old one failed
 * fast (aissd restarted); never longer than two timeouts. */
static int quote(const aiss_job_shape *shape, aiss_quote *q, aiss_error *err)
{
	aiss_client *c = aiss_glue_get(&conn, err);
	int rc = -1;

	if (c) {
		uint64_t t0 = aiss_glue_usec();

		rc = aiss_client_quote(c, shape, q, err);
		if (rc < 0 && (err->code == AISS_E_UNAVAILABLE ||
			       err->code == AISS_E_PROTOCOL)) {
			aiss_glue_drop(&conn);
			if (aiss_glue_usec() - t0 <
				(uint64_t)conf.timeout_ms * 250 &&
			    (c = aiss_glue_reconnect(&conn, err)))
				rc = aiss_client_quote(c, shape, q, err);
			if (rc < 0 && err->code == AISS_E_UNAVAILABLE)
				aiss_glue_drop(&conn);
		}
	}
	pthread_mutex_unlock(&conn.lock);
	return rc;
}

static void set_msg(char **err_msg, const char *text)
{
	if (!err_msg)
		return;
	xfree(*err_msg);
	*err_msg = xstrdup(text);
}

/* Quotes @shape and turns the answer into a Slurm return code and message. */
static int decide(aiss_job_shape *shape, char **err_msg, char *text, size_t len)
{
	aiss_quote q;
	aiss_error err;

	aiss_error_clear(&err);
	if (quote(shape, &q, &err) < 0) {
		if (err.code == AISS_E_UNAVAILABLE ||
		    err.code == AISS_E_PROTOCOL) {
			if (conf.fail_open) {
				info("aiss: aissd unreachable (%s); admitting "
				     "(FailOpen=yes)",
				     err.text);
				return SLURM_SUCCESS;
			}
			set_msg(err_msg, aiss_msg_unavailable(&err, text, len));
			return ESLURM_ACCOUNTING_POLICY;
		}
		snprintf(text, len, "aiss: %s", err.text);
		set_msg(err_msg, text);
		return ESLURM_ACCOUNTING_POLICY;
	}
	if (q.verdict == AISS_OK)
		return SLURM_SUCCESS;
	set_msg(err_msg, aiss_msg_refusal(&q, shape, text, len));
	return q.verdict == AISS_E_UNKNOWN_ACCOUNT ? ESLURM_INVALID_ACCOUNT
						   : ESLURM_ACCOUNTING_POLICY;
}

/* Time limit in seconds: the job's, else the partition's default, else its
 * maximum; 0 when unlimited. */
static int64_t time_limit_s(uint32_t job_limit, const char *partition)
{
	part_record_t *part = NULL;
	uint32_t t = job_limit;

	if (t == NO_VAL) {
		if (partition) {
			char first[256];

			snprintf(first, sizeof(first), "%.*s",
				 (int)strcspn(partition, ","), partition);
			part = find_part_record(first);
		}
		if (!part)
			part = default_part_loc;
		t = part ? part->default_time : NO_VAL;
		if (part && t == NO_VAL)
			t = part->max_time;
	}
	if (t == NO_VAL || t == INFINITE)
		return 0;
	return (int64_t)t * 60;
}

static void fill_ids(aiss_job_shape *s, const char *account, uint32_t uid)
{
	char *user = uid_to_string_cached((uid_t)uid);

	snprintf(s->account, sizeof(s->account), "%s", account ? account : "");
	snprintf(s->user, sizeof(s->user), "%s", user ? user : "nobody");
}

AISS_EXPORT extern int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid,
				  char **err_msg)
{
	uint64_t t0 = aiss_glue_usec();
	aiss_gpu_request r = {
	    .tres_per_job = job_desc->tres_per_job,
	    .tres_per_node = job_desc->tres_per_node,
	    .tres_per_socket = job_desc->tres_per_socket,
	    .tres_per_task = job_desc->tres_per_task,
	    .min_nodes = aiss_u32(job_desc->min_nodes),
	    .max_nodes = aiss_u32(job_desc->max_nodes),
	    .num_tasks = aiss_u32(job_desc->num_tasks),
	    .ntasks_per_node = aiss_u16(job_desc->ntasks_per_node),
	    .sockets_per_node = aiss_u16(job_desc->sockets_per_node),
	};
	aiss_job_shape shape = {0};
	aiss_gpu_need need;
	aiss_error err;
	char text[1024];
	int rc = SLURM_SUCCESS;

	if (aiss_gpu_request_worst(&r, &need, &err) < 0) {
		snprintf(text, sizeof(text), "aiss: %s", err.text);
		set_msg(err_msg, text);
		rc = ESLURM_INVALID_GRES;
		goto out;
	}
	if (need.gpus == 0)
		goto out; /* CPU-only work is outside the scheme */
	if (!job_desc->account || !job_desc->account[0]) {
		set_msg(err_msg, aiss_msg_no_account(text, sizeof(text)));
		rc = ESLURM_INVALID_ACCOUNT;
		goto out;
	}
	fill_ids(&shape, job_desc->account,
		 job_desc->user_id != NO_VAL ? job_desc->user_id : submit_uid);
	snprintf(shape.gpu_type, sizeof(shape.gpu_type), "%s", need.gpu_type);
	shape.gpus = need.gpus;
	shape.time_limit =
	    time_limit_s(job_desc->time_limit, job_desc->partition);
	if (!shape.time_limit) {
		set_msg(err_msg, aiss_msg_no_time(job_desc->partition, text,
						  sizeof(text)));
		rc = ESLURM_INVALID_TIME_LIMIT;
		goto out;
	}
	shape.count = aiss_array_count(job_desc->array_inx);
	if (shape.count < 0) {
		set_msg(err_msg, "aiss: cannot read --array");
		rc = ESLURM_INVALID_ARRAY;
		goto out;
	}
	rc = decide(&shape, err_msg, text, sizeof(text));
	if (rc != SLURM_SUCCESS)
		info("aiss: refused job of %s/%s at submit: %s", shape.account,
		     shape.user, text);
out:
	record_latency(t0);
	return rc;
}

/* A raised time limit (or a new GPU request) of a job is quoted again. */
AISS_EXPORT extern int job_modify(job_desc_msg_t *job_desc,
				  job_record_t *job_ptr, uint32_t submit_uid)
{
	uint64_t t0 = aiss_glue_usec();
	aiss_gpu_request r;
	aiss_job_shape shape = {0};
	aiss_gpu_need need;
	aiss_error err;
	char text[1024];
	char *msg = NULL;
	bool raised = job_desc->time_limit != NO_VAL &&
		      (job_ptr->time_limit == NO_VAL ||
		       job_desc->time_limit > job_ptr->time_limit);
	bool regres = job_desc->tres_per_node || job_desc->tres_per_job ||
		      job_desc->tres_per_task || job_desc->tres_per_socket;
	int rc = SLURM_SUCCESS;

	if (!raised && !regres)
		return SLURM_SUCCESS;
	aiss_glue_job_request(job_ptr, &r);
	if (job_desc->tres_per_node)
		r.tres_per_node = job_desc->tres_per_node;
	if (job_desc->tres_per_job)
		r.tres_per_job = job_desc->tres_per_job;
	if (job_desc->tres_per_task)
		r.tres_per_task = job_desc->tres_per_task;
	if (job_desc->tres_per_socket)
		r.tres_per_socket = job_desc->tres_per_socket;
	if (aiss_gpu_request_worst(&r, &need, &err) < 0 || need.gpus == 0 ||
	    !job_ptr->account)
		goto out;
	fill_ids(&shape, job_ptr->account, job_ptr->user_id);
	snprintf(shape.gpu_type, sizeof(shape.gpu_type), "%s", need.gpu_type);
	shape.gpus = need.gpus;
	shape.time_limit =
	    time_limit_s(raised ? job_desc->time_limit : job_ptr->time_limit,
			 job_ptr->partition);
	shape.count = 1;
	if (!shape.time_limit) {
		rc = ESLURM_INVALID_TIME_LIMIT;
		goto out;
	}
	rc = decide(&shape, &msg, text, sizeof(text));
	if (rc != SLURM_SUCCESS)
		info("aiss: refused update of JobId=%u: %s", job_ptr->job_id,
		     msg ? msg : "");
	xfree(msg);
out:
	record_latency(t0);
	return rc;
}
