/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_wire: framing and the request/reply envelopes of aiss.proto, as the
 * project's own structs (the generated protobuf-c types stay in wire.c). */
#ifndef AISS_WIRE_H
#define AISS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "aiss_model.h"

#define AISS_PROTO_VERSION 1
/* Largest payload of one frame (the 4-byte prefix not counted). */
#define AISS_FRAME_MAX (1u << 20)
#define AISS_FRAME_HDR 4
/* Largest MUNGE credential carried in a request. */
#define AISS_CRED_MAX 2048
/* Items per page of a listing when the request asks for 0 or more. Sized so
 * a page of the largest item (a grant, ~3 KiB) fits in one frame. */
#define AISS_PAGE_MAX 256

/* Operations: the values are the field numbers of Request.op. */
typedef enum aiss_op {
	AISS_OP_NONE = 0,
	AISS_OP_QUOTE = 10,
	AISS_OP_RESERVE = 11,
	AISS_OP_SETTLE = 12,
	AISS_OP_RELEASE = 13,
	AISS_OP_BALANCE = 14,
	AISS_OP_BALANCE_LIST = 15,
	AISS_OP_STATEMENT = 16,
	AISS_OP_SCHEME_INIT = 17,
	AISS_OP_SCHEME_GET = 18,
	AISS_OP_EARMARK_SET = 19,
	AISS_OP_EARMARK_LIST = 20,
	AISS_OP_INSTITUTION_ADD = 21,
	AISS_OP_INSTITUTION_LIST = 22,
	AISS_OP_GRANT_ADD = 23,
	AISS_OP_GRANT_MODIFY = 24,
	AISS_OP_GRANT_SET_STATE = 25,
	AISS_OP_GRANT_GET = 26,
	AISS_OP_GRANT_LIST = 27,
	AISS_OP_PRICE_SET = 28,
	AISS_OP_PRICE_LIST = 29,
	AISS_OP_ADJUST = 30,
	AISS_OP_JOURNAL_VERIFY = 31,
	AISS_OP_CHARGE_EXPORT = 32,
	AISS_OP_ADJUSTMENT_EXPORT = 33,
	AISS_OP_CAPACITY_PUT = 34,
	AISS_OP_CAPACITY_LIST = 35,
	AISS_OP_LIEN_LIST = 36,
	AISS_OP_LIEN_EXPIRE = 37,
	AISS_OP_SERVER_STATUS = 38,
	AISS_OP__MAX = 39
} aiss_op;

/* Short stable name of @op, e.g. "reserve"; "?" when unknown. */
const char *aiss_op_name(aiss_op op);
/* 1 when @op changes the ledger (needs the batch's commit), else 0. */
int aiss_op_writes(aiss_op op);
/* Size of one item of @op's listing (e.g. sizeof(aiss_grant) for
 * GRANT_LIST), 0 when @op is not a listing. */
size_t aiss_op_item_size(aiss_op op);

/* A page of a listing. */
typedef struct aiss_page {
	int64_t offset;    /* items to skip */
	int64_t after_seq; /* journal-ordered listings: items after this seq */
	int32_t limit;     /* at most this many (0: AISS_PAGE_MAX) */
	aiss_time_t from, to;
	char grant_id[AISS_ID_MAX];
	int stale;   /* lien_list, lien_expire: only stale liens */
	int dry_run; /* lien_expire: report what would expire, change nothing */
} aiss_page;

typedef struct aiss_grant_state_req {
	char grant_id[AISS_ID_MAX];
	aiss_grant_state state;
	char reason[AISS_TEXT_MAX];
} aiss_grant_state_req;

