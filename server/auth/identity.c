/* The verified identity's helpers (see identity.h): copying and clearing it, and the checks
 * and comparisons of identity and group names. No I/O; allocates only the copies it makes. */
#include "server/auth/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/usertext.h"

void
jit_identity_clear(struct jit_identity *identity)
{
	if (!identity)
		return;
	free(identity->email);
	free(identity->subject);
	free(identity->issuer);
	free(identity->host);
	json_decref(identity->groups);
	*identity = (struct jit_identity){ 0 };
}

int
jit_identity_copy(const struct jit_identity *from, struct jit_identity *to)
{
	*to = (struct jit_identity){ .expires_at = from->expires_at };
	to->email = strdup(from->email);
	to->subject = from->subject ? strdup(from->subject) : NULL;
	to->issuer = from->issuer ? strdup(from->issuer) : NULL;
	to->host = from->host ? strdup(from->host) : NULL;
	to->groups = json_deep_copy(from->groups);
	if (!to->email || (from->subject && !to->subject) || (from->issuer && !to->issuer) ||
	    (from->host && !to->host) || !to->groups) {
		jit_identity_clear(to);
		return -ENOMEM;
	}
	return 0;
}

int
jit_identity_check_name(const char *claim, const char *value, char *error, size_t error_size)
{
	const char *problem = jit_text_problem(value, strlen(value), JIT_TEXT_TRIMMED);
	if (!problem)
		return 0;
	if (error && error_size > 0)
		snprintf(error, error_size, "%s claim %s", claim, problem);
	return JIT_ERR_DENIED;
}

void
jit_identity_fold(char *email)
{
	for (char *p = email; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

bool
jit_identity_equal(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	for (;; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

bool
jit_identity_in_group(const struct jit_identity *identity, const char *group)
{
	if (!identity || !group || !json_is_array(identity->groups))
		return false;
	size_t i;
	json_t *item;
	json_array_foreach(identity->groups, i,
	                   item) if (json_is_string(item) &&
	                             strcmp(json_string_value(item), group) == 0) return true;
	return false;
}
