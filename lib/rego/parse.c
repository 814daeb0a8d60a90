/* Lexer and recursive-descent parser for Rego modules, queries and terms, both syntaxes.
 * Builds the tree of ast.h in the caller's arena. Trusts nothing in the text: nesting is
 * bounded, every error carries a line and column, and no input can make it read out of
 * bounds. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/text.h"
#include "lib/common/errors.h"
#include "lib/rego/ast.h"

#define PARSE_MAX_DEPTH 200
/* Tokens a parse may read again after tentative parses that failed, per token of input, on top
 * of PARSE_REWIND_SLACK: keeps nested retries (a `{` that may be a body or a set, inside
 * another) linear in the input instead of exponential. */
#define PARSE_MAX_REWIND_PER_TOKEN 16
#define PARSE_REWIND_SLACK 4096

enum tok_kind {
	T_EOF = 0,
	T_IDENT,
	T_NUMBER,
	T_STRING,   /* value in tok.value */
	T_TEMPLATE, /* raw text between the quotes in text/length; tok.raw for `...` form */
	T_LBRACE,
	T_RBRACE,
	T_LBRACK,
	T_RBRACK,
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
	T_SEMI,
	T_DOT,
	T_COLON,
	T_ASSIGN, /* := */
	T_UNIFY,  /* = */
	T_EQ,
	T_NEQ,
	T_LT,
	T_LTE,
	T_GT,
	T_GTE,
	T_PLUS,
	T_MINUS,
	T_STAR,
	T_SLASH,
	T_PERCENT,
	T_AMP,
	T_BAR,
};

struct tok {
	uint8_t kind;
	bool nl_before;    /* a newline separates it from the previous token */
	bool space_before; /* any whitespace or comment before it */
	bool raw;          /* templates: backquoted form */
	struct rego_loc loc;
	const char *text; /* start in the source */
	uint32_t length;
	const struct rego_value *value; /* strings and numbers */
};

struct parser {
	struct rego_arena *arena;
	const char *src;
	size_t len;
	struct tok *toks;
	uint32_t count, pos;
	struct rego_parse_error *err;
	bool failed;
	bool v1;                                  /* v1 syntax rules */
	bool kw_if, kw_in, kw_contains, kw_every; /* keywords enabled */
	bool experimental, kw_and, kw_or;
	bool kw_not; /* `not { body }` */
	bool rego_v1_import;
	int depth;            /* recursion, bounded by PARSE_MAX_DEPTH */
	uint64_t rewound;     /* tokens given back by mark_reset, bounded as above */
	int nest;             /* open ( [ { of terms */
	int body_nest;        /* nest of the body being parsed: newlines end expressions there */
	bool no_bar;          /* `|` ends the term: the head of a comprehension */
	struct rego_loc base; /* offset for sub-parsers (templates) */
};

static void record_failure(struct parser *p, struct rego_loc loc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Records the first parse error; fail() also evaluates to JIT_ERR_INVALID, to return. A macro,
 * so that the static analyzer, which does not follow calls into variadic functions, sees that
 * the code is negative. */
#define fail(p, loc, ...) (record_failure((p), (loc), __VA_ARGS__), JIT_ERR_INVALID)

static void
record_failure(struct parser *p, struct rego_loc loc, const char *fmt, ...)
{
	if (!p->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
		va_end(ap);
		p->err->loc = loc;
		p->failed = true;
	}
}

/* A position to come back to when a tentative parse fails (for the few places where Rego
 * needs more than one token of lookahead). */
struct parse_mark {
	uint32_t pos;
	int depth, nest, body_nest;
	bool no_bar;
	struct rego_parse_error err;
};

static void
mark_take(const struct parser *p, struct parse_mark *m)
{
	m->pos = p->pos;
	m->depth = p->depth;
	m->nest = p->nest;
	m->body_nest = p->body_nest;
	m->no_bar = p->no_bar;
	m->err = *p->err;
}

/* Goes back to the mark, forgetting the failure since. Fails instead when the parse has gone
 * back over too many tokens already. */
static int
mark_reset(struct parser *p, const struct parse_mark *m)
{
	p->rewound += p->pos > m->pos ? p->pos - m->pos : 0;
	p->pos = m->pos;
	p->depth = m->depth;
	p->nest = m->nest;
	p->body_nest = m->body_nest;
	p->no_bar = m->no_bar;
	p->failed = false;
	*p->err = m->err;
	if (p->rewound > (uint64_t)p->count * PARSE_MAX_REWIND_PER_TOKEN + PARSE_REWIND_SLACK)
		return fail(p, p->toks[m->pos].loc, "expression too complex");
	return 0;
}

/* ---- lexer ----------------------------------------------------------------------------- */

static bool
is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decodes a double-quoted string body s[0..n) with JSON escapes (plus `\{` in templates when
 * `template` is set, which the caller handles before). */
static const struct rego_value *
unescape(struct parser *p, const char *s, size_t n, struct rego_loc loc)
{
	char *out = rego_arena_alloc(p->arena, n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (++i >= n) {
			record_failure(p, loc, "non-terminated string");
			return NULL;
		}
		switch (s[i]) {
		case '"':
		case '\\':
		case '/':
			out[o++] = s[i];
			break;
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u': {
			/* \uXXXX, and a surrogate pair written as two escapes. */
			uint32_t cp = 0;
			if (i + 4 >= n) {
				record_failure(p, loc, "invalid unicode escape in string");
				return NULL;
			}
			for (int k = 1; k <= 4; k++) {
				int h = jit_hex_digit(s[i + k]);
				if (h < 0) {
					record_failure(p, loc, "invalid unicode escape in string");
					return NULL;
				}
				cp = cp * 16 + (uint32_t)h;
			}
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < n && s[i + 1] == '\\' &&
			    s[i + 2] == 'u') {
				uint32_t low = 0;
				bool ok = true;
				for (int k = 3; k <= 6 && ok; k++) {
					int h = jit_hex_digit(s[i + k]);
					ok = h >= 0;
					low = low * 16 + (uint32_t)(h < 0 ? 0 : h);
				}
				if (ok && low >= 0xdc00 && low < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
					i += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			o += rego_utf8_encode(cp, out + o);
			break;
		}
		default:
			record_failure(p, loc, "invalid escape sequence \\%c in string", s[i]);
			return NULL;
		}
	}
	out[o] = '\0';
	return rego_string_wrap(p->arena, out, o);
}

static int
push_tok(struct parser *p, struct tok *t)
{
	if (p->count % 256 == 0) {
		void *n = rego_arena_realloc(p->arena, p->toks, p->count * sizeof(*p->toks),
		                             (p->count + 256) * sizeof(*p->toks));
		if (!n)
			return -ENOMEM;
		p->toks = n;
	}
	p->toks[p->count++] = *t;
	return 0;
}

static int
lex(struct parser *p)
{
	const char *s = p->src;
	size_t n = p->len, i = 0;
	uint32_t line = p->base.line ? p->base.line : 1;
	size_t line_start = 0;
	uint32_t col_base = p->base.line ? p->base.column - 1 : 0;
	bool nl = false, space = false;
	while (i < n) {
		char c = s[i];
		struct rego_loc loc = {
			line, (uint32_t)(i - line_start) + 1 +
			              (line == (p->base.line ? p->base.line : 1) ? col_base : 0)
		};
		if (c == '\n') {
			nl = space = true;
			line++;
			i++;
			line_start = i;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			space = true;
			i++;
			continue;
		}
		if (c == '#') {
			while (i < n && s[i] != '\n')
				i++;
			space = true;
			continue;
		}
		struct tok t = {
			.nl_before = nl, .space_before = space, .loc = loc, .text = s + i
		};
		nl = space = false;
		if (is_ident_start(c)) {
			size_t j = i;
			while (j < n && (is_ident_start(s[j]) || is_digit(s[j])))
				j++;
			t.kind = T_IDENT;
			t.length = (uint32_t)(j - i);
			i = j;
		} else if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(s[i + 1]) && false)) {
			size_t j = i;
			while (j < n && is_digit(s[j]))
				j++;
			if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
				j++;
				while (j < n && is_digit(s[j]))
					j++;
			}
			if (j < n && (s[j] == 'e' || s[j] == 'E')) {
				size_t k = j + 1;
				if (k < n && (s[k] == '+' || s[k] == '-'))
					k++;
				if (k < n && is_digit(s[k])) {
					while (k < n && is_digit(s[k]))
						k++;
					j = k;
				}
			}
			t.kind = T_NUMBER;
			t.length = (uint32_t)(j - i);
			t.value = rego_number_parse(p->arena, s + i, j - i);
			if (!t.value)
				return fail(p, loc, "invalid number %.*s", (int)(j - i), s + i);
			i = j;
		} else if (c == '"' || c == '`' ||
		           (c == '$' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '`'))) {
			bool template = c == '$';
			char q = template ? s[i + 1] : c;
			size_t j = i + (template ? 2 : 1);
			size_t start = j;
			while (j < n && s[j] != q) {
				if (s[j] == '\\' &&
				    (q == '"' || (template && j + 1 < n && s[j + 1] == '{')))
					j++;
				else if (q == '"' && s[j] == '\n')
					return fail(p, loc, "non-terminated string");
				else if (template && s[j] == '{') {
					/* Skip the interpolated expression, strings inside included. */
					int depth = 0;
					while (j < n) {
						if (s[j] == '{')
							depth++;
						else if (s[j] == '}' && --depth == 0)
							break;
						else if (s[j] == '"') {
							j++;
							while (j < n && s[j] != '"') {
								if (s[j] == '\\')
									j++;
								j++;
							}
						}
						j++;
					}
				}
				j++;
			}
			if (j >= n)
				return fail(p, loc, "non-terminated string");
			if (template) {
				t.kind = T_TEMPLATE;
				t.raw = q == '`';
				t.text = s + start;
				t.length = (uint32_t)(j - start);
			} else {
				t.kind = T_STRING;
				t.value = q == '`' ? rego_string(p->arena, s + start, j - start)
				                   : unescape(p, s + start, j - start, loc);
				if (!t.value)
					return p->failed ? JIT_ERR_INVALID : -ENOMEM;
			}
			for (size_t k = i; k < j; k++)
				if (s[k] == '\n') {
					line++;
					line_start = k + 1;
				}
			i = j + 1;
		} else {
			char d = i + 1 < n ? s[i + 1] : '\0';
			t.length = 1;
			switch (c) {
			case '{':
				t.kind = T_LBRACE;
				break;
			case '}':
				t.kind = T_RBRACE;
				break;
			case '[':
				t.kind = T_LBRACK;
				break;
			case ']':
				t.kind = T_RBRACK;
				break;
			case '(':
				t.kind = T_LPAREN;
				break;
			case ')':
				t.kind = T_RPAREN;
				break;
			case ',':
				t.kind = T_COMMA;
				break;
			case ';':
				t.kind = T_SEMI;
				break;
			case '.':
				t.kind = T_DOT;
				break;
			case ':':
				t.kind = d == '=' ? T_ASSIGN : T_COLON;
				break;
			case '=':
				t.kind = d == '=' ? T_EQ : T_UNIFY;
				break;
			case '!':
				if (d != '=')
					return fail(p, loc, "illegal ! character");
				t.kind = T_NEQ;
				break;
			case '<':
				t.kind = d == '=' ? T_LTE : T_LT;
				break;
			case '>':
				t.kind = d == '=' ? T_GTE : T_GT;
				break;
			case '+':
				t.kind = T_PLUS;
				break;
			case '-':
				t.kind = T_MINUS;
				break;
			case '*':
				t.kind = T_STAR;
				break;
			case '/':
				t.kind = T_SLASH;
				break;
			case '%':
				t.kind = T_PERCENT;
				break;
			case '&':
				t.kind = T_AMP;
				break;
			case '|':
				t.kind = T_BAR;
				break;
			default:
				return fail(p, loc, "illegal token %c", c);
			}
			if (t.kind == T_ASSIGN || t.kind == T_EQ || t.kind == T_NEQ ||
			    t.kind == T_LTE || t.kind == T_GTE)
				t.length = 2;
			i += t.length;
		}
		if (push_tok(p, &t) < 0)
			return -ENOMEM;
	}
	struct tok eof = { .kind = T_EOF,
		           .nl_before = true,
		           .space_before = true,
		           .loc = { line, (uint32_t)(i - line_start) + 1 },
		           .text = s + n };
	return push_tok(p, &eof);
}

