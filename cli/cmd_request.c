/* `jitsudo request`: submits an elevation request (seed 001) and, with --wait, polls it until
 * it is decided. The wait is bounded by the request's own lifetime (its pending deadline) and
 * by a few consecutive failed polls; on a terminal a live line shows the state and the time
 * waited, otherwise nothing is printed until the end. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/common/duration.h"
#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/timeutil.h"

#define WAIT_POLL_MS 1000 /* the first minute; 2 s until 10 min, then 5 s */
#define WAIT_MAX_FAILURES 5
/* When the server gives no pending deadline, the wait stops after this long. */
#define WAIT_DEFAULT_BOUND_S (24 * 3600)
#define WAIT_MARGIN_S 30

static const struct jit_cli_option request_options[] = {
	JIT_CLI_REQUIRED("provider", 0, "<name>", "cloud provider: aws, azure, gcp, kubernetes"),
	JIT_CLI_REQUIRED("role", 0, "<name>",
	                 "role or permission set to request (provider-specific)"),
	JIT_CLI_REQUIRED("scope", 0, "<value>",
	                 "AWS account ID, GCP project ID, Azure subscription ID or Kubernetes "
	                 "namespace (* for "
	                 "the whole cluster)"),
	JIT_CLI_REQUIRED("duration", 0, "<duration>", "elevation window, e.g. 1h, 30m, 2h30m"),
	JIT_CLI_REQUIRED("reason", 0, "<text>", "justification (recorded in the audit trail)"),
	JIT_CLI_FLAG("break-glass", 0, NULL,
	             "emergency mode: active at once without an approver, if the eligibility "
	             "policies allow it; marked and audited as break-glass (no alert is sent)"),
	JIT_CLI_FLAG(
	        "wait", 0, NULL,
	        "block until the request is approved, denied or expires (exit 1 unless approved)"),
	{ 0 },
};

static bool
state_is(const json_t *request, const char *state)
{
	return strcmp(jit_cli_short_state(jit_cli_str(request, "state")), state) == 0;
}

static bool
state_final(const json_t *request)
{
	return !state_is(request, "PENDING");
}

static void
live_line(const json_t *request, int64_t started_ns)
{
	char waited[32];
	int64_t s = (jit_now_monotonic_ns() - started_ns) / JIT_NSEC_PER_SEC;
	if (s < 1 || jit_duration_format(s, waited, sizeof waited) < 0)
		snprintf(waited, sizeof waited, "0s");
	fprintf(stderr, "\r\033[KWaiting for approval of %s: %s (%s)", jit_cli_str(request, "id"),
	        jit_cli_short_state(jit_cli_str(request, "state")), waited);
	fflush(stderr);
}

