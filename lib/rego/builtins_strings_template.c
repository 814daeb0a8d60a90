/* strings.render_template: the part of Go's text/template that policies use. Text, comments,
 * trim markers, {{.field.chains}}, $variables, literals, pipelines with the builtin functions
 * (and, or, not, len, index, eq, ne, lt, le, gt, ge, print, printf, println), if/else if/else,
 * range (with else, break, continue) and with. A key missing from a map renders "<undefined>"
 * as OPA does. The template is untrusted: nesting, output and steps are bounded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rego/builtins_strings.h"

#define TEMPLATE_MAX_DEPTH 100
#define TEMPLATE_MAX_STEPS 1000000
#define TEMPLATE_MAX_VARS 1000

/* ---- values ----------------------------------------------------------------------------- */

enum tval_kind {
	TV_DATA = 0, /* a value of the template variables (numbers are json.Number: text) */
	TV_INT,      /* a Go int, e.g. a range index or len's result */
	TV_BOOL,     /* a Go bool computed by a function */
	TV_STRING,   /* a Go string literal or function result */
	TV_MISSING,  /* a key absent from a map */
	TV_NOVALUE,  /* Go's invalid reflect.Value */
};

struct tval {
	enum tval_kind kind;
	const struct rego_value *v; /* TV_DATA, TV_INT, TV_BOOL, TV_STRING */
};

/* ---- lexer ------------------------------------------------------------------------------ */

enum token_type {
	T_EOF,
	T_TEXT,
	T_LEFT,  /* {{ */
	T_RIGHT, /* }} */
	T_SPACE,
	T_IDENT,    /* function name or keyword */
	T_FIELD,    /* .name */
	T_DOT,      /* . */
	T_VARIABLE, /* $ or $name */
	T_STRING,   /* quoted or raw; text holds the unquoted value */
	T_CHAR,     /* 'x'; number holds the code point */
	T_NUMBER,
	T_BOOL,
	T_NIL,
	T_PIPE,
	T_LPAREN,
	T_RPAREN,
	T_DECLARE, /* := */
	T_ASSIGN,  /* = */
	T_COMMA,
};

struct token {
	enum token_type type;
	const char *text;
	size_t len;
	int64_t number; /* T_CHAR */
};

struct template_parser {
	struct rego_builtin_ctx *ctx;
	const char *src;
	size_t len, pos;
	bool in_action;
	bool trim_next_text; /* the previous action ended with " -}}" */
	struct token peeked;
	bool has_peeked;
	int depth;
	int error;
};

static int
template_error(struct template_parser *p, const char *msg)
{
	if (p->error == 0)
		p->error = rego_builtin_error(p->ctx, REGO_ERR_BUILTIN, "template: %s", msg);
	return p->error;
}

static bool
is_space_char(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alnum_char(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (unsigned char)c >= 0x80;
}

/* Does "{{" at pos open a left-trimming action ("{{- ")? */
static bool
left_trim_at(const struct template_parser *p, size_t pos)
{
	return pos + 3 < p->len && p->src[pos + 2] == '-' && is_space_char(p->src[pos + 3]);
}

/* Reads a quoted string body at p->pos (after the quote); unescapes into the arena. */
static int
lex_quoted(struct template_parser *p, struct token *tok)
{
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, p->ctx->arena);
	int r = 0;
	for (;;) {
		if (p->pos >= p->len || p->src[p->pos] == '\n')
			return template_error(p, "unterminated quoted string");
		char c = p->src[p->pos++];
		if (c == '"')
			break;
		if (c != '\\') {
			r = rego_strbuf_append(&sb, &c, 1);
		} else {
			if (p->pos >= p->len)
				return template_error(p, "unterminated quoted string");
			char e = p->src[p->pos++];
			char out = 0;
			switch (e) {
			case 'n':
				out = '\n';
				break;
			case 't':
				out = '\t';
				break;
			case 'r':
				out = '\r';
				break;
			case 'a':
				out = '\a';
				break;
			case 'b':
				out = '\b';
				break;
			case 'f':
				out = '\f';
				break;
			case 'v':
				out = '\v';
				break;
			case '\\':
			case '"':
			case '\'':
				out = e;
				break;
			case 'x':
			case 'u':
			case 'U': {
				int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
				uint32_t cp = 0;
				for (int k = 0; k < n; k++) {
					if (p->pos >= p->len)
						return template_error(p, "invalid syntax");
					char h = p->src[p->pos++];
					int d = h >= '0' && h <= '9'   ? h - '0'
					        : h >= 'a' && h <= 'f' ? h - 'a' + 10
					        : h >= 'A' && h <= 'F' ? h - 'A' + 10
					                               : -1;
					if (d < 0)
						return template_error(p, "invalid syntax");
					cp = cp * 16 + (uint32_t)d;
				}
				if (e == 'x') {
					char byte = (char)cp;
					r = rego_strbuf_append(&sb, &byte, 1);
				} else {
					char buf[4];
					r = rego_strbuf_append(&sb, buf, rego_utf8_encode(cp, buf));
				}
				if (r < 0)
					return template_error(p, "out of memory");
				continue;
			}
			default:
				return template_error(p, "invalid syntax");
			}
			r = rego_strbuf_append(&sb, &out, 1);
		}
		if (r < 0)
			return template_error(p, "out of memory");
	}
	tok->type = T_STRING;
	tok->text = sb.data ? sb.data : "";
	tok->len = sb.length;
	return 0;
}