/* ---- token helpers --------------------------------------------------------------------- */

static const struct tok *
peek(struct parser *p)
{
	return &p->toks[p->pos];
}

static const struct tok *
peek_at(struct parser *p, uint32_t k)
{
	uint32_t i = p->pos + k;
	return &p->toks[i < p->count ? i : p->count - 1];
}

static const struct tok *
next(struct parser *p)
{
	const struct tok *t = &p->toks[p->pos];
	if (p->pos + 1 < p->count)
		p->pos++;
	return t;
}

static bool
tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);
	return t->kind == T_IDENT && t->length == n && memcmp(t->text, word, n) == 0;
}

static bool
is_keyword(struct parser *p, const struct tok *t)
{
	static const char *const always[] = { "package", "import", "default", "else",
		                              "not",     "some",   "with",    "as",
		                              "true",    "false",  "null" };
	if (t->kind != T_IDENT)
		return false;
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (tok_is(t, always[i]))
			return true;
	return (p->kw_if && tok_is(t, "if")) || (p->kw_in && tok_is(t, "in")) ||
	       (p->kw_contains && tok_is(t, "contains")) || (p->kw_every && tok_is(t, "every"));
}

static bool
accept(struct parser *p, enum tok_kind kind)
{
	if (peek(p)->kind != kind)
		return false;
	next(p);
	return true;
}

static bool
accept_word(struct parser *p, const char *word)
{
	if (!tok_is(peek(p), word))
		return false;
	next(p);
	return true;
}

/* A keyword directly followed by `.` is a name (a rule or package called `if`, `as`, ...). So is
 * `contains(`, a call of the built-in: OPA reserves `contains` only in rule heads. Any other
 * keyword stays one before `(`: `not(x)` negates, `x in(s)` is membership. */
static bool
used_as_name(struct parser *p)
{
	const struct tok *n = peek_at(p, 1);
	if (n->space_before)
		return false;
	return n->kind == T_DOT || (n->kind == T_LPAREN && tok_is(peek(p), "contains"));
}

/* Is the next token the keyword `word` (and not a name spelled like it)? */
static bool
keyword_here(struct parser *p, const char *word)
{
	return tok_is(peek(p), word) && !used_as_name(p);
}

static bool
accept_keyword(struct parser *p, const char *word)
{
	if (!keyword_here(p, word))
		return false;
	next(p);
	return true;
}

/* The token as OPA names it in errors: "} token", "eof token", "ident token", "else keyword". */
static const char *
tok_desc(struct parser *p, const struct tok *t, char *buf, size_t n)
{
	switch (t->kind) {
	case T_EOF:
		return "eof token";
	case T_STRING:
		return "string token";
	case T_NUMBER:
		return "number token";
	case T_TEMPLATE:
		return "template string token";
	case T_IDENT:
		if (!is_keyword(p, t))
			return "ident token";
		snprintf(buf, n, "%.*s keyword", (int)t->length, t->text);
		return buf;
	default:
		snprintf(buf, n, "%.*s token", (int)t->length, t->text);
		return buf;
	}
}

static int
unexpected(struct parser *p)
{
	char buf[64];
	const struct tok *t = peek(p);
	return fail(p, t->loc, "unexpected %s", tok_desc(p, t, buf, sizeof(buf)));
}

static int
expect(struct parser *p, enum tok_kind kind, const char *what)
{
	if (accept(p, kind))
		return 0;
	char buf[64];
	const struct tok *t = peek(p);
	return fail(p, t->loc, "unexpected %s: expected %s", tok_desc(p, t, buf, sizeof(buf)),
	            what);
}

/* ---- node constructors ----------------------------------------------------------------- */

static struct rego_term *
term_new(struct parser *p, enum rego_term_kind kind, struct rego_loc loc)
{
	struct rego_term *t = rego_arena_zalloc(p->arena, sizeof(*t));
	if (t) {
		t->kind = kind;
		t->loc = loc;
	}
	return t;
}

static struct rego_term *
var_new(struct parser *p, const char *name, size_t len, struct rego_loc loc)
{
	struct rego_term *t = term_new(p, REGO_TERM_VAR, loc);
	if (t) {
		t->u.var.name = rego_arena_strndup(p->arena, name, len);
		if (!t->u.var.name)
			return NULL;
	}
	return t;
}

static struct rego_term *
scalar_new(struct parser *p, const struct rego_value *v, struct rego_loc loc)
{
	struct rego_term *t = term_new(p, REGO_TERM_SCALAR, loc);
	if (t)
		t->u.value = v;
	return t;
}

struct list {
	struct rego_term **items;
	uint32_t length, capacity;
};

static int
list_push(struct parser *p, struct list *l, struct rego_term *t)
{
	if (l->length == l->capacity) {
		uint32_t cap = l->capacity ? l->capacity * 2 : 4;
		void *n = rego_arena_realloc(p->arena, l->items, l->capacity * sizeof(*l->items),
		                             cap * sizeof(*l->items));
		if (!n)
			return -ENOMEM;
		l->items = n;
		l->capacity = cap;
	}
	l->items[l->length++] = t;
	return 0;
}

