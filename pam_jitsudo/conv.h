/* Talking to the person through the PAM application's conversation function: one prompt, or
 * one message honouring PAM_SILENT. Runs inside the PAM host; trusts the conversation to return
 * anything at all (NULL replies, failures) and wipes every answer it frees. */
#ifndef JIT_PAM_CONV_H
#define JIT_PAM_CONV_H

#include <stddef.h>
#include <security/pam_modules.h>

#include "lib/common/macro.h"

/* Asks one question (`style` PAM_PROMPT_ECHO_ON or PAM_PROMPT_ECHO_OFF). Returns 0 and sets
 * *ret_answer to a malloc'd copy (free it with jit_pam_answer_free) of at most `max_len` bytes;
 * -ENOTSUP when there is no conversation, -EIO when it fails or gives no answer, -E2BIG when
 * the answer is longer than `max_len`, -ENOMEM. Blocks as long as the application lets it
 * (sudo: until the person answers; sshd: bounded by LoginGraceTime). */
int jit_pam_prompt(pam_handle_t *pamh, int style, const char *text, size_t max_len,
                   char **ret_answer);

/* Wipes and frees an answer; accepts NULL. */
void jit_pam_answer_free(char *answer);
JIT_DEFINE_CLEANUP(char *, jit_pam_answer_free)

/* Shows one line (`style` PAM_TEXT_INFO or PAM_ERROR_MSG) unless `flags` has PAM_SILENT.
 * Best effort: a missing or failing conversation is ignored. Never pass a secret. */
void jit_pam_say(pam_handle_t *pamh, int flags, int style, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#endif
