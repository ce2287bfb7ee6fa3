#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base64.h"
#include "json.h"

/* Checks the UTF-8 sequence at s, n > 0 bytes available. Returns its length if it is one
 * well-formed character (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF);
 * 0 if the n bytes are a proper prefix of one, cut short by the end of the input; else minus
 * the length of its maximal ill-formed prefix, which the writer replaces with one U+FFFD (the
 * WHATWG decoder's rule, so the page's TextDecoder would agree). */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;   /* shorter forms are overlong */
		hi = c == 0xed ? 0x9f : 0xbf;   /* ED A0..BF would be surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;   /* past U+10FFFF */
	} else {
		return -1;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i == n)
			return 0;
		if (s[i] < lo || s[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

/* ---- Arena ---- */

void json_arena_init(struct json_arena *a, void *mem, size_t size)
{
	a->base = mem;
	a->size = size;
	a->used = 0;
}

static void *arena_alloc(struct json_arena *a, size_t size, size_t align)
{
	uintptr_t start = (uintptr_t)a->base;
	size_t off = ((start + a->used + align - 1) & ~(uintptr_t)(align - 1)) - start;
	if (off > a->size || a->size - off < size)
		return NULL;
	a->used = off + size;
	return a->base + off;
}

/* ---- Parser ---- */

struct parser {
	struct json_arena *a;
	const char *text, *p, *end;
	char *err;
	size_t errlen;
};

/* Records why parsing stopped; at is where, or NULL when no position helps. Returns NULL, which
 * the bool-returning helpers below pass on as false. */
static void *fail(struct parser *ps, const char *at, const char *what)
{
	if (at)
		snprintf(ps->err, ps->errlen, "%s at byte %zu", what, (size_t)(at - ps->text));
	else
		snprintf(ps->err, ps->errlen, "%s", what);
	return NULL;
}

static void *unexpected(struct parser *ps, const char *at)
{
	char what[32];
	unsigned char c;
	if (at == ps->end)
		return fail(ps, at, "unexpected end of input");
	c = *at;
	if (c > 0x20 && c < 0x7f)
		snprintf(what, sizeof(what), "unexpected '%c'", c);
	else
		snprintf(what, sizeof(what), "unexpected byte 0x%02x", c);
	return fail(ps, at, what);
}

static void *too_large(struct parser *ps)
{
	return fail(ps, NULL, "document too large");
}

static bool at_char(struct parser *ps, char c)
{
	return ps->p < ps->end && *ps->p == c;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *new_node(struct parser *ps, enum json_type type)
{
	struct json *v = arena_alloc(ps->a, sizeof(*v), _Alignof(struct json));
	if (!v)
		return too_large(ps);
	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the four hex digits of the \u escape at esc (the backslash); returns -1 if bad. */
static long read_u4(struct parser *ps, const char *esc)
{
	long v = 0;
	for (const char *h = esc + 2; h < esc + 6; h++) {
		if (h == ps->end) {
			unexpected(ps, h);
			return -1;
		}
		if (hex_digit(*h) < 0) {
			fail(ps, esc, "invalid \\u escape");
			return -1;
		}
		v = v << 4 | hex_digit(*h);
	}
	return v;
}

static int put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | cp >> 6;
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | cp >> 12;
		out[1] = 0x80 | (cp >> 6 & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | cp >> 18;
	out[1] = 0x80 | (cp >> 12 & 0x3f);
	out[2] = 0x80 | (cp >> 6 & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

static bool is_low_surrogate(long cp)
{
	return cp >= 0xdc00 && cp <= 0xdfff;
}

/* Decodes the \u escape (or surrogate pair of them) at *pp into out; returns its length or -1. */
static int unicode_escape(struct parser *ps, const char **pp, char *out)
{
	const char *esc = *pp, *next = esc + 6;
	size_t avail;
	long cp = read_u4(ps, esc), lo;
	if (cp < 0)
		return -1;
	if (cp == 0 || is_low_surrogate(cp)) {
		fail(ps, esc, cp ? "lone surrogate" : "\\u0000 in string");
		return -1;
	}
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* A high surrogate counts only with a low one escaped right after it. */
		avail = ps->end - next;
		if (memcmp(next, "\\u", avail < 2 ? avail : 2)) {
			fail(ps, esc, "lone surrogate");
			return -1;
		}
		if (avail < 2) {
			unexpected(ps, ps->end);
			return -1;
		}
		if ((lo = read_u4(ps, next)) < 0)
			return -1;
		if (!is_low_surrogate(lo)) {
			fail(ps, esc, "lone surrogate");
			return -1;
		}
		next += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	*pp = next;
	return put_utf8(out, cp);
}

/* Decodes the escape at *pp (a backslash) into out; returns its length or -1. */
static int escape(struct parser *ps, const char **pp, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *esc = *pp, *hit;
	if (esc + 1 == ps->end) {
		unexpected(ps, ps->end);
		return -1;
	}
	if (esc[1] == 'u')
		return unicode_escape(ps, pp, out);
	hit = esc[1] ? strchr(from, esc[1]) : NULL;
	if (!hit) {
		fail(ps, esc, "invalid escape");
		return -1;
	}
	*out = to[hit - from];
	*pp = esc + 2;
	return 1;
}

/* Parses the string at ps->p (a quote), decoding it straight into the arena's free space: the
 * decoded form is never longer than the source, so it needs no scan ahead. */
static bool parse_string(struct parser *ps, const char **out, size_t *outlen)
{
	struct json_arena *a = ps->a;
	char *dst = a->base + a->used;
	size_t room = a->size - a->used, n = 0;
	const char *p = ps->p + 1;
	for (;;) {
		char esc[4];
		const char *src = p;
		int len;
		if (p == ps->end)
			return unexpected(ps, p);
		unsigned char c = *p;
		if (c == '"')
			break;
		if (c == '\\') {
			len = escape(ps, &p, esc);
			if (len < 0)
				return false;
			src = esc;
		} else if (c < 0x20) {
			return fail(ps, p, "control character in string");
		} else {
			len = utf8_seq((const unsigned char *)p, ps->end - p);
			if (len == 0)
				return unexpected(ps, ps->end);
			if (len < 0)
				return fail(ps, p, "invalid UTF-8");
			p += len;
		}
		if ((size_t)len > room - n)
			return too_large(ps);
		memcpy(dst + n, src, len);
		n += len;
	}
	if (room == n)
		return too_large(ps);   /* no byte left for the NUL */
	dst[n] = '\0';
	a->used += n + 1;
	ps->p = p + 1;
	*out = dst;
	*outlen = n;
	return true;
}

static bool is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* Skips one or more digits. */
static const char *digits(struct parser *ps, const char *p)
{
	if (!is_digit(p, ps->end))
		return unexpected(ps, p);
	while (is_digit(p, ps->end))
		p++;
	return p;
}

/* An integer literal's value, if it fits int64. */
static bool exact_int(const char *s, const char *end, int64_t *out)
{
	bool neg = *s == '-';
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
	for (s += neg; s < end; s++) {
		unsigned d = *s - '0';
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static struct json *parse_number(struct parser *ps)
{
	const char *start = ps->p, *p = ps->p;
	bool is_int = true;
	struct json *v;
	if (*p == '-')
		p++;
	if (p < ps->end && *p == '0') {
		if (is_digit(++p, ps->end))
			return fail(ps, p - 1, "leading zero");
	} else if (!(p = digits(ps, p))) {
		return NULL;
	}
	if (p < ps->end && *p == '.') {
		is_int = false;
		if (!(p = digits(ps, p + 1)))
			return NULL;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		is_int = false;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (!(p = digits(ps, p)))
			return NULL;
	}
	/* strtod needs a NUL-terminated copy: borrow the arena's free space, then give it back. */
	size_t len = p - start, mark = ps->a->used;
	char *copy = arena_alloc(ps->a, len + 1, 1);
	if (!copy)
		return too_large(ps);
	memcpy(copy, start, len);
	copy[len] = '\0';
	double d = strtod(copy, NULL);
	ps->a->used = mark;
	if (isinf(d))
		return fail(ps, start, "number out of range");
	if (!(v = new_node(ps, JSON_NUMBER)))
		return NULL;
	v->u.num.d = d;
	v->u.num.is_int = is_int && exact_int(start, p, &v->u.num.i);
	ps->p = p;
	return v;
}

static struct json *parse_literal(struct parser *ps)
{
	static const struct { const char *word; enum json_type type; bool value; } words[] = {
		{ "null", JSON_NULL, false }, { "true", JSON_BOOL, true }, { "false", JSON_BOOL, false },
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const char *w = words[i].word, *p = ps->p;
		struct json *v;
		if (*w != *p)
			continue;
		for (; *w; w++, p++)
			if (p == ps->end || *p != *w)
				return unexpected(ps, p);
		if (!(v = new_node(ps, words[i].type)))
			return NULL;
		v->u.boolean = words[i].value;
		ps->p = p;
		return v;
	}
	return unexpected(ps, ps->p);
}

static struct json *parse_scalar(struct parser *ps)
{
	struct json *v;
	if (ps->p == ps->end)
		return unexpected(ps, ps->p);
	if (*ps->p == '"') {
		if (!(v = new_node(ps, JSON_STRING)))
			return NULL;
		return parse_string(ps, &v->u.str.s, &v->u.str.len) ? v : NULL;
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
		return parse_number(ps);
	return parse_literal(ps);
}

/* A container being parsed. */
struct frame {
	struct json *node, *first, *last;
};

static char closer(const struct frame *f)
{
	return f->node->type == JSON_OBJECT ? '}' : ']';
}

static void append(struct frame *f, struct json *v)
{
	if (f->last)
		f->last->next = v;
	else
		f->first = v;
	f->last = v;
	f->node->u.list.len++;
}

/* Gives the finished container its index, so lookups by position or from the end are cheap. */
static bool finish(struct parser *ps, struct frame *f)
{
	struct json *c = f->node, **items;
	size_t i = 0;
	if (!c->u.list.len)
		return true;
	items = arena_alloc(ps->a, c->u.list.len * sizeof(*items), _Alignof(struct json *));
	if (!items)
		return too_large(ps);
	for (struct json *v = f->first; v; v = v->next)
		items[i++] = v;
	c->u.list.items = items;
	return true;
}

/* The name and colon of an object member. */
static bool member_key(struct parser *ps, const char **key)
{
	size_t len;
	if (!at_char(ps, '"'))
		return unexpected(ps, ps->p);
	if (!parse_string(ps, key, &len))
		return false;
	skip_ws(ps);
	if (!at_char(ps, ':'))
		return unexpected(ps, ps->p);
	ps->p++;
	skip_ws(ps);
	return true;
}

/* Parses one value with an explicit stack rather than recursion, so depth costs no C stack. */
static struct json *parse_value(struct parser *ps)
{
	struct frame stack[JSON_MAX_DEPTH];
	int depth = 0;
	for (;;) {
		/* A value is due: at the start, or after '[', ',' or ':'. */
		struct frame *top = depth ? &stack[depth - 1] : NULL;
		const char *key = NULL;
		struct json *v;
		skip_ws(ps);
		if (top && top->node->type == JSON_OBJECT && !member_key(ps, &key))
			return NULL;
		if (at_char(ps, '{') || at_char(ps, '[')) {
			if (depth == JSON_MAX_DEPTH)
				return fail(ps, ps->p, "nested too deeply");
			if (!(v = new_node(ps, *ps->p == '{' ? JSON_OBJECT : JSON_ARRAY)))
				return NULL;
			v->key = key;
			ps->p++;
			top = &stack[depth++];
			*top = (struct frame){ v, NULL, NULL };
			skip_ws(ps);
			if (!at_char(ps, closer(top)))
				continue;
			ps->p++;
			depth--;
		} else {
			if (!(v = parse_scalar(ps)))
				return NULL;
			v->key = key;
		}
		/* v is complete: add it to its container, closing containers until another value is due. */
		for (;;) {
			if (!depth)
				return v;
			top = &stack[depth - 1];
			append(top, v);
			skip_ws(ps);
			if (at_char(ps, ',')) {
				ps->p++;
				break;
			}
			if (!at_char(ps, closer(top)))
				return unexpected(ps, ps->p);
			ps->p++;
			if (!finish(ps, top))
				return NULL;
			v = top->node;
			depth--;
		}
	}
}

struct json *json_parse(struct json_arena *a, const char *text, size_t len, char *errbuf, size_t errlen)
{
	struct parser ps = { a, text, text, text + len, errbuf, errlen };
	struct json *v;
	if (errlen)
		errbuf[0] = '\0';
	if (!(v = parse_value(&ps)))
		return NULL;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, ps.p, "trailing data");
	return v;
}

/* ---- Lookups ---- */

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	for (size_t i = obj->u.list.len; i-- > 0;)   /* from the end: the last duplicate wins */
		if (!strcmp(obj->u.list.items[i]->key, key))
			return obj->u.list.items[i];
	return NULL;
}

size_t json_array_len(const struct json *arr)
{
	return arr && arr->type == JSON_ARRAY ? arr->u.list.len : 0;
}

const struct json *json_array_at(const struct json *arr, size_t i)
{
	return i < json_array_len(arr) ? arr->u.list.items[i] : NULL;
}

bool json_is_null(const struct json *v)
{
	return v && v->type == JSON_NULL;
}

bool json_as_bool(const struct json *v, bool *out)
{
	if (!v || v->type != JSON_BOOL)
		return false;
	*out = v->u.boolean;
	return true;
}

bool json_as_int64(const struct json *v, int64_t *out)
{
	if (!v || v->type != JSON_NUMBER || !v->u.num.is_int)
		return false;
	*out = v->u.num.i;
	return true;
}

bool json_as_double(const struct json *v, double *out)
{
	if (!v || v->type != JSON_NUMBER)
		return false;
	*out = v->u.num.d;
	return true;
}

bool json_as_string(const struct json *v, const char **out, size_t *len)
{
	if (!v || v->type != JSON_STRING)
		return false;
	*out = v->u.str.s;
	if (len)
		*len = v->u.str.len;
	return true;
}

bool json_get_bool(const struct json *obj, const char *key, bool *out)
{
	return json_as_bool(json_get(obj, key), out);
}

bool json_get_int64(const struct json *obj, const char *key, int64_t *out)
{
	return json_as_int64(json_get(obj, key), out);
}

bool json_get_double(const struct json *obj, const char *key, double *out)
{
	return json_as_double(json_get(obj, key), out);
}

bool json_get_string(const struct json *obj, const char *key, const char **out, size_t *len)
{
	return json_as_string(json_get(obj, key), out, len);
}

/* ---- Writer ---- */

void jb_init(struct jbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void jb_free(struct jbuf *b)
{
	free(b->data);
	jb_init(b);
}

bool jb_done(const struct jbuf *b)
{
	return !b->failed && b->depth == 0 && b->level[0].nonempty;
}

/* Makes room for n more bytes and the NUL; returns where they go, or NULL once failed. */
static char *reserve(struct jbuf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (n >= SIZE_MAX - b->len) {
		b->failed = true;
		return NULL;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
		char *data = realloc(b->data, cap);
		if (!data) {
			b->failed = true;
			return NULL;
		}
		b->data = data;
		b->cap = cap;
	}
	return b->data + b->len;
}

/* Commits n bytes written at reserve()'s pointer. */
static void commit(struct jbuf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

static void put(struct jbuf *b, const void *s, size_t n)
{
	char *dst = reserve(b, n);
	if (!dst)
		return;
	memcpy(dst, s, n);
	commit(b, n);
}

static bool misuse(struct jbuf *b)
{
	b->failed = true;
	return false;
}

/* Checks that a value may come now and writes the comma before it. */
static bool value_begin(struct jbuf *b)
{
	struct jb_level *l = &b->level[b->depth];
	if (b->failed)
		return false;
	if (l->close == '}' && !b->after_key)
		return misuse(b);   /* an object member needs its key first */
	if (!l->close && l->nonempty)
		return misuse(b);   /* one line, one value */
	if (l->close == ']' && l->nonempty)
		put(b, ",", 1);
	l->nonempty = true;
	b->after_key = false;
	return !b->failed;
}

static void open_container(struct jbuf *b, char open, char close)
{
	if (!value_begin(b))
		return;
	if (b->depth == JSON_MAX_DEPTH) {
		misuse(b);
		return;
	}
	put(b, &open, 1);
	b->depth++;
	b->level[b->depth].close = close;
	b->level[b->depth].nonempty = false;
}

static void close_container(struct jbuf *b, char close)
{
	if (b->failed)
		return;
	if (b->level[b->depth].close != close || b->after_key) {
		misuse(b);
		return;
	}
	put(b, &close, 1);
	b->depth--;
}

void jb_obj_begin(struct jbuf *b)
{
	open_container(b, '{', '}');
}

void jb_obj_end(struct jbuf *b)
{
	close_container(b, '}');
}

void jb_arr_begin(struct jbuf *b)
{
	open_container(b, '[', ']');
}

void jb_arr_end(struct jbuf *b)
{
	close_container(b, ']');
}

/* Writes bytes as a JSON string: always valid JSON and UTF-8, never a raw newline. */
static void put_string(struct jbuf *b, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef", replacement[] = "\xef\xbf\xbd";   /* U+FFFD */
	put(b, "\"", 1);
	while (n) {
		size_t run = 0;
		int len;
		/* Copy the bytes that need nothing in one go. */
		while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
			run++;
		put(b, s, run);
		s += run;
		n -= run;
		if (!n)
			break;
		if (*s == 0) {
			/* The parser refuses \u0000 (its strings are C strings): write what it accepts. */
			put(b, replacement, 3);
			len = 1;
		} else if (*s < 0x80) {
			const char *short_esc = *s == '"' ? "\\\"" : *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
				: *s == '\r' ? "\\r" : *s == '\t' ? "\\t" : NULL;
			char u[6] = { '\\', 'u', '0', '0', hex[*s >> 4], hex[*s & 15] };
			if (short_esc)
				put(b, short_esc, 2);
			else
				put(b, u, sizeof(u));
			len = 1;
		} else if ((len = utf8_seq(s, n)) > 0) {
			put(b, s, len);
		} else {
			put(b, replacement, 3);
			len = len ? -len : (int)n;
		}
		s += len;
		n -= len;
	}
	put(b, "\"", 1);
}

void jb_key(struct jbuf *b, const char *key)
{
	struct jb_level *l = &b->level[b->depth];
	if (b->failed)
		return;
	if (l->close != '}' || b->after_key || !key) {
		misuse(b);
		return;
	}
	if (l->nonempty)
		put(b, ",", 1);
	l->nonempty = true;
	put_string(b, (const unsigned char *)key, strlen(key));
	put(b, ":", 1);
	b->after_key = true;
}

void jb_strn(struct jbuf *b, const void *s, size_t n)
{
	if (value_begin(b))
		put_string(b, s, n);
}

void jb_str(struct jbuf *b, const char *s)
{
	if (!s)
		jb_null(b);
	else
		jb_strn(b, s, strlen(s));
}

void jb_int(struct jbuf *b, int64_t v)
{
	char num[24];
	if (value_begin(b))
		put(b, num, snprintf(num, sizeof(num), "%" PRId64, v));
}

void jb_double(struct jbuf *b, double v)
{
	char num[32];
	int len = 0;
	if (!isfinite(v)) {
		jb_null(b);
		return;
	}
	/* Most doubles need fewer than 17 digits; %.17g would print 0.1 as 0.10000000000000001. */
	for (int prec = 15; prec <= 17; prec++) {
		len = snprintf(num, sizeof(num), "%.*g", prec, v);
		if (strtod(num, NULL) == v)
			break;
	}
	if (value_begin(b))
		put(b, num, len);
}

void jb_bool(struct jbuf *b, bool v)
{
	jb_raw(b, v ? "true" : "false");
}

void jb_null(struct jbuf *b)
{
	jb_raw(b, "null");
}

void jb_b64(struct jbuf *b, const void *data, size_t n)
{
	size_t len = b64_encoded_len(n);
	char *dst;
	if (!value_begin(b))
		return;
	if (len > SIZE_MAX - 2 || !(dst = reserve(b, len + 2))) {
		b->failed = true;
		return;
	}
	dst[0] = '"';
	b64_encode(dst + 1, data, n);
	dst[len + 1] = '"';
	commit(b, len + 2);
}

void jb_raw(struct jbuf *b, const char *json)
{
	size_t n = strlen(json);
	char *dst;
	if (!value_begin(b) || !(dst = reserve(b, n)))
		return;
	for (size_t i = 0; i < n; i++)
		dst[i] = json[i] == '\n' || json[i] == '\r' ? ' ' : json[i];
	commit(b, n);
}
