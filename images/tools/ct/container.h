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

/* How a restore takes over a start: the container's first process becomes the restorer instead
 * of exec'ing init, and the monitor brings it to life before it reports the start. */
struct ct_start_hooks {
	int (*before_clone)(void *arg, struct ct_err *err);         /* in the monitor: time offsets */
	void (*child)(void *arg, int report_fd) __attribute__((noreturn));
	int (*after_go)(void *arg, pid_t init, int report_fd, struct ct_err *err);
	void *arg;
	int keep_fds[3];   /* passed on to the monitor and the first process (-1: none) */
	bool link_down;    /* the host side of the veth stays down until container_link_up */
};
/* Brings up the host side of a container's veth left down at start (hooks->link_down). */
int container_link_up(const char *name, struct ct_err *err);
/* With the container's lock held (container_lock). */
int container_start_locked(const struct ct_config *c, const struct ct_start_hooks *hooks, struct ct_err *err);
int container_stop_locked(const char *name, int timeout_s, struct ct_err *err);

/* MemAvailable of /proc/meminfo, or -1. */
long long host_mem_available_kb(void);

/* Host infrastructure (the agent, monitors) is the OOM killer's last choice. */
void protect_from_oom(void);

/* Serializes operations on one container across ct processes and the agent; returns a fd to close. */
int container_lock(const char *name, struct ct_err *err);

#endif