/* A decoded request. Which member of u is valid depends on op. */
typedef struct aiss_request {
	uint32_t version;
	uint64_t id;
	size_t cred_len;
	char credential[AISS_CRED_MAX + 1]; /* NUL-terminated */
	aiss_op op;
	union {
		aiss_job_shape quote;
		aiss_reserve_req reserve;
		aiss_settle_req settle;
		aiss_run_key release;
		char grant_id[AISS_ID_MAX]; /* BALANCE, GRANT_GET */
		aiss_page page;             /* every listing, STATEMENT */
		aiss_scheme scheme;
		aiss_earmark earmark;
		aiss_institution institution;
		aiss_grant grant; /* GRANT_ADD, GRANT_MODIFY */
		aiss_grant_state_req set_state;
		aiss_price price;
		aiss_adjustment adjust;
		aiss_capacity capacity;
	} u;
} aiss_request;

/* A reply. Singular results are in u; listings in items (an array of
 * n_items elements of aiss_op_item_size(op) bytes, owned by the reply). */
typedef struct aiss_reply {
	uint64_t id;
	aiss_op op;
	aiss_status status;
	char message[AISS_TEXT_MAX];
	int more; /* listing continues: ask again from next_offset/_seq */
	int64_t next_offset;
	int64_t next_after_seq;
	aiss_time_t next_from; /* charge_export: next page's from */
	union {
		aiss_quote quote;
		aiss_lien lien;
		aiss_charge_rec charge;
		aiss_balance balance;
		aiss_scheme scheme;
		aiss_grant grant;
		aiss_adjustment adjustment;
		aiss_verify_result verify;
		aiss_server_status status;
	} u;
	size_t n_items;
	size_t cap_items;
	void *items;
} aiss_reply;

/* Zeroes @r for op @op and id @id (frees nothing: use on fresh structs). */
void aiss_reply_init(aiss_reply *r, aiss_op op, uint64_t id);
/* Frees @r's items and zeroes it. NULL is accepted. */
void aiss_reply_clear(aiss_reply *r);
/* Appends a zeroed item to @r's listing; returns it, or NULL (ENOMEM, or
 * EINVAL when r->op is not a listing). */
void *aiss_reply_add_item(aiss_reply *r);
/* Sets r->status and r->message from @e. */
void aiss_reply_set_error(aiss_reply *r, const aiss_error *e);

/* The wire status table: project status <-> wire code (one place). */
uint32_t aiss_status_to_wire(aiss_status s);
/* Unknown wire codes read as AISS_E_PROTOCOL. */
aiss_status aiss_status_from_wire(uint32_t w);

/*
 * Framing. aiss_frame_check() looks at the first bytes of a stream buffer:
 * returns 1 with *payload_len set when a whole frame (prefix + payload) is
 * in @buf, 0 when more bytes are needed, -1 (errno EMSGSIZE) when the
 * prefix announces 0 bytes or more than AISS_FRAME_MAX: the stream cannot
 * be trusted any more and the connection should be closed.
 */
int aiss_frame_check(const uint8_t *buf, size_t len, size_t *payload_len);
/* Writes the big-endian prefix for a payload of @len bytes into @hdr. */
void aiss_frame_put_header(uint8_t hdr[AISS_FRAME_HDR], uint32_t len);

/*
 * Encoders: pack @r into a freshly malloc'd frame (prefix included) the
 * caller frees; sets *out and *len. Return 0, or -1 with @err
 * (AISS_E_INTERNAL: no memory; AISS_E_PROTOCOL: over AISS_FRAME_MAX).
 */
int aiss_request_encode(const aiss_request *r, uint8_t **out, size_t *len,
			aiss_error *err);
int aiss_reply_encode(const aiss_reply *r, uint8_t **out, size_t *len,
		      aiss_error *err);

/*
 * Decoders: unpack one payload (no prefix) of @len bytes into @out, which
 * for replies the caller later frees with aiss_reply_clear(). Strings too
 * long for the model's fields, a missing op, or bytes that are not a
 * message: -1 with @err AISS_E_PROTOCOL; @len over AISS_FRAME_MAX is
 * refused before unpacking. The version is returned, not checked.
 */
int aiss_request_decode(const uint8_t *payload, size_t len, aiss_request *out,
			aiss_error *err);
int aiss_reply_decode(const uint8_t *payload, size_t len, aiss_reply *out,
		      aiss_error *err);

#endif
