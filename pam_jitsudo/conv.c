/* The conversation helpers of pam_jitsudo. Runs inside the PAM host as root; every reply from
 * the application is treated as untrusted (NULL, oversized) and wiped before it is freed. */
#include "pam_jitsudo/conv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>

void
jit_pam_answer_free(char *answer)
{
	if (!answer)
		return;
	explicit_bzero(answer, strlen(answer));
	free(answer);
}

/* One message through the conversation; returns the reply array (caller wipes) or NULL. */
static int
converse(pam_handle_t *pamh, int style, const char *text, struct pam_response **ret_reply)
{
	const struct pam_conv *conv = NULL;
	const void *item = NULL;
	struct pam_message msg = { .msg_style = style, .msg = text };
	const struct pam_message *msgs[1] = { &msg };
	struct pam_response *reply = NULL;
	int r;

	r = pam_get_item(pamh, PAM_CONV, &item);
	conv = item;
	if (r != PAM_SUCCESS || !conv || !conv->conv)
		return -ENOTSUP;
	r = conv->conv(1, msgs, &reply, conv->appdata_ptr);
	if (r != PAM_SUCCESS) {
		/* Some applications leave a partial reply behind on failure. */
		if (reply) {
			jit_pam_answer_free(reply[0].resp);
			free(reply);
		}
		return -EIO;
	}
	*ret_reply = reply;
	return 0;
}

int
jit_pam_prompt(pam_handle_t *pamh, int style, const char *text, size_t max_len, char **ret_answer)
{
	struct pam_response *reply = NULL;
	char *answer;
	int r;

	if ((r = converse(pamh, style, text, &reply)) < 0)
		return r;
	if (!reply)
		return -EIO;
	answer = reply[0].resp;
	free(reply);
	if (!answer)
		return -EIO;
	if (strnlen(answer, max_len + 1) > max_len) {
		jit_pam_answer_free(answer);
		return -E2BIG;
	}
	*ret_answer = answer;
	return 0;
}

void
jit_pam_say(pam_handle_t *pamh, int flags, int style, const char *fmt, ...)
{
	struct pam_response *reply = NULL;
	char line[1024];
	va_list ap;

	if (flags & PAM_SILENT)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (converse(pamh, style, line, &reply) == 0 && reply) {
		jit_pam_answer_free(reply[0].resp);
		free(reply);
	}
}
