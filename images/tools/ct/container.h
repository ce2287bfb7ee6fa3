/* The container lifecycle: create, start (with its monitor), stop, kill, destroy, limits. */
#ifndef CT_CONTAINER_H
#define CT_CONTAINER_H

#include "ct.h"

/* Which limits `set` changes; the values use struct ct_config's conventions. */
struct ct_limits {
	bool set_memory, set_pids, set_cpu;
	int64_t memory, pids, cpu_quota;
};

int container_create(const struct ct_config *c, struct ct_err *err);
int container_start(const char *name, struct ct_err *err);
int container_stop(const char *name, int timeout_s, struct ct_err *err);
int container_kill(const char *name, int sig, struct ct_err *err);
int container_restart(const char *name, struct ct_err *err);
int container_destroy(const char *name, bool force, struct ct_err *err);
int container_set(const char *name, const struct ct_limits *l, struct ct_err *err);
/* Running means its init runs; *init_pid (if not NULL) gets its host pid, or 0. */
enum ct_state container_state(const char *name, pid_t *init_pid);

/* Host infrastructure (the agent, monitors) is the OOM killer's last choice. */
void protect_from_oom(void);

/* Serializes operations on one container across ct processes and the agent; returns a fd to close. */
int container_lock(const char *name, struct ct_err *err);

#endif
