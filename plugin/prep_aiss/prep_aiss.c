/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prep/aiss: lien at run start (PrologSlurmctld), charge at run end
 * (EpilogSlurmctld) through a durable spool, and release of jobs held for
 * lack of subsidy once their grant can pay. Translation and threads only:
 * the decisions are aissd's, the spool and messages are plugin/ libraries. */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "src/common/list.h"
#include "src/common/prep.h"
#include "src/common/run_in_daemon.h"
#include "src/common/uid.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/locks.h"
#include "src/slurmctld/slurmctld.h"

#include "aiss_glue.h"
#include "aiss_spool.h"

#define AISS_EXPORT __attribute__((visibility("default")))

AISS_EXPORT const char plugin_name[] = "AI Subsidy Scheme lien and charge";
AISS_EXPORT const char plugin_type[] = "prep/aiss";
AISS_EXPORT const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* Exit status 1, as a failed PrologSlurmctld script reports it. */
#define PROLOG_REFUSED (1 << 8)
#define REFUSED_MAX 1024

typedef enum { WORK_LIEN, WORK_CHARGE } work_kind;

typedef struct work {
	struct work *next;
	work_kind kind;
	uint32_t job_id;
	aiss_reserve_req reserve; /* WORK_LIEN */
	aiss_settle_req settle;   /* WORK_CHARGE */
} work;

static aiss_plugin_conf pconf;
static char cluster[AISS_ID_MAX];
static aiss_glue_conn conn = {.lock = PTHREAD_MUTEX_INITIALIZER};
static aiss_spool *spool;
static prep_callbacks_t cb;
static bool in_ctld;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;    /* worker */
static pthread_cond_t poll_cond = PTHREAD_COND_INITIALIZER; /* poller */
static work *q_head, *q_tail;
static bool stopping;
static pthread_t worker_tid, poller_tid;
static bool threads_up;

/* Runs whose lien was refused: their epilog (the requeue) charges nothing. */
static pthread_mutex_t refused_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint32_t job_id;
	time_t start;
} refused[REFUSED_MAX];
static size_t n_refused;

/* slurmctld's data, looked up at run time so slurmd (which loads PrEp
 * plugins too) never needs them. */
static List *job_list_p;
static time_t *last_job_update_p;

static void refused_add(uint32_t job_id, time_t start)
{
	pthread_mutex_lock(&refused_lock);
	if (n_refused == REFUSED_MAX)
		memmove(refused, refused + 1, --n_refused * sizeof(refused[0]));
	refused[n_refused].job_id = job_id;
	refused[n_refused].start = start;
	n_refused++;
	pthread_mutex_unlock(&refused_lock);
}

