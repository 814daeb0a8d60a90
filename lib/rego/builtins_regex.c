/* Built-in functions: regex group (regex.*, re_match, glob.*). Patterns use Go's RE2 syntax
 * and are translated to PCRE2 (builtins_regex_syntax.c); globs follow gobwas/glob and
 * regex.globs_match follows glob-intersection. Go's match semantics are reproduced on top of
 * PCRE2: leftmost-first matches, Go's rules for empty matches in FindAll/Split/ReplaceAll, and
 * invalid UTF-8 read as U+FFFD. PCRE2 backtracks where Go's engine is linear, so matching runs
 * under match, depth and heap limits (and boolean tests use the DFA matcher); exceeding them
 * is a builtin error. Compiled patterns are shared through a small bounded cache guarded by a
 * mutex; entries are reference-counted so eviction never frees one in use. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/rego/builtins.h"
#include "lib/rego/builtins_regex.h"
#include "lib/rego/builtins_strings.h"

#define REGEX_CACHE_SIZE 64
#define REGEX_MATCH_LIMIT 10000000u
#define REGEX_DEPTH_LIMIT 100000u
#define REGEX_HEAP_LIMIT_KIB (64u * 1024u)
#define REGEX_DFA_WORKSPACE_MAX (1u << 20)

/* ---- compiled pattern cache ------------------------------------------------------------- */

