/* Who a verified credential says is calling: the identity every token verifier (oidc.h for
 * people's ID tokens, hostauth.h for jump hosts' tokens) produces and the API's one
 * authentication step (server/api/authn.h) hands to the workflow, with the bounds those
 * verifiers share. Pure functions over their arguments; no verifier is known here. */
#ifndef JIT_SERVER_IDENTITY_H
#define JIT_SERVER_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define JIT_AUTH_MAX_TOKEN 16384 /* bytes of a bearer token */
/* Clock skew allowed when a token's exp, nbf and iat are checked. */
#define JIT_AUTH_SKEW_SECONDS 60
/* Bytes of one name in a groups claim; a token with a longer one is refused. */
#define JIT_AUTH_MAX_GROUP_NAME 256

struct jit_identity {
	char *email;    /* the identity everything keys on */
	char *subject;  /* the sub claim, or NULL */
	json_t *groups; /* array of strings (empty when the claim is absent) */
	char *issuer;
	int64_t expires_at; /* exp, ns since the epoch */
	char *host;         /* a jump host acting for the user (host token), else NULL */
};

/* Frees what the identity holds and zeroes it; NULL and a cleared identity are fine. */
void jit_identity_clear(struct jit_identity *identity);
/* A deep copy into *ret (which the caller clears): 0 or -ENOMEM (then *ret is cleared). */
int jit_identity_copy(const struct jit_identity *identity, struct jit_identity *ret);
/* Identities are emails compared without regard to ASCII case, as identity providers treat
 * both parts; a verified identity's email is folded to lower case once (jit_identity_fold).
 * jit_identity_check_name refuses an identity or group claim that is blank, has white space
 * at either end, or holds a control or bidirectional formatting character (lib/common/
 * usertext.h), with JIT_ERR_DENIED and an error naming `claim`. */
int jit_identity_check_name(const char *claim, const char *value, char *error, size_t error_size);
void jit_identity_fold(char *email);
bool jit_identity_equal(const char *a, const char *b);
/* Is `group` one of the identity's groups? */
bool jit_identity_in_group(const struct jit_identity *identity, const char *group);

#endif