static bool refused_take(uint32_t job_id, time_t start)
{
	bool found = false;

	pthread_mutex_lock(&refused_lock);
	for (size_t i = 0; i < n_refused; i++) {
		if (refused[i].job_id == job_id && refused[i].start == start) {
			memmove(refused + i, refused + i + 1,
				(n_refused - i - 1) * sizeof(refused[0]));
			n_refused--;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&refused_lock);
	return found;
}

static const char *user_of(job_record_t *job)
{
	if (job->user_name && job->user_name[0])
		return job->user_name;
	return uid_to_string_cached((uid_t)job->user_id);
}

/* GPUs allocated to the run, all nodes, and their type. */
static int64_t alloc_gpus(job_record_t *job, char *type, size_t len)
{
	return aiss_glue_alloc_gpus(job, type, len);
}

static void enqueue(work *w)
{
	pthread_mutex_lock(&q_lock);
	if (q_tail)
		q_tail->next = w;
	else
		q_head = w;
	q_tail = w;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
}

/* --- aissd calls (never under slurmctld's locks) ----------------------- */

static int call_reserve(const aiss_reserve_req *req, aiss_lien *lien,
			aiss_error *err)
{
	aiss_client *c = aiss_glue_get(&conn, err);
	int rc = -1;

	if (c && (rc = aiss_client_reserve(c, req, lien, err)) < 0 &&
	    (err->code == AISS_E_UNAVAILABLE || err->code == AISS_E_PROTOCOL)) {
		if ((c = aiss_glue_reconnect(&conn, err)))
			rc = aiss_client_reserve(c, req, lien, err);
		if (rc < 0 && err->code == AISS_E_UNAVAILABLE)
			aiss_glue_drop(&conn);
	}
	pthread_mutex_unlock(&conn.lock);
	return rc;
}

static int call_quote(const aiss_job_shape *s, aiss_quote *q, aiss_error *err)
{
	aiss_client *c = aiss_glue_get(&conn, err);
	int rc = -1;

	if (c && (rc = aiss_client_quote(c, s, q, err)) < 0 &&
	    (err->code == AISS_E_UNAVAILABLE || err->code == AISS_E_PROTOCOL))
		aiss_glue_drop(&conn);
	pthread_mutex_unlock(&conn.lock);
	return rc;
}

static aiss_spool_verdict settle_one(const aiss_settle_req *req, void *arg)
{
	aiss_charge_rec rec;
	aiss_error err;
	aiss_client *c;
	char key[AISS_ID_MAX + 48];
	int rc;

	(void)arg;
	aiss_run_key_format(&req->key, key, sizeof(key));
	c = aiss_glue_get(&conn, &err);
	rc = c ? aiss_client_settle(c, req, &rec, &err) : -1;
	if (rc < 0 &&
	    (err.code == AISS_E_UNAVAILABLE || err.code == AISS_E_PROTOCOL))
		aiss_glue_drop(&conn);
	pthread_mutex_unlock(&conn.lock);
	if (rc == 0) {
		char sub[AISS_MONEY_BUFSZ];

		info("aiss: charged run %s (%s, %" PRId64 " GPUs, %s): "
		     "subsidy HK$%s",
		     key, rec.grant_id, req->gpus, req->end_state,
		     aiss_money_format(rec.charge.subsidy, true, sub,
				       sizeof(sub)));
		return AISS_SPOOL_DONE;
	}
	if (err.code == AISS_E_UNAVAILABLE || err.code == AISS_E_PROTOCOL ||
	    err.code == AISS_E_STORAGE || err.code == AISS_E_INTERNAL) {
		debug("aiss: settle of %s deferred: %s", key, err.text);
		return AISS_SPOOL_RETRY;
	}
	if (err.code == AISS_E_PERMISSION) {
		/* a configuration fault (aissd's slurm_user): keep it all */
		error("aiss: aissd refuses charges from this slurmctld (%s); "
		      "charges wait in %s until aissd's slurm_user is set",
		      err.text, pconf.spool_dir);
		return AISS_SPOOL_RETRY;
	}
	error("aiss: settle of run %s refused (%s): %s; record kept in "
	      "%s/failed",
	      key, aiss_status_name(err.code), err.text, pconf.spool_dir);
	return AISS_SPOOL_REJECT;
}

static void replay_spool(void)
{
	aiss_error err;
	size_t done;

	if (aiss_spool_replay(spool, settle_one, NULL, &done, &err) < 0)
		error("aiss: spool replay: %s", err.text);
}

/* --- lien at start ------------------------------------------------------ */

/* Holds the job (admin hold, our reason) before the failed prolog requeues
 * it; the poller releases it when its grant can pay. */
static bool hold_job(uint32_t job_id, time_t run_start, const char *reason)
{
	slurmctld_lock_t job_write = {.job = WRITE_LOCK};
	job_record_t *job;
	bool held = false;

	lock_slurmctld(job_write);
	/* Only the run whose prolog this is: a job cancelled meanwhile must
	 * not be requeued back to life. */
	if ((job = find_job_record(job_id)) && IS_JOB_RUNNING(job) &&
	    !IS_JOB_COMPLETING(job) && job->start_time == run_start) {
		job->priority = 0;
		job->state_reason = WAIT_HELD;
		xfree(job->state_desc);
		job->state_desc = xstrdup(reason);
		refused_add(job_id, job->start_time);
		held = true;
	}
	unlock_slurmctld(job_write);
	return held;
}

static void do_lien(work *w)
{
	aiss_lien lien;
	aiss_error err;
	char reason[AISS_TEXT_MAX];

	aiss_error_clear(&err);
	if (call_reserve(&w->reserve, &lien, &err) == 0) {
		debug("aiss: lien for JobId=%u on %s", w->job_id,
		      lien.grant_id);
		cb.prolog_slurmctld(0, w->job_id, false);
		return;
	}
	if (err.code == AISS_E_UNAVAILABLE && pconf.fail_open) {
		info("aiss: JobId=%u starts without a lien (aissd unreachable, "
		     "FailOpen=yes); it is charged at its end",
		     w->job_id);
		cb.prolog_slurmctld(0, w->job_id, false);
		return;
	}
	if (err.code == AISS_E_INSUFFICIENT) {
		aiss_quote q;
		aiss_error qerr;

		if (call_quote(&w->reserve.shape, &q, &qerr) == 0)
			aiss_msg_hold(&err, &q, &w->reserve.shape, reason,
				      sizeof(reason));
		else
			aiss_msg_hold(&err, NULL, &w->reserve.shape, reason,
				      sizeof(reason));
	} else {
		aiss_msg_hold(&err, NULL, &w->reserve.shape, reason,
			      sizeof(reason));
	}
	if (!hold_job(w->job_id, w->reserve.key.run_start, reason)) {
		/* ended while the lien was asked for: nothing to stop */
		cb.prolog_slurmctld(0, w->job_id, false);
		return;
	}
	info("aiss: JobId=%u not started, held: %s", w->job_id, reason);
	cb.prolog_slurmctld(PROLOG_REFUSED, w->job_id, false);
}

/* --- charge at end ------------------------------------------------------ */

static void do_charge(work *w)
{
	aiss_error err;

	/* Durable first: once spooled, the charge survives any crash. */
	if (aiss_spool_append(spool, &w->settle, &err) < 0)
		error("aiss: cannot spool the charge of JobId=%u: %s",
		      w->job_id, err.text);
	cb.epilog_slurmctld(0, w->job_id, false);
	replay_spool();
}

static void *worker_main(void *arg)
{
	(void)arg;
	for (;;) {
		work *w;

		pthread_mutex_lock(&q_lock);
		while (!q_head && !stopping)
			pthread_cond_wait(&q_cond, &q_lock);
		if (!q_head) {
			pthread_mutex_unlock(&q_lock);
			break;
		}
		w = q_head;
		q_head = w->next;
		if (!q_head)
			q_tail = NULL;
		pthread_mutex_unlock(&q_lock);
		if (stopping && w->kind == WORK_LIEN) {
			xfree(
			    w); /* slurmctld is going down: leave it pending */
			continue;
		}
		if (w->kind == WORK_LIEN)
			do_lien(w);
		else if (stopping) {
			aiss_error err;

			if (aiss_spool_append(spool, &w->settle, &err) < 0)
				error("aiss: spool: %s", err.text);
		} else
			do_charge(w);
		xfree(w);
	}
	return NULL;
}

/* --- release of held jobs and spool replay ------------------------------ */

typedef struct held {
	uint32_t job_id;
	aiss_job_shape shape;
} held;

typedef struct held_scan {
	held *v;
	size_t n, cap;
} held_scan;

static int collect_held(void *x, void *arg)
{
	job_record_t *job = x;
	held_scan *s = arg;
	aiss_gpu_request r;
	aiss_gpu_need need;
	aiss_error err;
	uint32_t limit;
	held *h;

	if (!IS_JOB_PENDING(job) || job->priority != 0 ||
	    job->state_reason != WAIT_HELD || !job->state_desc ||
	    strncmp(job->state_desc, AISS_HOLD_PREFIX,
		    strlen(AISS_HOLD_PREFIX)))
		return 0;
	aiss_glue_job_request(job, &r);
	if (aiss_gpu_request_worst(&r, &need, &err) < 0)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		xrecalloc(s->v, s->cap, sizeof(*s->v));
	}
	h = &s->v[s->n++];
	h->job_id = job->job_id;
	snprintf(h->shape.account, sizeof(h->shape.account), "%s",
		 job->account ? job->account : "");
	snprintf(h->shape.user, sizeof(h->shape.user), "%s", user_of(job));
	snprintf(h->shape.gpu_type, sizeof(h->shape.gpu_type), "%s",
		 need.gpu_type);
	h->shape.gpus = need.gpus;
	limit = job->time_limit;
	if (limit == NO_VAL && job->part_ptr)
		limit = job->part_ptr->default_time != NO_VAL
			    ? job->part_ptr->default_time
			    : job->part_ptr->max_time;
	h->shape.time_limit =
	    (limit == NO_VAL || limit == INFINITE) ? 0 : (int64_t)limit * 60;
	h->shape.count = 1;
	return 0;
}