struct regex_entry {
	char *key;
	size_t key_len;
	pcre2_code *code;
	uint32_t ncaptures;
	char **names; /* [ncaptures + 1], NULL for unnamed groups */
	unsigned refs;
	bool in_cache;
	uint64_t stamp;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct regex_entry *cache[REGEX_CACHE_SIZE];
static uint64_t cache_clock;

static pthread_once_t contexts_once = PTHREAD_ONCE_INIT;
static pcre2_compile_context *compile_context;
static pcre2_match_context *match_context;

static void
contexts_init(void)
{
	compile_context = pcre2_compile_context_create(NULL);
	if (compile_context) {
		pcre2_set_newline(compile_context, PCRE2_NEWLINE_LF);
		pcre2_set_parens_nest_limit(compile_context, 500);
	}
	match_context = pcre2_match_context_create(NULL);
	if (match_context) {
		pcre2_set_match_limit(match_context, REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(match_context, REGEX_DEPTH_LIMIT);
		pcre2_set_heap_limit(match_context, REGEX_HEAP_LIMIT_KIB);
	}
}

static void
entry_free(struct regex_entry *e)
{
	if (!e)
		return;
	pcre2_code_free(e->code);
	if (e->names)
		for (uint32_t k = 0; k <= e->ncaptures; k++)
			free(e->names[k]);
	free(e->names);
	free(e->key);
	free(e);
}

static struct regex_entry *
cache_acquire(const char *key, size_t key_len)
{
	struct regex_entry *found = NULL;
	pthread_mutex_lock(&cache_lock);
	for (size_t k = 0; k < REGEX_CACHE_SIZE; k++) {
		struct regex_entry *e = cache[k];
		if (e && e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
			e->refs++;
			e->stamp = ++cache_clock;
			found = e;
			break;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

/* Offers a freshly compiled entry (held once by the caller) to the cache. */
static void
cache_insert(struct regex_entry *e)
{
	struct regex_entry *victim = NULL;
	pthread_mutex_lock(&cache_lock);
	size_t slot = 0;
	for (size_t k = 0; k < REGEX_CACHE_SIZE; k++) {
		if (!cache[k]) {
			slot = k;
			break;
		}
		if (cache[k]->stamp < cache[slot]->stamp)
			slot = k;
	}
	if (cache[slot]) {
		cache[slot]->in_cache = false;
		if (cache[slot]->refs == 0)
			victim = cache[slot];
	}
	e->in_cache = true;
	e->stamp = ++cache_clock;
	cache[slot] = e;
	pthread_mutex_unlock(&cache_lock);
	entry_free(victim);
}

static void
entry_release(struct regex_entry *e)
{
	if (!e)
		return;
	bool dead = false;
	pthread_mutex_lock(&cache_lock);
	e->refs--;
	dead = e->refs == 0 && !e->in_cache;
	pthread_mutex_unlock(&cache_lock);
	if (dead)
		entry_free(e);
}

/* ---- building PCRE2 patterns ------------------------------------------------------------ */

static int
out_of_memory(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "out of memory or result too large");
}

/* Go's regexp.QuoteMeta. */
static int
quote_meta(struct rego_strbuf *sb, const char *s, size_t len)
{
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i++) {
		if (strchr("\\.+*?()|[]{}^$", s[i]) && s[i] != '\0')
			r = rego_strbuf_append(sb, "\\", 1);
		if (r == 0)
			r = rego_strbuf_append(sb, s + i, 1);
	}
	return r;
}

/* regex.template_match's pattern: literal text with delimited regexps, anchored. Returns the
 * Go-syntax pattern, or an error message. */
static int
template_pattern(struct rego_builtin_ctx *ctx, const char *tpl, size_t len, char start, char end,
                 struct rego_strbuf *sb)
{
	size_t level = 0, open = 0, last = 0;
	int r = rego_strbuf_append(sb, "^", 1);
	/* First pass: balance, as OPA's delimiterIndices. */
	long depth = 0;
	for (size_t i = 0; i < len; i++) {
		if (tpl[i] == start) {
			depth++;
		} else if (tpl[i] == end) {
			if (--depth < 0)
				break;
		}
	}
	if (depth != 0) {
		struct rego_strbuf q;
		rego_strbuf_init(&q, ctx->arena);
		if (rego_go_quote(&q, tpl, len, false) < 0)
			return out_of_memory(ctx);
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unbalanced braces in %s", q.data);
	}
	for (size_t i = 0; i < len && r == 0; i++) {
		if (tpl[i] == start) {
			if (++level == 1)
				open = i;
		} else if (tpl[i] == end) {
			if (--level == 0) {
				/* Literal text, then the delimited expression as a group. */
				const char *patt = tpl + open + 1;
				size_t patt_len = i - open - 1;
				struct rego_regex_translation check;
				struct rego_strbuf anchored;
				rego_strbuf_init(&anchored, ctx->arena);
				if (rego_strbuf_appendf(&anchored, "^%.*s$", (int)patt_len, patt) <
				    0)
					return out_of_memory(ctx);
				int t = rego_regex_translate(ctx->arena, anchored.data,
				                             anchored.length, &check);
				if (t == -ENOMEM)
					return out_of_memory(ctx);
				if (t < 0)
					return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%s",
					                          check.error);
				r = quote_meta(sb, tpl + last, open - last);
				if (r == 0)
					r = rego_strbuf_appendf(sb, "(%.*s)", (int)patt_len, patt);
				last = i + 1;
			}
		}
	}
	if (r == 0)
		r = quote_meta(sb, tpl + last, len - last);
	if (r == 0)
		r = rego_strbuf_append(sb, "$", 1);
	return r < 0 ? out_of_memory(ctx) : 0;
}

/* ---- glob patterns (gobwas/glob) --------------------------------------------------------- */

enum glob_token_type {
	G_EOF,
	G_ERROR,
	G_TEXT,
	G_ANY,
	G_SUPER,
	G_SINGLE,
	G_NOT,
	G_SEPARATOR,
	G_RANGE_OPEN,
	G_RANGE_CLOSE,
	G_RANGE_LO,
	G_RANGE_HI,
	G_RANGE_BETWEEN,
	G_TERMS_OPEN,
	G_TERMS_CLOSE,
};

struct glob_token {
	enum glob_token_type type;
	uint32_t *runes; /* G_TEXT: the literal runes; G_RANGE_LO/HI: one rune */
	size_t nrunes;
	const char *error;
};

#define GLOB_EOF_RUNE 0xffffffffu
#define GLOB_QUEUE_MAX 8

struct glob_lexer {
	struct rego_arena *arena;
	const char *s;
	size_t len, pos;
	size_t last_size;
	int terms_level;
	const char *error;
	struct glob_token queue[GLOB_QUEUE_MAX];
	size_t qhead, qlen;
	bool oom;
};

static uint32_t
glob_peek(const struct glob_lexer *l, size_t *ret_width)
{
	if (l->pos >= l->len) {
		*ret_width = 0;
		return GLOB_EOF_RUNE;
	}
	size_t i = l->pos;
	uint32_t r = rego_utf8_next(l->s, l->len, &i);
	*ret_width = i - l->pos;
	return r;
}

static uint32_t
glob_read(struct glob_lexer *l)
{
	uint32_t r = glob_peek(l, &l->last_size);
	l->pos += l->last_size;
	return r;
}

/* Steps back over the rune read last. */
static void
glob_unread(struct glob_lexer *l)
{
	l->pos -= l->last_size;
	l->last_size = 0;
}

static void
glob_push(struct glob_lexer *l, enum glob_token_type type, uint32_t *runes, size_t n)
{
	if (l->qlen >= GLOB_QUEUE_MAX)
		return;
	struct glob_token *t = &l->queue[(l->qhead + l->qlen++) % GLOB_QUEUE_MAX];
	t->type = type;
	t->runes = runes;
	t->nrunes = n;
	t->error = NULL;
}

static uint32_t *
glob_one_rune(struct glob_lexer *l, uint32_t r)
{
	uint32_t *p = rego_arena_alloc(l->arena, sizeof(*p));
	if (!p)
		l->oom = true;
	else
		*p = r;
	return p;
}

static void
glob_fetch_text(struct glob_lexer *l, const char *breakers)
{
	size_t cap = l->len - l->pos + 1;
	uint32_t *data = rego_arena_alloc(l->arena, sizeof(*data) * cap);
	size_t n = 0;
	bool escaped = false;
	if (!data) {
		l->oom = true;
		return;
	}
	for (;;) {
		uint32_t r = glob_read(l);
		if (r == GLOB_EOF_RUNE)
			break;
		if (!escaped) {
			if (r == '\\') {
				escaped = true;
				continue;
			}
			if (r < 0x80 && strchr(breakers, (int)r) && r != 0) {
				glob_unread(l);
				break;
			}
		}
		escaped = false;
		data[n++] = r;
	}
	if (n > 0)
		glob_push(l, G_TEXT, data, n);
}

static void
glob_fetch_range(struct glob_lexer *l)
{
	bool want_hi = false, want_close = false, seen_not = false;
	for (;;) {
		uint32_t r = glob_read(l);
		if (r == GLOB_EOF_RUNE) {
			l->error = "unexpected end of input";
			return;
		}
		if (want_close) {
			if (r != ']')
				l->error = "expected close range character";
			else
				glob_push(l, G_RANGE_CLOSE, NULL, 0);
			return;
		}
		if (want_hi) {
			glob_push(l, G_RANGE_HI, glob_one_rune(l, r), 1);
			want_close = true;
			continue;
		}
		if (!seen_not && r == '!') {
			glob_push(l, G_NOT, NULL, 0);
			seen_not = true;
			continue;
		}
		size_t width;
		if (glob_peek(l, &width) == '-') {
			l->pos += width;
			glob_push(l, G_RANGE_LO, glob_one_rune(l, r), 1);
			glob_push(l, G_RANGE_BETWEEN, NULL, 0);
			want_hi = true;
			continue;
		}
		glob_unread(l);
		glob_fetch_text(l, "]");
		want_close = true;
	}
}

static struct glob_token
glob_next(struct glob_lexer *l)
{
	for (;;) {
		if (l->error) {
			struct glob_token t = { .type = G_ERROR, .error = l->error };
			return t;
		}
		if (l->qlen > 0) {
			struct glob_token t = l->queue[l->qhead];
			l->qhead = (l->qhead + 1) % GLOB_QUEUE_MAX;
			l->qlen--;
			return t;
		}
		uint32_t r = glob_read(l);
		if (r == GLOB_EOF_RUNE) {
			glob_push(l, G_EOF, NULL, 0);
		} else if (r == '{') {
			l->terms_level++;
			glob_push(l, G_TERMS_OPEN, NULL, 0);
		} else if (r == ',' && l->terms_level > 0) {
			glob_push(l, G_SEPARATOR, NULL, 0);
		} else if (r == '}' && l->terms_level > 0) {
			glob_push(l, G_TERMS_CLOSE, NULL, 0);
			l->terms_level--;
		} else if (r == '[') {
			glob_push(l, G_RANGE_OPEN, NULL, 0);
			glob_fetch_range(l);
		} else if (r == '?') {
			glob_push(l, G_SINGLE, NULL, 0);
		} else if (r == '*') {
			if (glob_read(l) == '*') {
				glob_push(l, G_SUPER, NULL, 0);
			} else {
				glob_unread(l);
				glob_push(l, G_ANY, NULL, 0);
			}
		} else {
			glob_unread(l);
			glob_fetch_text(l, l->terms_level > 0 ? "?*[{}," : "?*[{");
		}
		if (l->oom) {
			struct glob_token t = { .type = G_ERROR, .error = "out of memory" };
			return t;
		}
	}
}

static void
emit_rune_escaped(struct rego_strbuf *sb, uint32_t r, int *err)
{
	if (*err)
		return;
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "\\x{%x}", r);
	*err = rego_strbuf_append(sb, buf, (size_t)n);
}

static void
emit_text(struct rego_strbuf *sb, const char *s, int *err)
{
	if (*err == 0)
		*err = rego_strbuf_append(sb, s, strlen(s));
}

/* Translates a glob into an anchored PCRE2 pattern. Returns 0, or sets *ret_error (gobwas's
 * message) and returns JIT_ERR_INVALID, or -ENOMEM. */
static int
glob_translate(struct rego_arena *arena, const char *pattern, size_t len, const uint32_t *seps,
               size_t nseps, struct rego_strbuf *sb, const char **ret_error)
{
	struct glob_lexer l = { .arena = arena, .s = pattern, .len = len };
	int err = 0;
	size_t open_terms = 0;
	/* The class of one character that is no separator. */
	struct rego_strbuf single;
	rego_strbuf_init(&single, arena);
	if (nseps == 0) {
		emit_text(&single, "[\\x{0}-\\x{10ffff}]", &err);
	} else {
		emit_text(&single, "[^", &err);
		for (size_t k = 0; k < nseps; k++)
			emit_rune_escaped(&single, seps[k], &err);
		emit_text(&single, "]", &err);
	}
	emit_text(sb, "\\A(?:", &err);
	while (err == 0) {
		struct glob_token t = glob_next(&l);
		switch (t.type) {
		case G_EOF:
			while (open_terms-- > 0)
				emit_text(sb, ")", &err);
			emit_text(sb, ")\\z", &err);
			return err;
		case G_ERROR:
			*ret_error = t.error;
			return l.oom ? -ENOMEM : JIT_ERR_INVALID;
		case G_TEXT:
			for (size_t k = 0; k < t.nrunes; k++)
				emit_rune_escaped(sb, t.runes[k], &err);
			break;
		case G_ANY:
			emit_text(sb, single.data, &err);
			emit_text(sb, "*", &err);
			break;
		case G_SUPER:
			emit_text(sb, "[\\x{0}-\\x{10ffff}]*", &err);
			break;
		case G_SINGLE:
			emit_text(sb, single.data, &err);
			break;
		case G_TERMS_OPEN:
			emit_text(sb, "(?:", &err);
			open_terms++;
			break;
		case G_SEPARATOR:
			emit_text(sb, "|", &err);
			break;
		case G_TERMS_CLOSE:
			emit_text(sb, ")", &err);
			if (open_terms > 0)
				open_terms--;
			break;
		case G_RANGE_OPEN: {
			bool not = false;
			uint32_t lo = 0, hi = 0;
			const uint32_t *chars = NULL;
			size_t nchars = 0;
			for (;;) {
				struct glob_token rt = glob_next(&l);
				if (rt.type == G_EOF) {
					*ret_error = "unexpected end";
					return JIT_ERR_INVALID;
				}
				if (rt.type == G_ERROR) {
					*ret_error = rt.error;
					return l.oom ? -ENOMEM : JIT_ERR_INVALID;
				}
				if (rt.type == G_NOT) {
					not = true;
				} else if (rt.type == G_RANGE_LO) {
					lo = rt.runes ? rt.runes[0] : 0;
				} else if (rt.type == G_RANGE_HI) {
					hi = rt.runes ? rt.runes[0] : 0;
					if (hi < lo) {
						char a[4], b[4], msg[64];
						size_t na = rego_utf8_encode(hi, a);
						size_t nb = rego_utf8_encode(lo, b);
						snprintf(msg, sizeof(msg),
						         "hi character '%.*s' should be greater "
						         "than lo "
						         "'%.*s'",
						         (int)na, a, (int)nb, b);
						*ret_error =
						        rego_arena_strndup(arena, msg, strlen(msg));
						return *ret_error ? JIT_ERR_INVALID : -ENOMEM;
					}
				} else if (rt.type == G_TEXT) {
					chars = rt.runes;
					nchars = rt.nrunes;
				} else if (rt.type == G_RANGE_CLOSE) {
					break;
				}
			}
			bool is_range = lo != 0 && hi != 0, is_chars = nchars > 0;
			if (is_range == is_chars) {
				*ret_error = "could not parse range";
				return JIT_ERR_INVALID;
			}
			emit_text(sb, not ? "[^" : "[", &err);
			if (is_range) {
				emit_rune_escaped(sb, lo, &err);
				emit_text(sb, "-", &err);
				emit_rune_escaped(sb, hi, &err);
			} else {
				for (size_t k = 0; k < nchars; k++)
					emit_rune_escaped(sb, chars[k], &err);
			}
			emit_text(sb, "]", &err);
			break;
		}
		default:
			*ret_error = "unexpected token";
			return JIT_ERR_INVALID;
		}
	}
	return err;
}

/* ---- compiling -------------------------------------------------------------------------- */

enum pattern_kind {
	KIND_REGEX = 'r',
	KIND_TEMPLATE = 't',
	KIND_GLOB = 'g',
};

static const uint32_t compile_options = PCRE2_UTF | PCRE2_ALT_CIRCUMFLEX | PCRE2_NEVER_BACKSLASH_C;

/* Compiles (or finds in the cache) a pattern. `extra` distinguishes keys: the delimiters of a
 * template or the separators of a glob. The caller releases *ret with entry_release. */
static int
regex_get(struct rego_builtin_ctx *ctx, enum pattern_kind kind, const char *extra, size_t extra_len,
          const char *pattern, size_t len, const uint32_t *seps, size_t nseps,
          struct regex_entry **ret)
{
	pthread_once(&contexts_once, contexts_init);
	if (!compile_context || !match_context)
		return out_of_memory(ctx);
	if (len > REGO_REGEX_MAX_PATTERN)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "error parsing regexp: expression too large");
	size_t key_len = 1 + sizeof(uint32_t) + extra_len + len;
	char *key = rego_arena_alloc(ctx->arena, key_len);
	if (!key)
		return out_of_memory(ctx);
	uint32_t extra_len32 = (uint32_t)extra_len;
	key[0] = (char)kind;
	memcpy(key + 1, &extra_len32, sizeof(extra_len32));
	if (extra_len > 0)
		memcpy(key + 1 + sizeof(uint32_t), extra, extra_len);
	if (len > 0)
		memcpy(key + 1 + sizeof(uint32_t) + extra_len, pattern, len);
	struct regex_entry *e = cache_acquire(key, key_len);
	if (e) {
		*ret = e;
		return 0;
	}

