/* jitsudo-agent's log lines: one line per event on stderr (the journal under systemd), with
 * control characters replaced so a client-chosen name cannot forge a line, and the refusal
 * warnings metered by limits.c. Used by every part of the daemon; calls nothing of it but
 * agent_limits_log_due. */
#include <stdarg.h>
#include <stdio.h>

#include "jitsudo-agent/agent.h"

void
agent_log(const char *level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	fprintf(stderr, "jitsudo-agent: %s: %s\n", level, line);
}

void
agent_log_refusal(struct agent *a, enum agent_refusal reason, const char *fmt, ...)
{
	char line[768];
	uint64_t held = 0;
	va_list ap;

	if (!agent_limits_log_due(a->limits, reason, jit_ap_now_ns(), &held))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (held)
		agent_log("warn", "%s [%llu more refusals not logged: %s]", line,
		          (unsigned long long)held, agent_refusal_limit(reason));
	else
		agent_log("warn", "%s", line);
}