static int
lex_next(struct template_parser *p, struct token *tok)
{
	memset(tok, 0, sizeof(*tok));
	if (p->error)
		return p->error;
	if (!p->in_action) {
		if (p->pos >= p->len) {
			tok->type = T_EOF;
			return 0;
		}
		const char *open = memmem(p->src + p->pos, p->len - p->pos, "{{", 2);
		size_t start = p->pos, end = open ? (size_t)(open - p->src) : p->len;
		if (p->trim_next_text) {
			while (start < end && is_space_char(p->src[start]))
				start++;
			p->trim_next_text = false;
		}
		size_t text_end = end;
		if (open && left_trim_at(p, end))
			while (text_end > start && is_space_char(p->src[text_end - 1]))
				text_end--;
		p->pos = end;
		if (text_end > start) {
			tok->type = T_TEXT;
			tok->text = p->src + start;
			tok->len = text_end - start;
			return 0;
		}
		if (!open) {
			tok->type = T_EOF;
			return 0;
		}
		/* The action's opening. */
		p->pos += left_trim_at(p, p->pos) ? 4 : 2;
		/* A comment: slash-star right after the delimiter, up to star-slash and the closing
		 * delimiter, with optional trim markers. */
		if (p->pos + 1 < p->len && p->src[p->pos] == '/' && p->src[p->pos + 1] == '*') {
			const char *close =
			        memmem(p->src + p->pos + 2, p->len - p->pos - 2, "*/", 2);
			if (!close)
				return template_error(p, "unclosed comment");
			size_t after = (size_t)(close - p->src) + 2;
			if (after + 4 <= p->len && memcmp(p->src + after, " -}}", 4) == 0) {
				p->trim_next_text = true;
				p->pos = after + 4;
			} else if (after + 2 <= p->len && memcmp(p->src + after, "}}", 2) == 0) {
				p->pos = after + 2;
			} else {
				return template_error(p, "comment ends before closing delimiter");
			}
			return lex_next(p, tok);
		}
		p->in_action = true;
		tok->type = T_LEFT;
		return 0;
	}
	/* Inside an action. */
	size_t start = p->pos;
	if (start >= p->len)
		return template_error(p, "unclosed action");
	const char *s = p->src;
	char c = s[start];
	if (is_space_char(c)) {
		size_t i = start;
		while (i < p->len && is_space_char(s[i]))
			i++;
		/* " -}}" closes with right trim. */
		if (i + 2 < p->len && s[i] == '-' && memcmp(s + i + 1, "}}", 2) == 0) {
			p->pos = i + 3;
			p->in_action = false;
			p->trim_next_text = true;
			tok->type = T_RIGHT;
			return 0;
		}
		p->pos = i;
		tok->type = T_SPACE;
		return 0;
	}
	if (start + 1 < p->len && c == '}' && s[start + 1] == '}') {
		p->pos = start + 2;
		p->in_action = false;
		tok->type = T_RIGHT;
		return 0;
	}
	p->pos = start + 1;
	switch (c) {
	case '|':
		tok->type = T_PIPE;
		return 0;
	case '(':
		tok->type = T_LPAREN;
		return 0;
	case ')':
		tok->type = T_RPAREN;
		return 0;
	case ',':
		tok->type = T_COMMA;
		return 0;
	case '=':
		tok->type = T_ASSIGN;
		return 0;
	case ':':
		if (p->pos < p->len && s[p->pos] == '=') {
			p->pos++;
			tok->type = T_DECLARE;
			return 0;
		}
		return template_error(p, "expected :=");
	case '"':
		return lex_quoted(p, tok);
	case '`': {
		const char *close = memchr(s + p->pos, '`', p->len - p->pos);
		if (!close)
			return template_error(p, "unterminated raw quoted string");
		tok->type = T_STRING;
		tok->text = s + p->pos;
		tok->len = (size_t)(close - (s + p->pos));
		p->pos = (size_t)(close - s) + 1;
		return 0;
	}
	case '\'': {
		size_t i = p->pos;
		uint32_t cp;
		if (i < p->len && s[i] == '\\' && i + 1 < p->len) {
			char e = s[i + 1];
			cp = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : (uint32_t)e;
			i += 2;
		} else if (i < p->len) {
			cp = rego_utf8_next(s, p->len, &i);
		} else {
			return template_error(p, "unterminated character constant");
		}
		if (i >= p->len || s[i] != '\'')
			return template_error(p, "unterminated character constant");
		p->pos = i + 1;
		tok->type = T_CHAR;
		tok->number = cp;
		return 0;
	}
	case '$':
	case '.': {
		size_t i = p->pos;
		while (i < p->len && is_alnum_char(s[i]))
			i++;
		if (c == '.' && i == p->pos) {
			if (i < p->len && s[i] >= '0' && s[i] <= '9')
				break; /* a number like .5 */
			tok->type = T_DOT;
			return 0;
		}
		p->pos = i;
		tok->type = c == '$' ? T_VARIABLE : T_FIELD;
		tok->text = s + start + 1;
		tok->len = i - start - 1;
		return 0;
	}
	default:
		break;
	}
	if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
		size_t i = start + 1;
		while (i < p->len && (is_alnum_char(s[i]) || s[i] == '.' ||
		                      ((s[i] == '+' || s[i] == '-') &&
		                       (s[i - 1] == 'e' || s[i - 1] == 'E' || s[i - 1] == 'p'))))
			i++;
		p->pos = i;
		tok->type = T_NUMBER;
		tok->text = s + start;
		tok->len = i - start;
		return 0;
	}
	if (is_alnum_char(c)) {
		size_t i = start;
		while (i < p->len && is_alnum_char(s[i]))
			i++;
		p->pos = i;
		tok->text = s + start;
		tok->len = i - start;
		if ((tok->len == 4 && memcmp(tok->text, "true", 4) == 0) ||
		    (tok->len == 5 && memcmp(tok->text, "false", 5) == 0))
			tok->type = T_BOOL;
		else if (tok->len == 3 && memcmp(tok->text, "nil", 3) == 0)
			tok->type = T_NIL;
		else
			tok->type = T_IDENT;
		return 0;
	}
	return template_error(p, "unrecognized character in action");
}