	struct rego_regex_translation tr = { 0 };
	int r;
	if (kind == KIND_GLOB) {
		struct rego_strbuf sb;
		const char *glob_error = NULL;
		rego_strbuf_init(&sb, ctx->arena);
		r = glob_translate(ctx->arena, pattern, len, seps, nseps, &sb, &glob_error);
		if (r == JIT_ERR_INVALID)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%s", glob_error);
		if (r < 0)
			return out_of_memory(ctx);
		tr.pattern = sb.data;
		tr.length = sb.length;
	} else {
		const char *go_pattern = pattern;
		size_t go_len = len;
		if (kind == KIND_TEMPLATE) {
			struct rego_strbuf sb;
			rego_strbuf_init(&sb, ctx->arena);
			if ((r = template_pattern(ctx, pattern, len, extra[0], extra[1], &sb)) < 0)
				return r;
			go_pattern = sb.data;
			go_len = sb.length;
		}
		r = rego_regex_translate(ctx->arena, go_pattern, go_len, &tr);
		if (r == -ENOMEM)
			return out_of_memory(ctx);
		if (r < 0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%s", tr.error);
	}

	int code_error;
	PCRE2_SIZE error_offset;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)tr.pattern, tr.length, compile_options,
	                                 &code_error, &error_offset, compile_context);
	if (!code) {
		PCRE2_UCHAR message[160];
		if (pcre2_get_error_message(code_error, message, sizeof(message)) < 0)
			snprintf((char *)message, sizeof(message), "error %d", code_error);
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "error parsing regexp: %s: `%.*s`",
		                          (const char *)message, (int)(len > 200 ? 200 : len),
		                          pattern);
	}
	e = calloc(1, sizeof(*e));
	if (e)
		e->key = malloc(key_len);
	if (e && e->key && tr.ncaptures > 0)
		e->names = calloc(tr.ncaptures + 1, sizeof(*e->names));
	if (!e || !e->key || (tr.ncaptures > 0 && !e->names)) {
		pcre2_code_free(code);
		entry_free(e);
		return out_of_memory(ctx);
	}
	e->code = code;
	memcpy(e->key, key, key_len);
	e->key_len = key_len;
	e->ncaptures = tr.ncaptures;
	e->refs = 1;
	for (uint32_t k = 1; k <= tr.ncaptures; k++) {
		if (tr.names && tr.names[k]) {
			e->names[k] = strdup(tr.names[k]);
			if (!e->names[k]) {
				entry_free(e);
				return out_of_memory(ctx);
			}
		}
	}
	cache_insert(e);
	*ret = e;
	return 0;
}

