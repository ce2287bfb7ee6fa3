/* The container and stats objects of the agent protocol, shared by `ct --json` and the agent. */
#ifndef CT_REPORT_H
#define CT_REPORT_H

#include "cgroup.h"
#include "ct.h"
#include "json.h"

void report_info(struct jbuf *b, const struct ct_config *c);
void report_stats(struct jbuf *b, const char *name, const struct ct_stats *s);
/* "10.0.1.5/16", or "" without an address. */
void format_ip(const struct ct_config *c, char *buf, size_t size);

#endif