static void release_job(uint32_t job_id)
{
	slurmctld_lock_t job_write = {.job = WRITE_LOCK, .part = READ_LOCK};
	job_record_t *job;
	time_t now = time(NULL);

	lock_slurmctld(job_write);
	job = find_job_record(job_id);
	if (job && IS_JOB_PENDING(job) && job->priority == 0 &&
	    job->state_reason == WAIT_HELD && job->state_desc &&
	    !strncmp(job->state_desc, AISS_HOLD_PREFIX,
		     strlen(AISS_HOLD_PREFIX))) {
		info("aiss: releasing JobId=%u (was: %s)", job_id,
		     job->state_desc);
		job->state_reason = WAIT_NO_REASON;
		xfree(job->state_desc);
		set_job_prio(job);
		if (job->details && job->details->begin_time > now)
			job->details->begin_time = now;
		if (last_job_update_p)
			*last_job_update_p = now;
	}
	unlock_slurmctld(job_write);
}

static void release_fundable(void)
{
	slurmctld_lock_t job_read = {.job = READ_LOCK, .part = READ_LOCK};
	held_scan s = {0};

	if (!job_list_p || !*job_list_p)
		return;
	lock_slurmctld(job_read);
	list_for_each(*job_list_p, collect_held, &s);
	unlock_slurmctld(job_read);
	for (size_t i = 0; i < s.n; i++) {
		aiss_quote q;
		aiss_error err;

		if (!s.v[i].shape.time_limit)
			continue;
		if (call_quote(&s.v[i].shape, &q, &err) == 0 &&
		    q.verdict == AISS_OK)
			release_job(s.v[i].job_id);
	}
	xfree(s.v);
}

