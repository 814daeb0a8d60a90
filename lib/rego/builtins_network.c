/* Built-in functions: network (net.cidr_*), semantic versions (semver.*) and UUIDs (uuid.*).
 * Parses addresses with inet_pton; never touches the network. Results follow OPA: canonical
 * CIDR text, Go's UUID field names, SemVer 2.0 precedence. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "lib/common/text.h"
#include "lib/rego/builtins.h"

/* ---- addresses -------------------------------------------------------------------------- */

struct cidr {
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
	int family;       /* 4 or 6 */
	int prefix;
};

static int
address_bits(const struct cidr *c)
{
	return c->family == 4 ? 32 : 128;
}

/* Parses "a.b.c.d", "a.b.c.d/n", "x::y" or "x::y/n". Without a prefix, the address stands for
 * itself (a full-length prefix). Returns false on malformed text. */
static bool
cidr_parse(const char *s, size_t len, bool need_prefix, struct cidr *ret)
{
	char buf[64];
	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, buf, ret->addr) == 1)
		ret->family = 4;
	else if (inet_pton(AF_INET6, buf, ret->addr) == 1)
		ret->family = 6;
	else
		return false;
	if (!slash) {
		if (need_prefix)
			return false;
		ret->prefix = address_bits(ret);
		return true;
	}
	const char *p = slash + 1;
	if (!*p || strlen(p) > 3)
		return false;
	int prefix = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		prefix = prefix * 10 + (*p - '0');
	}
	if (prefix > address_bits(ret))
		return false;
	ret->prefix = prefix;
	return true;
}

/* Clears the host bits. */
static void
cidr_mask(struct cidr *c)
{
	int bytes = address_bits(c) / 8;
	for (int i = 0; i < bytes; i++) {
		int keep = c->prefix - i * 8;
		if (keep >= 8)
			continue;
		c->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

static bool
cidr_contains_cidr(const struct cidr *outer, const struct cidr *inner)
{
	if (outer->family != inner->family || inner->prefix < outer->prefix)
		return false;
	struct cidr a = *outer, b = *inner;
	b.prefix = outer->prefix;
	cidr_mask(&a);
	cidr_mask(&b);
	return memcmp(a.addr, b.addr, 16) == 0;
}

static int
cidr_format(struct rego_builtin_ctx *ctx, const struct cidr *c, bool with_prefix,
            const struct rego_value **ret)
{
	char text[INET6_ADDRSTRLEN + 8];
	if (!inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, text, INET6_ADDRSTRLEN))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "cannot format address");
	if (with_prefix) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof(text) - n, "/%d", c->prefix);
	}
	*ret = rego_string_cstr(ctx->arena, text);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

static int
need_string(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, int pos)
{
	if (args[pos - 1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, pos, "string", args[pos - 1]);
	return 0;
}

static int
parse_cidr_arg(struct rego_builtin_ctx *ctx, const struct rego_value *v, struct cidr *ret)
{
	if (!cidr_parse(v->u.string, v->length, true, ret))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid CIDR address: %s",
		                          v->u.string);
	return 0;
}

static int
net_cidr_contains(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	struct cidr outer, inner;
	int r;
	if ((r = need_string(ctx, args, 1)) < 0 || (r = need_string(ctx, args, 2)) < 0)
		return r;
	if ((r = parse_cidr_arg(ctx, args[0], &outer)) < 0)
		return r;
	if (!cidr_parse(args[1]->u.string, args[1]->length, false, &inner))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid CIDR address: %s",
		                          args[1]->u.string);
	*ret = rego_bool(cidr_contains_cidr(&outer, &inner));
	return 0;
}

static int
net_cidr_intersects(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	struct cidr a, b;
	int r;
	if ((r = need_string(ctx, args, 1)) < 0 || (r = need_string(ctx, args, 2)) < 0)
		return r;
	if ((r = parse_cidr_arg(ctx, args[0], &a)) < 0 ||
	    (r = parse_cidr_arg(ctx, args[1], &b)) < 0)
		return r;
	*ret = rego_bool(cidr_contains_cidr(&a, &b) || cidr_contains_cidr(&b, &a));
	return 0;
}

static int
net_cidr_is_valid(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	struct cidr c;
	*ret = rego_bool(args[0]->type == REGO_STRING &&
	                 cidr_parse(args[0]->u.string, args[0]->length, true, &c));
	return 0;
}

