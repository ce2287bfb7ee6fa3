#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ct.h"
#include "parse.h"

/* Names become directory, cgroup and interface-derived names: keep them boring. */
int parse_container_name(const char *s, struct ct_err *err)
{
	size_t n = strlen(s);
	if (n == 0 || n > CT_NAME_MAX)
		return ct_fail(err, "invalid_argument", "invalid container name \"%.40s\": use 1-%d characters", s, CT_NAME_MAX);
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return ct_fail(err, "invalid_argument", "invalid container name \"%.40s\": must start with a lowercase letter or digit", s);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (!islower(c) && !isdigit(c) && c != '-' && c != '_')
			return ct_fail(err, "invalid_argument", "invalid container name \"%.40s\": only a-z, 0-9, '-' and '_' are allowed", s);
	}
	return 0;
}

int parse_hostname(const char *s, struct ct_err *err)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return ct_fail(err, "invalid_argument", "invalid hostname \"%.40s\": use 1-63 characters", s);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (!isalnum(c) && c != '-' && c != '.')
			return ct_fail(err, "invalid_argument", "invalid hostname \"%.40s\": only letters, digits, '-' and '.'", s);
	}
	if (s[0] == '-' || s[0] == '.')
		return ct_fail(err, "invalid_argument", "invalid hostname \"%.40s\": must start with a letter or digit", s);
	return 0;
}

static bool is_unlimited(const char *s)
{
	return !strcmp(s, "max") || !strcmp(s, "none");
}

int parse_size(const char *s, int64_t *out, struct ct_err *err)
{
	if (is_unlimited(s)) {
		*out = -1;
		return 0;
	}
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		goto bad;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	unsigned long long mult = 1;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': mult = 1ULL << 10; end++; break;
	case 'M': mult = 1ULL << 20; end++; break;
	case 'G': mult = 1ULL << 30; end++; break;
	default: goto bad;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')
		end += (*end == 'i' && (end[1] == 'B' || end[1] == 'b')) ? 2 : 1;
	if (*end || v > (1ULL << 40) / mult)
		goto bad;
	/* The kernel rounds memory.max down to pages; a limit under 1 MiB cannot run even an init. */
	if (v * mult < (1ULL << 20))
		return ct_fail(err, "invalid_argument", "memory limit \"%.40s\" is below the 1M minimum", s);
	*out = (int64_t)(v * mult);
	return 0;
bad:
	return ct_fail(err, "invalid_argument", "invalid size \"%.40s\": use a number with K, M or G, or \"max\"", s);
}

int parse_count(const char *s, const char *what, int64_t *out, struct ct_err *err)
{
	if (is_unlimited(s)) {
		*out = -1;
		return 0;
	}
	char *end = (char *)s;
	errno = 0;
	long long v = isdigit((unsigned char)s[0]) ? strtoll(s, &end, 10) : -1;
	if (v < 1 || errno || *end || v > 1000000)
		return ct_fail(err, "invalid_argument", "invalid %s \"%.40s\": use a whole number from 1 to 1000000, or \"max\"", what, s);
	*out = v;
	return 0;
}

int parse_cpus(const char *s, int64_t *quota_us, struct ct_err *err)
{
	if (is_unlimited(s)) {
		*quota_us = -1;
		return 0;
	}
	char *end = (char *)s;
	errno = 0;
	double v = (isdigit((unsigned char)s[0]) || s[0] == '.') ? strtod(s, &end) : -1;
	/* cgroup v2 accepts quotas of at least 1 ms per period; the emulated CPU is one core. */
	if (!(v >= 0.01 && v <= 64) || errno || *end)
		return ct_fail(err, "invalid_argument", "invalid CPU limit \"%.40s\": use a number from 0.01 to 64, or \"max\"", s);
	*quota_us = (int64_t)(v * CT_CPU_PERIOD + 0.5);
	return 0;
}

int parse_ipv4_cidr(const char *s, struct in_addr *addr, int *prefix, struct ct_err *err)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	if (!slash || slash - s >= (long)sizeof(buf))
		goto bad;
	memcpy(buf, s, slash - s);
	buf[slash - s] = 0;
	if (inet_pton(AF_INET, buf, addr) != 1)
		goto bad;
	char *end = (char *)slash;
	errno = 0;
	long p = isdigit((unsigned char)slash[1]) ? strtol(slash + 1, &end, 10) : -1;
	if (p < 8 || p > 30 || errno || *end)
		goto bad;
	uint32_t host = ntohl(addr->s_addr), mask = ~0U << (32 - p);
	if ((host & ~mask) == 0 || (host & ~mask) == ~mask)
		return ct_fail(err, "invalid_argument", "invalid IP \"%.40s\": that is the network or broadcast address", s);
	*prefix = (int)p;
	return 0;
bad:
	return ct_fail(err, "invalid_argument", "invalid IP \"%.40s\": use an IPv4 address with a prefix, like 10.0.1.5/16", s);
}

static const struct { int sig; const char *name; } signals[] = {
	{ SIGHUP, "HUP" }, { SIGINT, "INT" }, { SIGQUIT, "QUIT" }, { SIGKILL, "KILL" },
	{ SIGUSR1, "USR1" }, { SIGUSR2, "USR2" }, { SIGTERM, "TERM" }, { SIGCONT, "CONT" },
	{ SIGSTOP, "STOP" }, { SIGALRM, "ALRM" }, { SIGWINCH, "WINCH" },
};

int parse_signal(const char *s, int *sig, struct ct_err *err)
{
	if (isdigit((unsigned char)s[0])) {
		char *end;
		long v = strtol(s, &end, 10);
		if (!*end && v >= 1 && v < 65) {
			*sig = (int)v;
			return 0;
		}
	} else {
		const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
		for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
			if (!strcasecmp(name, signals[i].name)) {
				*sig = signals[i].sig;
				return 0;
			}
	}
	return ct_fail(err, "invalid_argument", "invalid signal \"%.40s\"", s);
}

const char *signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return "?";
}
