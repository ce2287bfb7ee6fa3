/* Each running container's cgroup v2 group: the limits and the counters (the modern beancounters). */
#ifndef CT_CGROUP_H
#define CT_CGROUP_H

#include "ct.h"

struct ct_stats {
	int64_t mem_current, mem_max, mem_peak, oom_kills;    /* max -1 = unlimited */
	int64_t pids_current, pids_max, pids_refused;
	int64_t cpu_usage_us, cpu_user_us, cpu_system_us;
	int64_t cpu_periods, cpu_throttled, cpu_throttled_us;
	bool frozen;   /* held by cgroup.freeze: a page learns of it (and of the thaw) with the stats */
};

void cgroup_path(const char *name, const char *file, char *buf, size_t size);
/* Creates the container's group (replacing an empty leftover) with its limits. */
int cgroup_create(const struct ct_config *c, struct ct_err *err);
int cgroup_set_limits(const char *name, int64_t memory, int64_t pids, int64_t cpu_quota, struct ct_err *err);
int cgroup_add_process(const char *name, pid_t pid, struct ct_err *err);
bool cgroup_exists(const char *name);
bool cgroup_populated(const char *name);
/* Frozen through cgroup.freeze (a checkpoint's freeze, or a migration in doubt holding it). */
bool cgroup_frozen(const char *name);
/* Waits until no process is left in the group; false on timeout. */
bool cgroup_wait_empty(const char *name, int timeout_ms);
/* Waits until every process of the group is frozen (after cgroup.freeze = 1); false on timeout. */
bool cgroup_wait_frozen(const char *name, int timeout_ms);
int cgroup_kill(const char *name, struct ct_err *err);
/* Removes the group; kills what is left in it first. */
int cgroup_remove(const char *name, struct ct_err *err);
int cgroup_read_stats(const char *name, struct ct_stats *s, struct ct_err *err);

#endif