static struct rego_term_list
list_done(struct list *l)
{
	struct rego_term_list r = { l->items, l->length };
	return r;
}

/* A call of a built-in operator by name. */
static struct rego_term *
call_new(struct parser *p, const char *name, struct rego_loc loc, struct rego_term *a,
         struct rego_term *b, struct rego_term *c)
{
	struct rego_term *t = term_new(p, REGO_TERM_CALL, loc);
	if (!t)
		return NULL;
	const char *dot = strchr(name, '.');
	if (dot) {
		struct rego_term *ref = term_new(p, REGO_TERM_REF, loc);
		struct rego_term *head = var_new(p, name, (size_t)(dot - name), loc);
		struct rego_term *seg = scalar_new(p, rego_string_cstr(p->arena, dot + 1), loc);
		struct rego_term **segs = rego_arena_alloc(p->arena, sizeof(*segs));
		if (!ref || !head || !seg || !seg->u.value || !segs)
			return NULL;
		segs[0] = seg;
		ref->u.ref.head = head;
		ref->u.ref.segments.items = segs;
		ref->u.ref.segments.length = 1;
		t->u.call.fn = ref;
	} else {
		t->u.call.fn = var_new(p, name, strlen(name), loc);
		if (!t->u.call.fn)
			return NULL;
	}
	uint32_t n = c ? 3 : b ? 2 : 1;
	struct rego_term **args = rego_arena_alloc(p->arena, n * sizeof(*args));
	if (!args)
		return NULL;
	args[0] = a;
	if (n > 1)
		args[1] = b;
	if (n > 2)
		args[2] = c;
	t->u.call.args.items = args;
	t->u.call.args.length = n;
	return t;
}

/* ---- terms ----------------------------------------------------------------------------- */

static int parse_in(struct parser *p, struct rego_term **ret);
static int parse_in_kv(struct parser *p, struct rego_term **ret);
static int parse_rel(struct parser *p, struct rego_term **ret);
static int parse_body(struct parser *p, enum tok_kind end, struct rego_body **ret);
static int parse_template(struct parser *p, const struct tok *t, struct rego_term **ret);

static int
enter_nesting(struct parser *p, struct rego_loc loc)
{
	if (++p->depth > PARSE_MAX_DEPTH)
		return fail(p, loc, "nesting too deep");
	return 0;
}

static int
parse_args(struct parser *p, enum tok_kind end, struct rego_term_list *ret)
{
	struct list l = { 0 };
	int r;
	if (accept(p, end)) {
		*ret = list_done(&l);
		return 0;
	}
	for (;;) {
		struct rego_term *t;
		if ((r = parse_in(p, &t)) < 0)
			return r;
		if (list_push(p, &l, t) < 0)
			return -ENOMEM;
		if (accept(p, T_COMMA)) {
			if (accept(p, end))
				break;
			continue;
		}
		if ((r = expect(p, end, end == T_RPAREN ? ")" : "]")) < 0)
			return r;
		break;
	}
	*ret = list_done(&l);
	return 0;
}

/* Suffixes after a primary term: .field, [index], (args). */
static int
parse_suffixes(struct parser *p, struct rego_term *head, int nest, struct rego_term **ret)
{
	struct list segs = { 0 };
	struct rego_term *cur = head;
	int r;
	for (;;) {
		const struct tok *t = peek(p);
		if (t->nl_before)
			break;
		if (t->kind == T_DOT) {
			next(p);
			const struct tok *f = next(p);
			if (f->kind != T_IDENT || f->space_before) {
				p->pos--;
				return unexpected(p);
			}
			struct rego_term *s =
			        scalar_new(p, rego_string(p->arena, f->text, f->length), f->loc);
			if (!s || !s->u.value || list_push(p, &segs, s) < 0)
				return -ENOMEM;
			continue;
		}
		if (t->kind == T_LBRACK) {
			next(p);
			struct rego_term *s;
			if ((r = enter_nesting(p, t->loc)) < 0)
				return r;
			p->nest++;
			r = parse_in(p, &s);
			p->nest--;
			p->depth--;
			if (r < 0)
				return r;
			if ((r = expect(p, T_RBRACK, "]")) < 0)
				return r;
			if (list_push(p, &segs, s) < 0)
				return -ENOMEM;
			continue;
		}
		if (t->kind == T_LPAREN && !t->space_before &&
		    (cur->kind == REGO_TERM_VAR || cur->kind == REGO_TERM_REF)) {
			/* A call: the callee is what was read so far. */
			struct rego_term *fn = cur;
			if (segs.length) {
				fn = term_new(p, REGO_TERM_REF, cur->loc);
				if (!fn)
					return -ENOMEM;
				fn->u.ref.head = cur;
				fn->u.ref.segments = list_done(&segs);
				segs = (struct list){ 0 };
			}
			next(p);
			struct rego_term *call = term_new(p, REGO_TERM_CALL, fn->loc);
			if (!call)
				return -ENOMEM;
			call->u.call.fn = fn;
			if ((r = enter_nesting(p, t->loc)) < 0)
				return r;
			p->nest++;
			r = parse_args(p, T_RPAREN, &call->u.call.args);
			p->nest--;
			p->depth--;
			if (r < 0)
				return r;
			cur = call;
			continue;
		}
		break;
	}
	if (segs.length) {
		struct rego_term *ref = term_new(p, REGO_TERM_REF, cur->loc);
		if (!ref)
			return -ENOMEM;
		ref->u.ref.head = cur;
		ref->u.ref.segments = list_done(&segs);
		cur = ref;
	}
	(void)nest;
	*ret = cur;
	return 0;
}

static int
parse_comprehension(struct parser *p, enum rego_term_kind kind, struct rego_term *key,
                    struct rego_term *head, enum tok_kind end, struct rego_loc loc,
                    struct rego_term **ret)
{
	struct rego_term *t = term_new(p, kind, loc);
	if (!t)
		return -ENOMEM;
	t->u.compr.key = key;
	t->u.compr.head = head;
	int r = parse_body(p, end, &t->u.compr.body);
	if (r < 0)
		return r;
	*ret = t;
	return 0;
}

/* The items after the first of an array or set literal: `, item` until `end` (a trailing
 * comma allowed), then `end` itself. */
static int
parse_rest_of_list(struct parser *p, struct rego_term *first, enum tok_kind end,
                   struct rego_term_list *ret)
{
	struct list l = { 0 };
	int r;
	if (list_push(p, &l, first) < 0)
		return -ENOMEM;
	while (accept(p, T_COMMA)) {
		if (peek(p)->kind == end)
			break;
		struct rego_term *item;
		if ((r = parse_in(p, &item)) < 0)
			return r;
		if (list_push(p, &l, item) < 0)
			return -ENOMEM;
	}
	if ((r = expect(p, end, end == T_RBRACK ? "]" : "}")) < 0)
		return r;
	*ret = list_done(&l);
	return 0;
}

