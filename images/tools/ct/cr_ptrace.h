/*
 * Holding a task still and acting in its name: ptrace seize/interrupt, registers, and syscalls run
 * inside the task. A syscall is injected by pointing EIP at an `int $0x80` in the task's vDSO and
 * single-stepping it. Many syscalls at once run from a few bytes of code put in a scratch page of
 * the task (cr_batch.h), which stops on an int3.
 *
 * Both stops are forced SIGTRAPs, and the kernel resets a forced signal that the task blocks or
 * ignores to the default (unblocked). So SIGTRAP is unblocked while the task is held (its mask goes
 * back at detach), and a task that is to keep SIGTRAP ignored gets that back last, with stops that
 * are not forced (pt_keep_trap_ignored).
 */
#ifndef CT_CR_PTRACE_H
#define CT_CR_PTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "cr_image.h"
#include "err.h"

#define PT_MAX_STRAY 8
#define PT_TRAP_BIT (1ull << (5 /* SIGTRAP */ - 1))

struct pt_task {
	pid_t hpid;           /* as the host sees it */
	int mem;              /* /proc/hpid/mem, read-write */
	uint32_t gadget;      /* an int $0x80 in the task's vDSO */
	struct cr_regs regs;  /* what the task had when we took it */
	/* Signals that reached a stop while we held the task: they left the queue and must be
	 * queued again (checkpoint) or saved as pending (restore never sees any). */
	uint8_t stray[PT_MAX_STRAY][128];
	int nstray;
	uint32_t id_base;     /* host uid of the container's uid 0 (0 if privileged) */
	uint64_t sigmask;     /* its signal mask when seized, or as set since: it leaves with it */
	bool mask_held;       /* SIGTRAP is unblocked while we hold it: sigmask goes back at detach */
	bool trapped;         /* it took one of our (forced) traps */
};

/* Seizes and interrupts a task and waits until it is stopped; reads its registers. */
int pt_seize(struct pt_task *t, pid_t hpid, bool exit_kill, struct ct_err *err);
/* Where `int $0x80` sits in the vDSO: the same offset in every task of this kernel. */
int pt_find_gadget(struct pt_task *t, uint32_t vdso_start, struct ct_err *err);
/* Runs syscall nr in the task; returns 0 and sets *ret (the raw result: -errno on failure). */
int pt_syscall(struct pt_task *t, long nr, long *ret, struct ct_err *err, int nargs, ...);
/* Like pt_syscall, but a negative result is an error naming what. */
long pt_call(struct pt_task *t, const char *what, struct ct_err *err, long nr, int nargs, ...);
/* Resumes the task with regs until it traps (int3) at trap_eip; signals on the way are kept. */
int pt_run_to_trap(struct pt_task *t, const struct cr_regs *regs, uint32_t trap_eip, struct ct_err *err);
/* Installs the registers the task resumes with (through the kernel's syscall-restart logic: the
 * task is stopped inside signal handling). */
int pt_set_final_regs(struct pt_task *t, const struct cr_regs *regs, struct ct_err *err);
int pt_get_regs(pid_t hpid, struct cr_regs *regs);
/* The signal mask the task leaves with (at once, and kept for pt_detach). */
int pt_set_sigmask(struct pt_task *t, uint64_t mask, struct ct_err *err);
/* After the last injection: SIGTRAP ignored again (the engine's own traps reset it), by an
 * rt_sigaction and a tgkill (ns_tid: the task's id in its pid namespace) run through
 * PTRACE_SYSCALL, whose stops are not forced signals; the task ends in the stop for that SIGTRAP
 * (inside signal handling, as pt_set_final_regs wants). */
int pt_keep_trap_ignored(struct pt_task *t, int32_t ns_tid, struct ct_err *err);
int pt_detach(struct pt_task *t);
int pt_mem_read(struct pt_task *t, uint32_t addr, void *buf, size_t len);
int pt_mem_write(struct pt_task *t, uint32_t addr, const void *buf, size_t len);

void cr_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