static int
next_token(struct template_parser *p, struct token *tok)
{
	if (p->has_peeked) {
		*tok = p->peeked;
		p->has_peeked = false;
		return p->error;
	}
	return lex_next(p, tok);
}

static int
peek_token(struct template_parser *p, struct token *tok)
{
	if (!p->has_peeked) {
		if (lex_next(p, &p->peeked) < 0)
			return p->error;
		p->has_peeked = true;
	}
	*tok = p->peeked;
	return 0;
}

/* Next token that is not a space. */
static int
next_nonspace(struct template_parser *p, struct token *tok)
{
	do {
		if (next_token(p, tok) < 0)
			return p->error;
	} while (tok->type == T_SPACE);
	return 0;
}

static int
peek_nonspace(struct template_parser *p, struct token *tok)
{
	for (;;) {
		if (peek_token(p, tok) < 0)
			return p->error;
		if (tok->type != T_SPACE)
			return 0;
		p->has_peeked = false;
	}
}

/* ---- syntax tree ------------------------------------------------------------------------ */

enum node_type {
	N_LIST,
	N_TEXT,
	N_ACTION,
	N_IF,
	N_RANGE,
	N_WITH,
	N_BREAK,
	N_CONTINUE,
	/* pipeline parts */
	N_PIPE,
	N_COMMAND,
	N_FIELD,    /* receiver (or dot when NULL) followed by field names */
	N_VARIABLE, /* $name followed by field names */
	N_DOTNODE,
	N_STRING,
	N_NUMBER,
	N_BOOL,
	N_NIL,
	N_IDENT,
	N_CHAIN, /* (pipeline).field... */
};

struct node {
	enum node_type type;
	struct node **items; /* list members, command operands, pipeline commands */
	size_t nitems, cap;
	const char *text; /* text, string, identifier, variable name */
	size_t len;
	const struct token *fields; /* field names for N_FIELD, N_VARIABLE, N_CHAIN */
	size_t nfields;
	struct node *pipe, *list, *else_list, *receiver;
	/* pipeline declarations */
	struct token decl[2];
	size_t ndecl;
	bool is_assign;
	bool boolean;
};

static struct node *
node_new(struct template_parser *p, enum node_type type)
{
	struct node *n = rego_arena_zalloc(p->ctx->arena, sizeof(*n));
	if (!n)
		template_error(p, "out of memory");
	else
		n->type = type;
	return n;
}

static int
node_push(struct template_parser *p, struct node *parent, struct node *child)
{
	if (parent->nitems == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct node **items =
		        rego_arena_realloc(p->ctx->arena, parent->items,
		                           parent->cap * sizeof(*items), cap * sizeof(*items));
		if (!items)
			return template_error(p, "out of memory");
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->nitems++] = child;
	return 0;
}

static struct node *parse_pipeline(struct template_parser *p, bool allow_decl, enum token_type end);

/* Parses ".a.b" field names directly following a term. */
static int
parse_field_chain(struct template_parser *p, struct node *n)
{
	struct token tok;
	for (;;) {
		if (peek_token(p, &tok) < 0)
			return p->error;
		if (tok.type != T_FIELD)
			return 0;
		p->has_peeked = false;
		struct token *fields = rego_arena_realloc(p->ctx->arena, (void *)n->fields,
		                                          n->nfields * sizeof(*fields),
		                                          (n->nfields + 1) * sizeof(*fields));
		if (!fields)
			return template_error(p, "out of memory");
		fields[n->nfields++] = tok;
		n->fields = fields;
	}
}

static struct node *
parse_operand(struct template_parser *p, const struct token *tok)
{
	struct node *n = NULL;
	switch (tok->type) {
	case T_FIELD:
		n = node_new(p, N_FIELD);
		if (n) {
			struct token *fields = rego_arena_alloc(p->ctx->arena, sizeof(*fields));
			if (!fields)
				return NULL;
			fields[0] = *tok;
			n->fields = fields;
			n->nfields = 1;
		}
		break;
	case T_DOT:
		n = node_new(p, N_DOTNODE);
		break;
	case T_VARIABLE:
		n = node_new(p, N_VARIABLE);
		break;
	case T_STRING:
		n = node_new(p, N_STRING);
		break;
	case T_NUMBER:
		n = node_new(p, N_NUMBER);
		break;
	case T_CHAR: {
		n = node_new(p, N_NUMBER);
		if (n) {
			char buf[24];
			int k = snprintf(buf, sizeof(buf), "%lld", (long long)tok->number);
			n->text = rego_arena_strndup(p->ctx->arena, buf, (size_t)k);
			n->len = (size_t)k;
		}
		return n && parse_field_chain(p, n) == 0 ? n : NULL;
	}
	case T_BOOL:
		n = node_new(p, N_BOOL);
		if (n)
			n->boolean = tok->len == 4;
		break;
	case T_NIL:
		n = node_new(p, N_NIL);
		break;
	case T_IDENT:
		n = node_new(p, N_IDENT);
		break;
	case T_LPAREN: {
		if (++p->depth > TEMPLATE_MAX_DEPTH) {
			template_error(p, "expression nests too deeply");
			return NULL;
		}
		struct node *inner = parse_pipeline(p, false, T_RPAREN);
		p->depth--;
		if (!inner)
			return NULL;
		n = node_new(p, N_CHAIN);
		if (n)
			n->pipe = inner;
		break;
	}
	default:
		template_error(p, "unexpected token in operand");
		return NULL;
	}
	if (!n)
		return NULL;
	if (!n->text) {
		n->text = tok->text;
		n->len = tok->len;
	}
	if (tok->type == T_FIELD || tok->type == T_VARIABLE || tok->type == T_LPAREN ||
	    tok->type == T_DOT) {
		if (parse_field_chain(p, n) < 0)
			return NULL;
	}
	return n;
}

