/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_glue: the few translations both Slurm plugins share (job record to
 * aiss_gpu_request, NO_VAL to 0, one aissd connection). Slurm types only;
 * decisions live in plugin/lib. */
#ifndef AISS_GLUE_H
#define AISS_GLUE_H

#include <pthread.h>
#include <time.h>

#include "src/common/gres.h"
#include "src/common/list.h"
#include "src/slurmctld/slurmctld.h"

#include "aiss_client.h"
#include "aiss_slurm.h"

static inline uint32_t aiss_u32(uint32_t v)
{
	return (v == NO_VAL || v == INFINITE) ? 0 : v;
}

static inline uint32_t aiss_u16(uint16_t v)
{
	return (v == NO_VAL16 || v == INFINITE16) ? 0 : v;
}

/* The GPU request of a job already in slurmctld (pending or running). */
static inline void aiss_glue_job_request(job_record_t *job, aiss_gpu_request *r)
{
	memset(r, 0, sizeof(*r));
	r->tres_per_job = job->tres_per_job;
	r->tres_per_node = job->tres_per_node;
	r->tres_per_socket = job->tres_per_socket;
	r->tres_per_task = job->tres_per_task;
	if (job->details) {
		r->min_nodes = aiss_u32(job->details->min_nodes);
		r->max_nodes = aiss_u32(job->details->max_nodes);
		r->num_tasks = aiss_u32(job->details->num_tasks);
		r->ntasks_per_node = aiss_u16(job->details->ntasks_per_node);
		if (job->details->mc_ptr)
			r->sockets_per_node =
			    aiss_u16(job->details->mc_ptr->sockets_per_node);
	}
}

/*
 * GPUs allocated to a running job, all nodes, from its GRES allocation
 * (works without slurmdbd); falls back to the formatted TRES string
 * (gres/gpu in AccountingStorageTRES). The most-allocated type goes to
 * @type ("" when untyped). Call under the job read lock.
 */
static inline int64_t aiss_glue_alloc_gpus(job_record_t *job, char *type,
					   size_t len)
{
	int64_t total = 0, best = 0;
	ListIterator it;
	gres_state_t *gs;

	if (len)
		type[0] = '\0';
	if (!job->gres_list_alloc)
		return aiss_tres_alloc_gpus(job->tres_fmt_alloc_str, type, len);
	it = list_iterator_create(job->gres_list_alloc);
	while ((gs = list_next(it))) {
		gres_job_state_t *js = gs->gres_data;
		int64_t n = 0;

		if (!gs->gres_name || strcmp(gs->gres_name, "gpu") || !js)
			continue;
		if (js->gres_cnt_node_alloc) {
			for (uint32_t i = 0; i < js->node_cnt; i++)
				n += (int64_t)js->gres_cnt_node_alloc[i];
		} else {
			n = (int64_t)js->total_gres;
		}
		total += n;
		if (js->type_name && n > best && strlen(js->type_name) < len) {
			best = n;
			strcpy(type, js->type_name);
		}
	}
	list_iterator_destroy(it);
	return total;
}

/* A connection to aissd guarded by a mutex; reconnects on demand. */
typedef struct aiss_glue_conn {
	pthread_mutex_t lock;
	aiss_client *c;
	const char *socket; /* NULL: library default / $AISS_SOCKET */
	int timeout_ms;
} aiss_glue_conn;

/* Returns a connected client with conn->lock held, or NULL (lock held too)
 * with @err. The caller unlocks conn->lock. */
static inline aiss_client *aiss_glue_get(aiss_glue_conn *conn, aiss_error *err)
{
	pthread_mutex_lock(&conn->lock);
	if (!conn->c)
		conn->c =
		    aiss_client_connect(conn->socket, conn->timeout_ms, err);
	return conn->c;
}

/* Drops the connection after a transport failure (lock held). */
static inline void aiss_glue_drop(aiss_glue_conn *conn)
{
	aiss_client_close(conn->c);
	conn->c = NULL;
}

/* Replaces a failed connection by a new one (lock held). NULL on failure. */
static inline aiss_client *aiss_glue_reconnect(aiss_glue_conn *conn,
					       aiss_error *err)
{
	aiss_glue_drop(conn);
	conn->c = aiss_client_connect(conn->socket, conn->timeout_ms, err);
	return conn->c;
}

static inline uint64_t aiss_glue_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#endif
