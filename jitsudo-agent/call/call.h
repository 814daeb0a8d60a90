/* What jitsudo-agent and its helper jitsudo-agent-call agree on: the helper's name (found next
 * to the agent's own executable) and the bounds of one run. The request is a JSON object on the
 * helper's stdin (the host's settings, the user, and "calls": [{method, url, body}, ...]); for
 * each call in order the helper writes "STATUS <code> <length>\n" and that many bytes of body
 * on its stdout, or "ERROR <kind> <text>\n" (kind: unreachable, timeout, internal) and stops. */
#ifndef JIT_AGENT_CALL_H
#define JIT_AGENT_CALL_H

#define AGENT_CALL_HELPER "jitsudo-agent-call"
#define AGENT_CALL_MAX_ANSWER (1024 * 1024)
#define AGENT_CALL_MAX_REQUEST (256 * 1024)
#define AGENT_CALL_MAX_CALLS 8
/* All the output of one run the agent reads (a power of two times 4 KiB). */
#define AGENT_CALL_MAX_OUTPUT (4 * 1024 * 1024)

#endif