/* Parses a pipeline up to `end` (T_RIGHT or T_RPAREN), consuming it. */
static struct node *
parse_pipeline(struct template_parser *p, bool allow_decl, enum token_type end)
{
	struct node *pipe = node_new(p, N_PIPE);
	if (!pipe)
		return NULL;
	struct token tok;
	if (allow_decl) {
		/* Look for "$x :=" or "$i, $v :=" by scanning ahead on a copy of the lexer. */
		struct template_parser save = *p;
		struct token a, b, c, d;
		if (next_nonspace(p, &a) == 0 && a.type == T_VARIABLE &&
		    next_nonspace(p, &b) == 0) {
			if (b.type == T_DECLARE || b.type == T_ASSIGN) {
				pipe->decl[0] = a;
				pipe->ndecl = 1;
				pipe->is_assign = b.type == T_ASSIGN;
				save = *p;
			} else if (b.type == T_COMMA && next_nonspace(p, &c) == 0 &&
			           c.type == T_VARIABLE && next_nonspace(p, &d) == 0 &&
			           (d.type == T_DECLARE || d.type == T_ASSIGN)) {
				pipe->decl[0] = a;
				pipe->decl[1] = c;
				pipe->ndecl = 2;
				pipe->is_assign = d.type == T_ASSIGN;
				save = *p;
			}
		}
		if (p->error)
			return NULL;
		*p = save;
	}
	struct node *cmd = NULL;
	for (;;) {
		if (next_nonspace(p, &tok) < 0)
			return NULL;
		if (tok.type == end) {
			if (!cmd) {
				template_error(p, "missing value for command");
				return NULL;
			}
			return pipe;
		}
		if (tok.type == T_PIPE) {
			if (!cmd) {
				template_error(p, "missing value for command");
				return NULL;
			}
			cmd = NULL;
			continue;
		}
		if (tok.type == T_EOF || tok.type == T_RIGHT || tok.type == T_RPAREN) {
			template_error(p, "unexpected end of pipeline");
			return NULL;
		}
		if (!cmd) {
			cmd = node_new(p, N_COMMAND);
			if (!cmd || node_push(p, pipe, cmd) < 0)
				return NULL;
		}
		struct node *operand = parse_operand(p, &tok);
		if (!operand || node_push(p, cmd, operand) < 0)
			return NULL;
	}
}

static bool
ident_is(const struct token *tok, const char *word)
{
	size_t n = strlen(word);
	return tok->type == T_IDENT && tok->len == n && memcmp(tok->text, word, n) == 0;
}

/* Parses items into `list` until {{end}} or {{else...}}; returns which one stopped it in
 * *ret_stop: 0 = EOF, 1 = end, 2 = else (the rest of the else action is left unread). */
static int parse_list(struct template_parser *p, struct node *list, int *ret_stop);

static struct node *
parse_control(struct template_parser *p, enum node_type type)
{
	if (++p->depth > TEMPLATE_MAX_DEPTH) {
		template_error(p, "template nests too deeply");
		return NULL;
	}
	struct node *n = node_new(p, type);
	if (!n)
		return NULL;
	n->pipe = parse_pipeline(p, true, T_RIGHT);
	n->list = node_new(p, N_LIST);
	if (!n->pipe || !n->list)
		return NULL;
	int stop;
	if (parse_list(p, n->list, &stop) < 0)
		return NULL;
	if (stop == 0) {
		template_error(p, "unexpected EOF");
		return NULL;
	}
	if (stop == 2) {
		struct token tok;
		if (peek_nonspace(p, &tok) < 0)
			return NULL;
		if ((type == N_IF && ident_is(&tok, "if")) ||
		    (type == N_WITH && ident_is(&tok, "with"))) {
			/* {{else if ...}}: a nested control that shares our {{end}}. */
			p->has_peeked = false;
			n->else_list = node_new(p, N_LIST);
			struct node *nested = parse_control(p, type);
			if (!n->else_list || !nested || node_push(p, n->else_list, nested) < 0)
				return NULL;
			p->depth--;
			return n;
		}
		if (next_nonspace(p, &tok) < 0)
			return NULL;
		if (tok.type != T_RIGHT) {
			template_error(p, "unexpected token in else");
			return NULL;
		}
		n->else_list = node_new(p, N_LIST);
		if (!n->else_list || parse_list(p, n->else_list, &stop) < 0)
			return NULL;
		if (stop != 1) {
			template_error(p,
			               stop == 0 ? "unexpected EOF" : "expected end; found else");
			return NULL;
		}
	}
	p->depth--;
	return n;
}

