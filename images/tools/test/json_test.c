// sources: json.c base64.c
/* Host-side tests of the agent's JSON parser and writer and of base64, run under ASan and UBSan
 * by run.sh. Inputs are copied into heap buffers of their exact size, and arenas are exactly as
 * big as asked, so any read or write past the end stops the run. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base64.h"
#include "json.h"

#include "check.h"

/* Prints a detail of a failing check (at most a few per check, to keep the log readable). */
__attribute__((format(printf, 2, 3)))
static void detail(int *shown, const char *fmt, ...)
{
	va_list ap;
	if ((*shown)++ >= 5)
		return;
	va_start(ap, fmt);
	fputs("     ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* Bytes as printable ASCII for the log, \xNN for the rest (two results can be live at once). */
static const char *show(const void *bytes, size_t len)
{
	static char bufs[2][96];
	static int which;
	const unsigned char *s = bytes;
	char *out = bufs[which ^= 1];
	size_t k = 0;
	for (size_t i = 0; i < len && k < sizeof(bufs[0]) - 8; i++)
		k += sprintf(out + k, s[i] >= 0x20 && s[i] < 0x7f ? "%c" : "\\x%02x", s[i]);
	out[k] = '\0';
	return out;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* xorshift64*: fixed seed, so every run tests the same inputs. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

static size_t rnd_below(size_t n)
{
	return n ? rnd() % n : 0;
}

/* ---- Parsing helpers ---- */

static char errbuf[128];
static void *arena_mem;
static struct json_arena arena;

/* Parses a copy of text[0..len) in an exact-size heap buffer, with an arena of arena_size bytes
 * (also exact-size). The tree lives until the next call. */
static struct json *parse_sized(const void *text, size_t len, size_t arena_size)
{
	char *copy = malloc(len ? len : 1);
	struct json *v;
	memcpy(copy, text, len);
	free(arena_mem);
	arena_mem = malloc(arena_size ? arena_size : 1);
	json_arena_init(&arena, arena_mem, arena_size);
	v = json_parse(&arena, copy, len, errbuf, sizeof(errbuf));
	free(copy);
	return v;
}

static struct json *parse_n(const void *text, size_t len)
{
	return parse_sized(text, len, 65536);
}

static struct json *parse(const char *text)
{
	return parse_n(text, strlen(text));
}

static bool str_is(const struct json *v, const char *bytes, size_t len)
{
	return v && v->type == JSON_STRING && v->u.str.len == len && !memcmp(v->u.str.s, bytes, len)
		&& v->u.str.s[len] == '\0';
}

static bool int_is(const struct json *v, int64_t want)
{
	int64_t got;
	return json_as_int64(v, &got) && got == want;
}

static bool double_is(const struct json *v, double want)
{
	double got;
	return json_as_double(v, &got) && got == want;
}

/* ---- Valid documents ---- */

static void test_scalars(void)
{
	struct json *v;
	bool b;

	v = parse("null");
	check(v && v->type == JSON_NULL && json_is_null(v), "null");
	v = parse("true");
	check(json_as_bool(v, &b) && b, "true");
	v = parse("false");
	check(json_as_bool(v, &b) && !b, "false");
	check(int_is(parse("0"), 0) && double_is(parse("0"), 0), "0");
	v = parse("-0");
	check(int_is(v, 0) && v->u.num.d == 0 && signbit(v->u.num.d), "-0 is integer 0 and double -0.0");
	check(int_is(parse("123"), 123) && double_is(parse("123"), 123), "123");
	check(int_is(parse("-42"), -42), "-42");
	check(int_is(parse("9223372036854775807"), INT64_MAX), "INT64_MAX is an integer");
	check(int_is(parse("-9223372036854775808"), INT64_MIN), "INT64_MIN is an integer");
	v = parse("9223372036854775808");
	check(v && !v->u.num.is_int && v->u.num.d == 9223372036854775808.0, "INT64_MAX+1 is only a double");
	v = parse("-9223372036854775809");
	check(v && !v->u.num.is_int && v->u.num.d == -9223372036854775808.0, "INT64_MIN-1 is only a double");
	v = parse("184467440737095516150");
	check(v && !v->u.num.is_int, "a 21-digit integer is only a double");
	v = parse("1.5");
	check(v && !v->u.num.is_int && double_is(v, 1.5), "1.5");
	check(double_is(parse("-1.25e-3"), -1.25e-3), "-1.25e-3");
	check(double_is(parse("1E+2"), 100) && double_is(parse("1e2"), 100) && double_is(parse("10e-1"), 1),
	      "exponents: 1E+2, 1e2, 10e-1");
	v = parse("1e2");
	check(v && !v->u.num.is_int, "1e2 is not an integer literal");
	v = parse("1.0");
	check(v && !v->u.num.is_int && double_is(v, 1), "1.0 is not an integer literal");
	check(double_is(parse("1e-400"), 0), "1e-400 underflows to 0");
	check(double_is(parse("1.7976931348623157e308"), 1.7976931348623157e308), "DBL_MAX");
	check(double_is(parse("0.1"), 0.1), "0.1 rounds like strtod");
	check(str_is(parse("\"\""), "", 0), "empty string");
	check(str_is(parse("\"abc\""), "abc", 3), "\"abc\"");
	v = parse(" \t\r\n[ 1 ,\n\t2 ] \r\n");
	check(json_array_len(v) == 2 && int_is(json_array_at(v, 1), 2), "whitespace everywhere JSON allows it");
	v = parse_n("123", 2);
	check(int_is(v, 12), "only len bytes are read: \"123\" with len 2 is 12");
}

static void test_containers(void)
{
	const struct json *v, *e;
	int64_t i = -1;
	const char *s;
	size_t n;

	v = parse("[]");
	check(v && v->type == JSON_ARRAY && json_array_len(v) == 0 && !json_array_at(v, 0), "[]");
	v = parse("{}");
	check(v && v->type == JSON_OBJECT && v->u.list.len == 0 && !json_get(v, "a"), "{}");
	v = parse("[1,\"two\",null,true,{},[],3.5]");
	check(json_array_len(v) == 7 && int_is(json_array_at(v, 0), 1) && str_is(json_array_at(v, 1), "two", 3)
	      && json_is_null(json_array_at(v, 2)) && json_array_at(v, 3)->type == JSON_BOOL
	      && json_array_at(v, 4)->type == JSON_OBJECT && json_array_at(v, 5)->type == JSON_ARRAY
	      && double_is(json_array_at(v, 6), 3.5) && !json_array_at(v, 7), "array of every type, in order");
	n = 0;
	for (e = v ? v->u.list.items[0] : NULL; e; e = e->next)
		n++;
	check(n == 7, "elements are linked in order through next");

	v = parse("{\"id\": 7, \"op\": \"create\", \"args\": {\"name\": \"web\", \"memory\": 33554432, "
		  "\"cpus\": 0.5, \"privileged\": false, \"ip\": null, \"argv\": [\"sh\", \"-c\", \"echo\"]}}");
	check(v && json_get_int64(v, "id", &i) && i == 7, "a protocol request: id");
	check(json_get_string(v, "op", &s, &n) && !strcmp(s, "create") && n == 6, "op");
	e = json_get(v, "args");
	check(e && e->type == JSON_OBJECT && !strcmp(e->key, "args") && e->u.list.len == 6, "args is an object of 6");
	check(json_get_int64(e, "memory", &i) && i == 33554432, "args.memory");
	double d = 0;
	check(json_get_double(e, "cpus", &d) && d == 0.5, "args.cpus");
	bool b = true;
	check(json_get_bool(e, "privileged", &b) && !b, "args.privileged");
	check(json_is_null(json_get(e, "ip")) && !json_get(e, "missing"), "null vs missing");
	const struct json *argv = json_get(e, "argv");
	check(json_array_len(argv) == 3 && str_is(json_array_at(argv, 2), "echo", 4), "args.argv");

	v = parse("{\"a\":{\"b\":{\"c\":[[[{\"d\":\"deep\"}]]]}}}");
	e = json_array_at(json_array_at(json_array_at(json_get(json_get(json_get(v, "a"), "b"), "c"), 0), 0), 0);
	check(str_is(json_get(e, "d"), "deep", 4), "nested lookups");
}

static void test_accessors(void)
{
	const struct json *v = parse("{\"n\": 5, \"f\": 2.5, \"s\": \"text\", \"t\": true, \"a\": [1], \"z\": null}");

	int64_t i = 99;
	double d = 99;
	bool b = false;
	const char *s = "untouched";
	size_t len = 99;
	check(!json_get_int64(v, "f", &i) && i == 99, "json_get_int64 refuses 2.5 and leaves *out alone");
	check(!json_get_int64(v, "s", &i) && !json_get_int64(v, "missing", &i) && !json_get_int64(v, "z", &i)
	      && i == 99, "json_get_int64 refuses a string, a missing key, null");
	check(json_get_double(v, "n", &d) && d == 5, "json_get_double takes an integer");
	check(!json_get_double(v, "t", &d) && d == 5, "json_get_double refuses true");
	check(!json_get_bool(v, "n", &b) && !b && json_get_bool(v, "t", &b) && b, "json_get_bool");
	check(!json_get_string(v, "n", &s, &len) && !strcmp(s, "untouched") && len == 99,
	      "json_get_string refuses a number");
	check(json_get_string(v, "s", &s, NULL) && !strcmp(s, "text"), "json_get_string with len NULL");
	check(!json_get(json_get(v, "a"), "0") && !json_get(NULL, "a") && !json_get(v, NULL),
	      "json_get on an array, on NULL, with a NULL key");
	check(json_array_len(v) == 0 && !json_array_at(v, 0) && json_array_len(NULL) == 0 && !json_array_at(NULL, 0),
	      "array accessors on an object and on NULL");
	check(!json_is_null(NULL) && !json_is_null(json_get(v, "n")) && json_is_null(json_get(v, "z")), "json_is_null");
	check(!json_as_bool(NULL, &b) && !json_as_int64(NULL, &i) && !json_as_double(NULL, &d)
	      && !json_as_string(NULL, &s, &len), "typed accessors on NULL");

	v = parse("{\"k\": 1, \"other\": 2, \"k\": \"last\"}");
	check(str_is(json_get(v, "k"), "last", 4) && v->u.list.len == 3, "duplicate keys: kept, the last wins");
	v = parse("{\"a\\u0062\\n\": 1, \"\": 2, \"\\u00e9\": 3}");
	check(int_is(json_get(v, "ab\n"), 1) && int_is(json_get(v, ""), 2) && int_is(json_get(v, "\xc3\xa9"), 3),
	      "keys are decoded: escapes, empty, non-ASCII");
}

static void test_escapes(void)
{
	static const struct { const char *json, *bytes; size_t len; } cases[] = {
		{ "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8 },
		{ "\"\\u0041\\u00e9\\u00E9\"", "A\xc3\xa9\xc3\xa9", 5 },
		{ "\"\\u0001\\u001f\"", "\x01\x1f", 2 },
		{ "\"\\u07ff\\u0800\\u20ac\\uffff\"", "\xdf\xbf\xe0\xa0\x80\xe2\x82\xac\xef\xbf\xbf", 11 },
		{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4 },
		{ "\"\\uD800\\uDC00\\uDBFF\\uDFFF\"", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8 },
		{ "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f", 16 },
		{ "\"\xef\xbb\xbf\xf4\x8f\xbf\xbf\"", "\xef\xbb\xbf\xf4\x8f\xbf\xbf", 7 },
		{ "\"a\\\\u0041\"", "a\\u0041", 7 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		check(str_is(parse(cases[k].json), cases[k].bytes, cases[k].len), "escape decoding: %s", show(cases[k].json, strlen(cases[k].json)));
}

/* ---- Rejections ---- */

static void reject_n(const char *doc, size_t len, const char *reason)
{
	struct json *v = parse_n(doc, len);
	check(!v && strstr(errbuf, reason), "rejects %-28s -> %s", show(doc, len), errbuf);
}

static void reject(const char *doc, const char *reason)
{
	reject_n(doc, strlen(doc), reason);
}

static void test_rejections(void)
{
	static const struct { const char *doc, *reason; } cases[] = {
		{ "", "unexpected end of input at byte 0" },
		{ " \n ", "unexpected end of input at byte 3" },
		{ "[1,", "unexpected end of input at byte 3" },
		{ "{\"id\": 7, \"op\": \"pi", "unexpected end of input at byte 19" },
		/* numbers */
		{ "01", "leading zero at byte 0" }, { "-01", "leading zero at byte 1" }, { "00", "leading zero" },
		{ "[0123]", "leading zero" }, { "+1", "unexpected '+' at byte 0" }, { ".5", "unexpected '.'" },
		{ "1.", "unexpected end of input" }, { "1.e5", "unexpected 'e'" }, { "1e", "end of input" },
		{ "1e+", "end of input" }, { "1e+x", "unexpected 'x'" }, { "-", "end of input" },
		{ "--1", "unexpected '-' at byte 1" }, { "- 1", "unexpected byte 0x20" }, { "NaN", "unexpected 'N'" },
		{ "nan", "unexpected 'a'" }, { "Infinity", "unexpected 'I'" }, { "-Infinity", "unexpected 'I'" },
		{ "0x10", "trailing data at byte 1" }, { "1_000", "trailing data" }, { "1e999", "number out of range" },
		{ "-1e999", "number out of range" }, { "[1e400]", "number out of range at byte 1" },
		/* literals */
		{ "tru", "unexpected end of input at byte 3" }, { "nul", "end of input" }, { "True", "unexpected 'T'" },
		{ "truE", "unexpected 'E' at byte 3" }, { "nulll", "trailing data at byte 4" }, { "undefined", "unexpected 'u'" },
		/* structure */
		{ "[1,]", "unexpected ']' at byte 3" }, { "[,1]", "unexpected ','" }, { "[1 2]", "unexpected '2'" },
		{ "{\"a\":1,}", "unexpected '}'" }, { "{,}", "unexpected ','" }, { "{\"a\"}", "unexpected '}'" },
		{ "{\"a\" 1}", "unexpected '1'" }, { "{1:2}", "unexpected '1'" }, { "{'a':1}", "unexpected '''" },
		{ "{a:1}", "unexpected 'a'" }, { "{\"a\":}", "unexpected '}'" }, { "{\"a\"::1}", "unexpected ':'" },
		{ "[", "end of input" }, { "]", "unexpected ']'" }, { "{", "end of input" }, { "}", "unexpected '}'" },
		{ "[}", "unexpected '}'" }, { "{]", "unexpected ']'" }, { "[1}", "unexpected '}'" }, { "{\"a\":1]", "unexpected ']'" },
		/* trailing garbage */
		{ "1 2", "trailing data at byte 2" }, { "{} x", "trailing data at byte 3" }, { "[]]", "trailing data" },
		{ "nullx", "trailing data" }, { "true false", "trailing data" }, { "\"a\"\"b\"", "trailing data" },
		{ "{}{}", "trailing data" },
		/* whitespace JSON does not have */
		{ "\v1", "unexpected byte 0x0b" }, { "\f1", "unexpected byte 0x0c" }, { "\xa0" "1", "unexpected byte 0xa0" },
		{ "\xef\xbb\xbf" "1", "unexpected byte 0xef" },
		/* strings */
		{ "\"abc", "unexpected end of input at byte 4" }, { "\"\\", "end of input" },
		{ "\"\\x\"", "invalid escape at byte 1" }, { "\"\\U0041\"", "invalid escape" }, { "\"\\'\"", "invalid escape" },
		{ "\"\\u12\"", "invalid \\u escape at byte 1" }, { "\"\\u12G4\"", "invalid \\u escape" },
		{ "\"\\u 123\"", "invalid \\u escape" }, { "\"\\u12", "end of input" },
		{ "\"\\u0000\"", "\\u0000 in string at byte 1" }, { "\"\\ud800\"", "lone surrogate at byte 1" },
		{ "\"\\udc00\"", "lone surrogate" }, { "\"\\udfff\\ud800\"", "lone surrogate" },
		{ "\"\\ud800\\u0041\"", "lone surrogate" }, { "\"\\ud800\\ud800\"", "lone surrogate" },
		{ "\"\\ud800\\n\"", "lone surrogate" }, { "\"\\ud800x\"", "lone surrogate" },
		{ "\"\\ud800\\", "end of input" }, { "\"\\ud800\\udc", "end of input" }, { "\"\\ud800\\uzzzz\"", "invalid \\u escape" },
		{ "\"a\x01" "b\"", "control character in string at byte 2" }, { "\"a\nb\"", "control character" },
		{ "\"\t\"", "control character" }, { "\"\x1f\"", "control character" },
		/* invalid UTF-8 in raw strings */
		{ "\"\xff\"", "invalid UTF-8 at byte 1" }, { "\"\x80\"", "invalid UTF-8" }, { "\"\xc3\"", "invalid UTF-8" },
		{ "\"\xc0\xaf\"", "invalid UTF-8" }, { "\"\xc1\xbf\"", "invalid UTF-8" }, { "\"\xe0\x80\xaf\"", "invalid UTF-8" },
		{ "\"\xe0\x9f\xbf\"", "invalid UTF-8" }, { "\"\xed\xa0\x80\"", "invalid UTF-8" }, { "\"\xed\xbf\xbf\"", "invalid UTF-8" },
		{ "\"\xf0\x80\x80\x80\"", "invalid UTF-8" }, { "\"\xf0\x8f\xbf\xbf\"", "invalid UTF-8" },
		{ "\"\xf4\x90\x80\x80\"", "invalid UTF-8" }, { "\"\xf5\x80\x80\x80\"", "invalid UTF-8" },
		{ "\"\xf8\x88\x80\x80\x80\"", "invalid UTF-8" }, { "\"\xe2\x82\"", "invalid UTF-8 at byte 1" },
		{ "\"ok\xe2\x82", "unexpected end of input at byte 5" }, { "\"\xf0\x9f\x98", "end of input" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		reject(cases[k].doc, cases[k].reason);
	reject_n("1\0", 2, "trailing data at byte 1");
	reject_n("[\0]", 3, "unexpected byte 0x00 at byte 1");
	reject_n("\"a\0b\"", 5, "control character in string at byte 2");

	/* The error buffer is optional and may be tiny. */
	struct json_arena a;
	char mem[64], small[8];
	json_arena_init(&a, mem, sizeof(mem));
	check(!json_parse(&a, "[", 1, NULL, 0), "no error buffer");
	json_arena_init(&a, mem, sizeof(mem));
	check(!json_parse(&a, "[", 1, small, sizeof(small)) && !strcmp(small, "unexpec"), "a small error buffer is truncated");
	json_arena_init(&a, mem, sizeof(mem));
	check(json_parse(&a, "1", 1, small, sizeof(small)) && small[0] == '\0', "the error buffer is cleared on success");
}

/* ---- Truncation, depth, arena size ---- */

static const char *const valid_docs[] = {
	"{\"id\": 7, \"op\": \"create\", \"args\": {\"name\": \"web\", \"memory\": 33554432, \"cpus\": 0.5, "
	"\"privileged\": false, \"ip\": null, \"argv\": [\"sh\", \"-c\", \"echo hi\"], \"stdin\": \"aGk=\"}}",
	"{\"name\":\"web\",\"state\":\"running\",\"template\":\"busybox\",\"hostname\":\"web\",\"ip\":\"10.0.1.5/16\","
	"\"memory\":33554432,\"pids\":64,\"cpus\":0.5,\"privileged\":false,\"init_pid\":412,\"created\":1700000000}",
	"{\"name\":\"web\",\"memory\":{\"current\":1234,\"max\":null,\"peak\":2345,\"oom_kills\":0},"
	"\"cpu\":{\"usage_usec\":1,\"throttled_usec\":0}}",
	"[\"h\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\", \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\", \"\"]",
	"[-0, 12, -3.25e+10, 1E-7, 9223372036854775807, -9223372036854775808, 0.000001, [[[]]], {}, [{}]]",
	"{\"a\":{\"b\":[[],{},true,false,null,\"\"]}, \"\":{\"\":[]}}",
	"[ true , false , null ]",
	"\"just a string with \\u0041 escape\"",
	"-1.5e+10",
	"12345",
	"true",
	"null",
};

/* A proper prefix of one of valid_docs is valid JSON only when the document is a bare number and
 * the prefix ends in a digit ("1" of "12"); any other prefix must fail for lack of input. */
static void test_truncation(void)
{
	for (size_t d = 0; d < sizeof(valid_docs) / sizeof(valid_docs[0]); d++) {
		const char *doc = valid_docs[d];
		size_t len = strlen(doc);
		bool number = doc[0] == '-' || (doc[0] >= '0' && doc[0] <= '9');
		int bad = 0, shown = 0;
		if (!parse_n(doc, len))
			detail(&shown, "the whole document failed: %s", errbuf), bad++;
		for (size_t n = 0; n < len; n++) {
			bool want = number && n > 0 && doc[n - 1] >= '0' && doc[n - 1] <= '9';
			struct json *v = parse_n(doc, n);
			if (!v != !want || (!v && !strstr(errbuf, "unexpected end of input"))) {
				bad++;
				detail(&shown, "prefix of %zu bytes: %s", n, v ? "accepted" : errbuf);
			}
		}
		check(!bad, "all %zu prefixes of document %zu (%.30s...) are handled", len, d, show(doc, len));
	}
}

static void test_depth(void)
{
	char doc[8 * (JSON_MAX_DEPTH + 1)];
	size_t n;
	for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
		memset(doc, '[', depth);
		memset(doc + depth, ']', depth);
		struct json *v = parse_n(doc, 2 * depth);
		if (depth == JSON_MAX_DEPTH) {
			const struct json *e = v;
			int levels = 0;
			for (; e; e = json_array_at(e, 0))
				levels++;
			check(levels == JSON_MAX_DEPTH, "%d nested arrays are accepted", depth);
		} else {
			check(!v && !strcmp(errbuf, "nested too deeply at byte 32"), "%d nested arrays: %s", depth, errbuf);
		}
	}
	n = 0;
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		n += sprintf(doc + n, "{\"a\":");
	n += sprintf(doc + n, "1");
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		doc[n++] = '}';
	check(parse_n(doc + 5, n - 6) != NULL, "%d nested objects are accepted", JSON_MAX_DEPTH);
	check(!parse_n(doc, n) && strstr(errbuf, "nested too deeply"), "%d nested objects: %s", JSON_MAX_DEPTH + 1, errbuf);

	/* Depth costs no C stack: a million brackets fail at the limit without recursing. */
	size_t big = 1000000;
	char *deep = malloc(big);
	memset(deep, '[', big);
	check(!parse_n(deep, big) && strstr(errbuf, "nested too deeply"), "a million '[': %s", errbuf);
	free(deep);
}

/* An arena too small is a clean error at every size; JSON_ARENA_SIZE is always enough. */
static void test_arena_limits(void)
{
	const char *doc = valid_docs[0];
	size_t len = strlen(doc), need = 0;
	int bad = 0, shown = 0;
	for (size_t size = 0; size <= 8192; size++) {
		struct json *v = parse_sized(doc, len, size);
		if (v && !need)
			need = size;
		if (!v && (need || strcmp(errbuf, "document too large"))) {
			bad++;
			detail(&shown, "arena of %zu bytes: %s", size, errbuf);
		}
	}
	check(need && !bad, "arenas of 0..%zu bytes fail cleanly with \"document too large\", %zu is enough", need - 1, need);
	check(need <= JSON_ARENA_SIZE(len), "JSON_ARENA_SIZE(%zu) = %zu covers it", len, JSON_ARENA_SIZE(len));

	/* Worst cases for arena use per input byte: a 64 KiB line of each must fit JSON_ARENA_SIZE. */
	static const char *const units[] = { "0,", "\"\",", "[],", "{},", "[0],", "\"\\u00e9\",", "\"x\":0," };
	size_t max = 65536;
	char *line = malloc(max);
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		bool obj = units[u][0] == '"' && units[u][3] == ':';
		size_t ulen = strlen(units[u]), n = 1;
		line[0] = obj ? '{' : '[';
		while (n + ulen + 1 <= max) {
			memcpy(line + n, units[u], ulen);
			n += ulen;
		}
		line[n - 1] = obj ? '}' : ']';   /* replaces the last comma */
		struct json *v = parse_sized(line, n, JSON_ARENA_SIZE(n));
		check(v != NULL, "%zu bytes of %s fit JSON_ARENA_SIZE = %zu (%s)", n, units[u], JSON_ARENA_SIZE(n),
		      v ? "ok" : errbuf);
	}
	/* A long number borrows arena space for strtod, and gives it back. */
	memset(line, '0', max);
	line[1] = '.';
	line[2] = '5';
	struct json *v = parse_sized(line, max, JSON_ARENA_SIZE(max));
	check(v && v->type == JSON_NUMBER && v->u.num.d == 0.5 && arena.used < sizeof(struct json) + _Alignof(struct json),
	      "a 64 KiB number parses and keeps no arena beyond its node");
	free(line);
}

/* ---- Writer ---- */

static bool out_is(struct jbuf *b, const char *want)
{
	bool ok = jb_done(b) && b->data && !strcmp(b->data, want) && b->len == strlen(want);
	if (!ok)
		printf("     got %s%s\n", b->data ? show(b->data, b->len) : "(nothing)", b->failed ? " (failed)" : "");
	return ok;
}

static void test_writer_basics(void)
{
	struct jbuf b;
	jb_init(&b);
	jb_obj_begin(&b);
	jb_key(&b, "id");
	jb_int(&b, 7);
	jb_key(&b, "ok");
	jb_bool(&b, true);
	jb_key(&b, "result");
	jb_obj_begin(&b);
	jb_key(&b, "list");
	jb_arr_begin(&b);
	jb_int(&b, INT64_MIN);
	jb_int(&b, INT64_MAX);
	jb_double(&b, 0.5);
	jb_bool(&b, false);
	jb_null(&b);
	jb_str(&b, "x");
	jb_str(&b, NULL);
	jb_arr_begin(&b);
	jb_arr_end(&b);
	jb_obj_begin(&b);
	jb_obj_end(&b);
	jb_arr_end(&b);
	jb_key(&b, "raw");
	jb_raw(&b, "{\"a\":\n[1,\r\n2]}");
	jb_key(&b, "k\"\n");
	jb_b64(&b, "hi", 2);
	jb_obj_end(&b);
	jb_obj_end(&b);
	check(out_is(&b, "{\"id\":7,\"ok\":true,\"result\":{\"list\":[-9223372036854775808,9223372036854775807,0.5,false,"
			 "null,\"x\",null,[],{}],\"raw\":{\"a\": [1,  2]},\"k\\\"\\n\":\"aGk=\"}}"),
	      "commas, colons, nesting, every kind of value, raw JSON kept on one line, escaped keys");
	jb_free(&b);
	check(!b.data && !b.len && !b.failed && !jb_done(&b), "jb_free re-initialises");

	static const struct { double v; const char *text; } doubles[] = {
		{ 0.1, "0.1" }, { -2.5, "-2.5" }, { 1e300, "1e+300" }, { 5e-324, "4.94065645841247e-324" },
		{ 1.0 / 3, "0.3333333333333333" }, { 100, "100" }, { -0.0, "-0" }, { 123456789012345680.0, "1.2345678901234568e+17" },
		{ NAN, "null" }, { INFINITY, "null" }, { -INFINITY, "null" },
	};
	for (size_t k = 0; k < sizeof(doubles) / sizeof(doubles[0]); k++) {
		jb_double(&b, doubles[k].v);
		check(out_is(&b, doubles[k].text), "jb_double(%.17g) = %s", doubles[k].v, doubles[k].text);
		jb_free(&b);
	}
	int bad = 0, shown = 0;
	for (int k = 0; k < 20000; k++) {
		union { uint64_t u; double d; } r = { .u = rnd() };
		struct json *v;
		if (!isfinite(r.d))
			continue;
		jb_double(&b, r.d);
		v = parse(b.data);
		if (!v || v->u.num.d != r.d)
			bad++, detail(&shown, "%.17g was written as %s", r.d, b.data);
		jb_free(&b);
	}
	check(!bad, "20000 random doubles read back exactly");
}

static void test_writer_misuse(void)
{
	struct jbuf b;
	jb_init(&b);
	jb_obj_begin(&b);
	jb_int(&b, 1);
	check(b.failed && !jb_done(&b), "a value in an object without a key fails");
	jb_free(&b);

	jb_arr_begin(&b);
	jb_key(&b, "k");
	check(b.failed, "a key in an array fails");
	jb_free(&b);

	jb_obj_begin(&b);
	jb_key(&b, "k");
	jb_key(&b, "k2");
	check(b.failed, "two keys in a row fail");
	jb_free(&b);

	jb_obj_begin(&b);
	jb_key(&b, "k");
	jb_obj_end(&b);
	check(b.failed, "a key without a value fails");
	jb_free(&b);

	jb_obj_begin(&b);
	jb_arr_end(&b);
	check(b.failed, "a mismatched end fails");
	jb_free(&b);

	jb_arr_end(&b);
	check(b.failed, "an end at the top level fails");
	jb_free(&b);

	jb_int(&b, 1);
	jb_int(&b, 2);
	check(b.failed && !strcmp(b.data, "1"), "a second top-level value fails and is not written");
	jb_free(&b);

	jb_obj_begin(&b);
	jb_key(&b, NULL);
	check(b.failed, "a NULL key fails");
	jb_free(&b);

	jb_arr_begin(&b);
	check(!jb_done(&b) && !b.failed, "an open container is not done");
	jb_free(&b);
	check(!jb_done(&b), "an empty buffer is not done");

	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		jb_arr_begin(&b);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		jb_arr_end(&b);
	check(jb_done(&b), "%d nested arrays can be written", JSON_MAX_DEPTH);
	jb_free(&b);
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		jb_arr_begin(&b);
	check(b.failed, "%d nested arrays fail", JSON_MAX_DEPTH + 1);
	jb_free(&b);
}

/* An independent model of the WHATWG UTF-8 decoder (Encoding Standard, "UTF-8 decoder"), from
 * which the expected writer output is computed; NUL also becomes U+FFFD (see jb_str). */
static size_t model_decode(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t o = 0, i = 0;
	unsigned needed = 0, seen = 0, lower = 0x80, upper = 0xbf;
	uint32_t cp = 0;
	for (;;) {
		uint32_t emit = UINT32_MAX;
		if (i == n) {
			if (!needed)
				break;
			needed = 0;
			emit = 0xfffd;
		} else if (!needed) {
			unsigned c = in[i++];
			if (c < 0x80) {
				emit = c ? c : 0xfffd;
			} else if (c >= 0xc2 && c <= 0xdf) {
				needed = 1, cp = c & 0x1f;
			} else if (c >= 0xe0 && c <= 0xef) {
				lower = c == 0xe0 ? 0xa0 : 0x80, upper = c == 0xed ? 0x9f : 0xbf;
				needed = 2, cp = c & 0xf;
			} else if (c >= 0xf0 && c <= 0xf4) {
				lower = c == 0xf0 ? 0x90 : 0x80, upper = c == 0xf4 ? 0x8f : 0xbf;
				needed = 3, cp = c & 7;
			} else {
				emit = 0xfffd;
			}
		} else if (in[i] < lower || in[i] > upper) {
			needed = seen = cp = 0, lower = 0x80, upper = 0xbf;
			emit = 0xfffd;   /* the byte is looked at again as a start */
		} else {
			cp = cp << 6 | (in[i++] & 0x3f);
			lower = 0x80, upper = 0xbf;
			if (++seen == needed)
				emit = cp, needed = seen = cp = 0;
		}
		if (emit == UINT32_MAX)
			continue;
		if (emit < 0x80) {
			out[o++] = emit;
		} else if (emit < 0x800) {
			out[o++] = 0xc0 | emit >> 6, out[o++] = 0x80 | (emit & 0x3f);
		} else if (emit < 0x10000) {
			out[o++] = 0xe0 | emit >> 12, out[o++] = 0x80 | (emit >> 6 & 0x3f), out[o++] = 0x80 | (emit & 0x3f);
		} else {
			out[o++] = 0xf0 | emit >> 18, out[o++] = 0x80 | (emit >> 12 & 0x3f);
			out[o++] = 0x80 | (emit >> 6 & 0x3f), out[o++] = 0x80 | (emit & 0x3f);
		}
	}
	return o;
}

/* Writes bytes with jb_strn and checks the line is safe and reads back as the model says. */
static bool writer_round_trip(const void *bytes, size_t n, int *shown)
{
	struct jbuf b;
	unsigned char *want = malloc(3 * n + 1);
	size_t want_len = model_decode(bytes, n, want);
	struct json *v;
	bool ok;
	jb_init(&b);
	jb_strn(&b, bytes, n);
	ok = jb_done(&b) && strlen(b.data) == b.len;
	for (size_t i = 0; ok && i < b.len; i++)
		ok = (unsigned char)b.data[i] >= 0x20;   /* no raw newline or other control byte */
	v = ok ? parse_n(b.data, b.len) : NULL;
	ok = ok && str_is(v, (const char *)want, want_len);
	if (!ok)
		detail(shown, "%s written as %s", show(bytes, n), b.data ? show(b.data, b.len) : "(nothing)");
	free(want);
	jb_free(&b);
	return ok;
}

static void test_writer_hostile(void)
{
	static const struct { const char *bytes; size_t len; const char *json; } cases[] = {
		{ "a\0b", 3, "\"a\xef\xbf\xbd" "b\"" },
		{ "\xff", 1, "\"\xef\xbf\xbd\"" },
		{ "line\nline\r\n", 11, "\"line\\nline\\r\\n\"" },
		{ "\"q\" \\ /", 7, "\"\\\"q\\\" \\\\ /\"" },
		{ "\x01\x08\x0c\x1f\x7f\t", 6, "\"\\u0001\\u0008\\u000c\\u001f\x7f\\t\"" },
		{ "\xe2\x82", 2, "\"\xef\xbf\xbd\"" },
		{ "\xe2\x82" "a", 3, "\"\xef\xbf\xbd" "a\"" },
		{ "\xf0\x9f\x98" "x", 4, "\"\xef\xbf\xbd" "x\"" },
		{ "\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf4\x90\x80\x80", 4, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "", 0, "\"\"" },
	};
	int shown = 0;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct jbuf b;
		jb_init(&b);
		jb_strn(&b, cases[k].bytes, cases[k].len);
		check(out_is(&b, cases[k].json) && writer_round_trip(cases[k].bytes, cases[k].len, &shown),
		      "hostile bytes %s: written as %s and read back", show(cases[k].bytes, cases[k].len),
		      show(cases[k].json, strlen(cases[k].json)));
		jb_free(&b);
	}
	int bad = 0;
	unsigned char bytes[64];
	for (int k = 0; k < 50000; k++) {
		size_t n = rnd_below(sizeof(bytes) + 1);
		bool mostly_text = k & 1;   /* half of them near-valid UTF-8, to reach the multi-byte paths */
		for (size_t i = 0; i < n; i++) {
			static const unsigned char pick[] = { 0, '\n', '"', '\\', 'a', 0x7f, 0x80, 0xbf, 0xc2, 0xdf, 0xe0,
							      0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xa0, 0x9f, 0x90, 0x8f, 0xff };
			bytes[i] = mostly_text ? pick[rnd_below(sizeof(pick))] : (unsigned char)rnd();
		}
		if (!writer_round_trip(bytes, n, &shown))
			bad++;
	}
	check(!bad, "50000 random byte strings: one safe line each, read back as a WHATWG decoder would");

	/* A megabyte of base64, as exec's stdout can be. */
	size_t n = 1 << 20;
	unsigned char *data = malloc(n), *back = malloc(n);
	struct jbuf b;
	const char *s;
	size_t len;
	for (size_t i = 0; i < n; i++)
		data[i] = rnd();
	jb_init(&b);
	jb_obj_begin(&b);
	jb_key(&b, "stdout");
	jb_b64(&b, data, n);
	jb_obj_end(&b);
	struct json *v = parse_sized(b.data, b.len, JSON_ARENA_SIZE(b.len));
	check(jb_done(&b) && json_get_string(v, "stdout", &s, &len) && b64_decode(back, s, len) == (ssize_t)n
	      && !memcmp(back, data, n), "jb_b64 of 1 MiB reads back");
	jb_free(&b);
	free(data);
	free(back);
}

/* ---- Mutation fuzzing ---- */

/* Writes a parsed value back out with the writer. */
static void write_value(struct jbuf *b, const struct json *v)
{
	switch (v->type) {
	case JSON_NULL:
		jb_null(b);
		break;
	case JSON_BOOL:
		jb_bool(b, v->u.boolean);
		break;
	case JSON_NUMBER:
		if (v->u.num.is_int)
			jb_int(b, v->u.num.i);
		else
			jb_double(b, v->u.num.d);
		break;
	case JSON_STRING:
		jb_strn(b, v->u.str.s, v->u.str.len);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		v->type == JSON_ARRAY ? jb_arr_begin(b) : jb_obj_begin(b);
		for (size_t i = 0; i < v->u.list.len; i++) {
			if (v->type == JSON_OBJECT)
				jb_key(b, v->u.list.items[i]->key);
			write_value(b, v->u.list.items[i]);
		}
		v->type == JSON_ARRAY ? jb_arr_end(b) : jb_obj_end(b);
		break;
	}
}

static bool same_value(const struct json *a, const struct json *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JSON_NULL:
		return true;
	case JSON_BOOL:
		return a->u.boolean == b->u.boolean;
	case JSON_NUMBER:
		/* 1e2 comes back as 100, an integer literal; an integer must stay one. */
		return a->u.num.d == b->u.num.d && (!a->u.num.is_int || (b->u.num.is_int && a->u.num.i == b->u.num.i));
	case JSON_STRING:
		return a->u.str.len == b->u.str.len && !memcmp(a->u.str.s, b->u.str.s, a->u.str.len);
	case JSON_ARRAY:
	case JSON_OBJECT:
		if (a->u.list.len != b->u.list.len)
			return false;
		for (size_t i = 0; i < a->u.list.len; i++) {
			const struct json *x = a->u.list.items[i], *y = b->u.list.items[i];
			if ((x->key || y->key) && (!x->key || !y->key || strcmp(x->key, y->key)))
				return false;
			if (!same_value(x, y))
				return false;
		}
		return true;
	}
	return false;
}

static void mutate(char *buf, size_t *len, size_t cap)
{
	static const char interesting[] = "{}[]:,\"\\u0123456789-+.eEtrufalsn \t\n/bdDcC";
	for (int ops = 1 + rnd_below(3); ops > 0; ops--) {
		size_t at = rnd_below(*len + 1), n;
		char c = rnd_below(4) ? interesting[rnd_below(sizeof(interesting) - 1)] : (char)rnd();
		switch (rnd_below(4)) {
		case 0:   /* replace a byte */
			if (at < *len)
				buf[at] = c;
			break;
		case 1:   /* flip a bit */
			if (at < *len)
				buf[at] ^= 1 << rnd_below(8);
			break;
		case 2:   /* insert a byte */
			if (*len < cap) {
				memmove(buf + at + 1, buf + at, *len - at);
				buf[at] = c;
				++*len;
			}
			break;
		case 3:   /* delete up to 4 bytes */
			n = 1 + rnd_below(4);
			if (at + n <= *len) {
				memmove(buf + at, buf + at + n, *len - at - n);
				*len -= n;
			}
			break;
		}
	}
}

static void test_fuzz(void)
{
	enum { ROUNDS = 200000 };
	char buf[1024];
	int accepted = 0, rejected = 0, too_large = 0, bad = 0, shown = 0;
	for (int k = 0; k < ROUNDS; k++) {
		const char *doc = valid_docs[rnd_below(sizeof(valid_docs) / sizeof(valid_docs[0]))];
		size_t len = strlen(doc);
		/* Mostly an arena that must always be enough; sometimes one that may run out. */
		bool roomy = rnd_below(5);
		memcpy(buf, doc, len);
		mutate(buf, &len, sizeof(buf));
		size_t size = roomy ? JSON_ARENA_SIZE(len) : rnd_below(1024);
		struct json *v = parse_sized(buf, len, size);
		if (!v) {
			bool full = !strcmp(errbuf, "document too large");
			rejected++;
			too_large += full;
			if (!errbuf[0] || (roomy && full))
				bad++, detail(&shown, "rejected %s: \"%s\"", show(buf, len), errbuf);
			continue;
		}
		accepted++;
		/* Whatever the parser accepts, the writer writes back to the same value. */
		struct jbuf b;
		jb_init(&b);
		write_value(&b, v);
		struct json_arena a2;
		void *mem2 = malloc(JSON_ARENA_SIZE(b.len));
		char err2[128];
		json_arena_init(&a2, mem2, JSON_ARENA_SIZE(b.len));
		struct json *w = jb_done(&b) ? json_parse(&a2, b.data, b.len, err2, sizeof(err2)) : NULL;
		if (!w || !same_value(v, w))
			bad++, detail(&shown, "%s was written as %s", show(buf, len), b.data ? show(b.data, b.len) : "(nothing)");
		free(mem2);
		jb_free(&b);
	}
	check(!bad && accepted > 1000 && rejected > 1000,
	      "%d mutations: %d accepted and written back identically, %d rejected (%d for arena size)", ROUNDS,
	      accepted, rejected, too_large);
}

/* ---- base64 ---- */

static void test_base64(void)
{
	static const char *const vectors[][2] = {   /* RFC 4648 section 10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t k = 0; k < sizeof(vectors) / sizeof(vectors[0]); k++) {
		char out[16], back[16];
		size_t n = strlen(vectors[k][0]);
		b64_encode(out, vectors[k][0], n);
		ssize_t got = b64_decode(back, out, strlen(out));
		check(!strcmp(out, vectors[k][1]) && got == (ssize_t)n && !memcmp(back, vectors[k][0], n),
		      "RFC 4648 vector \"%s\" = \"%s\"", vectors[k][0], vectors[k][1]);
	}

	int bad = 0, shown = 0;
	for (size_t n = 0; n <= 300; n++) {
		unsigned char data[300], back[300];
		size_t elen = b64_encoded_len(n);
		char *enc = malloc(elen + 1), *dec;
		for (size_t i = 0; i < n; i++)
			data[i] = rnd();
		b64_encode(enc, data, n);
		dec = malloc(b64_decoded_max(elen) ? b64_decoded_max(elen) : 1);
		ssize_t got = b64_decode(dec, enc, elen);
		if (strlen(enc) != elen || elen != (n + 2) / 3 * 4 || got != (ssize_t)n || memcmp(dec, data, n))
			bad++, detail(&shown, "length %zu", n);
		/* In place, as a caller decoding a parsed string's own bytes would. */
		memcpy(back, data, n);
		if (b64_decode(enc, enc, elen) != (ssize_t)n || memcmp(enc, back, n))
			bad++, detail(&shown, "in place, length %zu", n);
		free(enc);
		free(dec);
	}
	check(!bad, "round trips of every length 0..300, into an exact buffer and in place");

	static const char *const malformed[] = {
		"Z", "Zg", "Zg=", "Zm9vY", "Zg==Zg==", "Zm9v=Zm9", "=Zm9", "Z=m9", "Zg=a", "Z===", "====", "Zm==Zm9v",
		"Zh==", "Zm9=", "Zm9 ", "Zm9\n", " Zm9v", "Zm9v\r\n", "Zm9-", "Zm9_", "Zm9.", "Zm\xc3\xa9", "Zm9\xff",
	};
	for (size_t k = 0; k < sizeof(malformed) / sizeof(malformed[0]); k++) {
		char out[16];
		check(b64_decode(out, malformed[k], strlen(malformed[k])) == -1, "base64 rejects \"%s\"", show(malformed[k], strlen(malformed[k])));
	}
	char out[4];
	check(b64_decode(out, "Zm\0v", 4) == -1, "base64 rejects NUL");
	check(b64_encoded_len(SIZE_MAX) == SIZE_MAX && b64_encoded_len(SIZE_MAX / 4 * 3) == SIZE_MAX,
	      "b64_encoded_len reports overflow as SIZE_MAX");

	/* Strictness, exactly: a string is accepted only if it is what b64_encode writes for its
	 * decoding (together with the round trips, decode accepts exactly the canonical encodings). */
	static const char chars[] = "AQgw/+9zB=\n-_ \x80";
	bad = 0;
	int accepted = 0;
	for (int k = 0; k < 200000; k++) {
		char in[12], dec[9], again[13];
		size_t len = 4 * (1 + rnd_below(3)) - (rnd_below(8) == 0);
		for (size_t i = 0; i < len; i++)
			in[i] = chars[rnd_below(sizeof(chars) - 1)];
		ssize_t got = b64_decode(dec, in, len);
		if (got < 0)
			continue;
		accepted++;
		b64_encode(again, dec, got);
		if (strlen(again) != len || memcmp(again, in, len))
			bad++, detail(&shown, "accepted %s", show(in, len));
	}
	check(!bad && accepted > 1000, "200000 random strings: the %d accepted are all canonical", accepted);
}

int main(void)
{
	test_scalars();
	test_containers();
	test_accessors();
	test_escapes();
	test_rejections();
	test_truncation();
	test_depth();
	test_arena_limits();
	test_writer_basics();
	test_writer_misuse();
	test_writer_hostile();
	test_fuzz();
	test_base64();
	free(arena_mem);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
