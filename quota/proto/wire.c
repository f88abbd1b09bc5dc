/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.c: framing, the status table, and conversion between the generated
 * protobuf-c types of aiss.proto and the project's model structs. */
#include "aiss_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiss.pb-c.h"

/* ---- the wire status table (the only place codes are mapped) ---- */

static const struct {
	aiss_status status;
	Aisswire__Status wire;
} status_table[] = {
    {AISS_OK, AISSWIRE__STATUS__OK},
    {AISS_E_INVALID, AISSWIRE__STATUS__INVALID},
    {AISS_E_NOT_FOUND, AISSWIRE__STATUS__NOT_FOUND},
    {AISS_E_EXISTS, AISSWIRE__STATUS__EXISTS},
    {AISS_E_PERMISSION, AISSWIRE__STATUS__PERMISSION},
    {AISS_E_UNKNOWN_ACCOUNT, AISSWIRE__STATUS__UNKNOWN_ACCOUNT},
    {AISS_E_NOT_MEMBER, AISSWIRE__STATUS__NOT_MEMBER},
    {AISS_E_GRANT_INACTIVE, AISSWIRE__STATUS__GRANT_INACTIVE},
    {AISS_E_OUTSIDE_WINDOW, AISSWIRE__STATUS__OUTSIDE_WINDOW},
    {AISS_E_GPU_TYPE, AISSWIRE__STATUS__GPU_TYPE},
    {AISS_E_CONCURRENCY, AISSWIRE__STATUS__CONCURRENCY},
    {AISS_E_INSUFFICIENT, AISSWIRE__STATUS__INSUFFICIENT},
    {AISS_E_COMMITMENT, AISSWIRE__STATUS__COMMITMENT},
    {AISS_E_NO_PRICE, AISSWIRE__STATUS__NO_PRICE},
    {AISS_E_CONFLICT, AISSWIRE__STATUS__CONFLICT},
    {AISS_E_STORAGE, AISSWIRE__STATUS__STORAGE},
    {AISS_E_INTERNAL, AISSWIRE__STATUS__INTERNAL},
    {AISS_E_UNAVAILABLE, AISSWIRE__STATUS__UNAVAILABLE},
    {AISS_E_PROTOCOL, AISSWIRE__STATUS__PROTOCOL},
    {AISS_E_GPU_HOURS, AISSWIRE__STATUS__GPU_HOURS},
};
#define N_STATUS (sizeof(status_table) / sizeof(status_table[0]))

uint32_t aiss_status_to_wire(aiss_status s)
{
	for (size_t i = 0; i < N_STATUS; i++)
		if (status_table[i].status == s)
			return (uint32_t)status_table[i].wire;
	return (uint32_t)AISSWIRE__STATUS__INTERNAL;
}

aiss_status aiss_status_from_wire(uint32_t w)
{
	for (size_t i = 0; i < N_STATUS; i++)
		if ((uint32_t)status_table[i].wire == w)
			return status_table[i].status;
	return AISS_E_PROTOCOL;
}

/* ---- operations ---- */

static const struct {
	const char *name;
	int writes;
	size_t item_size;
} op_table[AISS_OP__MAX] = {
    [AISS_OP_QUOTE] = {"quote", 0, 0},
    [AISS_OP_RESERVE] = {"reserve", 1, 0},
    [AISS_OP_SETTLE] = {"settle", 1, 0},
    [AISS_OP_RELEASE] = {"release", 1, 0},
    [AISS_OP_BALANCE] = {"balance", 0, 0},
    [AISS_OP_BALANCE_LIST] = {"balance_list", 0, sizeof(aiss_balance)},
    [AISS_OP_STATEMENT] = {"statement", 0, sizeof(aiss_journal_entry)},
    [AISS_OP_SCHEME_INIT] = {"scheme_init", 1, 0},
    [AISS_OP_SCHEME_GET] = {"scheme_get", 0, 0},
    [AISS_OP_EARMARK_SET] = {"earmark_set", 1, 0},
    [AISS_OP_EARMARK_LIST] = {"earmark_list", 0, sizeof(aiss_earmark)},
    [AISS_OP_INSTITUTION_ADD] = {"institution_add", 1, 0},
    [AISS_OP_INSTITUTION_LIST] = {"institution_list", 0,
				  sizeof(aiss_institution)},
    [AISS_OP_GRANT_ADD] = {"grant_add", 1, 0},
    [AISS_OP_GRANT_MODIFY] = {"grant_modify", 1, 0},
    [AISS_OP_GRANT_SET_STATE] = {"grant_set_state", 1, 0},
    [AISS_OP_GRANT_GET] = {"grant_get", 0, 0},
    [AISS_OP_GRANT_LIST] = {"grant_list", 0, sizeof(aiss_grant)},
    [AISS_OP_PRICE_SET] = {"price_set", 1, 0},
    [AISS_OP_PRICE_LIST] = {"price_list", 0, sizeof(aiss_price)},
    [AISS_OP_ADJUST] = {"adjust", 1, 0},
    [AISS_OP_JOURNAL_VERIFY] = {"journal_verify", 0, 0},
    [AISS_OP_CHARGE_EXPORT] = {"charge_export", 0, sizeof(aiss_charge_rec)},
    [AISS_OP_ADJUSTMENT_EXPORT] = {"adjustment_export", 0,
				   sizeof(aiss_adjustment)},
    [AISS_OP_CAPACITY_PUT] = {"capacity_put", 1, 0},
    [AISS_OP_CAPACITY_LIST] = {"capacity_list", 0, sizeof(aiss_capacity)},
    [AISS_OP_LIEN_LIST] = {"lien_list", 0, sizeof(aiss_lien_info)},
    [AISS_OP_LIEN_EXPIRE] = {"lien_expire", 1, sizeof(aiss_lien_info)},
    [AISS_OP_SERVER_STATUS] = {"server_status", 0, 0},
};