/* Polls the request until it leaves PENDING. On success *ret holds the final object. */
static int
wait_for_decision(struct jit_cli *cli, const char *id, json_t *first, json_t **ret)
{
	json_t *current = json_incref(first);
	bool tty = isatty(STDERR_FILENO);
	int64_t started = jit_now_monotonic_ns();
	int64_t bound_s = WAIT_DEFAULT_BOUND_S, ns;
	int failures = 0, r = 0;
	char path[256];
	char error[800] = "";

	/* The bound: the request's pending deadline (the server expires it then), plus a margin
	 * for the server's sweep. */
	if (jit_rfc3339_parse(jit_cli_str(first, "pending_expires_at"), &ns) == 0) {
		bound_s = (ns - jit_now_realtime_ns()) / JIT_NSEC_PER_SEC + WAIT_MARGIN_S;
		if (bound_s < WAIT_MARGIN_S)
			bound_s = WAIT_MARGIN_S;
	}
	int64_t deadline = jit_deadline_after_ms(bound_s * 1000);
	snprintf(path, sizeof path, "/api/v1alpha1/requests/%s", id);

	while (!state_final(current)) {
		if (tty)
			live_line(current, started);
		if (jit_deadline_passed(deadline)) {
			r = JIT_ERR_TIMEOUT;
			break;
		}
		/* Every second at first, then less often: a request may stay pending for hours. */
		int64_t waited_s = (jit_now_monotonic_ns() - started) / JIT_NSEC_PER_SEC;
		int64_t wake = jit_deadline_after_ms(waited_s < 60    ? WAIT_POLL_MS
		                                     : waited_s < 600 ? 2 * WAIT_POLL_MS
		                                                      : 5 * WAIT_POLL_MS);
		while (!jit_deadline_passed(wake)) {
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			if (tty)
				live_line(current, started);
		}
		json_t *body = NULL;
		r = jit_cli_api_quiet(cli, "GET", path, NULL, true, &body, error, sizeof error);
		if (r == JIT_ERR_UNAVAILABLE || r == JIT_ERR_PROTOCOL) {
			/* A server restart or a busy database: try again, a bounded number of times. */
			if (++failures >= WAIT_MAX_FAILURES)
				break;
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		failures = 0;
		json_t *request = json_object_get(body, "request");
		if (!json_is_object(request)) {
			json_decref(body);
			snprintf(error, sizeof error, "the server's answer has no request");
			r = JIT_ERR_PROTOCOL;
			break;
		}
		json_decref(current);
		current = json_incref(request);
		json_decref(body);
	}
	if (tty) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	if (r == JIT_ERR_TIMEOUT) {
		json_decref(current);
		return jit_cli_fail(r, "request %s is still pending after %llds; stopped waiting",
		                    id, (long long)bound_s);
	}
	if (r < 0) {
		json_decref(current);
		if (error[0])
			jit_cli_fail(r, "while waiting for %s: %s", id, error);
		return r;
	}
	*ret = current;
	return 0;
}

static int
print_request(struct jit_cli *cli, const json_t *request)
{
	if (cli->quiet) {
		printf("%s\n", jit_cli_str(request, "id"));
		return 0;
	}
	if (cli->output != JIT_CLI_OUTPUT_TABLE)
		return jit_cli_print_machine(cli, request);
	jit_cli_print_request_block(stdout, request, false);
	return 0;
}

static int
run_request(struct jit_cli *cli, const struct jit_cli_args *args)
{
	char error[512];
	int64_t seconds;
	json_t *body = NULL, *answer = NULL, *final = NULL;
	const char *id;
	int r;

	if (jit_cli_parse_duration_flag("duration", jit_cli_arg(cli, args, "duration"), &seconds,
	                                error, sizeof error) < 0)
		return jit_cli_usage(cli, "%s", error);
	if (!jit_cli_arg(cli, args, "reason")[0])
		return jit_cli_usage(cli, "--reason: must not be empty");

	body = json_pack("{s:s,s:s,s:s,s:I,s:s}", "provider", jit_cli_arg(cli, args, "provider"),
	                 "role", jit_cli_arg(cli, args, "role"), "resource_scope",
	                 jit_cli_arg(cli, args, "scope"), "duration_seconds", (json_int_t)seconds,
	                 "reason", jit_cli_arg(cli, args, "reason"));
	if (!body)
		return jit_cli_fail(JIT_ERR_INVALID, "flag values must be UTF-8 text");
	if (jit_cli_flag(cli, args, "break-glass"))
		json_object_set_new(body, "break_glass", json_true());
	r = jit_cli_api(cli, "POST", "/api/v1alpha1/requests", body, true, &answer);
	json_decref(body);
	if (r < 0)
		return r;
	json_t *request = json_object_get(answer, "request");
	if (!json_is_object(request) || !(id = json_string_value(json_object_get(request, "id")))) {
		json_decref(answer);
		return jit_cli_fail(JIT_ERR_PROTOCOL, "the server's answer has no request");
	}
	if (!jit_cli_flag(cli, args, "wait")) {
		r = print_request(cli, request);
		json_decref(answer);
		return r;
	}
	r = wait_for_decision(cli, id, request, &final);
	json_decref(answer);
	if (r < 0)
		return r;
	r = print_request(cli, final);
	if (r >= 0 && !state_is(final, "APPROVED") && !state_is(final, "ACTIVE")) {
		const char *why = jit_cli_str(final, "decision_reason");
		char reason[600];
		jit_cli_sanitize(why, reason, sizeof reason);
		fprintf(stderr, "jitsudo: request %s was %s%s%s\n", jit_cli_str(final, "id"),
		        state_is(final, "REJECTED")  ? "denied"
		        : state_is(final, "EXPIRED") ? "not decided in time (expired)"
		        : state_is(final, "REVOKED")
		                ? "revoked"
		                : jit_cli_short_state(jit_cli_str(final, "state")),
		        reason[0] ? ": " : "", reason);
		r = JIT_CLI_EXIT_REFUSED;
	}
	json_decref(final);
	return r;
}

const struct jit_cli_command jit_cli_cmd_request = {
	.name = "request",
	.summary = "Submit a request for temporary elevated cloud permissions",
	.usage = "request --provider <provider> --role <role> --scope <scope> --duration "
	         "<duration> --reason <reason> [flags]",
	.description =
	        "Submits a new elevation request to the jitsudo control plane. Eligibility\n"
	        "policies decide at once whether you may ask; an eligible request is PENDING "
	        "until\n"
	        "an approver runs `jitsudo approve` (then APPROVED, ACTIVE once used) or `jitsudo\n"
	        "deny` (REJECTED). Credentials are revoked at expiry. With --wait, jitsudo polls\n"
	        "until the request is decided (bounded by its pending deadline) and exits 0 only\n"
	        "when it was approved; on a terminal it shows the state and the time waited.\n"
	        "With -q only the request ID is printed.\n\n"
	        "With --break-glass an eligible request is ACTIVE at once, without an approver; "
	        "it\n"
	        "carries break_glass: true and so do its events in the audit log. Nobody is\n"
	        "notified: jitsudod sends no alerts. jitsudod of this version has only its mock\n"
	        "provider, which issues realistic but fake credentials for the four providers.",
	.examples =
	        "  # AWS admin access for an incident\n"
	        "  jitsudo request --provider aws --role prod-infra-admin --scope 123456789012 \\\n"
	        "    --duration 2h --reason \"Investigating P1 ECS crash - INC-4421\"\n"
	        "  # cluster-admin on Kubernetes (all namespaces), waiting for the decision\n"
	        "  jitsudo request --provider kubernetes --role cluster-admin --scope '*' \\\n"
	        "    --duration 15m --reason \"Debug CrashLoopBackOff in kube-system\" --wait\n"
	        "  # Emergency break-glass (active at once, no approver; recorded in the audit "
	        "log)\n"
	        "  jitsudo request --provider aws --role break-glass-admin --scope 123456789012 "
	        "\\\n"
	        "    --duration 30m --reason \"Production down, on-call not responding\" "
	        "--break-glass\n",
	.options = request_options,
	.run = run_request,
};