static int
parse_primary(struct parser *p, struct rego_term **ret)
{
	const struct tok *t = peek(p);
	struct rego_term *term = NULL;
	int r;
	/* Inside brackets newlines do not end expressions. */
	bool bracket = t->kind == T_LPAREN || t->kind == T_LBRACK || t->kind == T_LBRACE;
	bool saved_no_bar = p->no_bar;
	if (bracket) {
		p->nest++;
		p->no_bar = false;
	}
	switch (t->kind) {
	case T_NUMBER:
	case T_STRING:
		next(p);
		term = scalar_new(p, t->value, t->loc);
		break;
	case T_TEMPLATE:
		next(p);
		if (!p->v1 && !p->rego_v1_import)
			return fail(p, t->loc, "template strings require rego v1");
		/* Templates nest through sub-parsers: count them as a level. */
		if ((r = enter_nesting(p, t->loc)) < 0)
			return r;
		r = parse_template(p, t, &term);
		p->depth--;
		if (r < 0)
			return r;
		break;
	case T_LPAREN:
		next(p);
		if ((r = enter_nesting(p, t->loc)) < 0)
			return r;
		r = parse_in_kv(p, &term);
		p->depth--;
		if (r < 0)
			return r;
		if ((r = expect(p, T_RPAREN, ")")) < 0)
			return r;
		break;
	case T_LBRACK: {
		next(p);
		if ((r = enter_nesting(p, t->loc)) < 0)
			return r;
		term = term_new(p, REGO_TERM_ARRAY, t->loc);
		if (!term)
			return -ENOMEM;
		if (accept(p, T_RBRACK)) {
			p->depth--;
			break;
		}
		struct rego_term *first;
		p->no_bar = true;
		r = parse_in(p, &first);
		p->no_bar = false;
		if (r < 0)
			return r;
		if (accept(p, T_BAR)) {
			r = parse_comprehension(p, REGO_TERM_ARRAY_COMPR, NULL, first, T_RBRACK,
			                        t->loc, &term);
			p->depth--;
			if (r < 0)
				return r;
			break;
		}
		p->depth--;
		if ((r = parse_rest_of_list(p, first, T_RBRACK, &term->u.list)) < 0)
			return r;
		break;
	}
	case T_LBRACE: {
		next(p);
		if ((r = enter_nesting(p, t->loc)) < 0)
			return r;
		if (accept(p, T_RBRACE)) {
			p->depth--;
			term = term_new(p, REGO_TERM_OBJECT, t->loc);
			break;
		}
		struct rego_term *first, *value;
		p->no_bar = true;
		r = parse_in(p, &first);
		if (r == 0 && accept(p, T_COLON)) {
			r = parse_in(p, &value);
			p->no_bar = false;
			if (r < 0)
				return r;
			if (accept(p, T_BAR)) {
				r = parse_comprehension(p, REGO_TERM_OBJECT_COMPR, first, value,
				                        T_RBRACE, t->loc, &term);
				p->depth--;
				if (r < 0)
					return r;
				break;
			}
			struct list keys = { 0 }, values = { 0 };
			if (list_push(p, &keys, first) < 0 || list_push(p, &values, value) < 0)
				return -ENOMEM;
			while (accept(p, T_COMMA)) {
				if (peek(p)->kind == T_RBRACE)
					break;
				struct rego_term *k, *v;
				if ((r = parse_in(p, &k)) < 0)
					return r;
				if ((r = expect(p, T_COLON, ":")) < 0)
					return r;
				if ((r = parse_in(p, &v)) < 0)
					return r;
				if (list_push(p, &keys, k) < 0 || list_push(p, &values, v) < 0)
					return -ENOMEM;
			}
			p->depth--;
			if ((r = expect(p, T_RBRACE, "}")) < 0)
				return r;
			term = term_new(p, REGO_TERM_OBJECT, t->loc);
			if (!term)
				return -ENOMEM;
			term->u.object.keys = keys.items;
			term->u.object.values = values.items;
			term->u.object.length = keys.length;
			break;
		}
		p->no_bar = false;
		if (r < 0)
			return r;
		if (accept(p, T_BAR)) {
			r = parse_comprehension(p, REGO_TERM_SET_COMPR, NULL, first, T_RBRACE,
			                        t->loc, &term);
			p->depth--;
			if (r < 0)
				return r;
			break;
		}
		p->depth--;
		term = term_new(p, REGO_TERM_SET, t->loc);
		if (!term)
			return -ENOMEM;
		if ((r = parse_rest_of_list(p, first, T_RBRACE, &term->u.list)) < 0)
			return r;
		break;
	}
	case T_IDENT:
		if (is_keyword(p, t) && used_as_name(p)) {
			next(p);
			term = var_new(p, t->text, t->length, t->loc);
			break;
		}
		if (tok_is(t, "true") || tok_is(t, "false")) {
			next(p);
			term = scalar_new(p, rego_bool(tok_is(t, "true")), t->loc);
			break;
		}
		if (tok_is(t, "null")) {
			next(p);
			term = scalar_new(p, &rego_null_value, t->loc);
			break;
		}
		if (tok_is(t, "set") && peek_at(p, 1)->kind == T_LPAREN &&
		    peek_at(p, 2)->kind == T_RPAREN && !peek_at(p, 1)->space_before) {
			next(p);
			next(p);
			next(p);
			term = term_new(p, REGO_TERM_SET, t->loc);
			break;
		}
		if (is_keyword(p, t))
			return unexpected(p);
		next(p);
		term = var_new(p, t->text, t->length, t->loc);
		break;
	default:
		return unexpected(p);
	}
	if (bracket) {
		p->nest--;
		p->no_bar = saved_no_bar;
	}
	if (!term)
		return p->failed ? JIT_ERR_INVALID : -ENOMEM;
	return parse_suffixes(p, term, 0, ret);
}

static int
parse_unary(struct parser *p, struct rego_term **ret)
{
	const struct tok *t = peek(p);
	if (t->kind != T_MINUS)
		return parse_primary(p, ret);
	next(p);
	const struct tok *n = peek(p);
	if (n->kind == T_NUMBER && !n->space_before) {
		next(p);
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, p->arena);
		if (rego_strbuf_append(&sb, "-", 1) < 0 ||
		    rego_strbuf_append(&sb, n->text, n->length) < 0)
			return -ENOMEM;
		const struct rego_value *v = rego_number_parse(p->arena, sb.data, sb.length);
		if (!v)
			return fail(p, n->loc, "invalid number");
		struct rego_term *term = scalar_new(p, v, t->loc);
		if (!term)
			return -ENOMEM;
		return parse_suffixes(p, term, 0, ret);
	}
	struct rego_term *operand;
	int r;
	if ((r = enter_nesting(p, t->loc)) < 0)
		return r;
	r = parse_unary(p, &operand);
	p->depth--;
	if (r < 0)
		return r;
	struct rego_term *zero = scalar_new(p, rego_int(p->arena, 0), t->loc);
	if (!zero || !zero->u.value || !(*ret = call_new(p, "minus", t->loc, zero, operand, NULL)))
		return -ENOMEM;
	return 0;
}

struct binop {
	enum tok_kind kind;
	const char *name;
};

static int
parse_binary(struct parser *p, int level, struct rego_term **ret)
{
	static const struct binop levels[4][7] = {
		{ { T_EQ, "equal" },
		  { T_NEQ, "neq" },
		  { T_LT, "lt" },
		  { T_LTE, "lte" },
		  { T_GT, "gt" },
		  { T_GTE, "gte" },
		  { T_EOF, NULL } },
		{ { T_BAR, "or" }, { T_EOF, NULL } },
		{ { T_AMP, "and" }, { T_EOF, NULL } },
		{ { T_PLUS, "plus" }, { T_MINUS, "minus" }, { T_EOF, NULL } },
	};
	static const struct binop factor[] = {
		{ T_STAR, "mul" }, { T_SLASH, "div" }, { T_PERCENT, "rem" }, { T_EOF, NULL }
	};
	const struct binop *ops = level < 4 ? levels[level] : factor;
	struct rego_term *lhs;
	int r = level < 4 ? parse_binary(p, level + 1, &lhs) : parse_unary(p, &lhs);
	if (r < 0)
		return r;
	for (;;) {
		const struct tok *t = peek(p);
		const struct binop *op = NULL;
		for (const struct binop *o = ops; o->name; o++)
			if (o->kind == t->kind)
				op = o;
		if (!op || (t->nl_before && p->nest == p->body_nest) ||
		    (t->kind == T_BAR && p->no_bar))
			break;
		next(p);
		struct rego_term *rhs;
		if ((r = enter_nesting(p, t->loc)) < 0)
			return r;
		r = level < 4 ? parse_binary(p, level + 1, &rhs) : parse_unary(p, &rhs);
		p->depth--;
		if (r < 0)
			return r;
		lhs = call_new(p, op->name, t->loc, lhs, rhs, NULL);
		if (!lhs)
			return -ENOMEM;
	}
	*ret = lhs;
	return 0;
}

static int
parse_rel(struct parser *p, struct rego_term **ret)
{
	return parse_binary(p, 0, ret);
}

/* Membership where `key, value in collection` is allowed too: at the top of an expression
 * and inside parentheses, where a comma cannot separate list items. */
static int
parse_in_kv(struct parser *p, struct rego_term **ret)
{
	struct rego_term *lhs;
	int r = parse_rel(p, &lhs);
	if (r < 0)
		return r;
	for (;;) {
		const struct tok *t = peek(p);
		if (p->kw_in && t->kind == T_COMMA && !t->nl_before) {
			struct parse_mark mark;
			mark_take(p, &mark);
			struct rego_term *value, *coll;
			next(p);
			if (parse_rel(p, &value) == 0 && keyword_here(p, "in")) {
				const struct tok *in = next(p);
				if ((r = parse_rel(p, &coll)) < 0)
					return r;
				lhs = call_new(p, "internal.member_3", in->loc, lhs, value, coll);
				if (!lhs)
					return -ENOMEM;
				continue;
			}
			if ((r = mark_reset(p, &mark)) < 0)
				return r;
			break;
		}
		if (p->kw_in && keyword_here(p, "in") &&
		    (!t->nl_before || p->nest > p->body_nest)) {
			next(p);
			struct rego_term *rhs;
			if ((r = parse_rel(p, &rhs)) < 0)
				return r;
			lhs = call_new(p, "internal.member_2", t->loc, lhs, rhs, NULL);
			if (!lhs)
				return -ENOMEM;
			continue;
		}
		break;
	}
	*ret = lhs;
	return 0;
}