static int
parse_list(struct template_parser *p, struct node *list, int *ret_stop)
{
	struct token tok;
	for (;;) {
		if (next_token(p, &tok) < 0)
			return p->error;
		if (tok.type == T_EOF) {
			*ret_stop = 0;
			return 0;
		}
		if (tok.type == T_TEXT) {
			struct node *n = node_new(p, N_TEXT);
			if (!n)
				return p->error;
			n->text = tok.text;
			n->len = tok.len;
			if (node_push(p, list, n) < 0)
				return p->error;
			continue;
		}
		if (tok.type != T_LEFT)
			return template_error(p, "unexpected token");
		if (peek_nonspace(p, &tok) < 0)
			return p->error;
		struct node *n = NULL;
		if (ident_is(&tok, "end") || ident_is(&tok, "else")) {
			p->has_peeked = false;
			bool is_end = ident_is(&tok, "end");
			if (is_end) {
				if (next_nonspace(p, &tok) < 0)
					return p->error;
				if (tok.type != T_RIGHT)
					return template_error(p, "unexpected token in end");
			}
			*ret_stop = is_end ? 1 : 2;
			return 0;
		} else if (ident_is(&tok, "if") || ident_is(&tok, "range") ||
		           ident_is(&tok, "with")) {
			p->has_peeked = false;
			n = parse_control(p, ident_is(&tok, "if")      ? N_IF
			                     : ident_is(&tok, "range") ? N_RANGE
			                                               : N_WITH);
		} else if (ident_is(&tok, "break") || ident_is(&tok, "continue")) {
			p->has_peeked = false;
			n = node_new(p, ident_is(&tok, "break") ? N_BREAK : N_CONTINUE);
			if (next_nonspace(p, &tok) < 0)
				return p->error;
			if (tok.type != T_RIGHT)
				return template_error(p, "unexpected token in break or continue");
		} else if (ident_is(&tok, "define") || ident_is(&tok, "template") ||
		           ident_is(&tok, "block")) {
			return template_error(p, "define, template and block are not supported");
		} else {
			n = node_new(p, N_ACTION);
			if (n)
				n->pipe = parse_pipeline(p, true, T_RIGHT);
			if (n && !n->pipe)
				return p->error;
		}
		if (!n || node_push(p, list, n) < 0)
			return p->error ? p->error : template_error(p, "out of memory");
	}
}

/* ---- evaluation ------------------------------------------------------------------------- */

struct variable {
	const char *name;
	size_t len;
	struct tval value;
};

struct template_exec {
	struct rego_builtin_ctx *ctx;
	struct rego_strbuf *out;
	struct variable vars[TEMPLATE_MAX_VARS];
	size_t nvars;
	long steps;
	int error;
	int loop_signal; /* 1 = break, 2 = continue */
};

static int
exec_error(struct template_exec *e, const char *fmt, const char *detail, size_t detail_len)
{
	if (e->error == 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), fmt, (int)detail_len, detail);
		e->error = rego_builtin_error(e->ctx, REGO_ERR_BUILTIN, "template: %s", msg);
	}
	return e->error;
}

static int
exec_oom(struct template_exec *e)
{
	return exec_error(e, "%.*s", "out of memory", 13);
}

static struct tval
data_value(const struct rego_value *v)
{
	return (struct tval){ TV_DATA, v };
}

/* Go's truth: false, 0, nil and empty strings and collections are false. */
static bool
tval_truth(const struct tval *t)
{
	switch (t->kind) {
	case TV_MISSING:
	case TV_NOVALUE:
		return false;
	case TV_INT:
		return t->v->u.integer != 0;
	case TV_BOOL:
		return t->v->u.boolean;
	case TV_STRING:
		return t->v->length > 0;
	case TV_DATA:
		break;
	}
	const struct rego_value *v = t->v;
	switch (v->type) {
	case REGO_NULL:
		return false;
	case REGO_BOOLEAN:
		return v->u.boolean;
	case REGO_NUMBER:
		return true; /* a json.Number is a non-empty string */
	default:
		return v->length > 0;
	}
}

/* Prints a value as fmt's %v does for the decoded JSON (map[...], [...]). */
static int
print_go_value(struct rego_strbuf *sb, const struct rego_value *v, int depth)
{
	int r = 0;
	if (depth > TEMPLATE_MAX_DEPTH)
		return -E2BIG;
	switch (v->type) {
	case REGO_NULL:
		return rego_strbuf_append(sb, "<nil>", 5);
	case REGO_STRING:
		return rego_strbuf_append(sb, v->u.string, v->length);
	case REGO_NUMBER:
	case REGO_BOOLEAN:
		return rego_format_json(sb, v);
	case REGO_ARRAY:
	case REGO_SET:
		r = rego_strbuf_append(sb, "[", 1);
		for (size_t k = 0; k < v->length && r == 0; k++) {
			if (k > 0)
				r = rego_strbuf_append(sb, " ", 1);
			if (r == 0)
				r = print_go_value(sb, v->u.items[k], depth + 1);
		}
		return r ? r : rego_strbuf_append(sb, "]", 1);
	case REGO_OBJECT:
		r = rego_strbuf_append(sb, "map[", 4);
		for (size_t k = 0; k < v->length && r == 0; k++) {
			if (k > 0)
				r = rego_strbuf_append(sb, " ", 1);
			if (r == 0)
				r = print_go_value(sb, v->u.members[k].key, depth + 1);
			if (r == 0)
				r = rego_strbuf_append(sb, ":", 1);
			if (r == 0)
				r = print_go_value(sb, v->u.members[k].value, depth + 1);
		}
		return r ? r : rego_strbuf_append(sb, "]", 1);
	}
	return 0;
}

static int
print_tval(struct rego_strbuf *sb, const struct tval *t)
{
	switch (t->kind) {
	case TV_MISSING:
		return rego_strbuf_append(sb, "<undefined>", 11);
	case TV_NOVALUE:
		return rego_strbuf_append(sb, "<no value>", 10);
	default:
		return print_go_value(sb, t->v, 0);
	}
}

static bool
tval_is_string_kind(const struct tval *t)
{
	return t->kind == TV_STRING ||
	       (t->kind == TV_DATA && (t->v->type == REGO_STRING || t->v->type == REGO_NUMBER));
}

/* The text of a string-kind value (json.Number is its digits). */
static const struct rego_value *
tval_string(struct template_exec *e, const struct tval *t)
{
	if (t->v->type == REGO_STRING)
		return t->v;
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, e->ctx->arena);
	if (rego_format_number(&sb, t->v) < 0)
		return NULL;
	return rego_strbuf_to_value(&sb);
}

