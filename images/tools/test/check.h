/* The host tests' one assertion: counts and prints each check ("ok   ..." or "FAIL ..."); each
 * test's main prints "N passed, M failed" from the counters and exits non-zero on failures. */
#ifndef CT_TEST_CHECK_H
#define CT_TEST_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int passed, failed;

__attribute__((format(printf, 2, 3), unused))
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(ok ? "ok   " : "FAIL ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	ok ? passed++ : failed++;
	return ok;
}

#endif