static int
parse_in(struct parser *p, struct rego_term **ret)
{
	struct rego_term *lhs;
	int r = parse_rel(p, &lhs);
	if (r < 0)
		return r;
	while (p->kw_in && tok_is(peek(p), "in") &&
	       (!peek(p)->nl_before || p->nest > p->body_nest)) {
		const struct tok *t = next(p);
		struct rego_term *rhs;
		if ((r = parse_rel(p, &rhs)) < 0)
			return r;
		lhs = call_new(p, "internal.member_2", t->loc, lhs, rhs, NULL);
		if (!lhs)
			return -ENOMEM;
	}
	*ret = lhs;
	return 0;
}

/* ---- template strings ------------------------------------------------------------------ */

static int parse_sub_term(struct parser *p, const char *text, size_t len, struct rego_loc loc,
                          struct rego_term **ret);

static int
template_literal(struct parser *p, struct list *parts, const char *s, size_t n, bool raw,
                 struct rego_loc loc)
{
	if (n == 0)
		return 0;
	const struct rego_value *v = raw ? rego_string(p->arena, s, n) : unescape(p, s, n, loc);
	if (!v)
		return p->failed ? JIT_ERR_INVALID : -ENOMEM;
	struct rego_term *t = scalar_new(p, v, loc);
	if (!t || list_push(p, parts, t) < 0)
		return -ENOMEM;
	return 0;
}

static int
parse_template(struct parser *p, const struct tok *t, struct rego_term **ret)
{
	const char *s = t->text;
	size_t n = t->length, run = 0;
	struct list parts = { 0 };
	struct rego_strbuf lit;
	rego_strbuf_init(&lit, p->arena);
	int r;
	for (size_t i = 0; i < n;) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '{') {
			/* An escaped brace is literal text. */
			if (rego_strbuf_append(&lit, s + run, i - run) < 0 ||
			    rego_strbuf_append(&lit, "{", 1) < 0)
				return -ENOMEM;
			i += 2;
			run = i;
			continue;
		}
		if (!t->raw && s[i] == '\\' && i + 1 < n) {
			i += 2;
			continue;
		}
		if (s[i] != '{') {
			i++;
			continue;
		}
		/* Flush the literal text before the expression. */
		if (rego_strbuf_append(&lit, s + run, i - run) < 0)
			return -ENOMEM;
		if ((r = template_literal(p, &parts, lit.data ? lit.data : "", lit.length, t->raw,
		                          t->loc)) < 0)
			return r;
		rego_strbuf_init(&lit, p->arena);
		size_t start = i + 1, j = start;
		int depth = 1;
		while (j < n) {
			if (s[j] == '"') {
				j++;
				while (j < n && s[j] != '"') {
					if (s[j] == '\\')
						j++;
					j++;
				}
			} else if (s[j] == '{') {
				depth++;
			} else if (s[j] == '}' && --depth == 0) {
				break;
			}
			j++;
		}
		if (j >= n)
			return fail(p, t->loc, "unterminated template expression");
		struct rego_term *e;
		if ((r = parse_sub_term(p, s + start, j - start, t->loc, &e)) < 0)
			return r;
		if (list_push(p, &parts, e) < 0)
			return -ENOMEM;
		i = j + 1;
		run = i;
	}
	if (rego_strbuf_append(&lit, s + run, n - run) < 0)
		return -ENOMEM;
	if ((r = template_literal(p, &parts, lit.data ? lit.data : "", lit.length, t->raw,
	                          t->loc)) < 0)
		return r;
	struct rego_term *term = term_new(p, REGO_TERM_TEMPLATE, t->loc);
	if (!term)
		return -ENOMEM;
	term->u.tmpl.parts = list_done(&parts);
	*ret = term;
	return 0;
}

/* ---- expressions and bodies ------------------------------------------------------------ */

static struct rego_expr *
expr_new(struct parser *p, enum rego_expr_kind kind, struct rego_loc loc)
{
	struct rego_expr *e = rego_arena_zalloc(p->arena, sizeof(*e));
	if (e) {
		e->kind = kind;
		e->loc = loc;
	}
	return e;
}

static int parse_literal(struct parser *p, struct rego_expr **ret);

static int
parse_with(struct parser *p, struct rego_expr *e)
{
	int r;
	uint32_t cap = 0;
	while (keyword_here(p, "with")) {
		const struct tok *w = next(p);
		struct rego_term *target, *value;
		if ((r = parse_primary(p, &target)) < 0)
			return r;
		if (!accept_word(p, "as"))
			return fail(p, peek(p)->loc, "expected as keyword");
		if ((r = parse_in(p, &value)) < 0)
			return r;
		if (e->with_count == cap) {
			uint32_t ncap = cap ? cap * 2 : 2;
			void *n = rego_arena_realloc(p->arena, e->with, cap * sizeof(*e->with),
			                             ncap * sizeof(*e->with));
			if (!n)
				return -ENOMEM;
			e->with = n;
			cap = ncap;
		}
		e->with[e->with_count].target = target;
		e->with[e->with_count].value = value;
		e->with[e->with_count].loc = w->loc;
		e->with_count++;
	}
	return 0;
}

static int
parse_expr(struct parser *p, struct rego_expr **ret)
{
	const struct tok *start = peek(p);
	bool negated = accept_keyword(p, "not");
	struct rego_term *lhs, *rhs;
	struct rego_expr *e;
	int r;
	if (negated && p->kw_not && peek(p)->kind == T_LBRACE) {
		next(p);
		if (!(e = expr_new(p, REGO_EXPR_BODY, start->loc)))
			return -ENOMEM;
		if ((r = enter_nesting(p, start->loc)) < 0)
			return r;
		r = parse_body(p, T_RBRACE, &e->u.not_body.body);
		p->depth--;
		if (r < 0 || (r = parse_with(p, e)) < 0)
			return r;
		e->negated = true;
		*ret = e;
		return 0;
	}
	if ((r = parse_in_kv(p, &lhs)) < 0)
		return r;
	const struct tok *t = peek(p);
	if ((t->kind == T_UNIFY || t->kind == T_ASSIGN) && !t->nl_before) {
		next(p);
		if ((r = parse_in_kv(p, &rhs)) < 0)
			return r;
		e = expr_new(p, t->kind == T_UNIFY ? REGO_EXPR_UNIFY : REGO_EXPR_ASSIGN,
		             start->loc);
		if (!e)
			return -ENOMEM;
		e->u.binary.lhs = lhs;
		e->u.binary.rhs = rhs;
	} else {
		e = expr_new(p, REGO_EXPR_TERM, start->loc);
		if (!e)
			return -ENOMEM;
		e->u.term = lhs;
	}
	e->negated = negated;
	if ((r = parse_with(p, e)) < 0)
		return r;
	*ret = e;
	return 0;
}

static int
parse_some(struct parser *p, struct rego_expr **ret)
{
	const struct tok *start = next(p);
	struct list vars = { 0 };
	int r;
	for (;;) {
		struct rego_term *t;
		if ((r = parse_rel(p, &t)) < 0)
			return r;
		if (list_push(p, &vars, t) < 0)
			return -ENOMEM;
		if (!accept(p, T_COMMA))
			break;
	}
	if (p->kw_in && tok_is(peek(p), "in")) {
		next(p);
		if (vars.length > 2)
			return fail(p, start->loc,
			            "unexpected , token: expected one or two terms before in");
		struct rego_expr *e = expr_new(p, REGO_EXPR_SOME_IN, start->loc);
		if (!e)
			return -ENOMEM;
		e->u.some_in.key = vars.length == 2 ? vars.items[0] : NULL;
		e->u.some_in.value = vars.items[vars.length - 1];
		if ((r = parse_rel(p, &e->u.some_in.collection)) < 0)
			return r;
		if ((r = parse_with(p, e)) < 0)
			return r;
		*ret = e;
		return 0;
	}
	for (uint32_t i = 0; i < vars.length; i++)
		if (vars.items[i]->kind != REGO_TERM_VAR)
			return fail(p, vars.items[i]->loc, "expected var");
	struct rego_expr *e = expr_new(p, REGO_EXPR_SOME, start->loc);
	if (!e)
		return -ENOMEM;
	e->u.some.vars = list_done(&vars);
	*ret = e;
	return 0;
}

