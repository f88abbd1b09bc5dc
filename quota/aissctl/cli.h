/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.h: aissctl's internals: argument parsing, output (tables, JSON) and
 * the command handlers' shared context. Not a public API. */
#ifndef AISSCTL_CLI_H
#define AISSCTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aiss_client.h"

/* Exit statuses (aiss_status_exit_code() maps service statuses to these). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_REFUSED 1
#define CTL_EXIT_USAGE 2
#define CTL_EXIT_UNAVAILABLE 3

/* ---- parsing (cli_parse.c; pure, unit-tested) ---- */

/*
 * Parses a Slurm time limit: "MINUTES", "MINUTES:SECONDS", "H:MM:SS",
 * "D-HH", "D-HH:MM", "D-HH:MM:SS". Stores seconds (> 0) in *out.
 * Returns 0, or -1 with errno EINVAL/ERANGE.
 */
int ctl_parse_duration(const char *s, int64_t *out);

/* Formats @secs as Slurm does: "HH:MM:SS" or "D-HH:MM:SS". Returns @buf. */
char *ctl_format_duration(int64_t secs, char *buf, size_t len);

/* Parses a subsidy rate "70%", "70.5%", "70" (percent) into basis points.
 * Range is not checked here (the service refuses out-of-range rates, so
 * the person sees the policy's sentence). Returns 0 or -1/EINVAL. */
int ctl_parse_rate_percent(const char *s, int64_t *bp);

/* Parses a non-negative decimal integer (no sign, no junk) into *out.
 * Returns 0 or -1/EINVAL/ERANGE. */
int ctl_parse_count(const char *s, int64_t *out);

/* Parses GPU-hours "1000" or "1,000" or "12.5" (up to 4 decimals) into
 * GPU-seconds. Returns 0 or -1/EINVAL/ERANGE. */
int ctl_parse_gpu_hours(const char *s, int64_t *gpu_seconds);

/* Formats GPU-seconds as GPU-hours with two decimals, "1,234.50", exact
 * (integer arithmetic, rounded half up to the hundredth). Returns @buf. */
char *ctl_format_gpu_hours(int64_t gpu_seconds, char *buf, size_t len);

/* Parses an instant: "now", or anything aiss_time_parse() accepts
 * (Hong Kong time by default). Returns 0 or -1/EINVAL. */
int ctl_parse_when(const char *s, aiss_time_t *out);

/* Copies @s into @dst (size @len); returns -1/ENAMETOOLONG when it does
 * not fit (nothing is truncated silently). */
int ctl_copy(char *dst, size_t len, const char *s);

/* ---- options (cli_parse.c) ---- */

#define CTL_OPTS_MAX 32
#define CTL_POS_MAX 8

/*
 * Options of one command. @spec lists the accepted long options without
 * dashes, a trailing '=' for those that take a value: "institution=",
 * "force". Accepted forms: "--name value", "--name=value"; "--" ends
 * options. Anything else not starting with "--" is positional.
 */
typedef struct ctl_opts {
	const char *name[CTL_OPTS_MAX];
	const char *val[CTL_OPTS_MAX]; /* "" for flags */
	int n;
	char *pos[CTL_POS_MAX];
	int npos;
	char err[256]; /* why parsing failed */
} ctl_opts;

/* Returns 0, or -1 with o->err filled (unknown option, missing value, too
 * many positionals, an option given twice). */
int ctl_opts_parse(ctl_opts *o, int argc, char **argv, const char *const *spec);

/* The value of option @name, or NULL when not given. */
const char *ctl_opt(const ctl_opts *o, const char *name);

/* ---- output (cli_out.c) ---- */

/* An aligned text table. Cells are copied. */
typedef struct ctl_table ctl_table;

/* @ncols columns titled by @heads; @right[i] right-aligns column i
 * (amounts, counts). Returns NULL on allocation failure. */