static int op_valid(int op)
{
	return op > 0 && op < AISS_OP__MAX && op_table[op].name;
}

const char *aiss_op_name(aiss_op op)
{
	return op_valid((int)op) ? op_table[op].name : "?";
}

int aiss_op_writes(aiss_op op)
{
	return op_valid((int)op) ? op_table[op].writes : 0;
}

size_t aiss_op_item_size(aiss_op op)
{
	return op_valid((int)op) ? op_table[op].item_size : 0;
}

/* ---- replies as model structs ---- */

void aiss_reply_init(aiss_reply *r, aiss_op op, uint64_t id)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->id = id;
	r->status = AISS_OK;
}

void aiss_reply_clear(aiss_reply *r)
{
	if (!r)
		return;
	free(r->items);
	memset(r, 0, sizeof(*r));
}

void *aiss_reply_add_item(aiss_reply *r)
{
	size_t sz = aiss_op_item_size(r->op);
	if (!sz) {
		errno = EINVAL;
		return NULL;
	}
	if (r->n_items == r->cap_items) {
		size_t cap = r->cap_items ? r->cap_items * 2 : 16;
		void *p = realloc(r->items, cap * sz);
		if (!p)
			return NULL;
		r->items = p;
		r->cap_items = cap;
	}
	void *it = (char *)r->items + r->n_items * sz;
	memset(it, 0, sz);
	r->n_items++;
	return it;
}

void aiss_reply_set_error(aiss_reply *r, const aiss_error *e)
{
	r->status = e->code;
	snprintf(r->message, sizeof(r->message), "%s", e->text);
}

/* ---- framing ---- */

int aiss_frame_check(const uint8_t *buf, size_t len, size_t *payload_len)
{
	if (len < AISS_FRAME_HDR)
		return 0;
	uint32_t n = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) |
		     ((uint32_t)buf[2] << 8) | (uint32_t)buf[3];
	if (n == 0 || n > AISS_FRAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len - AISS_FRAME_HDR < n)
		return 0;
	*payload_len = n;
	return 1;
}

void aiss_frame_put_header(uint8_t hdr[AISS_FRAME_HDR], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

static int pack_frame(const ProtobufCMessage *m, uint8_t **out, size_t *len,
		      aiss_error *err)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	if (n > AISS_FRAME_MAX)
		return aiss_error_set(
		    err, AISS_E_PROTOCOL,
		    "message of %zu bytes is over the %u-byte "
		    "frame limit",
		    n, AISS_FRAME_MAX);
	/* A frame is never empty: every request has a version and an op,
	 * every reply an op or an error status. */
	if (n == 0)
		return aiss_error_set(err, AISS_E_INTERNAL, "empty message");
	uint8_t *buf = malloc(AISS_FRAME_HDR + n);
	if (!buf)
		return aiss_error_set(err, AISS_E_INTERNAL, "out of memory");
	size_t w = protobuf_c_message_pack(m, buf + AISS_FRAME_HDR);
	if (w != n) {
		free(buf);
		return aiss_error_set(err, AISS_E_INTERNAL,
				      "protobuf pack size mismatch");
	}
	aiss_frame_put_header(buf, (uint32_t)n);
	*out = buf;
	*len = AISS_FRAME_HDR + n;
	return 0;
}

/* ---- model -> protobuf (pointers into the model; no copies) ---- */

#define S(field) p->field = (char *)m->field
#define V(field) p->field = m->field

static void run_key_to(const aiss_run_key *m, Aisswire__RunKey *p)
{
	aisswire__run_key__init(p);
	S(cluster);
	V(job_id);
	V(run_start);
}

static void job_shape_to(const aiss_job_shape *m, Aisswire__JobShape *p)
{
	aisswire__job_shape__init(p);
	S(account);
	S(user);
	S(gpu_type);
	V(gpus);
	V(time_limit);
	V(count);
	V(start);
}

static void charge_to(const aiss_charge *m, Aisswire__Charge *p)
{
	aisswire__charge__init(p);
	V(gpu_seconds);
	V(run_seconds);
	V(in_window_seconds);
	V(list_cost);
	V(in_window_cost);
	V(subsidy);
	V(copay);
	p->capped = m->capped;
}

static void quote_to(const aiss_quote *m, Aisswire__Quote *p,
		     Aisswire__Charge *worst)
{
	aisswire__quote__init(p);
	p->verdict = (Aisswire__Status)aiss_status_to_wire(m->verdict);
	S(grant_id);
	S(gpu_type);
	V(price);
	V(rate_bp);
	charge_to(&m->worst, worst);
	p->worst = worst;
	V(worst_subsidy_total);
	V(available);
	V(fit_time_limit);
	V(fit_gpus);
	V(fit_count);
	S(reason);
}

static void settle_to(const aiss_settle_req *m, Aisswire__SettleReq *p,
		      Aisswire__RunKey *key)
{
	aisswire__settle_req__init(p);
	run_key_to(&m->key, key);
	p->key = key;
	S(account);
	S(user);
	S(gpu_type);
	V(gpus);
	V(end);
	S(end_state);
}

static void lien_to(const aiss_lien *m, Aisswire__Lien *p,
		    Aisswire__RunKey *key)
{
	aisswire__lien__init(p);
	run_key_to(&m->key, key);
	p->key = key;
	S(grant_id);
	S(gpu_type);
	V(gpus);
	V(time_limit);
	V(price);
	V(held_subsidy);
	p->state = (int32_t)m->state;
}

static void charge_rec_to(const aiss_charge_rec *m, Aisswire__ChargeRec *p,
			  Aisswire__RunKey *key, Aisswire__Charge *ch)
{
	aisswire__charge_rec__init(p);
	run_key_to(&m->key, key);
	p->key = key;
	S(grant_id);
	S(account);
	S(user);
	S(gpu_type);
	S(institution);
	p->inst_type = (int32_t)m->inst_type;
	V(gpus);
	V(start);
	V(end);
	S(end_state);
	V(price);
	V(rate_bp);
	charge_to(&m->charge, ch);
	p->charge = ch;
	V(settled_at);
	V(journal_seq);
}