static void *poller_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q_lock);
	while (!stopping) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += pconf.poll_interval_s;
		pthread_cond_timedwait(&poll_cond, &q_lock, &until);
		if (stopping)
			break;
		pthread_mutex_unlock(&q_lock);
		replay_spool();
		release_fundable();
		pthread_mutex_lock(&q_lock);
	}
	pthread_mutex_unlock(&q_lock);
	return NULL;
}

/* --- the PrEp plugin API ------------------------------------------------- */

AISS_EXPORT extern int init(void)
{
	aiss_error err;

	in_ctld = running_in_slurmctld();
	if (!in_ctld)
		return SLURM_SUCCESS; /* slurmd loads PrEp plugins too */
	if (aiss_plugin_conf_load(NULL, &pconf, &err) < 0) {
		error("aiss: %s", err.text);
		return SLURM_ERROR;
	}
	snprintf(cluster, sizeof(cluster), "%s",
		 pconf.cluster[0]          ? pconf.cluster
		 : slurm_conf.cluster_name ? slurm_conf.cluster_name
					   : "");
	conn.socket = pconf.socket[0] ? pconf.socket : NULL;
	conn.timeout_ms = pconf.settle_timeout_ms;
	if (!(spool = aiss_spool_open(pconf.spool_dir, &err))) {
		error("aiss: %s", err.text);
		return SLURM_ERROR;
	}
	job_list_p = dlsym(RTLD_DEFAULT, "job_list");
	last_job_update_p = dlsym(RTLD_DEFAULT, "last_job_update");
	stopping = false;
	slurm_thread_create(&worker_tid, worker_main, NULL);
	slurm_thread_create(&poller_tid, poller_main, NULL);
	threads_up = true;
	info("aiss: prep/aiss loaded (cluster %s, aissd %s, spool %s with %zu "
	     "waiting, %s)",
	     cluster, pconf.socket[0] ? pconf.socket : AISS_DEFAULT_SOCKET,
	     pconf.spool_dir, aiss_spool_pending(spool),
	     pconf.fail_open ? "fail-open" : "fail-closed");
	return SLURM_SUCCESS;
}

AISS_EXPORT extern void fini(void)
{
	if (!threads_up)
		return;
	pthread_mutex_lock(&q_lock);
	stopping = true;
	pthread_cond_broadcast(&q_cond);
	pthread_cond_broadcast(&poll_cond);
	pthread_mutex_unlock(&q_lock);
	pthread_join(worker_tid, NULL);
	pthread_join(poller_tid, NULL);
	threads_up = false;
	aiss_spool_close(spool);
	spool = NULL;
	pthread_mutex_lock(&conn.lock);
	aiss_glue_drop(&conn);
	pthread_mutex_unlock(&conn.lock);
}

