/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finance: aissctl's finance commands (report, usage import, reconcile). */
#ifndef AISSCTL_FINANCE_H
#define AISSCTL_FINANCE_H

#include <stdio.h>

#include "aiss_client.h"

/*
 * Runs one finance command over the connected client @c. argv[0] is
 * "report", "usage" or "reconcile"; the rest are its arguments:
 *
 *   report fy 2025-26 [--quarter Q1..Q4] [--by institution-type|grant]
 *                     [--json | --csv | --html FILE]
 *   usage import FILE [--zone +08:00] [--cluster NAME] [--progress N]
 *   reconcile FILE [--csv EXCEPTIONS.csv] [--zone +08:00] [--cluster NAME]
 *
 * @json non-zero selects JSON output (as aissctl's global --json).
 * Output goes to stdout, diagnostics and progress to stderr.
 * Returns the process exit status: 0 done; 1 refused by policy, or
 * exceptions/bad rows found (reconcile, usage import); 2 bad usage;
 * 3 service unreachable; 4 internal/storage (aiss_status_exit_code()).
 */
int aissctl_finance_run(aiss_client *c, int json, int argc, char **argv);

/* Prints the finance commands' usage lines to @out (for aissctl --help). */
void aissctl_finance_usage(FILE *out);

#endif