static void adjustment_to(const aiss_adjustment *m, Aisswire__Adjustment *p)
{
	aisswire__adjustment__init(p);
	S(grant_id);
	V(amount);
	S(reason);
	S(actor);
	V(at);
	V(journal_seq);
}

static void balance_to(const aiss_balance *m, Aisswire__Balance *p)
{
	aisswire__balance__init(p);
	S(grant_id);
	p->state = (int32_t)m->state;
	V(approved_subsidy);
	V(charged_subsidy);
	V(held_subsidy);
	V(adjustments);
	V(remaining);
	V(list_cost);
	V(copay);
	V(approved_gpu_seconds);
	V(used_gpu_seconds);
	V(held_gpus);
	V(max_concurrent_gpus);
	V(n_runs);
	V(n_liens);
	V(window_start);
	V(window_end);
}

static void journal_entry_to(const aiss_journal_entry *m,
			     Aisswire__JournalEntry *p)
{
	aisswire__journal_entry__init(p);
	V(seq);
	V(at);
	S(actor);
	S(kind);
	S(grant_id);
	V(amount);
	S(detail);
	S(prev_hash);
	S(hash);
}

static void verify_to(const aiss_verify_result *m, Aisswire__VerifyResult *p)
{
	aisswire__verify_result__init(p);
	p->ok = m->ok != 0;
	V(n_entries);
	V(first_bad_seq);
	S(reason);
}

/* ServerStatus's fields, for both directions: V numbers, S strings. */
#define STATUS_FIELDS                                                          \
	V(pid);                                                                \
	V(started_at);                                                         \
	V(as_of);                                                              \
	S(ledger);                                                             \
	S(writes_error);                                                       \
	V(requests);                                                           \
	V(group_commits);                                                      \
	V(replays);                                                            \
	V(connections_open);                                                   \
	V(connections);                                                        \
	V(protocol_errors)

static void status_to(const aiss_server_status *m, Aisswire__ServerStatus *p)
{
	aisswire__server_status__init(p);
	STATUS_FIELDS;
	p->writes_ok = m->writes_ok != 0;
}

static void capacity_to(const aiss_capacity *m, Aisswire__Capacity *p)
{
	aisswire__capacity__init(p);
	S(node);
	V(at);
	V(pass);
	V(n_gpus);
	V(bf16_gflops);
	S(summary);
}

static void scheme_to(const aiss_scheme *m, Aisswire__Scheme *p)
{
	aisswire__scheme__init(p);
	S(name);
	V(commitment);
	V(start);
	V(end);
	V(earmarked);
	V(approved_total);
	V(charged_total);
	V(held_total);
	V(n_grants);
}

static void earmark_to(const aiss_earmark *m, Aisswire__Earmark *p)
{
	aisswire__earmark__init(p);
	S(name);
	V(amount);
}

static void institution_to(const aiss_institution *m, Aisswire__Institution *p)
{
	aisswire__institution__init(p);
	S(name);
	p->type = (int32_t)m->type;
}

static void grant_to(const aiss_grant *m, Aisswire__Grant *p)
{
	aisswire__grant__init(p);
	S(id);
	S(institution);
	p->inst_type = (int32_t)m->inst_type;
	S(accounts);
	S(members);
	S(gpu_types);
	V(rate_bp);
	V(approved_gpu_seconds);
	V(approved_subsidy);
	V(window_start);
	V(window_end);
	V(max_concurrent_gpus);
	p->state = (int32_t)m->state;
}

static void price_to(const aiss_price *m, Aisswire__Price *p)
{
	aisswire__price__init(p);
	S(gpu_type);
	V(cents_per_gpu_hour);
	V(effective_from);
}

static void page_to(const aiss_page *m, Aisswire__Page *p)
{
	aisswire__page__init(p);
	V(offset);
	V(after_seq);
	V(limit);
	V(from);
	V(to);
	S(grant_id);
	p->stale = m->stale != 0;
	p->dry_run = m->dry_run != 0;
}

static void lien_info_to(const aiss_lien_info *m, Aisswire__LienInfo *p,
			 Aisswire__Lien *lien, Aisswire__RunKey *key)
{
	aisswire__lien_info__init(p);
	lien_to(&m->lien, lien, key);
	p->lien = lien;
	S(account);
	S(user);
	V(created_at);
	V(stale_at);
	V(as_of);
	p->stale = m->stale != 0;
}

#undef S
#undef V

/* ---- protobuf -> model (copies, with bounds checks) ---- */