#define CIDR_EXPAND_MAX (1u << 16)

static int
net_cidr_expand(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	struct cidr c;
	int r;
	if ((r = need_string(ctx, args, 1)) < 0 || (r = parse_cidr_arg(ctx, args[0], &c)) < 0)
		return r;
	int host_bits = address_bits(&c) - c.prefix;
	if (host_bits > 16)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "CIDR %s has more than %u addresses", args[0]->u.string,
		                          CIDR_EXPAND_MAX);
	cidr_mask(&c);
	struct rego_vec out;
	rego_vec_init(&out, ctx->arena);
	uint32_t count = 1u << host_bits;
	int last = address_bits(&c) / 8 - 1;
	for (uint32_t i = 0; i < count; i++) {
		struct cidr host = c;
		/* Add i to the address, byte by byte from the end. */
		uint32_t carry = i;
		for (int b = last; b >= 0 && carry; b--) {
			uint32_t sum = host.addr[b] + (carry & 0xff);
			host.addr[b] = (uint8_t)sum;
			carry = (carry >> 8) + (sum >> 8);
		}
		const struct rego_value *v;
		if ((r = cidr_format(ctx, &host, false, &v)) < 0)
			return r;
		if (rego_vec_push(&out, v) < 0)
			return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
	}
	*ret = rego_vec_to_set(&out);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* One side of cidr_contains_matches: (key, cidr text) pairs. */
struct keyed_cidr {
	const struct rego_value *key;
	const struct rego_value *text;
};

static int
collect_keyed(struct rego_builtin_ctx *ctx, const struct rego_value *v, int pos,
              struct keyed_cidr **ret, size_t *ret_n)
{
	size_t n = v->type == REGO_STRING ? 1 : v->length;
	struct keyed_cidr *items = rego_arena_alloc(ctx->arena, (n + 1) * sizeof(*items));
	if (!items)
		return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
	if (v->type == REGO_STRING) {
		items[0].key = items[0].text = v;
		*ret = items;
		*ret_n = 1;
		return 0;
	}
	if (v->type != REGO_ARRAY && v->type != REGO_SET && v->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, pos, "one of {string, array, set, object}", v);
	for (size_t i = 0; i < n; i++) {
		const struct rego_value *elem, *key;
		if (v->type == REGO_ARRAY) {
			elem = v->u.items[i];
			key = rego_int(ctx->arena, (int64_t)i);
		} else if (v->type == REGO_SET) {
			elem = key = v->u.items[i];
		} else {
			key = v->u.members[i].key;
			elem = v->u.members[i].value;
		}
		if (elem->type == REGO_ARRAY && elem->length > 0)
			elem = elem->u.items[0];
		if (elem->type != REGO_STRING || !key)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "operand %d: element must be string or non-empty array", pos);
		items[i].key = key;
		items[i].text = elem;
	}
	*ret = items;
	*ret_n = n;
	return 0;
}

static int
net_cidr_contains_matches(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                          const struct rego_value **ret)
{
	struct keyed_cidr *a, *b;
	size_t na, nb;
	int r;
	if ((r = collect_keyed(ctx, args[0], 1, &a, &na)) < 0 ||
	    (r = collect_keyed(ctx, args[1], 2, &b, &nb)) < 0)
		return r;
	struct rego_vec out;
	rego_vec_init(&out, ctx->arena);
	for (size_t i = 0; i < na; i++) {
		struct cidr outer;
		if (!cidr_parse(a[i].text->u.string, a[i].text->length, false, &outer))
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid CIDR address: %s",
			                          a[i].text->u.string);
		for (size_t j = 0; j < nb; j++) {
			struct cidr inner;
			if (!cidr_parse(b[j].text->u.string, b[j].text->length, false, &inner))
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "invalid CIDR address: %s",
				                          b[j].text->u.string);
			if (!cidr_contains_cidr(&outer, &inner))
				continue;
			const struct rego_value *pair[2] = { a[i].key, b[j].key };
			const struct rego_value *p = rego_array(ctx->arena, pair, 2);
			if (!p || rego_vec_push(&out, p) < 0)
				return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
		}
	}
	*ret = rego_vec_to_set(&out);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

static int
compare_cidrs(const void *x, const void *y)
{
	const struct cidr *a = x, *b = y;
	if (a->family != b->family)
		return a->family - b->family;
	int c = memcmp(a->addr, b->addr, 16);
	return c ? c : a->prefix - b->prefix;
}

