/* SPDX-License-Identifier: GPL-2.0-or-later */
/* error.c: the project's status names, exit codes and error struct. */
#include "aiss_error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const status_names[AISS_E__COUNT] = {
	[AISS_OK] = "ok",
	[AISS_E_INVALID] = "invalid",
	[AISS_E_NOT_FOUND] = "not-found",
	[AISS_E_EXISTS] = "exists",
	[AISS_E_PERMISSION] = "permission",
	[AISS_E_UNKNOWN_ACCOUNT] = "unknown-account",
	[AISS_E_NOT_MEMBER] = "not-member",
	[AISS_E_GRANT_INACTIVE] = "grant-inactive",
	[AISS_E_OUTSIDE_WINDOW] = "outside-window",
	[AISS_E_GPU_TYPE] = "gpu-type",
	[AISS_E_CONCURRENCY] = "concurrency",
	[AISS_E_INSUFFICIENT] = "insufficient",
	[AISS_E_COMMITMENT] = "commitment",
	[AISS_E_NO_PRICE] = "no-price",
	[AISS_E_CONFLICT] = "conflict",
	[AISS_E_STORAGE] = "storage",
	[AISS_E_INTERNAL] = "internal",
	[AISS_E_UNAVAILABLE] = "unavailable",
	[AISS_E_PROTOCOL] = "protocol",
	[AISS_E_GPU_HOURS] = "gpu-hours",
};

int aiss_error_set(aiss_error *e, aiss_status code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return -1;
}

void aiss_error_clear(aiss_error *e)
{
	if (!e)
		return;
	e->code = AISS_OK;
	e->text[0] = '\0';
}

const char *aiss_status_name(aiss_status code)
{
	if ((int)code < 0 || code >= AISS_E__COUNT || !status_names[code])
		return "unknown";
	return status_names[code];
}

int aiss_status_is_refusal(aiss_status code)
{
	switch (code) {
	case AISS_E_UNKNOWN_ACCOUNT:
	case AISS_E_NOT_MEMBER:
	case AISS_E_GRANT_INACTIVE:
	case AISS_E_OUTSIDE_WINDOW:
	case AISS_E_GPU_TYPE:
	case AISS_E_CONCURRENCY:
	case AISS_E_INSUFFICIENT:
	case AISS_E_COMMITMENT:
	case AISS_E_NO_PRICE:
	case AISS_E_CONFLICT:
	case AISS_E_PERMISSION:
	case AISS_E_GPU_HOURS:
	case AISS_E_NOT_FOUND:
	case AISS_E_EXISTS:
		return 1;
	default:
		return 0;
	}
}

int aiss_status_exit_code(aiss_status code)
{
	if (code == AISS_OK)
		return 0;
	if (aiss_status_is_refusal(code))
		return 1;
	switch (code) {
	case AISS_E_INVALID:
		return 2;
	case AISS_E_UNAVAILABLE:
	case AISS_E_PROTOCOL:
		return 3;
	default:
		return 4;
	}
}