/* Copies NUL-terminated @src into @dst of @cap bytes; -1 when too long. */
static int cpy(char *dst, size_t cap, const char *src)
{
	if (!src) {
		dst[0] = '\0';
		return 0;
	}
	size_t n = strnlen(src, cap);
	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

#define S(field)                                                               \
	do {                                                                   \
		if (cpy(m->field, sizeof(m->field), p->field))                 \
			return -1;                                             \
	} while (0)
#define V(field) m->field = p->field

static int run_key_from(const Aisswire__RunKey *p, aiss_run_key *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(cluster);
	V(job_id);
	V(run_start);
	return 0;
}

static int job_shape_from(const Aisswire__JobShape *p, aiss_job_shape *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(account);
	S(user);
	S(gpu_type);
	V(gpus);
	V(time_limit);
	V(count);
	V(start);
	return 0;
}

static void charge_from(const Aisswire__Charge *p, aiss_charge *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return;
	V(gpu_seconds);
	V(run_seconds);
	V(in_window_seconds);
	V(list_cost);
	V(in_window_cost);
	V(subsidy);
	V(copay);
	m->capped = p->capped != 0;
}

static int quote_from(const Aisswire__Quote *p, aiss_quote *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	m->verdict = aiss_status_from_wire((uint32_t)p->verdict);
	S(grant_id);
	S(gpu_type);
	V(price);
	V(rate_bp);
	charge_from(p->worst, &m->worst);
	V(worst_subsidy_total);
	V(available);
	V(fit_time_limit);
	V(fit_gpus);
	V(fit_count);
	S(reason);
	return 0;
}

static int settle_from(const Aisswire__SettleReq *p, aiss_settle_req *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	if (run_key_from(p->key, &m->key))
		return -1;
	S(account);
	S(user);
	S(gpu_type);
	V(gpus);
	V(end);
	S(end_state);
	return 0;
}

static int lien_from(const Aisswire__Lien *p, aiss_lien *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	if (run_key_from(p->key, &m->key))
		return -1;
	S(grant_id);
	S(gpu_type);
	V(gpus);
	V(time_limit);
	V(price);
	V(held_subsidy);
	m->state = (aiss_lien_state)p->state;
	return 0;
}

static int charge_rec_from(const Aisswire__ChargeRec *p, aiss_charge_rec *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	if (run_key_from(p->key, &m->key))
		return -1;
	S(grant_id);
	S(account);
	S(user);
	S(gpu_type);
	S(institution);
	m->inst_type = (aiss_inst_type)p->inst_type;
	V(gpus);
	V(start);
	V(end);
	S(end_state);
	V(price);
	V(rate_bp);
	charge_from(p->charge, &m->charge);
	V(settled_at);
	V(journal_seq);
	return 0;
}

static int adjustment_from(const Aisswire__Adjustment *p, aiss_adjustment *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(grant_id);
	V(amount);
	S(reason);
	S(actor);
	V(at);
	V(journal_seq);
	return 0;
}

static int balance_from(const Aisswire__Balance *p, aiss_balance *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(grant_id);
	m->state = (aiss_grant_state)p->state;
	V(approved_subsidy);
	V(charged_subsidy);
	V(held_subsidy);
	V(adjustments);
	V(remaining);
	V(list_cost);
	V(copay);
	V(approved_gpu_seconds);
	V(used_gpu_seconds);
	V(held_gpus);
	V(max_concurrent_gpus);
	V(n_runs);
	V(n_liens);
	V(window_start);
	V(window_end);
	return 0;
}

static int journal_entry_from(const Aisswire__JournalEntry *p,
			      aiss_journal_entry *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	V(seq);
	V(at);
	S(actor);
	S(kind);
	S(grant_id);
	V(amount);
	S(detail);
	S(prev_hash);
	S(hash);
	return 0;
}

static int verify_from(const Aisswire__VerifyResult *p, aiss_verify_result *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	m->ok = p->ok ? 1 : 0;
	V(n_entries);
	V(first_bad_seq);
	S(reason);
	return 0;
}

static int status_from(const Aisswire__ServerStatus *p, aiss_server_status *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	STATUS_FIELDS;
	m->writes_ok = p->writes_ok ? 1 : 0;
	return 0;
}

static int capacity_from(const Aisswire__Capacity *p, aiss_capacity *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(node);
	V(at);
	V(pass);
	V(n_gpus);
	V(bf16_gflops);
	S(summary);
	return 0;
}

static int scheme_from(const Aisswire__Scheme *p, aiss_scheme *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(name);
	V(commitment);
	V(start);
	V(end);
	V(earmarked);
	V(approved_total);
	V(charged_total);
	V(held_total);
	V(n_grants);
	return 0;
}

static int earmark_from(const Aisswire__Earmark *p, aiss_earmark *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(name);
	V(amount);
	return 0;
}

static int institution_from(const Aisswire__Institution *p, aiss_institution *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(name);
	m->type = (aiss_inst_type)p->type;
	return 0;
}

static int grant_from(const Aisswire__Grant *p, aiss_grant *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(id);
	S(institution);
	m->inst_type = (aiss_inst_type)p->inst_type;
	S(accounts);
	S(members);
	S(gpu_types);
	V(rate_bp);
	V(approved_gpu_seconds);
	V(approved_subsidy);
	V(window_start);
	V(window_end);
	V(max_concurrent_gpus);
	m->state = (aiss_grant_state)p->state;
	return 0;
}

static int price_from(const Aisswire__Price *p, aiss_price *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(gpu_type);
	V(cents_per_gpu_hour);
	V(effective_from);
	return 0;
}

static int page_from(const Aisswire__Page *p, aiss_page *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	V(offset);
	V(after_seq);
	V(limit);
	V(from);
	V(to);
	S(grant_id);
	m->stale = p->stale ? 1 : 0;
	m->dry_run = p->dry_run ? 1 : 0;
	return 0;
}

static int lien_info_from(const Aisswire__LienInfo *p, aiss_lien_info *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	if (lien_from(p->lien, &m->lien))
		return -1;
	S(account);
	S(user);
	V(created_at);
	V(stale_at);
	V(as_of);
	m->stale = p->stale ? 1 : 0;
	return 0;
}

static int grant_ref_from(const Aisswire__GrantRef *p, char *id, size_t cap)
{
	return cpy(id, cap, p ? p->grant_id : NULL);
}

static int grant_state_from(const Aisswire__GrantState *p,
			    aiss_grant_state_req *m)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return 0;
	S(grant_id);
	m->state = (aiss_grant_state)p->state;
	S(reason);
	return 0;
}

#undef S
#undef V

/* ---- requests ---- */