/* Classful default prefix of an IPv4 address given without one (as Go's DefaultMask). */
static int
default_prefix(const struct cidr *c)
{
	if (c->addr[0] < 0x80)
		return 8;
	if (c->addr[0] < 0xc0)
		return 16;
	return 24;
}

static int
net_cidr_merge(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
               const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_ARRAY && in->type != REGO_SET)
		return rego_builtin_type_error(ctx, 1, "one of {array, set}", in);
	size_t n = in->length;
	struct cidr *list = rego_arena_alloc(ctx->arena, (n + 1) * sizeof(*list));
	if (!list)
		return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct rego_value *v = in->u.items[i];
		if (v->type != REGO_STRING)
			return rego_builtin_type_error(ctx, 1, "array or set of strings", v);
		bool has_prefix = memchr(v->u.string, '/', v->length) != NULL;
		if (!cidr_parse(v->u.string, v->length, false, &list[i]))
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid CIDR address: %s",
			                          v->u.string);
		if (!has_prefix) {
			if (list[i].family == 6)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "IPv6 invalid: needs prefix length");
			list[i].prefix = default_prefix(&list[i]);
		}
		cidr_mask(&list[i]);
	}
	/* Repeat until stable: drop networks inside others, join sibling halves. */
	bool changed = true;
	while (changed) {
		changed = false;
		qsort(list, n, sizeof(*list), compare_cidrs);
		size_t out = 0;
		for (size_t i = 0; i < n; i++) {
			if (out > 0 && cidr_contains_cidr(&list[out - 1], &list[i])) {
				changed = true;
				continue;
			}
			list[out++] = list[i];
		}
		n = out;
		for (size_t i = 0; i + 1 < n; i++) {
			struct cidr a = list[i], b = list[i + 1];
			if (a.family != b.family || a.prefix != b.prefix || a.prefix == 0)
				continue;
			struct cidr parent = a;
			parent.prefix--;
			cidr_mask(&parent);
			if (memcmp(parent.addr, a.addr, 16) == 0 &&
			    cidr_contains_cidr(&parent, &b)) {
				list[i] = parent;
				memmove(list + i + 1, list + i + 2, (n - i - 2) * sizeof(*list));
				n--;
				changed = true;
			}
		}
	}
	struct rego_vec set;
	rego_vec_init(&set, ctx->arena);
	for (size_t i = 0; i < n; i++) {
		const struct rego_value *v;
		int r = cidr_format(ctx, &list[i], true, &v);
		if (r < 0)
			return r;
		if (rego_vec_push(&set, v) < 0)
			return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
	}
	*ret = rego_vec_to_set(&set);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* ---- semantic versions ------------------------------------------------------------------ */

struct semver {
	const char *core; /* "1.2.3" */
	uint64_t major, minor, patch;
	const char *pre; /* identifiers after '-', NUL-separated length in pre_len */
	size_t pre_len;
};

static bool
numeric_identifier(const char *s, size_t n, uint64_t *ret)
{
	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return true;
}

static bool
identifiers_valid(const char *s, size_t n, bool prerelease)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			char c = s[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') || c == '-'))
				return false;
			continue;
		}
		size_t len = i - start;
		if (len == 0)
			return false;
		bool all_digits = true;
		for (size_t k = start; k < i; k++)
			all_digits = all_digits && s[k] >= '0' && s[k] <= '9';
		if (prerelease && all_digits && len > 1 && s[start] == '0')
			return false;
		start = i + 1;
	}
	return true;
}

