/* Errors that carry a protocol code and a one-line message up to the CLI or the agent. */
#ifndef CT_ERR_H
#define CT_ERR_H

struct ct_err {
	char code[24];   /* one of the agent protocol's error codes: "invalid_argument", "failed", ... */
	char msg[256];   /* one line for people, no trailing newline */
};

/* Fills *err (if not NULL) and returns -1, so callers can `return ct_fail(...)`. */
int ct_fail(struct ct_err *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like ct_fail with code "failed", appending ": strerror(errno)". */
int ct_fail_errno(struct ct_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