int aiss_request_encode(const aiss_request *r, uint8_t **out, size_t *len,
			aiss_error *err)
{
	Aisswire__Request q;
	aisswire__request__init(&q);
	q.version = r->version;
	q.id = r->id;
	q.credential.data = (uint8_t *)r->credential;
	q.credential.len = r->cred_len;

	/* Storage for whichever body the op needs. */
	Aisswire__RunKey key;
	Aisswire__JobShape shape;
	Aisswire__ReserveReq reserve;
	Aisswire__SettleReq settle;
	Aisswire__GrantRef ref;
	Aisswire__Page page;
	Aisswire__Scheme scheme;
	Aisswire__Empty empty;
	Aisswire__Earmark earmark;
	Aisswire__Institution inst;
	Aisswire__Grant grant;
	Aisswire__GrantState gstate;
	Aisswire__Price price;
	Aisswire__Adjustment adj;
	Aisswire__Capacity cap;

	aisswire__empty__init(&empty);
	q.op_case = (Aisswire__Request__OpCase)r->op;
	switch (r->op) {
	case AISS_OP_QUOTE:
		job_shape_to(&r->u.quote, &shape);
		q.quote = &shape;
		break;
	case AISS_OP_RESERVE:
		aisswire__reserve_req__init(&reserve);
		run_key_to(&r->u.reserve.key, &key);
		job_shape_to(&r->u.reserve.shape, &shape);
		reserve.key = &key;
		reserve.shape = &shape;
		q.reserve = &reserve;
		break;
	case AISS_OP_SETTLE:
		settle_to(&r->u.settle, &settle, &key);
		q.settle = &settle;
		break;
	case AISS_OP_RELEASE:
		run_key_to(&r->u.release, &key);
		q.release = &key;
		break;
	case AISS_OP_BALANCE:
	case AISS_OP_GRANT_GET:
		aisswire__grant_ref__init(&ref);
		ref.grant_id = (char *)r->u.grant_id;
		q.balance = &ref; /* same union slot type for both */
		break;
	case AISS_OP_BALANCE_LIST:
	case AISS_OP_STATEMENT:
	case AISS_OP_EARMARK_LIST:
	case AISS_OP_INSTITUTION_LIST:
	case AISS_OP_GRANT_LIST:
	case AISS_OP_PRICE_LIST:
	case AISS_OP_CHARGE_EXPORT:
	case AISS_OP_ADJUSTMENT_EXPORT:
	case AISS_OP_CAPACITY_LIST:
	case AISS_OP_LIEN_LIST:
	case AISS_OP_LIEN_EXPIRE:
		page_to(&r->u.page, &page);
		q.balance_list = &page; /* every Page slot shares the union */
		break;
	case AISS_OP_SCHEME_INIT:
		scheme_to(&r->u.scheme, &scheme);
		q.scheme_init = &scheme;
		break;
	case AISS_OP_SCHEME_GET:
	case AISS_OP_JOURNAL_VERIFY:
	case AISS_OP_SERVER_STATUS:
		q.scheme_get = &empty; /* every Empty slot shares the union */
		break;
	case AISS_OP_EARMARK_SET:
		earmark_to(&r->u.earmark, &earmark);
		q.earmark_set = &earmark;
		break;
	case AISS_OP_INSTITUTION_ADD:
		institution_to(&r->u.institution, &inst);
		q.institution_add = &inst;
		break;
	case AISS_OP_GRANT_ADD:
	case AISS_OP_GRANT_MODIFY:
		grant_to(&r->u.grant, &grant);
		q.grant_add = &grant;
		break;
	case AISS_OP_GRANT_SET_STATE:
		aisswire__grant_state__init(&gstate);
		gstate.grant_id = (char *)r->u.set_state.grant_id;
		gstate.state = (int32_t)r->u.set_state.state;
		gstate.reason = (char *)r->u.set_state.reason;
		q.grant_set_state = &gstate;
		break;
	case AISS_OP_PRICE_SET:
		price_to(&r->u.price, &price);
		q.price_set = &price;
		break;
	case AISS_OP_ADJUST:
		adjustment_to(&r->u.adjust, &adj);
		q.adjust = &adj;
		break;
	case AISS_OP_CAPACITY_PUT:
		capacity_to(&r->u.capacity, &cap);
		q.capacity_put = &cap;
		break;
	default:
		return aiss_error_set(err, AISS_E_INVALID,
				      "unknown operation %d", (int)r->op);
	}
	return pack_frame(&q.base, out, len, err);
}

static int request_from(const Aisswire__Request *q, aiss_request *r)
{
	r->version = q->version;
	r->id = q->id;
	if (q->credential.len > AISS_CRED_MAX)
		return -1;
	if (q->credential.len)
		memcpy(r->credential, q->credential.data, q->credential.len);
	r->credential[q->credential.len] = '\0';
	r->cred_len = q->credential.len;
	r->op = (aiss_op)q->op_case;
	switch (q->op_case) {
	case AISSWIRE__REQUEST__OP_QUOTE:
		return job_shape_from(q->quote, &r->u.quote);
	case AISSWIRE__REQUEST__OP_RESERVE:
		if (!q->reserve)
			return 0;
		if (run_key_from(q->reserve->key, &r->u.reserve.key))
			return -1;
		return job_shape_from(q->reserve->shape, &r->u.reserve.shape);
	case AISSWIRE__REQUEST__OP_SETTLE:
		return settle_from(q->settle, &r->u.settle);
	case AISSWIRE__REQUEST__OP_RELEASE:
		return run_key_from(q->release, &r->u.release);
	case AISSWIRE__REQUEST__OP_BALANCE:
		return grant_ref_from(q->balance, r->u.grant_id,
				      sizeof(r->u.grant_id));
	case AISSWIRE__REQUEST__OP_GRANT_GET:
		return grant_ref_from(q->grant_get, r->u.grant_id,
				      sizeof(r->u.grant_id));
	case AISSWIRE__REQUEST__OP_BALANCE_LIST:
	case AISSWIRE__REQUEST__OP_STATEMENT:
	case AISSWIRE__REQUEST__OP_EARMARK_LIST:
	case AISSWIRE__REQUEST__OP_INSTITUTION_LIST:
	case AISSWIRE__REQUEST__OP_GRANT_LIST:
	case AISSWIRE__REQUEST__OP_PRICE_LIST:
	case AISSWIRE__REQUEST__OP_CHARGE_EXPORT:
	case AISSWIRE__REQUEST__OP_ADJUSTMENT_EXPORT:
	case AISSWIRE__REQUEST__OP_CAPACITY_LIST:
	case AISSWIRE__REQUEST__OP_LIEN_LIST:
	case AISSWIRE__REQUEST__OP_LIEN_EXPIRE:
		return page_from(q->balance_list, &r->u.page);
	case AISSWIRE__REQUEST__OP_SCHEME_INIT:
		return scheme_from(q->scheme_init, &r->u.scheme);
	case AISSWIRE__REQUEST__OP_SCHEME_GET:
	case AISSWIRE__REQUEST__OP_JOURNAL_VERIFY:
	case AISSWIRE__REQUEST__OP_SERVER_STATUS:
		return 0;
	case AISSWIRE__REQUEST__OP_EARMARK_SET:
		return earmark_from(q->earmark_set, &r->u.earmark);
	case AISSWIRE__REQUEST__OP_INSTITUTION_ADD:
		return institution_from(q->institution_add, &r->u.institution);
	case AISSWIRE__REQUEST__OP_GRANT_ADD:
	case AISSWIRE__REQUEST__OP_GRANT_MODIFY:
		return grant_from(q->grant_add, &r->u.grant);
	case AISSWIRE__REQUEST__OP_GRANT_SET_STATE:
		return grant_state_from(q->grant_set_state, &r->u.set_state);
	case AISSWIRE__REQUEST__OP_PRICE_SET:
		return price_from(q->price_set, &r->u.price);
	case AISSWIRE__REQUEST__OP_ADJUST:
		return adjustment_from(q->adjust, &r->u.adjust);
	case AISSWIRE__REQUEST__OP_CAPACITY_PUT:
		return capacity_from(q->capacity_put, &r->u.capacity);
	default:
		return -1;
	}
}