static int
parse_every(struct parser *p, struct rego_expr **ret)
{
	const struct tok *start = next(p);
	struct rego_term *a, *b = NULL;
	int r;
	if ((r = parse_primary(p, &a)) < 0)
		return r;
	if (accept(p, T_COMMA) && (r = parse_primary(p, &b)) < 0)
		return r;
	if (!accept_word(p, "in"))
		return fail(p, peek(p)->loc, "unexpected token: expected in");
	struct rego_expr *e = expr_new(p, REGO_EXPR_EVERY, start->loc);
	if (!e)
		return -ENOMEM;
	e->u.every.key = b ? a : NULL;
	e->u.every.value = b ? b : a;
	if ((r = parse_rel(p, &e->u.every.domain)) < 0)
		return r;
	if ((r = expect(p, T_LBRACE, "{")) < 0)
		return r;
	if ((r = enter_nesting(p, start->loc)) < 0)
		return r;
	r = parse_body(p, T_RBRACE, &e->u.every.body);
	p->depth--;
	if (r < 0)
		return r;
	if ((r = parse_with(p, e)) < 0)
		return r;
	*ret = e;
	return 0;
}

/* Does the parenthesised group starting at token `at` contain `and` / `or` outside of any
 * bracket or brace (parentheses nested inside it included)? */
static bool
group_is_logic(struct parser *p, uint32_t at)
{
	int parens = 0, brackets = 0;
	for (uint32_t i = at; i < p->count; i++) {
		const struct tok *t = &p->toks[i];
		if (t->kind == T_LPAREN)
			parens++;
		else if (t->kind == T_RPAREN) {
			if (--parens == 0)
				return false;
		} else if (t->kind == T_LBRACK || t->kind == T_LBRACE)
			brackets++;
		else if (t->kind == T_RBRACK || t->kind == T_RBRACE)
			brackets--;
		else if (brackets == 0 &&
		         (tok_is(t, "and") || tok_is(t, "or") || tok_is(t, "with")))
			return true;
		else if (t->kind == T_EOF)
			return false;
	}
	return false;
}

/* Wraps one expression into a body of its own. */
static struct rego_body *
body_of(struct parser *p, struct rego_expr *e)
{
	struct rego_body *b = rego_arena_zalloc(p->arena, sizeof(*b));
	struct rego_expr **exprs = rego_arena_alloc(p->arena, sizeof(*exprs));
	if (!b || !exprs)
		return NULL;
	exprs[0] = e;
	b->exprs = exprs;
	b->length = 1;
	b->loc = e->loc;
	return b;
}

static int parse_logic_or(struct parser *p, struct rego_expr **ret);

static int
parse_logic_unit(struct parser *p, struct rego_expr **ret)
{
	int r;
	const struct tok *start = peek(p);
	if (keyword_here(p, "not") && peek_at(p, 1)->kind == T_LPAREN &&
	    group_is_logic(p, p->pos + 1)) {
		/* not (a or b): the negation of a group. */
		next(p);
		struct rego_expr *inner, *e;
		if ((r = parse_logic_unit(p, &inner)) < 0)
			return r;
		if (!(e = expr_new(p, REGO_EXPR_BODY, start->loc)) ||
		    !(e->u.not_body.body = body_of(p, inner)))
			return -ENOMEM;
		e->negated = true;
		*ret = e;
		return 0;
	}
	if (start->kind == T_LBRACE) {
		/* An explicit body operand `{ a := 1; a > 0 }`, unless it is a set or object
		 * term: try the body, fall back to an expression. */
		struct parse_mark mark;
		mark_take(p, &mark);
		struct rego_expr *e;
		if (!(e = expr_new(p, REGO_EXPR_BODY, start->loc)))
			return -ENOMEM;
		next(p);
		if ((r = enter_nesting(p, start->loc)) < 0)
			return r;
		r = parse_body(p, T_RBRACE, &e->u.not_body.body);
		p->depth--;
		if (r == 0) {
			*ret = e;
			return 0;
		}
		if (r == -ENOMEM || (r = mark_reset(p, &mark)) < 0)
			return r;
	}
	if (peek(p)->kind == T_LPAREN && group_is_logic(p, p->pos)) {
		const struct tok *t = next(p);
		if ((r = enter_nesting(p, t->loc)) < 0)
			return r;
		p->nest++;
		r = parse_logic_or(p, ret);
		p->nest--;
		p->depth--;
		if (r < 0)
			return r;
		return expect(p, T_RPAREN, ")");
	}
	return parse_expr(p, ret);
}

static int
parse_logic_and(struct parser *p, struct rego_expr **ret)
{
	struct rego_expr *lhs;
	int r = parse_logic_unit(p, &lhs);
	if (r < 0)
		return r;
	while (p->kw_and && tok_is(peek(p), "and")) {
		const struct tok *t = next(p);
		struct rego_expr *rhs, *e;
		if ((r = parse_logic_unit(p, &rhs)) < 0)
			return r;
		if (!(e = expr_new(p, REGO_EXPR_AND, t->loc)))
			return -ENOMEM;
		e->u.logic.lhs = lhs;
		e->u.logic.rhs = rhs;
		lhs = e;
	}
	*ret = lhs;
	return 0;
}

static int
parse_logic_or(struct parser *p, struct rego_expr **ret)
{
	struct rego_expr *lhs;
	int r = parse_logic_and(p, &lhs);
	if (r < 0)
		return r;
	while (p->kw_or && tok_is(peek(p), "or")) {
		const struct tok *t = next(p);
		struct rego_expr *rhs, *e;
		if ((r = parse_logic_and(p, &rhs)) < 0)
			return r;
		if (!(e = expr_new(p, REGO_EXPR_OR, t->loc)))
			return -ENOMEM;
		e->u.logic.lhs = lhs;
		e->u.logic.rhs = rhs;
		lhs = e;
	}
	*ret = lhs;
	return 0;
}

static int
parse_literal(struct parser *p, struct rego_expr **ret)
{
	if (keyword_here(p, "some"))
		return parse_some(p, ret);
	if (p->kw_every && keyword_here(p, "every"))
		return parse_every(p, ret);
	if (p->kw_and || p->kw_or)
		return parse_logic_or(p, ret);
	return parse_expr(p, ret);
}

