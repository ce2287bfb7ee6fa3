/* Parsing and checking values that come from users and the page: names, sizes, limits, addresses. */
#ifndef CT_PARSE_H
#define CT_PARSE_H

#include <stdint.h>
#include <netinet/in.h>
#include "err.h"

int parse_container_name(const char *s, struct ct_err *err);
int parse_hostname(const char *s, struct ct_err *err);
/* "32M", "1G", "65536", "512k"; "max" or "none" = -1 (unlimited). */
int parse_size(const char *s, int64_t *out, struct ct_err *err);
/* A positive count, or "max"/"none" = -1. */
int parse_count(const char *s, const char *what, int64_t *out, struct ct_err *err);
/* "0.5" CPUs -> quota in microseconds per CT_CPU_PERIOD; "max"/"none" = -1. */
int parse_cpus(const char *s, int64_t *quota_us, struct ct_err *err);
/* "10.0.1.5/16" (prefix 8..30, a host address of that network). */
int parse_ipv4_cidr(const char *s, struct in_addr *addr, int *prefix, struct ct_err *err);
/* "TERM", "SIGTERM", "15". */
int parse_signal(const char *s, int *sig, struct ct_err *err);
const char *signal_name(int sig);

#endif