static struct tval
field_of(struct template_exec *e, struct tval recv, const struct token *field)
{
	if (recv.kind == TV_MISSING)
		return recv;
	if (recv.kind != TV_DATA || recv.v->type != REGO_OBJECT) {
		if (recv.kind == TV_DATA && recv.v->type == REGO_NULL)
			exec_error(e, "nil pointer evaluating interface {}.%.*s", field->text,
			           field->len);
		else
			exec_error(e, "can't evaluate field %.*s", field->text, field->len);
		return (struct tval){ TV_NOVALUE, NULL };
	}
	const struct rego_value *v = rego_object_get_string(recv.v, field->text, field->len);
	if (!v)
		return (struct tval){ TV_MISSING, NULL };
	return data_value(v);
}

static struct tval
lookup_variable(struct template_exec *e, const char *name, size_t len)
{
	for (size_t k = e->nvars; k-- > 0;)
		if (e->vars[k].len == len && memcmp(e->vars[k].name, name, len) == 0)
			return e->vars[k].value;
	exec_error(e, "undefined variable: $%.*s", name, len);
	return (struct tval){ TV_NOVALUE, NULL };
}

static int
push_variable(struct template_exec *e, const struct token *name, struct tval value)
{
	if (e->nvars >= TEMPLATE_MAX_VARS)
		return exec_error(e, "%.*s", "too many variables", 18);
	e->vars[e->nvars++] = (struct variable){ name->text, name->len, value };
	return 0;
}

static int
set_variable(struct template_exec *e, const struct token *name, struct tval value)
{
	for (size_t k = e->nvars; k-- > 0;)
		if (e->vars[k].len == name->len &&
		    memcmp(e->vars[k].name, name->text, name->len) == 0) {
			e->vars[k].value = value;
			return 0;
		}
	return exec_error(e, "undefined variable: $%.*s", name->text, name->len);
}

static struct tval eval_pipeline(struct template_exec *e, struct node *pipe, struct tval dot,
                                 bool declare);

static struct tval
make_int(struct template_exec *e, int64_t i)
{
	const struct rego_value *v = rego_int(e->ctx->arena, i);
	if (!v)
		exec_oom(e);
	return (struct tval){ v ? TV_INT : TV_NOVALUE, v };
}

static struct tval
make_bool(bool b)
{
	return (struct tval){ TV_BOOL, rego_bool(b) };
}

static struct tval
eval_arg(struct template_exec *e, struct node *n, struct tval dot)
{
	struct tval v = { TV_NOVALUE, NULL };
	switch (n->type) {
	case N_DOTNODE:
		v = dot;
		break;
	case N_FIELD:
		v = dot;
		break;
	case N_VARIABLE:
		v = lookup_variable(e, n->text, n->len);
		break;
	case N_STRING: {
		const struct rego_value *s = rego_string(e->ctx->arena, n->text, n->len);
		if (!s)
			exec_oom(e);
		v = (struct tval){ s ? TV_STRING : TV_NOVALUE, s };
		break;
	}
	case N_NUMBER: {
		const struct rego_value *num = rego_number_parse(e->ctx->arena, n->text, n->len);
		if (!num) {
			exec_error(e, "bad number syntax: %.*s", n->text, n->len);
			break;
		}
		v = (struct tval){ num->number_kind == REGO_NUM_INT ? TV_INT : TV_DATA, num };
		break;
	}
	case N_BOOL:
		v = make_bool(n->boolean);
		break;
	case N_NIL:
		exec_error(e, "%.*s", "nil is not a command", 20);
		break;
	case N_IDENT:
		exec_error(e, "can't give argument to non-function %.*s", n->text, n->len);
		break;
	case N_CHAIN:
		v = eval_pipeline(e, n->pipe, dot, false);
		break;
	default:
		exec_error(e, "%.*s", "unexpected node", 15);
	}
	for (size_t k = 0; k < n->nfields && e->error == 0; k++)
		v = field_of(e, v, &n->fields[k]);
	return v;
}

/* Go's basic comparison for eq/ne/lt/...: returns <0, 0, >0 or sets an error. */
static int
compare_basic(struct template_exec *e, const struct tval *a, const struct tval *b, bool *ok)
{
	*ok = true;
	if (tval_is_string_kind(a) && tval_is_string_kind(b)) {
		const struct rego_value *x = tval_string(e, a), *y = tval_string(e, b);
		if (!x || !y) {
			*ok = false;
			exec_oom(e);
			return 0;
		}
		return rego_compare(x, y);
	}
	if (a->kind == TV_INT && b->kind == TV_INT)
		return rego_compare(a->v, b->v);
	if ((a->kind == TV_BOOL || (a->kind == TV_DATA && a->v->type == REGO_BOOLEAN)) &&
	    (b->kind == TV_BOOL || (b->kind == TV_DATA && b->v->type == REGO_BOOLEAN)))
		return (int)a->v->u.boolean - (int)b->v->u.boolean;
	*ok = false;
	exec_error(e, "%.*s", "incompatible types for comparison", 33);
	return 0;
}