static bool
semver_parse(const struct rego_value *v, struct semver *ret)
{
	if (v->type != REGO_STRING)
		return false;
	const char *s = v->u.string;
	size_t n = v->length, i = 0;
	uint64_t parts[3];
	for (int p = 0; p < 3; p++) {
		size_t start = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (!numeric_identifier(s + start, i - start, &parts[p]))
			return false;
		if (p < 2) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	ret->major = parts[0];
	ret->minor = parts[1];
	ret->patch = parts[2];
	ret->pre = NULL;
	ret->pre_len = 0;
	size_t build = n;
	const char *plus = memchr(s + i, '+', n - i);
	if (plus) {
		build = (size_t)(plus - s);
		if (!identifiers_valid(plus + 1, n - build - 1, false))
			return false;
	}
	if (i < build) {
		if (s[i] != '-' || !identifiers_valid(s + i + 1, build - i - 1, true))
			return false;
		ret->pre = s + i + 1;
		ret->pre_len = build - i - 1;
	}
	return true;
}

static int
compare_prerelease(const char *a, size_t na, const char *b, size_t nb)
{
	size_t i = 0, j = 0;
	while (i < na && j < nb) {
		size_t ei = i, ej = j;
		while (ei < na && a[ei] != '.')
			ei++;
		while (ej < nb && b[ej] != '.')
			ej++;
		uint64_t x, y;
		bool xn = numeric_identifier(a + i, ei - i, &x);
		bool yn = numeric_identifier(b + j, ej - j, &y);
		int c;
		if (xn && yn)
			c = x < y ? -1 : x > y;
		else if (xn != yn)
			c = xn ? -1 : 1;
		else {
			size_t m = ei - i < ej - j ? ei - i : ej - j;
			c = memcmp(a + i, b + j, m);
			if (c == 0)
				c = (ei - i) < (ej - j) ? -1 : (ei - i) > (ej - j);
			c = c < 0 ? -1 : c > 0;
		}
		if (c)
			return c;
		i = ei + 1;
		j = ej + 1;
	}
	bool a_more = i < na, b_more = j < nb;
	return a_more == b_more ? 0 : a_more ? 1 : -1;
}

static int
semver_compare(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
               const struct rego_value **ret)
{
	struct semver a, b;
	int r;
	if ((r = need_string(ctx, args, 1)) < 0 || (r = need_string(ctx, args, 2)) < 0)
		return r;
	if (!semver_parse(args[0], &a))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "operand 1: string \"%s\" is not a valid SemVer",
		                          args[0]->u.string);
	if (!semver_parse(args[1], &b))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "operand 2: string \"%s\" is not a valid SemVer",
		                          args[1]->u.string);
	int c = a.major != b.major   ? (a.major < b.major ? -1 : 1)
	        : a.minor != b.minor ? (a.minor < b.minor ? -1 : 1)
	        : a.patch != b.patch ? (a.patch < b.patch ? -1 : 1)
	        : !a.pre && !b.pre   ? 0
	        : !a.pre             ? 1
	        : !b.pre             ? -1
	                             : compare_prerelease(a.pre, a.pre_len, b.pre, b.pre_len);
	*ret = rego_int(ctx->arena, c);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

static int
semver_is_valid(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	struct semver v;
	*ret = rego_bool(semver_parse(args[0], &v));
	return 0;
}

/* ---- UUIDs ------------------------------------------------------------------------------- */