ctl_table *ctl_table_new(int ncols, const char *const *heads,
			 const bool *right);
/* Appends one row of ncols strings (NULL prints as "-"). 0 or -1/ENOMEM. */
int ctl_table_row(ctl_table *t, const char *const *cells);
/* Prints with two spaces between columns; then frees. NULL accepted. */
void ctl_table_print(ctl_table *t, FILE *f);
void ctl_table_free(ctl_table *t);

/*
 * A streaming compact JSON writer on stdout. Keys are given inside
 * objects and NULL inside arrays. Amounts go out twice: "<k>_cents" as an
 * integer and "<k>" as the formatted "1,234.56" string; instants as
 * "<k>" (epoch seconds) and "<k>_hkt" (ISO 8601 in Hong Kong time).
 */
typedef struct ctl_json {
	FILE *f;
	int depth;
	bool first[32];
} ctl_json;

void ctl_json_init(ctl_json *j, FILE *f);
void ctl_json_obj(ctl_json *j, const char *key);
void ctl_json_obj_end(ctl_json *j);
void ctl_json_arr(ctl_json *j, const char *key);
void ctl_json_arr_end(ctl_json *j);
void ctl_json_str(ctl_json *j, const char *key, const char *val);
void ctl_json_int(ctl_json *j, const char *key, int64_t v);
void ctl_json_bool(ctl_json *j, const char *key, bool v);
void ctl_json_money(ctl_json *j, const char *key, aiss_cents_t c);
void ctl_json_time(ctl_json *j, const char *key, aiss_time_t t);
/* Ends the document with a newline (call after the outermost end). */
void ctl_json_done(ctl_json *j);

/* The output of a listing command: a JSON array on stdout, or a table. */
typedef struct ctl_list {
	ctl_json j;   /* j.f is set when writing JSON */
	ctl_table *t; /* set when writing a table */
	int64_t n;    /* items listed (callbacks count them) */
} ctl_list;

/* Opens the JSON array (@json) or a table of @ncols columns titled @heads. */
void ctl_list_begin(ctl_list *ls, bool json, int ncols,
		    const char *const *heads, const bool *right);
/* Closes the JSON array, or prints and frees the table; with no items and
 * @empty not NULL, prints @empty instead of an empty table. */
void ctl_list_end(ctl_list *ls, const char *empty);
/* After a failed listing: frees the table and ends a half-written JSON
 * line so the error message starts on its own line. */
void ctl_list_abort(ctl_list *ls);

/* "1,234.56" into @buf (AISS_MONEY_BUFSZ). Returns @buf. */
char *ctl_money(aiss_cents_t c, char *buf);
/* "2025-04-01 08:00" (HKT) or "-" for 0. Returns @buf (AISS_TIME_BUFSZ). */
char *ctl_when(aiss_time_t t, char *buf);
/* "70.00%" from basis points. Returns @buf (>= 16 bytes). */
char *ctl_rate(int64_t bp, char *buf, size_t len);

/* ---- commands (aissctl.c, cmd_*.c) ---- */

/* What every command handler gets: global options and a lazily opened
 * connection. */
typedef struct ctl_ctx {
	const char *prog;
	const char *socket; /* as given, or NULL */
	int timeout_ms;     /* 0: the default for the command */
	bool slow;          /* a whole-ledger read: longer default timeout */
	int json;
	aiss_client *client;
	const char *usage; /* the running command's usage line */
} ctl_ctx;

/* Opens the connection on first use. On failure prints a message naming
 * the socket and how to start aissd, and returns NULL (exit 3). */
aiss_client *ctl_client(ctl_ctx *x);