static struct tval
call_function(struct template_exec *e, const struct node *fn, struct tval *args, size_t nargs)
{
	const char *name = fn->text;
	size_t len = fn->len;
#define FN_IS(word) (len == sizeof(word) - 1 && memcmp(name, word, len) == 0)
	if (FN_IS("and") || FN_IS("or")) {
		if (nargs == 0)
			goto wrong_args;
		bool want = FN_IS("or");
		for (size_t k = 0; k < nargs; k++)
			if (tval_truth(&args[k]) == want || k == nargs - 1)
				return args[k];
	}
	if (FN_IS("not")) {
		if (nargs != 1)
			goto wrong_args;
		return make_bool(!tval_truth(&args[0]));
	}
	if (FN_IS("len")) {
		if (nargs != 1)
			goto wrong_args;
		const struct tval *a = &args[0];
		if ((a->kind == TV_DATA || a->kind == TV_STRING) && a->v->type != REGO_NULL &&
		    a->v->type != REGO_BOOLEAN && a->v->type != REGO_NUMBER)
			return make_int(e, (int64_t)a->v->length);
		exec_error(e, "%.*s", "error calling len: len of invalid type", 38);
		return (struct tval){ TV_NOVALUE, NULL };
	}
	if (FN_IS("index")) {
		if (nargs < 1)
			goto wrong_args;
		struct tval cur = args[0];
		for (size_t k = 1; k < nargs && e->error == 0; k++) {
			const struct tval *key = &args[k];
			if (cur.kind == TV_DATA && cur.v->type == REGO_OBJECT &&
			    tval_is_string_kind(key)) {
				const struct rego_value *ks = tval_string(e, key);
				const struct rego_value *v = ks ? rego_object_get(cur.v, ks) : NULL;
				cur = v ? data_value(v) : (struct tval){ TV_MISSING, NULL };
			} else if ((cur.kind == TV_DATA || cur.kind == TV_STRING) &&
			           (cur.v->type == REGO_ARRAY || cur.v->type == REGO_STRING) &&
			           key->kind == TV_INT) {
				int64_t i = key->v->u.integer;
				if (i < 0 || (uint64_t)i >= cur.v->length) {
					exec_error(e, "%.*s",
					           "error calling index: index out of range", 39);
					break;
				}
				if (cur.v->type == REGO_ARRAY)
					cur = data_value(cur.v->u.items[i]);
				else
					cur = make_int(e, (unsigned char)cur.v->u.string[i]);
			} else {
				exec_error(e, "%.*s", "error calling index: cannot index", 33);
			}
		}
		return cur;
	}
	if (FN_IS("eq") || FN_IS("ne") || FN_IS("lt") || FN_IS("le") || FN_IS("gt") ||
	    FN_IS("ge")) {
		if (nargs < 2 || (!FN_IS("eq") && nargs != 2))
			goto wrong_args;
		bool ok;
		if (FN_IS("eq")) {
			for (size_t k = 1; k < nargs; k++) {
				int c = compare_basic(e, &args[0], &args[k], &ok);
				if (!ok)
					return (struct tval){ TV_NOVALUE, NULL };
				if (c == 0)
					return make_bool(true);
			}
			return make_bool(false);
		}
		int c = compare_basic(e, &args[0], &args[1], &ok);
		if (!ok)
			return (struct tval){ TV_NOVALUE, NULL };
		bool res = FN_IS("ne")   ? c != 0
		           : FN_IS("lt") ? c < 0
		           : FN_IS("le") ? c <= 0
		           : FN_IS("gt") ? c > 0
		                         : c >= 0;
		return make_bool(res);
	}
	if (FN_IS("print") || FN_IS("println") || FN_IS("printf")) {
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, e->ctx->arena);
		int r = 0;
		if (FN_IS("printf")) {
			if (nargs < 1 || !tval_is_string_kind(&args[0]))
				goto wrong_args;
			const struct rego_value *format = tval_string(e, &args[0]);
			const struct rego_value **items =
			        rego_arena_alloc(e->ctx->arena, sizeof(*items) * nargs);
			if (!format || !items)
				return exec_oom(e), (struct tval){ TV_NOVALUE, NULL };
			for (size_t k = 1; k < nargs; k++)
				items[k - 1] = args[k].v ? args[k].v : &rego_null_value;
			const struct rego_value *array =
			        rego_array(e->ctx->arena, items, nargs - 1);
			r = array ? rego_go_sprintf(&sb, format->u.string, format->length, array)
			          : -ENOMEM;
		} else {
			bool ln = FN_IS("println");
			for (size_t k = 0; k < nargs && r == 0; k++) {
				/* Sprint adds spaces between operands when neither is a string. */
				if (k > 0 && (ln || (!tval_is_string_kind(&args[k - 1]) &&
				                     !tval_is_string_kind(&args[k]))))
					r = rego_strbuf_append(&sb, " ", 1);
				if (r == 0)
					r = print_tval(&sb, &args[k]);
			}
			if (r == 0 && ln)
				r = rego_strbuf_append(&sb, "\n", 1);
		}
		const struct rego_value *s = r == 0 ? rego_strbuf_to_value(&sb) : NULL;
		if (!s)
			return exec_oom(e), (struct tval){ TV_NOVALUE, NULL };
		return (struct tval){ TV_STRING, s };
	}
#undef FN_IS
	exec_error(e, "function \"%.*s\" not defined", name, len);
	return (struct tval){ TV_NOVALUE, NULL };
wrong_args:
	exec_error(e, "wrong number of args for %.*s", name, len);
	return (struct tval){ TV_NOVALUE, NULL };
}

static struct tval
eval_command(struct template_exec *e, struct node *cmd, struct tval dot, struct tval *final,
             bool has_final)
{
	struct node *first = cmd->items[0];
	if (first->type == N_IDENT) {
		size_t nargs = cmd->nitems - 1 + (has_final ? 1 : 0);
		struct tval *args = rego_arena_alloc(e->ctx->arena, sizeof(*args) * (nargs + 1));
		if (!args)
			return exec_oom(e), (struct tval){ TV_NOVALUE, NULL };
		/* and/or evaluate lazily in Go; evaluating all is equivalent without side
		 * effects, except for errors in unevaluated operands, which we accept. */
		for (size_t k = 1; k < cmd->nitems && e->error == 0; k++)
			args[k - 1] = eval_arg(e, cmd->items[k], dot);
		if (has_final)
			args[nargs - 1] = *final;
		if (e->error)
			return (struct tval){ TV_NOVALUE, NULL };
		return call_function(e, first, args, nargs);
	}
	if (cmd->nitems > 1 || has_final) {
		exec_error(e, "%.*s", "can't give argument to non-function", 35);
		return (struct tval){ TV_NOVALUE, NULL };
	}
	return eval_arg(e, first, dot);
}