/* Unpacking a request: protobuf-c allocates each submessage and string;
 * a bump allocator over a buffer on the caller's stack makes those free
 * (a larger request spills into malloc). */
typedef struct unpack_arena {
	ProtobufCAllocator pa;
	uint8_t *base;
	size_t used, cap;
} unpack_arena;

static void *arena_alloc(void *data, size_t n)
{
	unpack_arena *a = data;
	size_t need = (n + 15) & ~(size_t)15;

	if (need >= n && need <= a->cap - a->used) {
		void *p = a->base + a->used;
		a->used += need;
		return p;
	}
	return malloc(n);
}

static void arena_free(void *data, void *p)
{
	unpack_arena *a = data;

	if ((uint8_t *)p >= a->base && (uint8_t *)p < a->base + a->cap)
		return;
	free(p);
}

int aiss_request_decode(const uint8_t *payload, size_t len, aiss_request *out,
			aiss_error *err)
{
	_Alignas(16) uint8_t buf[8192];
	unpack_arena a = {.base = buf, .cap = sizeof(buf)};

	a.pa.alloc = arena_alloc;
	a.pa.free = arena_free;
	a.pa.allocator_data = &a;
	memset(out, 0, sizeof(*out));
	if (len > AISS_FRAME_MAX)
		return aiss_error_set(err, AISS_E_PROTOCOL,
				      "frame of %zu bytes over the limit", len);
	Aisswire__Request *q = aisswire__request__unpack(&a.pa, len, payload);
	if (!q)
		return aiss_error_set(err, AISS_E_PROTOCOL,
				      "request is not a valid aiss message");
	int rc = 0;
	if (q->op_case == AISSWIRE__REQUEST__OP__NOT_SET) {
		out->version = q->version;
		out->id = q->id;
		rc = aiss_error_set(err, AISS_E_PROTOCOL,
				    "request names no operation this aissd "
				    "knows (is the client newer?)");
	} else if (request_from(q, out)) {
		rc = aiss_error_set(err, AISS_E_PROTOCOL,
				    "request has a field longer than allowed");
	}
	aisswire__request__free_unpacked(q, &a.pa);
	return rc;
}

/* ---- replies ---- */

