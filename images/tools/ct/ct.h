/* Shared definitions of ct, the ctlab container runtime. */
#ifndef CT_H
#define CT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>
#include "err.h"

#define CT_NAME_MAX 32
#define CT_STATE_DIR "/var/lib/ct"          /* definitions and upper layers: survive the agent */
#define CT_RUN_DIR "/run/ct"                /* running state: init pids, console logs */
#define CT_CGROUP_ROOT "/sys/fs/cgroup/ct"  /* one child cgroup per running container */
#define CT_TEMPLATE_DIR "/usr/share/ct/templates"
#define CT_BRIDGE "ctbr0"
/* Unprivileged containers map their uid/gid 0..65535 onto this host range (as LXD does). */
#define CT_IDMAP_BASE 100000
#define CT_IDMAP_SIZE 65536

/* A container's definition: what `ct create` was given, stored in CT_STATE_DIR/NAME/config. */
struct ct_config {
	char name[CT_NAME_MAX + 1];
	char template[CT_NAME_MAX + 1];
	char hostname[64];
	bool has_ip;
	struct in_addr ip;
	int prefix;
	int64_t memory;       /* bytes; -1 = unlimited */
	int64_t pids;         /* -1 = unlimited */
	int64_t cpu_quota;    /* microseconds per 100 ms period; -1 = unlimited */
	bool privileged;
	int64_t created;      /* unix seconds */
};

#define CT_CPU_PERIOD 100000

enum ct_state { CT_STOPPED, CT_RUNNING };

static inline const char *ct_state_name(enum ct_state s)
{
	return s == CT_RUNNING ? "running" : "stopped";
}

#endif