static struct tval
eval_pipeline(struct template_exec *e, struct node *pipe, struct tval dot, bool declare)
{
	struct tval v = { TV_NOVALUE, NULL };
	if (++e->steps > TEMPLATE_MAX_STEPS) {
		exec_error(e, "%.*s", "evaluation budget exceeded", 26);
		return v;
	}
	for (size_t k = 0; k < pipe->nitems && e->error == 0; k++)
		v = eval_command(e, pipe->items[k], dot, &v, k > 0);
	if (e->error == 0 && declare && pipe->ndecl == 1) {
		if (pipe->is_assign)
			set_variable(e, &pipe->decl[0], v);
		else
			push_variable(e, &pipe->decl[0], v);
	}
	return v;
}

static int exec_list(struct template_exec *e, struct node *list, struct tval dot);

static int
exec_range_item(struct template_exec *e, struct node *n, struct tval key, struct tval elem)
{
	size_t mark = e->nvars;
	if (n->pipe->ndecl == 1) {
		push_variable(e, &n->pipe->decl[0], elem);
	} else if (n->pipe->ndecl == 2) {
		push_variable(e, &n->pipe->decl[0], key);
		push_variable(e, &n->pipe->decl[1], elem);
	}
	int r = e->error ? e->error : exec_list(e, n->list, elem);
	e->nvars = mark;
	return r;
}

static int
exec_range(struct template_exec *e, struct node *n, struct tval dot)
{
	struct tval v = eval_pipeline(e, n->pipe, dot, false);
	if (e->error)
		return e->error;
	size_t count = 0;
	if (v.kind == TV_INT) {
		for (int64_t i = 0; i < v.v->u.integer && e->error == 0; i++, count++) {
			struct tval iv = make_int(e, i);
			exec_range_item(e, n, iv, iv);
			if (e->loop_signal == 1) {
				e->loop_signal = 0;
				break;
			}
			e->loop_signal = 0;
		}
	} else if (v.kind == TV_DATA &&
	           (v.v->type == REGO_ARRAY || v.v->type == REGO_SET || v.v->type == REGO_OBJECT)) {
		for (size_t k = 0; k < v.v->length && e->error == 0; k++, count++) {
			struct tval key, elem;
			if (v.v->type == REGO_OBJECT) {
				key = data_value(v.v->u.members[k].key);
				elem = data_value(v.v->u.members[k].value);
			} else {
				key = make_int(e, (int64_t)k);
				elem = data_value(v.v->u.items[k]);
			}
			exec_range_item(e, n, key, elem);
			if (e->loop_signal == 1) {
				e->loop_signal = 0;
				break;
			}
			e->loop_signal = 0;
		}
	} else if (v.kind != TV_MISSING && v.kind != TV_NOVALUE &&
	           !(v.kind == TV_DATA && v.v->type == REGO_NULL)) {
		return exec_error(e, "%.*s", "range can't iterate over value", 30);
	}
	if (count == 0 && n->else_list && e->error == 0)
		return exec_list(e, n->else_list, dot);
	return e->error;
}

static int
exec_list(struct template_exec *e, struct node *list, struct tval dot)
{
	size_t mark = e->nvars;
	for (size_t k = 0; k < list->nitems && e->error == 0 && e->loop_signal == 0; k++) {
		struct node *n = list->items[k];
		if (++e->steps > TEMPLATE_MAX_STEPS)
			return exec_error(e, "%.*s", "evaluation budget exceeded", 26);
		switch (n->type) {
		case N_TEXT:
			if (rego_strbuf_append(e->out, n->text, n->len) < 0)
				exec_oom(e);
			break;
		case N_ACTION: {
			struct tval v = eval_pipeline(e, n->pipe, dot, true);
			if (e->error == 0 && n->pipe->ndecl == 0 && print_tval(e->out, &v) < 0)
				exec_oom(e);
			break;
		}
		case N_IF:
		case N_WITH: {
			size_t inner = e->nvars;
			struct tval v = eval_pipeline(e, n->pipe, dot, true);
			if (e->error)
				break;
			if (tval_truth(&v))
				exec_list(e, n->list, n->type == N_WITH ? v : dot);
			else if (n->else_list)
				exec_list(e, n->else_list, dot);
			e->nvars = inner;
			break;
		}
		case N_RANGE: {
			size_t inner = e->nvars;
			exec_range(e, n, dot);
			e->nvars = inner;
			break;
		}
		case N_BREAK:
			e->loop_signal = 1;
			break;
		case N_CONTINUE:
			e->loop_signal = 2;
			break;
		default:
			exec_error(e, "%.*s", "unexpected node", 15);
		}
	}
	e->nvars = mark;
	return e->error;
}

int
rego_render_template(struct rego_builtin_ctx *ctx, const struct rego_value *template,
                     const struct rego_value *vars, const struct rego_value **ret)
{
	struct template_parser p = { .ctx = ctx,
		                     .src = template->u.string,
		                     .len = template->length };
	struct node *root = node_new(&p, N_LIST);
	int stop = 0;
	if (!root || parse_list(&p, root, &stop) < 0)
		return p.error;
	if (stop != 0)
		return template_error(&p, stop == 1 ? "unexpected {{end}}" : "unexpected {{else}}");
	struct rego_strbuf out;
	rego_strbuf_init(&out, ctx->arena);
	struct template_exec *e = rego_arena_zalloc(ctx->arena, sizeof(*e));
	if (!e)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "out of memory");
	e->ctx = ctx;
	e->out = &out;
	static const struct token dollar = { .type = T_VARIABLE, .text = "", .len = 0 };
	push_variable(e, &dollar, data_value(vars));
	if (exec_list(e, root, data_value(vars)) < 0)
		return e->error;
	*ret = rego_strbuf_to_value(&out);
	if (!*ret)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "out of memory");
	return 0;
}