int aiss_reply_encode(const aiss_reply *r, uint8_t **out, size_t *len,
		      aiss_error *err)
{
	Aisswire__Reply p;
	aisswire__reply__init(&p);
	p.id = r->id;
	p.op = (uint32_t)r->op;
	p.status = (Aisswire__Status)aiss_status_to_wire(r->status);
	p.message = (char *)r->message;
	p.more = r->more != 0;
	p.next_offset = r->next_offset;
	p.next_after_seq = r->next_after_seq;
	p.next_from = r->next_from;

	Aisswire__Quote quote;
	Aisswire__Lien lien;
	Aisswire__ChargeRec crec;
	Aisswire__Balance bal;
	Aisswire__Scheme scheme;
	Aisswire__Grant grant;
	Aisswire__Adjustment adj;
	Aisswire__VerifyResult ver;
	Aisswire__ServerStatus sst;
	Aisswire__RunKey key;
	Aisswire__Charge ch;

	/* Singular results are only sent on success. */
	if (r->status == AISS_OK) {
		switch (r->op) {
		case AISS_OP_QUOTE:
			quote_to(&r->u.quote, &quote, &ch);
			p.result_case = AISSWIRE__REPLY__RESULT_QUOTE;
			p.quote = &quote;
			break;
		case AISS_OP_RESERVE:
			lien_to(&r->u.lien, &lien, &key);
			p.result_case = AISSWIRE__REPLY__RESULT_LIEN;
			p.lien = &lien;
			break;
		case AISS_OP_SETTLE:
			charge_rec_to(&r->u.charge, &crec, &key, &ch);
			p.result_case = AISSWIRE__REPLY__RESULT_CHARGE;
			p.charge = &crec;
			break;
		case AISS_OP_BALANCE:
			balance_to(&r->u.balance, &bal);
			p.result_case = AISSWIRE__REPLY__RESULT_BALANCE;
			p.balance = &bal;
			break;
		case AISS_OP_SCHEME_GET:
			scheme_to(&r->u.scheme, &scheme);
			p.result_case = AISSWIRE__REPLY__RESULT_SCHEME;
			p.scheme = &scheme;
			break;
		case AISS_OP_GRANT_GET:
			grant_to(&r->u.grant, &grant);
			p.result_case = AISSWIRE__REPLY__RESULT_GRANT;
			p.grant = &grant;
			break;
		case AISS_OP_ADJUST:
			adjustment_to(&r->u.adjustment, &adj);
			p.result_case = AISSWIRE__REPLY__RESULT_ADJUSTMENT;
			p.adjustment = &adj;
			break;
		case AISS_OP_JOURNAL_VERIFY:
			verify_to(&r->u.verify, &ver);
			p.result_case = AISSWIRE__REPLY__RESULT_VERIFY;
			p.verify = &ver;
			break;
		case AISS_OP_SERVER_STATUS:
			status_to(&r->u.status, &sst);
			p.result_case = AISSWIRE__REPLY__RESULT_SERVER_STATUS;
			p.server_status = &sst;
			break;
		default:
			break;
		}
	}

	/* Listings: one array of messages, one of pointers, and for charge
	 * records the nested key and charge. */
	size_t n = r->n_items, msz = 0;
	void *msgs = NULL, **ptrs = NULL;
	Aisswire__RunKey *keys = NULL;
	Aisswire__Charge *chs = NULL;
	Aisswire__Lien *liens = NULL;
	int rc = -1;
	if (n) {
		switch (r->op) {
		case AISS_OP_BALANCE_LIST:
			msz = sizeof(Aisswire__Balance);
			break;
		case AISS_OP_STATEMENT:
			msz = sizeof(Aisswire__JournalEntry);
			break;
		case AISS_OP_EARMARK_LIST:
			msz = sizeof(Aisswire__Earmark);
			break;
		case AISS_OP_INSTITUTION_LIST:
			msz = sizeof(Aisswire__Institution);
			break;
		case AISS_OP_GRANT_LIST:
			msz = sizeof(Aisswire__Grant);
			break;
		case AISS_OP_PRICE_LIST:
			msz = sizeof(Aisswire__Price);
			break;
		case AISS_OP_CHARGE_EXPORT:
			msz = sizeof(Aisswire__ChargeRec);
			break;
		case AISS_OP_ADJUSTMENT_EXPORT:
			msz = sizeof(Aisswire__Adjustment);
			break;
		case AISS_OP_CAPACITY_LIST:
			msz = sizeof(Aisswire__Capacity);
			break;
		case AISS_OP_LIEN_LIST:
		case AISS_OP_LIEN_EXPIRE:
			msz = sizeof(Aisswire__LienInfo);
			break;
		default:
			return aiss_error_set(err, AISS_E_INTERNAL,
					      "items on a non-listing reply");
		}
		msgs = calloc(n, msz);
		ptrs = calloc(n, sizeof(void *));
		if (r->op == AISS_OP_CHARGE_EXPORT) {
			keys = calloc(n, sizeof(*keys));
			chs = calloc(n, sizeof(*chs));
		}
		if (r->op == AISS_OP_LIEN_LIST ||
		    r->op == AISS_OP_LIEN_EXPIRE) {
			keys = calloc(n, sizeof(*keys));
			liens = calloc(n, sizeof(*liens));
		}
		if (!msgs || !ptrs ||
		    (r->op == AISS_OP_CHARGE_EXPORT && (!keys || !chs)) ||
		    ((r->op == AISS_OP_LIEN_LIST ||
		      r->op == AISS_OP_LIEN_EXPIRE) &&
		     (!keys || !liens))) {
			aiss_error_set(err, AISS_E_INTERNAL, "out of memory");
			goto out;
		}
		size_t isz = aiss_op_item_size(r->op);
		for (size_t i = 0; i < n; i++) {
			const void *it = (const char *)r->items + i * isz;
			void *m = (char *)msgs + i * msz;
			ptrs[i] = m;
			switch (r->op) {
			case AISS_OP_BALANCE_LIST:
				balance_to(it, m);
				break;
			case AISS_OP_STATEMENT:
				journal_entry_to(it, m);
				break;
			case AISS_OP_EARMARK_LIST:
				earmark_to(it, m);
				break;
			case AISS_OP_INSTITUTION_LIST:
				institution_to(it, m);
				break;
			case AISS_OP_GRANT_LIST:
				grant_to(it, m);
				break;
			case AISS_OP_PRICE_LIST:
				price_to(it, m);
				break;
			case AISS_OP_CHARGE_EXPORT:
				charge_rec_to(it, m, &keys[i], &chs[i]);
				break;
			case AISS_OP_ADJUSTMENT_EXPORT:
				adjustment_to(it, m);
				break;
			case AISS_OP_CAPACITY_LIST:
				capacity_to(it, m);
				break;
			case AISS_OP_LIEN_LIST:
			case AISS_OP_LIEN_EXPIRE:
				lien_info_to(it, m, &liens[i], &keys[i]);
				break;
			default:
				break;
			}
		}
		switch (r->op) {
		case AISS_OP_BALANCE_LIST:
			p.n_balances = n;
			p.balances = (Aisswire__Balance **)ptrs;
			break;
		case AISS_OP_STATEMENT:
			p.n_entries = n;
			p.entries = (Aisswire__JournalEntry **)ptrs;
			break;
		case AISS_OP_EARMARK_LIST:
			p.n_earmarks = n;
			p.earmarks = (Aisswire__Earmark **)ptrs;
			break;
		case AISS_OP_INSTITUTION_LIST:
			p.n_institutions = n;
			p.institutions = (Aisswire__Institution **)ptrs;
			break;
		case AISS_OP_GRANT_LIST:
			p.n_grants = n;
			p.grants = (Aisswire__Grant **)ptrs;
			break;
		case AISS_OP_PRICE_LIST:
			p.n_prices = n;
			p.prices = (Aisswire__Price **)ptrs;
			break;
		case AISS_OP_CHARGE_EXPORT:
			p.n_charges = n;
			p.charges = (Aisswire__ChargeRec **)ptrs;
			break;
		case AISS_OP_ADJUSTMENT_EXPORT:
			p.n_adjustments = n;
			p.adjustments = (Aisswire__Adjustment **)ptrs;
			break;
		case AISS_OP_CAPACITY_LIST:
			p.n_capacities = n;
			p.capacities = (Aisswire__Capacity **)ptrs;
			break;
		case AISS_OP_LIEN_LIST:
		case AISS_OP_LIEN_EXPIRE:
			p.n_liens = n;
			p.liens = (Aisswire__LienInfo **)ptrs;
			break;
		default:
			break;
		}
	}
	rc = pack_frame(&p.base, out, len, err);
out:
	free(msgs);
	free(ptrs);
	free(keys);
	free(chs);
	free(liens);
	return rc;
}

