/* What jitsudo-agent and its helper jitsudo-agent-call agree on: the helper's name (found next
 * to the agent's own executable) and the bounds of one exchange. The request is a JSON object
 * on the helper's stdin; the answer is "STATUS <code>\n" and the body, or "ERROR <kind> <text>\n"
 * (kind: unreachable, timeout, internal), on its stdout. */
#ifndef JIT_AGENT_CALL_H
#define JIT_AGENT_CALL_H

#define AGENT_CALL_HELPER "jitsudo-agent-call"
#define AGENT_CALL_MAX_ANSWER (1024 * 1024)
#define AGENT_CALL_MAX_REQUEST (256 * 1024)

#endif
