/* A test driver: runs PAM stages of a service from a private configuration directory
 * (pam_start_confdir, so the host's /etc/pam.d is never read) with a scripted conversation, and
 * prints what happened: each message, each stage's result and time, the PAM environment.
 * Test-only; it prints the environment, credentials included, to its stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <security/pam_appl.h>

struct script {
	const char **answers;
	int count;
	int next;
	int fail; /* answer every call with PAM_CONV_ERR */
};

static int
conversation(int n, const struct pam_message **msgs, struct pam_response **ret, void *appdata)
{
	struct script *s = appdata;
	struct pam_response *reply;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++) {
		const char *kind = "?";
		switch (msgs[i]->msg_style) {
		case PAM_PROMPT_ECHO_ON:
			kind = "prompt-echo-on";
			break;
		case PAM_PROMPT_ECHO_OFF:
			kind = "prompt-echo-off";
			break;
		case PAM_TEXT_INFO:
			kind = "info";
			break;
		case PAM_ERROR_MSG:
			kind = "error";
			break;
		}
		printf("conv %s: %s\n", kind, msgs[i]->msg ? msgs[i]->msg : "(null)");
	}
	fflush(stdout);
	if (s->fail)
		return PAM_CONV_ERR;
	reply = calloc((size_t)n, sizeof(*reply));
	if (!reply)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int style = msgs[i]->msg_style;
		if (style != PAM_PROMPT_ECHO_ON && style != PAM_PROMPT_ECHO_OFF)
			continue;
		if (s->next >= s->count) {
			for (int j = 0; j < i; j++)
				free(reply[j].resp);
			free(reply);
			return PAM_CONV_ERR;
		}
		reply[i].resp = strdup(s->answers[s->next++]);
		if (!reply[i].resp) {
			for (int j = 0; j < i; j++)
				free(reply[j].resp);
			free(reply);
			return PAM_BUF_ERR;
		}
	}
	*ret = reply;
	return PAM_SUCCESS;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
usage(void)
{
	fprintf(stderr, "usage: pam_driver --confdir DIR --service NAME --user USER "
	                "[--ruser NAME] [--answer TEXT]... [--conv-fail] [--silent] STAGE...\n"
	                "stages: auth setcred account open close env\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *confdir = NULL, *service = NULL, *user = NULL, *ruser = NULL;
	const char *answers[64];
	struct script script = { .answers = answers };
	struct pam_conv conv = { conversation, &script };
	pam_handle_t *pamh = NULL;
	int flags = 0, i, r, last = PAM_SUCCESS;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--confdir") == 0 && i + 1 < argc)
			confdir = argv[++i];
		else if (strcmp(argv[i], "--service") == 0 && i + 1 < argc)
			service = argv[++i];
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--answer") == 0 && i + 1 < argc) {
			if (script.count >= 64)
				return usage();
			answers[script.count++] = argv[++i];
		} else if (strcmp(argv[i], "--ruser") == 0 && i + 1 < argc)
			ruser = argv[++i];
		else if (strcmp(argv[i], "--conv-fail") == 0)
			script.fail = 1;
		else if (strcmp(argv[i], "--silent") == 0)
			flags |= PAM_SILENT;
		else if (argv[i][0] == '-')
			return usage();
		else
			break;
	}
	if (!confdir || !service || !user || i >= argc)
		return usage();
	r = pam_start_confdir(service, user, &conv, confdir, &pamh);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pam_start_confdir: %s\n", pam_strerror(pamh, r));
		return 1;
	}
	if (ruser && (r = pam_set_item(pamh, PAM_RUSER, ruser)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_set_item: %s\n", pam_strerror(pamh, r));
		pam_end(pamh, r);
		return 1;
	}
	for (; i < argc; i++) {
		const char *stage = argv[i];
		long long t0 = now_ms();

		if (strcmp(stage, "auth") == 0)
			r = pam_authenticate(pamh, flags);
		else if (strcmp(stage, "setcred") == 0)
			r = pam_setcred(pamh, flags | PAM_ESTABLISH_CRED);
		else if (strcmp(stage, "account") == 0)
			r = pam_acct_mgmt(pamh, flags);
		else if (strcmp(stage, "open") == 0)
			r = pam_open_session(pamh, flags);
		else if (strcmp(stage, "close") == 0)
			r = pam_close_session(pamh, flags);
		else if (strcmp(stage, "env") == 0) {
			char **env = pam_getenvlist(pamh);
			for (char **e = env; e && *e; e++) {
				printf("env %s\n", *e);
				free(*e);
			}
			free(env);
			continue;
		} else {
			fprintf(stderr, "unknown stage %s\n", stage);
			pam_end(pamh, PAM_SYSTEM_ERR);
			return 2;
		}
		printf("result %s %d %s %lld\n", stage, r, pam_strerror(pamh, r), now_ms() - t0);
		fflush(stdout);
		last = r;
	}
	pam_end(pamh, last);
	return 0;
}