AISS_EXPORT extern void prep_p_register_callbacks(prep_callbacks_t *callbacks)
{
	if (callbacks)
		cb = *callbacks;
}

AISS_EXPORT extern int prep_p_prolog(job_env_t *job_env, slurm_cred_t *cred)
{
	return SLURM_SUCCESS;
}

AISS_EXPORT extern int prep_p_epilog(job_env_t *job_env, slurm_cred_t *cred)
{
	return SLURM_SUCCESS;
}

AISS_EXPORT extern int prep_p_prolog_slurmctld(job_record_t *job_ptr,
					       bool *async)
{
	work *w;
	aiss_job_shape *s;

	*async = false;
	if (!threads_up || !cb.prolog_slurmctld)
		return SLURM_SUCCESS;
	w = xmalloc(sizeof(*w));
	w->kind = WORK_LIEN;
	w->job_id = job_ptr->job_id;
	s = &w->reserve.shape;
	s->gpus = alloc_gpus(job_ptr, s->gpu_type, sizeof(s->gpu_type));
	if (s->gpus == 0) { /* CPU-only: outside the scheme */
		xfree(w);
		return SLURM_SUCCESS;
	}
	snprintf(w->reserve.key.cluster, sizeof(w->reserve.key.cluster), "%s",
		 cluster);
	w->reserve.key.job_id = job_ptr->job_id;
	w->reserve.key.run_start = job_ptr->start_time;
	snprintf(s->account, sizeof(s->account), "%s",
		 job_ptr->account ? job_ptr->account : "");
	snprintf(s->user, sizeof(s->user), "%s", user_of(job_ptr));
	s->time_limit =
	    (job_ptr->time_limit == NO_VAL || job_ptr->time_limit == INFINITE)
		? AISS_DURATION_LIMIT
		: (int64_t)job_ptr->time_limit * 60;
	s->count = 1;
	s->start = job_ptr->start_time;
	enqueue(w);
	*async = true;
	return SLURM_SUCCESS;
}

AISS_EXPORT extern int prep_p_epilog_slurmctld(job_record_t *job_ptr,
					       bool *async)
{
	uint32_t flags = JOB_COMPLETING | JOB_CONFIGURING | JOB_STAGE_OUT |
			 JOB_RESIZING | JOB_SIGNALING;
	aiss_settle_req *r;
	work *w;

	*async = false;
	if (!threads_up || !cb.epilog_slurmctld || !job_ptr->start_time)
		return SLURM_SUCCESS;
	if (refused_take(job_ptr->job_id, job_ptr->start_time))
		return SLURM_SUCCESS; /* never started: nothing to charge */
	w = xmalloc(sizeof(*w));
	w->kind = WORK_CHARGE;
	w->job_id = job_ptr->job_id;
	r = &w->settle;
	r->gpus = alloc_gpus(job_ptr, r->gpu_type, sizeof(r->gpu_type));
	if (r->gpus == 0) {
		xfree(w);
		return SLURM_SUCCESS;
	}
	snprintf(r->key.cluster, sizeof(r->key.cluster), "%s", cluster);
	r->key.job_id = job_ptr->job_id;
	r->key.run_start = job_ptr->start_time;
	snprintf(r->account, sizeof(r->account), "%s",
		 job_ptr->account ? job_ptr->account : "");
	snprintf(r->user, sizeof(r->user), "%s", user_of(job_ptr));
	r->end = job_ptr->end_time ? job_ptr->end_time : time(NULL);
	if (r->end < r->key.run_start)
		r->end = r->key.run_start;
	snprintf(r->end_state, sizeof(r->end_state), "%s",
		 job_state_string(job_ptr->job_state & ~flags));
	enqueue(w);
	*async = true;
	return SLURM_SUCCESS;
}

AISS_EXPORT extern void prep_p_required(prep_call_type_t type, bool *required)
{
	*required = false;
	if (!running_in_slurmctld())
		return;
	if (type == PREP_PROLOG_SLURMCTLD || type == PREP_EPILOG_SLURMCTLD)
		*required = true;
}