/* ---- subjects and matching -------------------------------------------------------------- */

/* A subject as PCRE2 sees it: valid UTF-8. Invalid bytes of the original become U+FFFD (as Go
 * reads them) and `map` translates offsets back to the original. */
struct subject {
	const char *s;
	size_t len;
	const char *orig;
	size_t *map; /* NULL when s == orig */
};

static int
subject_init(struct rego_builtin_ctx *ctx, const char *s, size_t len, struct subject *subj)
{
	subj->s = subj->orig = s;
	subj->len = len;
	subj->map = NULL;
	size_t bad = 0;
	for (size_t i = 0; i < len;) {
		size_t at = i;
		if (rego_utf8_next(s, len, &i) == 0xfffd && i == at + 1)
			bad++;
	}
	if (bad == 0)
		return 0;
	size_t new_len = len + 2 * bad;
	char *copy = rego_arena_alloc(ctx->arena, new_len + 1);
	size_t *map = rego_arena_alloc(ctx->arena, sizeof(*map) * (new_len + 1));
	if (!copy || !map)
		return out_of_memory(ctx);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t at = i;
		uint32_t r = rego_utf8_next(s, len, &i);
		if (r == 0xfffd && i == at + 1) {
			memcpy(copy + o, "\xef\xbf\xbd", 3);
			map[o] = map[o + 1] = map[o + 2] = at;
			o += 3;
		} else {
			for (size_t k = at; k < i; k++) {
				copy[o] = s[k];
				map[o++] = k;
			}
		}
	}
	map[o] = len;
	copy[o] = '\0';
	subj->s = copy;
	subj->len = new_len;
	subj->map = map;
	return 0;
}

static size_t
subject_offset(const struct subject *subj, size_t off)
{
	return subj->map ? subj->map[off] : off;
}

static int
match_failure(struct rego_builtin_ctx *ctx, int rc)
{
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "regular expression match limit exceeded");
	if (rc == PCRE2_ERROR_NOMEMORY)
		return out_of_memory(ctx);
	PCRE2_UCHAR message[160];
	if (pcre2_get_error_message(rc, message, sizeof(message)) < 0)
		snprintf((char *)message, sizeof(message), "error %d", rc);
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "regular expression match failed: %s",
	                          (const char *)message);
}

/* Leftmost-first match at or after `start`. Returns 1 (ovector in md), 0 when none, or a
 * negative code with the error recorded. */
static int
regex_search(struct rego_builtin_ctx *ctx, struct regex_entry *e, const struct subject *subj,
             size_t start, pcre2_match_data *md)
{
	int rc = pcre2_match(e->code, (PCRE2_SPTR)subj->s, subj->len, start, PCRE2_NO_UTF_CHECK, md,
	                     match_context);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return match_failure(ctx, rc);
	return 1;
}

/* Whether the pattern matches anywhere: the DFA matcher, which cannot backtrack
 * exponentially; falls back to regex_search if the DFA needs more than its workspace. */
static int
regex_test(struct rego_builtin_ctx *ctx, struct regex_entry *e, const struct subject *subj)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	if (!md)
		return out_of_memory(ctx);
	int rc = PCRE2_ERROR_DFA_WSSIZE;
	for (size_t ws = 1024; ws <= REGEX_DFA_WORKSPACE_MAX && rc == PCRE2_ERROR_DFA_WSSIZE;
	     ws *= 4) {
		int *workspace = malloc(ws * sizeof(int));
		if (!workspace) {
			pcre2_match_data_free(md);
			return out_of_memory(ctx);
		}
		rc = pcre2_dfa_match(e->code, (PCRE2_SPTR)subj->s, subj->len, 0, PCRE2_NO_UTF_CHECK,
		                     md, match_context, workspace, ws);
		free(workspace);
	}
	if (rc == PCRE2_ERROR_DFA_WSSIZE || rc == PCRE2_ERROR_DFA_UITEM ||
	    rc == PCRE2_ERROR_DFA_UCOND || rc == PCRE2_ERROR_DFA_RECURSE) {
		int found = regex_search(ctx, e, subj, 0, md);
		pcre2_match_data_free(md);
		return found;
	}
	pcre2_match_data_free(md);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return match_failure(ctx, rc);
	return 1;
}

/* Go's allMatches: up to n (all when n < 0) successive non-overlapping matches; an empty
 * match right after a previous match is skipped. Calls deliver for each. */
typedef int (*match_sink)(struct rego_builtin_ctx *ctx, struct regex_entry *e,
                          const struct subject *subj, const PCRE2_SIZE *ov, void *data);