/* Parses literals up to (and including) `end`, separated by ';' or newlines. */
static int
parse_body(struct parser *p, enum tok_kind end, struct rego_body **ret)
{
	struct rego_body *b = rego_arena_zalloc(p->arena, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loc = peek(p)->loc;
	int saved = p->body_nest;
	p->body_nest = p->nest;
	uint32_t cap = 0;
	int r = 0;
	while (!accept(p, end)) {
		if (peek(p)->kind == T_EOF) {
			r = unexpected(p);
			break;
		}
		struct rego_expr *e;
		if ((r = parse_literal(p, &e)) < 0)
			break;
		if (b->length == cap) {
			uint32_t ncap = cap ? cap * 2 : 4;
			void *n = rego_arena_realloc(p->arena, b->exprs, cap * sizeof(*b->exprs),
			                             ncap * sizeof(*b->exprs));
			if (!n) {
				r = -ENOMEM;
				break;
			}
			b->exprs = n;
			cap = ncap;
		}
		b->exprs[b->length++] = e;
		if (accept(p, T_SEMI))
			continue;
		const struct tok *t = peek(p);
		if (t->kind == end || t->nl_before)
			continue;
		r = unexpected(p);
		break;
	}
	p->body_nest = saved;
	if (r < 0)
		return r;
	if (b->length == 0 && end != T_EOF)
		return fail(p, b->loc, "found empty body");
	*ret = b;
	return 0;
}

/* ---- rules and modules ----------------------------------------------------------------- */

struct rule_list {
	struct rego_rule **items;
	uint32_t length, capacity;
};

static int
rule_push(struct parser *p, struct rule_list *l, struct rego_rule *r)
{
	if (l->length == l->capacity) {
		uint32_t cap = l->capacity ? l->capacity * 2 : 8;
		void *n = rego_arena_realloc(p->arena, l->items, l->capacity * sizeof(*l->items),
		                             cap * sizeof(*l->items));
		if (!n)
			return -ENOMEM;
		l->items = n;
		l->capacity = cap;
	}
	l->items[l->length++] = r;
	return 0;
}

static struct rego_body *
empty_body(struct parser *p, struct rego_loc loc)
{
	struct rego_body *b = rego_arena_zalloc(p->arena, sizeof(*b));
	if (b)
		b->loc = loc;
	return b;
}

/* Parses `if { ... }`, `if literal`, or a v0 `{ ... }`; an absent body is empty. */
static int
parse_rule_body(struct parser *p, struct rego_loc loc, bool *ret_had_if, struct rego_body **ret)
{
	int r;
	*ret_had_if = false;
	if (p->kw_if && accept_keyword(p, "if")) {
		*ret_had_if = true;
		if (peek(p)->kind == T_LBRACE) {
			/* `if {` opens a body, unless what follows is an object or set term
			 * used as the one-literal body: try the body first, then the term. */
			struct parse_mark mark;
			mark_take(p, &mark);
			next(p);
			if ((r = parse_body(p, T_RBRACE, ret)) == 0 || r == -ENOMEM)
				return r;
			struct rego_parse_error body_err = *p->err;
			if ((r = mark_reset(p, &mark)) < 0)
				return r;
			struct rego_expr *e;
			if (parse_literal(p, &e) < 0) {
				*p->err = body_err;
				return JIT_ERR_INVALID;
			}
			struct rego_body *b = empty_body(p, loc);
			struct rego_expr **exprs = rego_arena_alloc(p->arena, sizeof(*exprs));
			if (!b || !exprs)
				return -ENOMEM;
			exprs[0] = e;
			b->exprs = exprs;
			b->length = 1;
			*ret = b;
			return 0;
		}
		struct rego_expr *e;
		if ((r = parse_literal(p, &e)) < 0)
			return r;
		struct rego_body *b = empty_body(p, loc);
		struct rego_expr **exprs = rego_arena_alloc(p->arena, sizeof(*exprs));
		if (!b || !exprs)
			return -ENOMEM;
		exprs[0] = e;
		b->exprs = exprs;
		b->length = 1;
		*ret = b;
		return 0;
	}
	if (peek(p)->kind == T_LBRACE && !peek(p)->nl_before) {
		if (p->v1 || p->rego_v1_import)
			return fail(p, peek(p)->loc, "`if` keyword is required before rule body");
		next(p);
		return parse_body(p, T_RBRACE, ret);
	}
	*ret = empty_body(p, loc);
	return *ret ? 0 : -ENOMEM;
}

static bool
head_name_ok(const struct rego_term *t)
{
	if (t->kind == REGO_TERM_VAR)
		return true;
	return t->kind == REGO_TERM_REF && t->u.ref.head->kind == REGO_TERM_VAR;
}

static int
parse_else(struct parser *p, struct rego_rule *rule)
{
	struct rego_rule *prev = rule;
	int r;
	while (keyword_here(p, "else")) {
		const struct tok *t = next(p);
		struct rego_rule *e = rego_arena_zalloc(p->arena, sizeof(*e));
		if (!e)
			return -ENOMEM;
		*e = *rule;
		e->else_rule = NULL;
		e->loc = t->loc;
		e->is_default = false;
		if (accept(p, T_ASSIGN) || accept(p, T_UNIFY)) {
			if ((r = parse_in(p, &e->value)) < 0)
				return r;
		} else {
			e->value = scalar_new(p, &rego_true_value, t->loc);
			if (!e->value)
				return -ENOMEM;
		}
		bool had_if;
		if ((r = parse_rule_body(p, t->loc, &had_if, &e->body)) < 0)
			return r;
		prev->else_rule = e;
		prev = e;
	}
	return 0;
}

static int
parse_rule(struct parser *p, struct rego_module *m, struct rule_list *rules)
{
	const struct tok *start = peek(p);
	bool is_default = accept_keyword(p, "default");
	struct rego_term *head;
	int r;
	if (peek(p)->kind != T_IDENT || (is_keyword(p, peek(p)) && !used_as_name(p)))
		return unexpected(p);
	uint32_t head_start = p->pos;
	if ((r = parse_primary(p, &head)) < 0)
		return r;
	struct rego_rule *rule = rego_arena_zalloc(p->arena, sizeof(*rule));
	if (!rule)
		return -ENOMEM;
	rule->loc = start->loc;
	rule->module = m;
	rule->is_default = is_default;
	rule->kind = REGO_RULE_SINGLE;
	if (head->kind == REGO_TERM_CALL) {
		rule->kind = REGO_RULE_FUNCTION;
		rule->args = head->u.call.args;
		head = head->u.call.fn;
	}
	if (!head_name_ok(head))
		return fail(p, head->loc, "invalid rule head");
	rule->head = head;
	if (p->kw_contains && keyword_here(p, "contains")) {
		next(p);
		if (rule->kind == REGO_RULE_FUNCTION || is_default)
			return fail(p, start->loc, "contains cannot be used here");
		rule->kind = REGO_RULE_MULTI;
		if ((r = parse_in(p, &rule->key)) < 0)
			return r;
	} else if (peek(p)->kind == T_ASSIGN || peek(p)->kind == T_UNIFY) {
		rule->assign = next(p)->kind == T_ASSIGN;
		if ((r = parse_in(p, &rule->value)) < 0)
			return r;
	} else if (is_default) {
		return fail(p, peek(p)->loc, "default rules must have a value");
	}
	if (is_default) {
		rule->body = empty_body(p, start->loc);
		if (!rule->body)
			return -ENOMEM;
		return rule_push(p, rules, rule);
	}
	bool had_if;
	if ((r = parse_rule_body(p, start->loc, &had_if, &rule->body)) < 0)
		return r;
	/* v0: `p[x] { ... }` with no value is a partial set with element x. */
	if (rule->kind == REGO_RULE_SINGLE && !rule->value && !p->v1 && !p->rego_v1_import &&
	    !had_if && head->kind == REGO_TERM_REF && head->u.ref.segments.length == 1) {
		/* `p.q { }` names a rule q; only `p[x] { }` is a set. */
		bool dotted = p->toks[head_start + 1].kind == T_DOT;
		if (!dotted) {
			rule->kind = REGO_RULE_MULTI;
			rule->key = head->u.ref.segments.items[0];
			rule->head = head->u.ref.head;
		}
	}
	if (rule->kind != REGO_RULE_MULTI && !rule->value) {
		rule->value = scalar_new(p, &rego_true_value, start->loc);
		if (!rule->value)
			return -ENOMEM;
	}
	if (rule->kind != REGO_RULE_MULTI && (r = parse_else(p, rule)) < 0)
		return r;
	if ((r = rule_push(p, rules, rule)) < 0)
		return r;
	/* v0: further bodies `{ ... }` after the first define the same rule again. */
	while (!p->v1 && !p->rego_v1_import && peek(p)->kind == T_LBRACE) {
		struct rego_rule *again = rego_arena_alloc(p->arena, sizeof(*again));
		if (!again)
			return -ENOMEM;
		*again = *rule;
		again->else_rule = NULL;
		next(p);
		if ((r = parse_body(p, T_RBRACE, &again->body)) < 0)
			return r;
		if ((r = rule_push(p, rules, again)) < 0)
			return r;
	}
	return 0;
}

/* Turns `a.b.c` / `a["b"]` into data.a.b.c with string segments. */
static int
package_ref(struct parser *p, struct rego_term *t, struct rego_term **ret)
{
	struct list segs = { 0 };
	struct rego_term *head = t->kind == REGO_TERM_REF ? t->u.ref.head : t;
	if (head->kind != REGO_TERM_VAR)
		return fail(p, t->loc, "invalid package name");
	struct rego_term *first =
	        scalar_new(p, rego_string_cstr(p->arena, head->u.var.name), head->loc);
	if (!first || !first->u.value || list_push(p, &segs, first) < 0)
		return -ENOMEM;
	if (t->kind == REGO_TERM_REF)
		for (uint32_t i = 0; i < t->u.ref.segments.length; i++) {
			struct rego_term *s = t->u.ref.segments.items[i];
			if (s->kind != REGO_TERM_SCALAR || s->u.value->type != REGO_STRING)
				return fail(p, s->loc, "invalid package name");
			if (list_push(p, &segs, s) < 0)
				return -ENOMEM;
		}
	else if (t->kind != REGO_TERM_VAR)
		return fail(p, t->loc, "invalid package name");
	struct rego_term *ref = term_new(p, REGO_TERM_REF, t->loc);
	struct rego_term *data = var_new(p, "data", 4, t->loc);
	if (!ref || !data)
		return -ENOMEM;
	ref->u.ref.head = data;
	ref->u.ref.segments = list_done(&segs);
	*ret = ref;
	return 0;
}

static const char *
term_dotted(struct parser *p, const struct rego_term *t)
{
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, p->arena);
	const struct rego_term *head = t->kind == REGO_TERM_REF ? t->u.ref.head : t;
	if (head->kind != REGO_TERM_VAR)
		return "";
	rego_strbuf_append(&sb, head->u.var.name, strlen(head->u.var.name));
	if (t->kind == REGO_TERM_REF)
		for (uint32_t i = 0; i < t->u.ref.segments.length; i++) {
			const struct rego_term *s = t->u.ref.segments.items[i];
			if (s->kind != REGO_TERM_SCALAR || s->u.value->type != REGO_STRING)
				return "";
			rego_strbuf_append(&sb, ".", 1);
			rego_strbuf_append(&sb, s->u.value->u.string, s->u.value->length);
		}
	return sb.data ? sb.data : "";
}

