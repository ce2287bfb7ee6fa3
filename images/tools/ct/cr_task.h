/*
 * The core state of one process: registers, FPU, TLS, signals, timers, credentials, limits and
 * the mm fields (brk, arguments, auxv). CRIU calls this the task's "core".
 */
#ifndef CT_CR_TASK_H
#define CT_CR_TASK_H

#include "cr_batch.h"
#include "cr_image.h"
#include "cr_ptrace.h"

/* What /proc says of a task, read before touching it. */
struct cr_proc_status {
	int32_t ns_pid, ns_pgid, ns_sid;
	pid_t host_ppid;
	char state;
	int threads;
	int seccomp;
	pid_t tracer;
	uint64_t sig_ign, sig_cgt;
};

int cr_read_status(pid_t hpid, struct cr_proc_status *s, struct ct_err *err);

/* Fills the core fields of p (the task is seized); id_base maps host uids to the container's.
 * scratch is a PT_BATCH_SCRATCH area (read-write-execute) in the task for a batch of syscalls. */
int cr_task_dump(struct pt_task *t, const struct cr_proc_status *st, uint32_t id_base, uint32_t scratch,
		 struct cr_proc *p, struct ct_err *err);

/* Adds to b the syscalls that put the core state back into a task whose memory is already
 * restored (running b early only when it fills up); exe_fd is an fd in the task for
 * /proc/PID/exe (or -1). Leaves registers to cr_task_finish. */
int cr_task_restore(struct pt_task *t, const struct cr_proc *p, int exe_fd, struct pt_batch *b, struct ct_err *err);
/* Adds the queueing of the pending signals to b; to run with every signal still blocked. */
int cr_task_queue_signals(struct pt_task *t, const struct cr_proc_index *x, struct pt_batch *b, struct ct_err *err);
/* Signal mask, FPU, TLS and registers last; the task is then ready to be detached. */
int cr_task_finish(struct pt_task *t, const struct cr_proc *p, struct ct_err *err);

#endif