static int
all_matches(struct rego_builtin_ctx *ctx, struct regex_entry *e, const struct subject *subj,
            int64_t n, match_sink deliver, void *data)
{
	if (n < 0)
		n = (int64_t)subj->len + 1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(e->code, NULL);
	if (!md)
		return out_of_memory(ctx);
	int r = 0;
	size_t pos = 0;
	long prev_end = -1;
	for (int64_t i = 0; i < n && pos <= subj->len;) {
		r = regex_search(ctx, e, subj, pos, md);
		if (r <= 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		bool accept = true;
		if (ov[1] == pos) {
			if ((long)ov[0] == prev_end)
				accept = false;
			if (pos < subj->len)
				rego_utf8_next(subj->s, subj->len, &pos);
			else
				pos = subj->len + 1;
		} else {
			pos = ov[1];
		}
		prev_end = (long)ov[1];
		if (accept) {
			r = deliver(ctx, e, subj, ov, data);
			if (r < 0)
				break;
			i++;
		}
	}
	pcre2_match_data_free(md);
	return r < 0 ? r : 0;
}

static const struct rego_value *
subject_slice(struct rego_builtin_ctx *ctx, const struct subject *subj, PCRE2_SIZE from,
              PCRE2_SIZE to)
{
	size_t a = subject_offset(subj, from), b = subject_offset(subj, to);
	return rego_string(ctx->arena, subj->orig + a, b - a);
}

/* ---- regex.match, re_match, regex.is_valid ---------------------------------------------- */

static int
string_args(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, int n)
{
	for (int k = 0; k < n; k++)
		if (args[k]->type != REGO_STRING)
			return rego_builtin_type_error(ctx, k + 1, "string", args[k]);
	return 0;
}

static int
builtin_regex_match(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	int r;
	struct regex_entry *e;
	struct subject subj;
	if ((r = string_args(ctx, args, 2)) < 0 ||
	    (r = regex_get(ctx, KIND_REGEX, "", 0, args[0]->u.string, args[0]->length, NULL, 0,
	                   &e)) < 0)
		return r;
	r = subject_init(ctx, args[1]->u.string, args[1]->length, &subj);
	if (r == 0)
		r = regex_test(ctx, e, &subj);
	entry_release(e);
	if (r < 0)
		return r;
	*ret = rego_bool(r > 0);
	return 0;
}

static int
builtin_regex_is_valid(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                       const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING) {
		*ret = &rego_false_value;
		return 0;
	}
	struct rego_regex_translation tr;
	int r = rego_regex_translate(ctx->arena, args[0]->u.string, args[0]->length, &tr);
	if (r == -ENOMEM)
		return out_of_memory(ctx);
	*ret = rego_bool(r == 0);
	return 0;
}

/* ---- regex.find_n, regex.find_all_string_submatch_n, regex.split ------------------------ */

static int
int_operand(struct rego_builtin_ctx *ctx, const struct rego_value *v, int pos, int64_t *ret)
{
	if (v->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, pos, "number", v);
	if (!rego_number_int64(v, ret))
		return rego_builtin_error(
		        ctx, REGO_ERR_TYPE,
		        "operand %d must be integer number but got floating-point "
		        "number",
		        pos);
	return 0;
}

static int
deliver_match(struct rego_builtin_ctx *ctx, struct regex_entry *e, const struct subject *subj,
              const PCRE2_SIZE *ov, void *data)
{
	const struct rego_value *v = subject_slice(ctx, subj, ov[0], ov[1]);
	if (!v || rego_vec_push(data, v) < 0)
		return out_of_memory(ctx);
	return 0;
}

static int
deliver_submatches(struct rego_builtin_ctx *ctx, struct regex_entry *e, const struct subject *subj,
                   const PCRE2_SIZE *ov, void *data)
{
	struct rego_vec groups;
	rego_vec_init(&groups, ctx->arena);
	for (uint32_t k = 0; k <= e->ncaptures; k++) {
		const struct rego_value *v = &rego_empty_string;
		if (ov[2 * k] != PCRE2_UNSET)
			v = subject_slice(ctx, subj, ov[2 * k], ov[2 * k + 1]);
		if (!v || rego_vec_push(&groups, v) < 0)
			return out_of_memory(ctx);
	}
	const struct rego_value *arr = rego_vec_to_array(&groups);
	if (!arr || rego_vec_push(data, arr) < 0)
		return out_of_memory(ctx);
	return 0;
}

static int
find_common(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, match_sink sink,
            const struct rego_value **ret)
{
	int r;
	int64_t n;
	struct regex_entry *e;
	struct subject subj;
	if ((r = string_args(ctx, args, 2)) < 0 || (r = int_operand(ctx, args[2], 3, &n)) < 0 ||
	    (r = regex_get(ctx, KIND_REGEX, "", 0, args[0]->u.string, args[0]->length, NULL, 0,
	                   &e)) < 0)
		return r;
	struct rego_vec out;
	rego_vec_init(&out, ctx->arena);
	r = subject_init(ctx, args[1]->u.string, args[1]->length, &subj);
	if (r == 0 && n != 0)
		r = all_matches(ctx, e, &subj, n, sink, &out);
	entry_release(e);
	if (r < 0)
		return r;
	*ret = rego_vec_to_array(&out);
	return *ret ? 0 : out_of_memory(ctx);
}

static int
builtin_regex_find_n(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                     const struct rego_value **ret)
{
	return find_common(ctx, args, deliver_match, ret);
}

static int
builtin_regex_find_all_submatch(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                                const struct rego_value **ret)
{
	return find_common(ctx, args, deliver_submatches, ret);
}

struct split_state {
	struct rego_vec pieces;
	size_t beg, end;
};

static int
deliver_split(struct rego_builtin_ctx *ctx, struct regex_entry *e, const struct subject *subj,
              const PCRE2_SIZE *ov, void *data)
{
	struct split_state *st = data;
	st->end = ov[0];
	if (ov[1] != 0) {
		const struct rego_value *v = subject_slice(ctx, subj, st->beg, st->end);
		if (!v || rego_vec_push(&st->pieces, v) < 0)
			return out_of_memory(ctx);
	}
	st->beg = ov[1];
	return 0;
}

/* Go's Regexp.Split(s, -1). */
static int
builtin_regex_split(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	int r;
	struct regex_entry *e;
	struct subject subj;
	if ((r = string_args(ctx, args, 2)) < 0 ||
	    (r = regex_get(ctx, KIND_REGEX, "", 0, args[0]->u.string, args[0]->length, NULL, 0,
	                   &e)) < 0)
		return r;
	struct split_state st = { .beg = 0, .end = 0 };
	rego_vec_init(&st.pieces, ctx->arena);
	if (args[0]->length > 0 && args[1]->length == 0) {
		entry_release(e);
		*ret = rego_array(ctx->arena,
		                  (const struct rego_value *const[]){ &rego_empty_string }, 1);
		return *ret ? 0 : out_of_memory(ctx);
	}
	r = subject_init(ctx, args[1]->u.string, args[1]->length, &subj);
	if (r == 0)
		r = all_matches(ctx, e, &subj, -1, deliver_split, &st);
	entry_release(e);
	if (r < 0)
		return r;
	if (st.end != subj.len) {
		const struct rego_value *v = subject_slice(ctx, &subj, st.beg, subj.len);
		if (!v || rego_vec_push(&st.pieces, v) < 0)
			return out_of_memory(ctx);
	}
	*ret = rego_vec_to_array(&st.pieces);
	return *ret ? 0 : out_of_memory(ctx);
}