static int
format_uuid(struct rego_builtin_ctx *ctx, const uint8_t b[16], const struct rego_value **ret)
{
	char text[37];
	snprintf(text, sizeof(text),
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	         b[15]);
	*ret = rego_string(ctx->arena, text, 36);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* A version 4 UUID derived from the query's seed and the argument: the same within a query,
 * different across queries. */
static int
uuid_rfc4122(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
             const struct rego_value **ret)
{
	int r = need_string(ctx, args, 1);
	if (r < 0)
		return r;
	uint8_t digest[SHA256_DIGEST_LENGTH];
	size_t n = sizeof(ctx->seed) + args[0]->length;
	uint8_t *material = rego_arena_alloc(ctx->arena, n);
	if (!material)
		return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
	memcpy(material, &ctx->seed, sizeof(ctx->seed));
	memcpy(material + sizeof(ctx->seed), args[0]->u.string, args[0]->length);
	SHA256(material, n, digest);
	digest[6] = (uint8_t)((digest[6] & 0x0f) | 0x40);
	digest[8] = (uint8_t)((digest[8] & 0x3f) | 0x80);
	return format_uuid(ctx, digest, ret);
}

static bool
uuid_bytes(const char *s, size_t n, uint8_t out[16])
{
	if (n == 45 && strncasecmp(s, "urn:uuid:", 9) == 0) {
		s += 9;
		n -= 9;
	} else if (n == 38 && s[0] == '{' && s[37] == '}') {
		s++;
		n -= 2;
	}
	bool dashed = n == 36;
	if (!dashed && n != 32)
		return false;
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return false;
			i++;
			continue;
		}
		int hi = jit_hex_digit(s[i]), lo = i + 1 < n ? jit_hex_digit(s[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return false;
		out[k++] = (uint8_t)(hi * 16 + lo);
		i += 2;
	}
	return k == 16;
}

static int
put(struct rego_builtin_ctx *ctx, struct rego_member_vec *m, const char *key,
    const struct rego_value *v)
{
	const struct rego_value *k = rego_string_cstr(ctx->arena, key);
	if (!k || !v || rego_member_vec_push(m, k, v) < 0)
		return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
	return 0;
}

/* uuid.parse: the fields Go's uuid package reports (variant, version, and for time-based
 * versions 1 and 2 the time, clock sequence and node; for 2 the domain and id). */
static int
uuid_parse(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	uint8_t b[16];
	int r = need_string(ctx, args, 1);
	if (r < 0)
		return r;
	if (!uuid_bytes(args[0]->u.string, args[0]->length, b))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid UUID: %s",
		                          args[0]->u.string);
	const char *variant = (b[8] & 0x80) == 0      ? "Reserved"
	                      : (b[8] & 0xc0) == 0x80 ? "RFC4122"
	                      : (b[8] & 0xe0) == 0xc0 ? "Microsoft"
	                                              : "Future";
	int version = b[6] >> 4;
	struct rego_member_vec m;
	rego_member_vec_init(&m, ctx->arena);
	if ((r = put(ctx, &m, "variant", rego_string_cstr(ctx->arena, variant))) < 0 ||
	    (r = put(ctx, &m, "version", rego_int(ctx->arena, version))) < 0)
		return r;
	if (version == 1 || version == 2) {
		/* 100 ns intervals since 1582-10-15, to nanoseconds since the Unix epoch. */
		int64_t t = (int64_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		                      (uint32_t)b[2] << 8 | b[3]);
		t |= (int64_t)((uint32_t)b[4] << 8 | b[5]) << 32;
		t |= (int64_t)(((uint32_t)b[6] << 8 | b[7]) & 0x0fff) << 48;
		int64_t unix_ns = (t - 122192928000000000LL) * 100;
		char node[18];
		snprintf(node, sizeof(node), "%02x-%02x-%02x-%02x-%02x-%02x", b[10], b[11], b[12],
		         b[13], b[14], b[15]);
		char mac[32];
		snprintf(mac, sizeof(mac), "%s:%s", (b[10] & 0x02) ? "local" : "global",
		         (b[10] & 0x01) ? "multicast" : "unicast");
		if ((r = put(ctx, &m, "time", rego_int(ctx->arena, unix_ns))) < 0 ||
		    (r = put(ctx, &m, "clocksequence",
		             rego_int(ctx->arena, ((b[8] << 8) | b[9]) & 0x3fff))) < 0 ||
		    (r = put(ctx, &m, "nodeid", rego_string_cstr(ctx->arena, node))) < 0 ||
		    (r = put(ctx, &m, "macvariables", rego_string_cstr(ctx->arena, mac))) < 0)
			return r;
	}
	if (version == 2) {
		static const char *const domains[] = { "Person", "Group", "Org" };
		char unknown[32];
		const char *domain = b[9] < 3 ? domains[b[9]] : unknown;
		snprintf(unknown, sizeof(unknown), "Domain%d", b[9]);
		int64_t id = (int64_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		                       (uint32_t)b[2] << 8 | b[3]);
		if ((r = put(ctx, &m, "domain", rego_string_cstr(ctx->arena, domain))) < 0 ||
		    (r = put(ctx, &m, "id", rego_int(ctx->arena, id))) < 0)
			return r;
	}
	*ret = rego_member_vec_to_object(&m);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

const struct rego_builtin rego_builtins_network[] = {
	{ "net.cidr_contains", 2, 0, net_cidr_contains },
	{ "net.cidr_overlap", 2, REGO_BUILTIN_DEPRECATED, net_cidr_contains },
	{ "net.cidr_intersects", 2, 0, net_cidr_intersects },
	{ "net.cidr_is_valid", 1, 0, net_cidr_is_valid },
	{ "net.cidr_expand", 1, 0, net_cidr_expand },
	{ "net.cidr_contains_matches", 2, 0, net_cidr_contains_matches },
	{ "net.cidr_merge", 1, 0, net_cidr_merge },
	{ "semver.compare", 2, 0, semver_compare },
	{ "semver.is_valid", 1, 0, semver_is_valid },
	{ "uuid.rfc4122", 1, REGO_BUILTIN_MEMO, uuid_rfc4122 },
	{ "uuid.parse", 1, 0, uuid_parse },
	{ NULL, 0, 0, NULL },
};
