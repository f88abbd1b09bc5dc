/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aissctl.c: the command line of the quota service: global options, the
 * command table, connection handling and exit statuses. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The finance commands are compiled in when finance.c is in the tree
 * (CMake defines AISSCTL_HAVE_FINANCE then). */
#ifdef AISSCTL_HAVE_FINANCE
#include "finance.h"
#endif

typedef struct ctl_command {
	const char *group; /* first word */
	const char *sub;   /* second word, or NULL */
	ctl_handler fn;
	const char *usage; /* after "aissctl " */
} ctl_command;

static const ctl_command commands[] = {
    {"scheme", "init", cmd_scheme_init,
     "scheme init --commitment AMOUNT [--name NAME] [--start WHEN "
     "--end WHEN]"},
    {"scheme", "show", cmd_scheme_show, "scheme show [--json]"},
    {"earmark", "set", cmd_earmark_set, "earmark set NAME AMOUNT"},
    {"earmark", "list", cmd_earmark_list, "earmark list [--json]"},
    {"institution", "add", cmd_institution_add,
     "institution add NAME --type "
     "university|rd-centre|enterprise|government"},
    {"institution", "list", cmd_institution_list, "institution list [--json]"},
    {"grant", "add", cmd_grant_add,
     "grant add ID --institution NAME --account A[,A2] --members U1,U2 "
     "--gpu-types T1,T2 [--rate 70% | --rate-bp 7000] --gpu-hours N "
     "--subsidy AMOUNT --start WHEN --end WHEN [--max-gpus N]"},
    {"grant", "modify", cmd_grant_modify,
     "grant modify ID [--institution NAME] [--account A,..] "
     "[--members U,..] [--gpu-types T,..] [--rate P% | --rate-bp BP] "
     "[--gpu-hours N] [--subsidy AMOUNT] [--start WHEN] [--end WHEN] "
     "[--max-gpus N]"},
    {"grant", "suspend", cmd_grant_suspend, "grant suspend ID --reason TEXT"},
    {"grant", "resume", cmd_grant_resume, "grant resume ID [--reason TEXT]"},
    {"grant", "close", cmd_grant_close, "grant close ID [--reason TEXT]"},
    {"grant", "show", cmd_grant_show, "grant show ID [--json]"},
    {"grant", "list", cmd_grant_list, "grant list [--json]"},
    {"price", "set", cmd_price_set,
     "price set GPU_TYPE HKD_PER_GPU_HOUR --from WHEN"},
    {"price", "list", cmd_price_list, "price list [--json]"},
    {"quote", NULL, cmd_quote,
     "quote --account A --user U --gpus N --time LIMIT [--gpu-type T] "
     "[--array N] [--start WHEN] [--json]"},
    {"reserve", NULL, cmd_reserve,
     "reserve --cluster C --job ID --start WHEN --account A --user U "
     "--gpus N --time LIMIT [--gpu-type T] [--json]"},
    {"settle", NULL, cmd_settle,
     "settle --cluster C --job ID --start WHEN --end WHEN --gpus N "
     "[--state COMPLETED|NODE_FAIL|...] [--account A --user U] "
     "[--gpu-type T] [--json]"},
    {"release", NULL, cmd_release, "release --cluster C --job ID --start WHEN"},
    {"lien", "list", cmd_lien_list, "lien list [GRANT] [--stale] [--json]"},
    {"lien", "expire", cmd_lien_expire,
     "lien expire [GRANT] [--dry-run] [--json]   (releases stale liens)"},
    {"balance", NULL, cmd_balance, "balance [GRANT] [--json]"},
    {"statement", NULL, cmd_statement, "statement GRANT [--json]"},
    {"adjust", NULL, cmd_adjust,
     "adjust GRANT AMOUNT --reason TEXT   (AMOUNT > 0 credits the grant, "
     "< 0 debits it)"},
    {"journal", "verify", cmd_journal_verify, "journal verify [--json]"},
    {"server", "status", cmd_server_status,
     "server status [--json]   (exit 1 when aissd refuses changes)"},
    {"capacity", "record", cmd_capacity_record,
     "capacity record NODE --gpus N --bf16-gflops G --pass|--fail "
     "[--summary TEXT] [--at WHEN]"},
    {"capacity", NULL, cmd_capacity, "capacity [--json]"},
    {"charges", NULL, cmd_charges,
     "charges [--from WHEN] [--to WHEN] [--json]"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Commands that read the whole ledger (the journal, every charge) get this
 * default bound instead of AISS_DEFAULT_TIMEOUT_MS. */
#define CTL_SLOW_TIMEOUT_MS 300000

static bool command_is_slow(const char *group)
{
	static const char *const slow[] = {"journal", "statement", "charges",
					   "report",  "usage",     "reconcile"};

	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
		if (strcmp(group, slow[i]) == 0)
			return true;
	return false;
}

static const char *const finance_commands[] = {"report", "usage", "reconcile"};

static void print_help(FILE *f)
{
	fprintf(f, "usage: aissctl [--socket PATH] [--timeout MS] [--json] "
		   "COMMAND ...\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
#ifdef AISSCTL_HAVE_FINANCE
	aissctl_finance_usage(f);
#else
	fprintf(f, "  report|usage|reconcile ...   (finance; not in this "
		   "build)\n");
#endif
	fprintf(f,
		"\nThe socket is --socket, else $AISS_SOCKET, "
		"else %s.\nExit status: 0 done, 1 refused by policy, 2 bad "
		"usage, 3 service unreachable.\n",
		AISS_DEFAULT_SOCKET);
}

int ctl_bare_command(ctl_ctx *x, int argc, char **argv)
{
	static const char *const spec[] = {NULL};
	ctl_opts o;

	PARSE_OPTS(x, &o, argc, argv, spec);
	if (o.npos)
		return ctl_usage_error(x, "unexpected argument '%s'", o.pos[0]);
	if (!ctl_client(x))
		return CTL_EXIT_UNAVAILABLE;
	return 0;
}

const char *ctl_socket_path(const ctl_ctx *x)
{
	const char *env = getenv("AISS_SOCKET");

	if (x->socket)
		return x->socket;
	if (env && *env)
		return env;
	return AISS_DEFAULT_SOCKET;
}

aiss_client *ctl_client(ctl_ctx *x)
{
	aiss_error err;

	if (x->client)
		return x->client;
	aiss_error_clear(&err);
	x->client = aiss_client_connect(ctl_socket_path(x),
					x->timeout_ms ? x->timeout_ms
					: x->slow     ? CTL_SLOW_TIMEOUT_MS
						      : AISS_DEFAULT_TIMEOUT_MS,
					&err);
	if (!x->client)
		ctl_fail(x, "connect", &err);
	return x->client;
}

int ctl_usage_error(ctl_ctx *x, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", x->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (x->usage)
		fprintf(stderr, "usage: aissctl %s\n", x->usage);
	return CTL_EXIT_USAGE;
}

int ctl_fail(ctl_ctx *x, const char *what, const aiss_error *err)
{
	int rc = aiss_status_exit_code(err->code);

	if (err->code == AISS_E_UNAVAILABLE) {
		const char *p = ctl_socket_path(x);

		if (err->text[0] && strstr(err->text, p))
			fprintf(stderr, "%s: %s\n", x->prog, err->text);
		else
			fprintf(stderr, "%s: cannot reach aissd at %s: %s\n",
				x->prog, p,
				err->text[0] ? err->text : "no answer");
		fprintf(
		    stderr,
		    "  Start it with: aissd --db /var/lib/aiss/ledger.db "
		    "--socket %s\n"
		    "  or point aissctl at a running one with --socket PATH "
		    "or AISS_SOCKET=PATH.\n",
		    p);
		return CTL_EXIT_UNAVAILABLE;
	}
	if (aiss_status_is_refusal(err->code))
		fprintf(stderr, "%s: refused (%s): %s\n", x->prog,
			aiss_status_name(err->code),
			err->text[0] ? err->text : "no reason given");
	else
		fprintf(stderr, "%s: %s failed (%s): %s\n", x->prog, what,
			aiss_status_name(err->code),
			err->text[0] ? err->text : "no detail given");
	if (rc == CTL_EXIT_USAGE && x->usage)
		fprintf(stderr, "usage: aissctl %s\n", x->usage);
	return rc == 0 ? CTL_EXIT_REFUSED : rc;
}

static int run_finance(ctl_ctx *x, int argc, char **argv)
{
#ifdef AISSCTL_HAVE_FINANCE
	aiss_client *c = ctl_client(x);

	if (!c)
		return CTL_EXIT_UNAVAILABLE;
	return aissctl_finance_run(c, x->json, argc, argv);
#else
	(void)argc;
	fprintf(stderr,
		"%s: '%s' is not available in this build (the "
		"finance commands are not compiled in)\n",
		x->prog, argv[0]);
	return CTL_EXIT_USAGE;
#endif
}

int main(int argc, char **argv)
{
	ctl_ctx x = {.prog = "aissctl", .timeout_ms = 0};
	int i = 1, rc;
	char **rest;
	int nrest = 0;

	/* Global options before the command. */
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			x.json = 1;
		} else if (strcmp(a, "--help") == 0) {
			print_help(stdout);
			return 0;
		} else if (strcmp(a, "--socket") == 0 && i + 1 < argc) {
			x.socket = argv[++i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			x.socket = a + 9;
		} else if ((strcmp(a, "--timeout") == 0 && i + 1 < argc) ||
			   strncmp(a, "--timeout=", 10) == 0) {
			const char *v = a[9] == '=' ? a + 10 : argv[++i];
			int64_t ms;

			if (ctl_parse_count(v, &ms) < 0 || ms <= 0 ||
			    ms > 3600000) {
				fprintf(stderr,
					"aissctl: --timeout wants "
					"milliseconds (1..3600000), "
					"not '%s'\n",
					v);
				return CTL_EXIT_USAGE;
			}
			x.timeout_ms = (int)ms;
		} else {
			fprintf(stderr,
				"aissctl: unknown or incomplete "
				"global option '%s'\n",
				a);
			print_help(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		print_help(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		print_help(stdout);
		return 0;
	}

	/* --json may also follow the command: take it out of the arguments
	 * (up to a "--" that ends options). */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest) {
		perror("aissctl");
		return 4;
	}
	for (int k = i, dashdash = 0; k < argc; k++) {
		if (!dashdash && strcmp(argv[k], "--") == 0)
			dashdash = 1;
		if (!dashdash && strcmp(argv[k], "--json") == 0) {
			x.json = 1;
			continue;
		}
		rest[nrest++] = argv[k];
	}

	x.slow = command_is_slow(rest[0]);
	rc = -1;
	for (size_t k = 0; k < sizeof(finance_commands) / sizeof(char *); k++)
		if (strcmp(rest[0], finance_commands[k]) == 0)
			rc = run_finance(&x, nrest, rest);
	if (rc < 0) {
		const ctl_command *cmd = NULL;
		bool group_known = false;
		int skip = 1;

		for (size_t k = 0; k < N_COMMANDS; k++) {
			if (strcmp(commands[k].group, rest[0]) != 0)
				continue;
			group_known = true;
			if (!commands[k].sub) {
				cmd = &commands[k];
				break;
			}
			if (nrest > 1 &&
			    strcmp(commands[k].sub, rest[1]) == 0) {
				cmd = &commands[k];
				skip = 2;
				break;
			}
		}
		if (!cmd) {
			if (group_known) {
				fprintf(stderr, "aissctl: '%s' wants one of:\n",
					rest[0]);
				for (size_t k = 0; k < N_COMMANDS; k++)
					if (strcmp(commands[k].group,
						   rest[0]) == 0)
						fprintf(stderr,
							"  aissctl %s\n",
							commands[k].usage);
			} else {
				fprintf(stderr,
					"aissctl: unknown command "
					"'%s'\n",
					rest[0]);
				print_help(stderr);
			}
			rc = CTL_EXIT_USAGE;
		} else {
			x.usage = cmd->usage;
			rc = cmd->fn(&x, nrest - skip, rest + skip);
		}
	}
	aiss_client_close(x.client);
	free(rest);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 4;
	return rc;
}
