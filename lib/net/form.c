/* application/x-www-form-urlencoded bodies (see http.h): what OAuth token endpoints and
 * form-style cloud APIs (AWS STS, Query APIs) take. Built in the bounded buffer, which wipes
 * what it held when freed: form values are often codes and tokens. */
#include <string.h>

#include "lib/common/buf.h"
#include "lib/net/http.h"

static bool
url_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int
put_escaped(struct jit_buf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	int r;

	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		if (url_unreserved(*s)) {
			r = jit_buf_put(b, s, 1);
		} else {
			char esc[3] = { '%', hex[*s >> 4], hex[*s & 15] };
			r = jit_buf_put(b, esc, 3);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int
jit_http_form_add(struct jit_buf *b, const char *key, const char *value)
{
	int r;

	if (b->length > 0 && (r = jit_buf_put(b, "&", 1)) < 0)
		return r;
	if ((r = put_escaped(b, key)) < 0 || (r = jit_buf_put(b, "=", 1)) < 0)
		return r;
	return put_escaped(b, value);
}