/* ---- regex.replace ---------------------------------------------------------------------- */

static bool
is_name_byte(unsigned char c)
{
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* Appends group k of the match (original bytes) when it took part. */
static int
append_group(struct rego_strbuf *sb, const struct subject *subj, const PCRE2_SIZE *ov, uint32_t k)
{
	if (ov[2 * k] == PCRE2_UNSET)
		return 0;
	size_t a = subject_offset(subj, ov[2 * k]), b = subject_offset(subj, ov[2 * k + 1]);
	return rego_strbuf_append(sb, subj->orig + a, b - a);
}

/* Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$. */
static int
expand_template(struct rego_strbuf *sb, struct regex_entry *e, const struct subject *subj,
                const PCRE2_SIZE *ov, const char *tpl, size_t len)
{
	int r = 0;
	size_t i = 0;
	while (i < len && r == 0) {
		const char *dollar = memchr(tpl + i, '$', len - i);
		if (!dollar)
			break;
		size_t at = (size_t)(dollar - tpl);
		r = rego_strbuf_append(sb, tpl + i, at - i);
		i = at + 1;
		if (r < 0)
			break;
		if (i < len && tpl[i] == '$') {
			r = rego_strbuf_append(sb, "$", 1);
			i++;
			continue;
		}
		/* extract: a name of letters, digits and '_', optionally in braces. */
		bool brace = i < len && tpl[i] == '{';
		size_t name_start = i + (brace ? 1 : 0), k = name_start;
		while (k < len && is_name_byte((unsigned char)tpl[k]))
			k++;
		size_t name_len = k - name_start;
		bool ok = name_len > 0 && (!brace || (k < len && tpl[k] == '}'));
		if (!ok) {
			r = rego_strbuf_append(sb, "$", 1);
			continue;
		}
		i = brace ? k + 1 : k;
		const char *name = tpl + name_start;
		long num = 0;
		for (size_t d = 0; d < name_len; d++) {
			if (name[d] < '0' || name[d] > '9' || num >= 100000000) {
				num = -1;
				break;
			}
			num = num * 10 + (name[d] - '0');
		}
		if (name[0] == '0' && name_len > 1)
			num = -1;
		if (num >= 0) {
			if ((uint64_t)num <= e->ncaptures)
				r = append_group(sb, subj, ov, (uint32_t)num);
		} else if (e->names) {
			for (uint32_t g = 1; g <= e->ncaptures; g++) {
				if (e->names[g] && strlen(e->names[g]) == name_len &&
				    memcmp(e->names[g], name, name_len) == 0) {
					r = append_group(sb, subj, ov, g);
					break;
				}
			}
		}
	}
	if (r == 0 && i < len)
		r = rego_strbuf_append(sb, tpl + i, len - i);
	return r;
}

/* Go's Regexp.ReplaceAllString. */
static int
builtin_regex_replace(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret)
{
	int r;
	struct regex_entry *e;
	struct subject subj;
	if ((r = string_args(ctx, args, 3)) < 0 ||
	    (r = regex_get(ctx, KIND_REGEX, "", 0, args[1]->u.string, args[1]->length, NULL, 0,
	                   &e)) < 0)
		return r;
	pcre2_match_data *md = NULL;
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	r = subject_init(ctx, args[0]->u.string, args[0]->length, &subj);
	if (r == 0) {
		md = pcre2_match_data_create_from_pattern(e->code, NULL);
		if (!md)
			r = out_of_memory(ctx);
	}
	size_t last_end = 0, search = 0;
	while (r == 0 && search <= subj.len) {
		int found = regex_search(ctx, e, &subj, search, md);
		if (found < 0) {
			r = found;
			break;
		}
		if (found == 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		size_t a = subject_offset(&subj, last_end), b = subject_offset(&subj, ov[0]);
		if (rego_strbuf_append(&sb, subj.orig + a, b - a) < 0) {
			r = out_of_memory(ctx);
			break;
		}
		/* No replacement for an empty match right after the previous match. */
		if ((ov[1] > last_end || ov[0] == 0) &&
		    expand_template(&sb, e, &subj, ov, args[2]->u.string, args[2]->length) < 0) {
			r = out_of_memory(ctx);
			break;
		}
		last_end = ov[1];
		size_t width = 1;
		if (search < subj.len) {
			size_t next = search;
			rego_utf8_next(subj.s, subj.len, &next);
			width = next - search;
		}
		if (search + width > ov[1])
			search += width;
		else if (search + 1 > ov[1])
			search++;
		else
			search = ov[1];
	}
	if (md)
		pcre2_match_data_free(md);
	entry_release(e);
	if (r < 0)
		return r;
	size_t a = subject_offset(&subj, last_end);
	if (rego_strbuf_append(&sb, subj.orig + a, args[0]->length - a) < 0)
		return out_of_memory(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : out_of_memory(ctx);
}

/* ---- regex.template_match --------------------------------------------------------------- */

static int
builtin_regex_template_match(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                             const struct rego_value **ret)
{
	int r;
	if ((r = string_args(ctx, args, 4)) < 0)
		return r;
	if (args[2]->length != 1)
		return rego_builtin_error(
		        ctx, REGO_ERR_BUILTIN,
		        "start delimiter has to be exactly one character long but "
		        "is %u long",
		        args[2]->length);
	if (args[3]->length != 1)
		/* OPA reports the start delimiter's length here. */
		return rego_builtin_error(
		        ctx, REGO_ERR_BUILTIN,
		        "end delimiter has to be exactly one character long but is "
		        "%u long",
		        args[2]->length);
	char delims[2] = { args[2]->u.string[0], args[3]->u.string[0] };
	struct regex_entry *e;
	struct subject subj;
	if ((r = regex_get(ctx, KIND_TEMPLATE, delims, 2, args[0]->u.string, args[0]->length, NULL,
	                   0, &e)) < 0)
		return r;
	r = subject_init(ctx, args[1]->u.string, args[1]->length, &subj);
	if (r == 0)
		r = regex_test(ctx, e, &subj);
	entry_release(e);
	if (r < 0)
		return r;
	*ret = rego_bool(r > 0);
	return 0;
}

/* ---- glob.match, glob.quote_meta -------------------------------------------------------- */

static int
builtin_glob_match(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	const struct rego_value *pattern = args[0], *delims = args[1], *subject = args[2];
	if (pattern->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", pattern);
	static const uint32_t default_seps[] = { '.' };
	const uint32_t *seps = NULL;
	size_t nseps = 0;
	if (delims->type == REGO_ARRAY) {
		uint32_t *list = rego_arena_alloc(ctx->arena, sizeof(*list) * (delims->length + 1));
		if (!list)
			return out_of_memory(ctx);
		for (size_t k = 0; k < delims->length; k++) {
			const struct rego_value *d = delims->u.items[k];
			if (d->type != REGO_STRING)
				return rego_builtin_error(
				        ctx, REGO_ERR_TYPE,
				        "operand 2 must be array of strings but got "
				        "array containing %s",
				        rego_type_name(d));
			size_t i = 0;
			uint32_t cp =
			        d->length > 0 ? rego_utf8_next(d->u.string, d->length, &i) : 0;
			if (d->length == 0 || i != d->length)
				return rego_builtin_error(
				        ctx, REGO_ERR_TYPE,
				        "operand 2 must be array of runes but got array "
				        "containing string");
			list[k] = cp;
		}
		seps = list;
		nseps = delims->length;
		if (nseps == 0) {
			seps = default_seps;
			nseps = 1;
		}
	} else if (delims->type != REGO_NULL) {
		return rego_builtin_error(ctx, REGO_ERR_TYPE,
		                          "operand 2 must be one of {array, null} but got %s",
		                          rego_type_name(delims));
	}
	if (subject->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 3, "string", subject);
	/* The cache key carries the separators as UTF-32 code units. */
	struct regex_entry *e;
	struct subject subj;
	int r = regex_get(ctx, KIND_GLOB, (const char *)seps, nseps * sizeof(uint32_t),
	                  pattern->u.string, pattern->length, seps, nseps, &e);
	if (r < 0)
		return r;
	r = subject_init(ctx, subject->u.string, subject->length, &subj);
	if (r == 0)
		r = regex_test(ctx, e, &subj);
	entry_release(e);
	if (r < 0)
		return r;
	*ret = rego_bool(r > 0);
	return 0;
}

static int
builtin_glob_quote_meta(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                        const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	int r = 0;
	const char *s = args[0]->u.string;
	for (size_t i = 0; i < args[0]->length && r == 0; i++) {
		if (s[i] != '\0' && strchr("*?\\[]{}", s[i]))
			r = rego_strbuf_append(&sb, "\\", 1);
		if (r == 0)
			r = rego_strbuf_append(&sb, s + i, 1);
	}
	if (r < 0)
		return out_of_memory(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : out_of_memory(ctx);
}

/* ---- regex.globs_match (glob-intersection) ---------------------------------------------- */

enum gi_type {
	GI_CHAR,
	GI_DOT,
	GI_SET,
};

enum gi_flag {
	GI_NONE,
	GI_PLUS,
	GI_STAR,
};

struct gi_token {
	enum gi_type type;
	enum gi_flag flag;
	uint32_t rune;          /* GI_CHAR */
	const uint32_t *set_lo; /* GI_SET: inclusive ranges */
	const uint32_t *set_hi;
	size_t nset;
};

struct gi_glob {
	struct gi_token *tokens;
	size_t n;
};

static int
gi_error(struct rego_builtin_ctx *ctx, const char *src, size_t src_len, size_t pos, const char *msg)
{
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
	                          "input:%.*s, pos:%zu, %s: the input provided is invalid",
	                          (int)src_len, src, pos, msg);
}

/* glob-intersection's nextRune: a backslash escapes the next rune. */
static int
gi_next_rune(struct rego_builtin_ctx *ctx, const uint32_t *in, size_t n, const char *src,
             size_t src_len, size_t index, size_t *ret_index, uint32_t *ret_rune, bool *ret_escaped)
{
	if (index >= n)
		return 1; /* end of input */
	if (in[index] == '\\') {
		if (index + 1 < n) {
			*ret_index = index + 2;
			*ret_rune = in[index + 1];
			*ret_escaped = true;
			return 0;
		}
		return gi_error(ctx, src, src_len, index,
		                "input ends with a \\ (escape) character");
	}
	*ret_index = index + 1;
	*ret_rune = in[index];
	*ret_escaped = false;
	return 0;
}

static int
gi_tokenize(struct rego_builtin_ctx *ctx, const struct rego_value *v, struct gi_glob *ret)
{
	const char *src = v->u.string;
	size_t src_len = v->length;
	size_t n = rego_utf8_length(src, src_len);
	uint32_t *in = rego_arena_alloc(ctx->arena, sizeof(*in) * (n + 1));
	struct gi_token *tokens = rego_arena_alloc(ctx->arena, sizeof(*tokens) * (n + 1));
	uint32_t *set_lo = rego_arena_alloc(ctx->arena, sizeof(*set_lo) * (n + 1));
	uint32_t *set_hi = rego_arena_alloc(ctx->arena, sizeof(*set_hi) * (n + 1));
	if (!in || !tokens || !set_lo || !set_hi)
		return out_of_memory(ctx);
	for (size_t i = 0, k = 0; i < src_len; k++)
		in[k] = rego_utf8_next(src, src_len, &i);
	size_t ntok = 0, nset_total = 0, index = 0;
	for (;;) {
		uint32_t r = 0;
		bool escaped = false;
		size_t next = index;
		int rc = gi_next_rune(ctx, in, n, src, src_len, index, &next, &r, &escaped);
		if (rc < 0)
			return rc;
		if (rc > 0)
			break;
		struct gi_token tok = { .type = GI_CHAR, .rune = r };
		if (!escaped && r == '.') {
			tok.type = GI_DOT;
		} else if (!escaped && r == ']') {
			return gi_error(ctx, src, src_len, next,
			                "set-close ']' with no preceding '['");
		} else if (!escaped && (r == '+' || r == '*')) {
			return gi_error(ctx, src, src_len, next,
			                r == '+' ? "flag '+' must be preceded by a non-flag"
			                         : "flag '*' must be preceded by a non-flag");
		} else if (!escaped && r == '[') {
			tok.type = GI_SET;
			tok.set_lo = set_lo + nset_total;
			tok.set_hi = set_hi + nset_total;
			bool complete = false, prev_exists = false;
			uint32_t prev = 0;
			for (;;) {
				rc = gi_next_rune(ctx, in, n, src, src_len, next, &next, &r,
				                  &escaped);
				if (rc < 0)
					return rc;
				if (rc > 0)
					break;
				if (!escaped && r == '-') {
					if (!prev_exists)
						return gi_error(
						        ctx, src, src_len, next,
						        "range character '-' must be preceded by "
						        "a Unicode character");
					if (next >= n - 1)
						return gi_error(
						        ctx, src, src_len, next,
						        "range character '-' must be followed by "
						        "a Unicode character");
					rc = gi_next_rune(ctx, in, n, src, src_len, next, &next, &r,
					                  &escaped);
					if (rc < 0)
						return rc;
					if (!escaped && (r == ']' || r == '-'))
						return gi_error(
						        ctx, src, src_len, next,
						        "range character '-' cannot be followed "
						        "by a special symbol");
					if (r < prev) {
						char a[4], b[4], msg[96];
						size_t na = rego_utf8_encode(r, a);
						size_t nb = rego_utf8_encode(prev, b);
						snprintf(msg, sizeof(msg),
						         "range is out of order: '%.*s' comes "
						         "before "
						         "'%.*s' in Unicode",
						         (int)na, a, (int)nb, b);
						return gi_error(ctx, src, src_len, next, msg);
					}
					/* prev is already in the set as a single rune: widen it. */
					set_hi[nset_total - 1] = r;
					prev_exists = false;
				} else if (!escaped && r == ']') {
					complete = true;
					break;
				} else {
					set_lo[nset_total] = set_hi[nset_total] = r;
					nset_total++;
					tok.nset++;
					prev = r;
					prev_exists = true;
				}
			}
			if (!complete)
				return gi_error(ctx, src, src_len, next,
				                "found [ without matching ]");
		}
		/* An optional flag follows an unescaped '+' or '*'. */
		index = next;
		if (index < n && (in[index] == '+' || in[index] == '*')) {
			tok.flag = in[index] == '+' ? GI_PLUS : GI_STAR;
			index++;
		}
		tokens[ntok++] = tok;
	}
	ret->tokens = tokens;
	ret->n = ntok;
	return 0;
}

static bool
gi_set_has(const struct gi_token *s, uint32_t r)
{
	for (size_t k = 0; k < s->nset; k++)
		if (r >= s->set_lo[k] && r <= s->set_hi[k])
			return true;
	return false;
}

/* Whether some character matches both tokens. */
static bool
gi_match(const struct gi_token *a, const struct gi_token *b)
{
	if (a->type > b->type) {
		const struct gi_token *t = a;
		a = b;
		b = t;
	}
	if (a->type == GI_CHAR) {
		if (b->type == GI_CHAR)
			return a->rune == b->rune;
		if (b->type == GI_DOT)
			return true;
		return gi_set_has(b, a->rune);
	}
	if (a->type == GI_DOT)
		return b->type == GI_DOT || b->nset > 0;
	/* two sets: do the ranges overlap? */
	for (size_t i = 0; i < a->nset; i++)
		for (size_t j = 0; j < b->nset; j++)
			if (a->set_lo[i] <= b->set_hi[j] && b->set_lo[j] <= a->set_hi[i])
				return true;
	return false;
}

/* Non-emptiness of the intersection of two globs, decided exactly on the product of their
 * automata: state (i, j, consumed) means "before token i of g1 and j of g2". */
static int
gi_intersect(struct rego_builtin_ctx *ctx, const struct gi_glob *g1, const struct gi_glob *g2,
             bool *ret)
{
	size_t w = g2->n + 1, states = (g1->n + 1) * w * 2;
	if (g1->n == 0 && g2->n == 0) {
		*ret = true;
		return 0;
	}
	if ((g1->n + 1) > SIZE_MAX / w / 2 / sizeof(size_t) || states > 16u * 1024 * 1024)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "globs too large to intersect");
	unsigned char *seen = rego_arena_zalloc(ctx->arena, states);
	size_t *stack = rego_arena_alloc(ctx->arena, states * sizeof(*stack));
	if (!seen || !stack)
		return out_of_memory(ctx);
	size_t top = 0;
#define GI_STATE(i, j, c) ((((i)*w) + (j)) * 2 + (c))
#define GI_PUSH(i, j, c)                       \
	do {                                   \
		size_t s_ = GI_STATE(i, j, c); \
		if (!seen[s_]) {               \
			seen[s_] = 1;          \
			stack[top++] = s_;     \
		}                              \
	} while (0)
	GI_PUSH(0, 0, 0);
	while (top > 0) {
		size_t s = stack[--top];
		size_t c = s % 2, ij = s / 2, i = ij / w, j = ij % w;
		if (i == g1->n && j == g2->n && c == 1) {
			*ret = true;
			return 0;
		}
		/* Skip a starred token without consuming. */
		if (i < g1->n && g1->tokens[i].flag == GI_STAR)
			GI_PUSH(i + 1, j, c);
		if (j < g2->n && g2->tokens[j].flag == GI_STAR)
			GI_PUSH(i, j + 1, c);
		/* Consume one common character. */
		if (i < g1->n && j < g2->n && gi_match(&g1->tokens[i], &g2->tokens[j])) {
			bool loop1 = g1->tokens[i].flag != GI_NONE,
			     loop2 = g2->tokens[j].flag != GI_NONE;
			GI_PUSH(i + 1, j + 1, 1);
			if (loop1)
				GI_PUSH(i, j + 1, 1);
			if (loop2)
				GI_PUSH(i + 1, j, 1);
			if (loop1 && loop2)
				GI_PUSH(i, j, 1);
		}
	}
#undef GI_PUSH
#undef GI_STATE
	*ret = false;
	return 0;
}

static int
builtin_regex_globs_match(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                          const struct rego_value **ret)
{
	int r;
	struct gi_glob g1, g2;
	bool result = false;
	if ((r = string_args(ctx, args, 2)) < 0 || (r = gi_tokenize(ctx, args[0], &g1)) < 0 ||
	    (r = gi_tokenize(ctx, args[1], &g2)) < 0 ||
	    (r = gi_intersect(ctx, &g1, &g2, &result)) < 0)
		return r;
	*ret = rego_bool(result);
	return 0;
}

const struct rego_builtin rego_builtins_regex[] = {
	{ "glob.match", 3, 0, builtin_glob_match },
	{ "glob.quote_meta", 1, 0, builtin_glob_quote_meta },
	{ "re_match", 2, REGO_BUILTIN_DEPRECATED, builtin_regex_match },
	{ "regex.find_all_string_submatch_n", 3, 0, builtin_regex_find_all_submatch },
	{ "regex.find_n", 3, 0, builtin_regex_find_n },
	{ "regex.globs_match", 2, 0, builtin_regex_globs_match },
	{ "regex.is_valid", 1, 0, builtin_regex_is_valid },
	{ "regex.match", 2, 0, builtin_regex_match },
	{ "regex.replace", 3, 0, builtin_regex_replace },
	{ "regex.split", 2, 0, builtin_regex_split },
	{ "regex.template_match", 4, 0, builtin_regex_template_match },
	{ NULL, 0, 0, NULL },
};
