#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "err.h"

int ct_fail(struct ct_err *err, const char *code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	snprintf(err->code, sizeof(err->code), "%s", code);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int ct_fail_errno(struct ct_err *err, const char *fmt, ...)
{
	int saved = errno;
	if (!err)
		return -1;
	char what[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err->code, sizeof(err->code), "failed");
	snprintf(err->msg, sizeof(err->msg), "%s: %s", what, strerror(saved));
	errno = saved;
	return -1;
}
