/* JSON for the agent protocol: a strict parser that allocates only from a caller's fixed arena
 * (so no request can exhaust memory), and a writer whose output is always one line of valid
 * JSON and valid UTF-8, whatever bytes it is given. */
#ifndef CT_JSON_H
#define CT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Containers nested deeper than this are refused by the parser and the writer. */
#define JSON_MAX_DEPTH 32

/* ---- Parser ---- */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

/* A parsed value. It lives in the arena and is read-only for callers. */
struct json {
	enum json_type type;
	const char *key;       /* member name when inside an object (decoded, no NULs), else NULL */
	struct json *next;     /* next element or member of the same container, NULL for the last */
	union {
		bool boolean;
		struct {
			double d;      /* always set */
			int64_t i;     /* set when is_int */
			bool is_int;   /* written as an integer (no '.', no exponent) that fits int64 */
		} num;
		struct {
			const char *s; /* decoded UTF-8, NUL-terminated; never contains NUL (\u0000 is refused) */
			size_t len;
		} str;
		struct {
			struct json **items;  /* elements or members in document order */
			size_t len;
		} list;                   /* JSON_ARRAY and JSON_OBJECT */
	} u;
};

struct json_arena {
	char *base;
	size_t size, used;
};

/* A document of len bytes never needs more arena than this (worst case `[0,0,0,...]`). */
#define JSON_ARENA_SIZE(len) (((len) / 2 + 1) * (sizeof(struct json) + sizeof(void *) + _Alignof(struct json)))

/* Hands mem (any alignment) to the parser. Re-initialise to reuse it for the next document:
 * values from earlier parses are then gone. */
void json_arena_init(struct json_arena *a, void *mem, size_t size);

/* Parses exactly one JSON value (RFC 8259), surrounded by optional whitespace. On malformed input
 * returns NULL and puts one line such as "unexpected end of input at byte 17" in errbuf.
 * Beyond RFC 8259 it refuses \u0000, lone surrogates, numbers beyond double's range, nesting
 * deeper than JSON_MAX_DEPTH ("nested too deeply") and running out of arena ("document too
 * large"). Duplicate keys are kept; lookups see the last one, as JavaScript's JSON.parse does.
 * Numbers are converted with strtod, which expects the C locale (the agent never changes it). */
struct json *json_parse(struct json_arena *a, const char *text, size_t len, char *errbuf, size_t errlen);

/* Lookups. All accept NULL and values of the wrong type, and then return NULL/0/false; the typed
 * ones leave *out untouched unless they return true, so a missing field can keep a default. */
const struct json *json_get(const struct json *obj, const char *key);
size_t json_array_len(const struct json *arr);
const struct json *json_array_at(const struct json *arr, size_t i);
bool json_is_null(const struct json *v);
bool json_as_bool(const struct json *v, bool *out);
bool json_as_int64(const struct json *v, int64_t *out);     /* integers only: 1.0 and 1e3 are not */
bool json_as_double(const struct json *v, double *out);     /* any number */
bool json_as_string(const struct json *v, const char **out, size_t *len);  /* len may be NULL */
bool json_get_bool(const struct json *obj, const char *key, bool *out);
bool json_get_int64(const struct json *obj, const char *key, int64_t *out);
bool json_get_double(const struct json *obj, const char *key, double *out);
bool json_get_string(const struct json *obj, const char *key, const char **out, size_t *len);

/* ---- Writer ---- */

/* Output under construction. Commas and colons are automatic: call jb_key before each value in
 * an object. Calls out of order (a value without a key, a mismatched end, a second top-level
 * value, nesting deeper than JSON_MAX_DEPTH) set `failed`, like a failed allocation; once set,
 * nothing more is written and the output must not be sent. */
struct jbuf {
	char *data;      /* NUL-terminated output, NULL until something is written */
	size_t len, cap;
	bool failed;
	bool after_key;  /* a key was written and awaits its value */
	int depth;
	struct jb_level {
		char close;      /* '}' or ']'; 0 for the top level */
		bool nonempty;
	} level[JSON_MAX_DEPTH + 1];
};

void jb_init(struct jbuf *b);
/* Frees the output and re-initialises b. */
void jb_free(struct jbuf *b);
/* True when b holds exactly one complete value and nothing failed: it is ready to send. */
bool jb_done(const struct jbuf *b);

void jb_obj_begin(struct jbuf *b);
void jb_obj_end(struct jbuf *b);
void jb_arr_begin(struct jbuf *b);
void jb_arr_end(struct jbuf *b);
void jb_key(struct jbuf *b, const char *key);
/* Strings are escaped; bytes that are not valid UTF-8 become U+FFFD (one per maximal invalid
 * sequence, as browsers' TextDecoder does), and so do NUL bytes, which the parser would refuse
 * as \u0000: the agent can read back whatever it writes. jb_str(b, NULL) writes null. */
void jb_str(struct jbuf *b, const char *s);
void jb_strn(struct jbuf *b, const void *s, size_t n);
void jb_int(struct jbuf *b, int64_t v);
/* The shortest form that reads back as the same double; null for NaN and infinities. */
void jb_double(struct jbuf *b, double v);
void jb_bool(struct jbuf *b, bool v);
void jb_null(struct jbuf *b);
/* Bytes as a base64 string. */
void jb_b64(struct jbuf *b, const void *data, size_t n);
/* A value the caller already has as JSON text, copied as is except that CR and LF (which valid
 * JSON can only have as whitespace) become spaces, keeping the output on one line. */
void jb_raw(struct jbuf *b, const char *json);

#endif