/* Converts repeated field @arr (n) into r's items with @conv. */
#define TAKE_ITEMS(arr, nn, conv)                                              \
	do {                                                                   \
		for (size_t i_ = 0; i_ < (nn); i_++) {                         \
			void *it_ = aiss_reply_add_item(r);                    \
			if (!it_ || conv((arr)[i_], it_))                      \
				return -1;                                     \
		}                                                              \
	} while (0)

static int reply_from(const Aisswire__Reply *p, aiss_reply *r)
{
	if (p->op != AISS_OP_NONE && !op_valid((int)p->op))
		return -1;
	r->id = p->id;
	r->op = (aiss_op)p->op;
	r->status = aiss_status_from_wire((uint32_t)p->status);
	if (cpy(r->message, sizeof(r->message), p->message))
		return -1;
	r->more = p->more ? 1 : 0;
	r->next_offset = p->next_offset;
	r->next_after_seq = p->next_after_seq;
	r->next_from = p->next_from;
	switch (p->result_case) {
	case AISSWIRE__REPLY__RESULT_QUOTE:
		if (quote_from(p->quote, &r->u.quote))
			return -1;
		break;
	case AISSWIRE__REPLY__RESULT_LIEN:
		if (lien_from(p->lien, &r->u.lien))
			return -1;
		break;
	case AISSWIRE__REPLY__RESULT_CHARGE:
		if (charge_rec_from(p->charge, &r->u.charge))
			return -1;
		break;
	case AISSWIRE__REPLY__RESULT_BALANCE:
		if (balance_from(p->balance, &r->u.balance))
			return -1;
		break;
	case AISSWIRE__REPLY__RESULT_SCHEME:
		if (scheme_from(p->scheme, &r->u.scheme))
			return -1;
		break;
	case AISSWIRE__REPLY__RESULT_GRANT:
		if (grant_from(p->grant, &r->u.grant))
			return -1;
		break;
	case AISSWIRE__REPLY__RESULT_ADJUSTMENT:
		if (adjustment_from(p->adjustment, &r->u.adjustment))
			return -1;
		break;
	case AISSWIRE__REPLY__RESULT_VERIFY:
		if (verify_from(p->verify, &r->u.verify))
			return -1;
		break;
	case AISSWIRE__REPLY__RESULT_SERVER_STATUS:
		if (status_from(p->server_status, &r->u.status))
			return -1;
		break;
	default:
		break;
	}
	/* Only the repeated field that matches the op is taken. */
	switch (r->op) {
	case AISS_OP_BALANCE_LIST:
		TAKE_ITEMS(p->balances, p->n_balances, balance_from);
		break;
	case AISS_OP_STATEMENT:
		TAKE_ITEMS(p->entries, p->n_entries, journal_entry_from);
		break;
	case AISS_OP_EARMARK_LIST:
		TAKE_ITEMS(p->earmarks, p->n_earmarks, earmark_from);
		break;
	case AISS_OP_INSTITUTION_LIST:
		TAKE_ITEMS(p->institutions, p->n_institutions,
			   institution_from);
		break;
	case AISS_OP_GRANT_LIST:
		TAKE_ITEMS(p->grants, p->n_grants, grant_from);
		break;
	case AISS_OP_PRICE_LIST:
		TAKE_ITEMS(p->prices, p->n_prices, price_from);
		break;
	case AISS_OP_CHARGE_EXPORT:
		TAKE_ITEMS(p->charges, p->n_charges, charge_rec_from);
		break;
	case AISS_OP_ADJUSTMENT_EXPORT:
		TAKE_ITEMS(p->adjustments, p->n_adjustments, adjustment_from);
		break;
	case AISS_OP_CAPACITY_LIST:
		TAKE_ITEMS(p->capacities, p->n_capacities, capacity_from);
		break;
	case AISS_OP_LIEN_LIST:
	case AISS_OP_LIEN_EXPIRE:
		TAKE_ITEMS(p->liens, p->n_liens, lien_info_from);
		break;
	default:
		break;
	}
	return 0;
}

int aiss_reply_decode(const uint8_t *payload, size_t len, aiss_reply *out,
		      aiss_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len > AISS_FRAME_MAX)
		return aiss_error_set(err, AISS_E_PROTOCOL,
				      "frame of %zu bytes over the limit", len);
	Aisswire__Reply *p = aisswire__reply__unpack(NULL, len, payload);
	if (!p)
		return aiss_error_set(err, AISS_E_PROTOCOL,
				      "reply is not a valid aiss message");
	int rc = 0;
	if (reply_from(p, out)) {
		aiss_reply_clear(out);
		rc = aiss_error_set(err, AISS_E_PROTOCOL,
				    "malformed reply from aissd");
	}
	aisswire__reply__free_unpacked(p, NULL);
	return rc;
}