/* Prints "aissctl: MSG" and the command's usage line to stderr; returns 2. */
int ctl_usage_error(ctl_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints a service error (a refusal's sentence, or the transport fault
 * naming the socket) and returns the exit status for it. */
int ctl_fail(ctl_ctx *x, const char *what, const aiss_error *err);

/* The socket path actually used (for messages). */
const char *ctl_socket_path(const ctl_ctx *x);

/* Parses @argc/@argv against @spec into @o; on failure prints the usage
 * error and returns 2 from the calling handler. */
/* A command that takes no option or argument of its own: parses (only the
 * global ones are accepted) and connects. 0 when ready, else the exit
 * status for the command to return. */
int ctl_bare_command(ctl_ctx *x, int argc, char **argv);

#define PARSE_OPTS(x, o, argc, argv, spec)                                     \
	do {                                                                   \
		if (ctl_opts_parse((o), (argc), (argv), (spec)) < 0)           \
			return ctl_usage_error((x), "%s", (o)->err);           \
	} while (0)

/* Copies option text into a fixed field or fails with a usage error. */
#define COPY_FIELD(x, dst, val, what)                                          \
	do {                                                                   \
		if (ctl_copy((dst), sizeof(dst), (val)) < 0)                   \
			return ctl_usage_error((x),                            \
					       "%s is too long (at most "      \
					       "%zu characters)",              \
					       (what), sizeof(dst) - 1);       \
	} while (0)

/* Option value parsers for handlers: 0, or print a usage error naming
 * @what and return 2. */
int ctl_arg_money(ctl_ctx *x, const char *what, const char *s,
		  aiss_cents_t *out, bool allow_negative);
int ctl_arg_when(ctl_ctx *x, const char *what, const char *s, aiss_time_t *out);
int ctl_arg_count(ctl_ctx *x, const char *what, const char *s, int64_t *out);

typedef int (*ctl_handler)(ctl_ctx *x, int argc, char **argv);

/* Handlers: argv[0] is the first argument after the command words. */
int cmd_scheme_init(ctl_ctx *x, int argc, char **argv);
int cmd_scheme_show(ctl_ctx *x, int argc, char **argv);
int cmd_earmark_set(ctl_ctx *x, int argc, char **argv);
int cmd_earmark_list(ctl_ctx *x, int argc, char **argv);
int cmd_institution_add(ctl_ctx *x, int argc, char **argv);
int cmd_institution_list(ctl_ctx *x, int argc, char **argv);
int cmd_grant_add(ctl_ctx *x, int argc, char **argv);
int cmd_grant_modify(ctl_ctx *x, int argc, char **argv);
int cmd_grant_suspend(ctl_ctx *x, int argc, char **argv);
int cmd_grant_resume(ctl_ctx *x, int argc, char **argv);
int cmd_grant_close(ctl_ctx *x, int argc, char **argv);
int cmd_grant_show(ctl_ctx *x, int argc, char **argv);
int cmd_grant_list(ctl_ctx *x, int argc, char **argv);
int cmd_price_set(ctl_ctx *x, int argc, char **argv);
int cmd_price_list(ctl_ctx *x, int argc, char **argv);
int cmd_quote(ctl_ctx *x, int argc, char **argv);
int cmd_reserve(ctl_ctx *x, int argc, char **argv);
int cmd_settle(ctl_ctx *x, int argc, char **argv);
int cmd_release(ctl_ctx *x, int argc, char **argv);
int cmd_balance(ctl_ctx *x, int argc, char **argv);
int cmd_statement(ctl_ctx *x, int argc, char **argv);
int cmd_adjust(ctl_ctx *x, int argc, char **argv);
int cmd_journal_verify(ctl_ctx *x, int argc, char **argv);
int cmd_server_status(ctl_ctx *x, int argc, char **argv);
int cmd_capacity(ctl_ctx *x, int argc, char **argv);
int cmd_capacity_record(ctl_ctx *x, int argc, char **argv);
int cmd_charges(ctl_ctx *x, int argc, char **argv);
int cmd_lien_list(ctl_ctx *x, int argc, char **argv);
int cmd_lien_expire(ctl_ctx *x, int argc, char **argv);

#endif