static int
parse_import(struct parser *p, struct rego_module *m, uint32_t *cap)
{
	const struct tok *start = next(p);
	struct rego_term *path;
	int r;
	/* Keywords are not yet known while reading the path: read it as a plain ref. */
	if ((r = parse_primary(p, &path)) < 0)
		return r;
	const char *alias = NULL;
	if (accept_word(p, "as")) {
		const struct tok *a = next(p);
		if (a->kind != T_IDENT)
			return fail(p, a->loc, "unexpected token: expected import alias");
		alias = rego_arena_strndup(p->arena, a->text, a->length);
		if (!alias)
			return -ENOMEM;
	}
	const char *dotted = term_dotted(p, path);
	const char *root = path->kind == REGO_TERM_REF && path->u.ref.head->kind == REGO_TERM_VAR
	                           ? path->u.ref.head->u.var.name
	                   : path->kind == REGO_TERM_VAR ? path->u.var.name
	                                                 : "";
	if (strcmp(dotted, "rego.v1") == 0) {
		p->kw_if = p->kw_in = p->kw_contains = p->kw_every = true;
		p->rego_v1_import = true;
	} else if (strcmp(dotted, "future.keywords") == 0) {
		p->kw_if = p->kw_in = p->kw_contains = p->kw_every = true;
	} else if (strncmp(dotted, "future.keywords.", 16) == 0) {
		const char *kw = dotted + 16;
		if (strcmp(kw, "if") == 0)
			p->kw_if = true;
		else if (strcmp(kw, "in") == 0)
			p->kw_in = true;
		else if (strcmp(kw, "contains") == 0)
			p->kw_contains = true;
		else if (strcmp(kw, "every") == 0)
			p->kw_every = p->kw_in = true;
		else if (strcmp(kw, "not") == 0)
			p->kw_not = true;
		else if (strcmp(kw, "and") == 0 && p->experimental)
			p->kw_and = true;
		else if (strcmp(kw, "or") == 0 && p->experimental)
			p->kw_or = true;
		else
			return fail(p, start->loc,
			            "unexpected keyword, must be one of [contains every if in]");
	} else if (strcmp(root, "data") != 0 && strcmp(root, "input") != 0) {
		return fail(p, start->loc, "invalid path %s: path must begin with input or data",
		            dotted);
	}
	if (m->import_count == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 4;
		void *n = rego_arena_realloc(p->arena, m->imports, *cap * sizeof(*m->imports),
		                             ncap * sizeof(*m->imports));
		if (!n)
			return -ENOMEM;
		m->imports = n;
		*cap = ncap;
	}
	m->imports[m->import_count].path = path;
	m->imports[m->import_count].alias = alias;
	m->imports[m->import_count].loc = start->loc;
	m->import_count++;
	return 0;
}

static void
parser_init(struct parser *p, struct rego_arena *arena, const char *text, size_t len, bool v1,
            struct rego_parse_error *err)
{
	memset(p, 0, sizeof(*p));
	p->arena = arena;
	p->src = text;
	p->len = len;
	p->err = err;
	p->v1 = v1;
	p->kw_if = p->kw_in = p->kw_contains = p->kw_every = v1;
}

static int
parse_module_as(struct rego_arena *arena, const char *name, const char *text, size_t len, bool v1,
                bool experimental, struct rego_module **ret, struct rego_parse_error *err)
{
	struct parser p;
	parser_init(&p, arena, text, len, v1, err);
	p.experimental = experimental;
	int r = lex(&p);
	if (r < 0)
		return p.failed ? JIT_ERR_INVALID : r;
	struct rego_module *m = rego_arena_zalloc(arena, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->name = name;
	m->v1 = v1;
	if (!accept_word(&p, "package"))
		return fail(&p, peek(&p)->loc, "package expected");
	struct rego_term *pkg;
	if ((r = parse_primary(&p, &pkg)) < 0)
		return r;
	if ((r = package_ref(&p, pkg, &m->package)) < 0)
		return r;
	uint32_t import_cap = 0;
	while (keyword_here(&p, "import"))
		if ((r = parse_import(&p, m, &import_cap)) < 0)
			return r;
	struct rule_list rules = { 0 };
	while (peek(&p)->kind != T_EOF) {
		if (keyword_here(&p, "import"))
			return fail(&p, peek(&p)->loc, "imports must appear before rules");
		if ((r = parse_rule(&p, m, &rules)) < 0)
			return r;
		if (peek(&p)->kind != T_EOF && !peek(&p)->nl_before && !accept(&p, T_SEMI))
			return unexpected(&p);
	}
	m->rules = rules.items;
	m->rule_count = rules.length;
	if (p.rego_v1_import)
		m->v1 = true;
	*ret = m;
	return 0;
}

int
rego_parse_module(struct rego_arena *arena, const char *name, const char *text, size_t len,
                  enum rego_syntax syntax, bool experimental_keywords, struct rego_module **ret,
                  struct rego_parse_error *err)
{
	if (syntax != REGO_SYNTAX_AUTO)
		return parse_module_as(arena, name, text, len, syntax == REGO_SYNTAX_V1,
		                       experimental_keywords, ret, err);
	struct rego_parse_error v1_err;
	memset(&v1_err, 0, sizeof(v1_err));
	int r = parse_module_as(arena, name, text, len, true, experimental_keywords, ret, &v1_err);
	if (r == 0 || r == -ENOMEM)
		return r;
	r = parse_module_as(arena, name, text, len, false, experimental_keywords, ret, err);
	if (r == 0 || r == -ENOMEM)
		return r;
	/* Report the attempt that got further into the text. */
	if (v1_err.loc.line > err->loc.line ||
	    (v1_err.loc.line == err->loc.line && v1_err.loc.column > err->loc.column))
		*err = v1_err;
	return r;
}

int
rego_parse_query(struct rego_arena *arena, const char *text, size_t len, enum rego_syntax syntax,
                 struct rego_body **ret, struct rego_parse_error *err)
{
	struct parser p;
	parser_init(&p, arena, text, len, syntax != REGO_SYNTAX_V0, err);
	int r = lex(&p);
	if (r < 0)
		return p.failed ? JIT_ERR_INVALID : r;
	if (peek(&p)->kind == T_EOF)
		return fail(&p, peek(&p)->loc, "empty query");
	return parse_body(&p, T_EOF, ret);
}

static int
parse_sub_term(struct parser *outer, const char *text, size_t len, struct rego_loc loc,
               struct rego_term **ret)
{
	struct parser p;
	parser_init(&p, outer->arena, text, len, true, outer->err);
	p.rego_v1_import = true;
	p.base = loc;
	p.depth = outer->depth;
	int r = lex(&p);
	if (r < 0)
		return r;
	r = parse_in(&p, ret);
	if (r == 0 && keyword_here(&p, "with")) {
		/* {term with ... as ...}: evaluated as [v | v := term with ...][0], so the
		 * modifiers apply to the term alone and an undefined term stays undefined. */
		struct rego_expr *e = expr_new(&p, REGO_EXPR_ASSIGN, (*ret)->loc);
		struct rego_term *v = var_new(&p, "__template_value", 16, (*ret)->loc);
		struct rego_term *compr = term_new(&p, REGO_TERM_ARRAY_COMPR, (*ret)->loc);
		struct rego_term *ref = term_new(&p, REGO_TERM_REF, (*ret)->loc);
		struct rego_term **segs = rego_arena_alloc(p.arena, sizeof(*segs));
		struct rego_body *body = e ? body_of(&p, e) : NULL;
		if (!e || !v || !compr || !ref || !segs || !body ||
		    !(segs[0] = scalar_new(&p, rego_int(p.arena, 0), (*ret)->loc)))
			return -ENOMEM;
		e->u.binary.lhs = v;
		e->u.binary.rhs = *ret;
		if ((r = parse_with(&p, e)) < 0)
			return r;
		compr->u.compr.head = v;
		compr->u.compr.body = body;
		ref->u.ref.head = compr;
		ref->u.ref.segments.items = segs;
		ref->u.ref.segments.length = 1;
		*ret = ref;
	}
	if (r == 0 && peek(&p)->kind != T_EOF)
		r = unexpected(&p);
	if (p.failed)
		outer->failed = true;
	return r;
}

int
rego_parse_term(struct rego_arena *arena, const char *text, size_t len, struct rego_term **ret,
                struct rego_parse_error *err)
{
	struct parser p;
	parser_init(&p, arena, text, len, true, err);
	int r = lex(&p);
	if (r == 0)
		r = parse_in(&p, ret);
	if (r == 0 && peek(&p)->kind != T_EOF)
		r = unexpected(&p);
	return r;
}
