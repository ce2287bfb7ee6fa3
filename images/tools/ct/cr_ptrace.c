#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cr_ptrace.h"
#include "util.h"

/* CT_CR_TRACE=FILE logs every injected syscall and the engine's milestones: the way to see what a
 * restore did and where its time went. Each line starts with "R" and the realtime clock in ms (the
 * hosts' clocks are set alike, so a migration's two traces line up), then the caller's text. */
void cr_trace(const char *fmt, ...)
{
	/* Opened per line: the monitor and the stubs close every fd they inherit. */
	const char *path = getenv("CT_CR_TRACE");
	if (!path)
		return;
	char line[512];
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	int k = snprintf(line, sizeof(line), "R%lld ", (long long)(rt.tv_sec % 100000) * 1000 + rt.tv_nsec / 1000000);
	va_list ap;
	va_start(ap, fmt);
	int n = k + vsnprintf(line + k, sizeof(line) - (size_t)k, fmt, ap);
	va_end(ap);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
			n = 0;
		close(fd);
	}
}

static long pt(long req, pid_t pid, long addr, long data)
{
	return syscall(SYS_ptrace, req, pid, addr, data);
}

int pt_get_regs(pid_t hpid, struct cr_regs *regs)
{
	return (int)pt(PTRACE_GETREGS, hpid, 0, (long)regs);
}

static int wait_stop(struct pt_task *t, int *status, struct ct_err *err)
{
	for (;;) {
		pid_t r = waitpid(t->hpid, status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ct_fail_errno(err, "waiting for process %d", t->hpid);
		if (WIFEXITED(*status) || WIFSIGNALED(*status))
			cr_trace("%d: died, status %#x\n", t->hpid, *status);
		if (WIFEXITED(*status) || WIFSIGNALED(*status))
			return ct_fail(err, "failed", "process %d died while being checkpointed or restored", t->hpid);
		return 0;
	}
}

/* A stop for a signal (not ours): keep its siginfo to queue again, and suppress it. */
static bool is_signal_stop(int status)
{
	int sig = WSTOPSIG(status);
	return (status >> 16) == 0 && sig != (SIGTRAP | 0x80);
}

static void keep_stray(struct pt_task *t)
{
	if (t->nstray < PT_MAX_STRAY)
		pt(PTRACE_GETSIGINFO, t->hpid, 0, (long)t->stray[t->nstray++]);
}

/* Waits for a PTRACE_EVENT_STOP (interrupt or group stop), absorbing signals on the way. */
static int wait_event_stop(struct pt_task *t, struct ct_err *err)
{
	int status;
	for (;;) {
		if (wait_stop(t, &status, err) < 0)
			return -1;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		if (is_signal_stop(status))
			keep_stray(t);
		if (pt(PTRACE_CONT, t->hpid, 0, 0) < 0)
			return ct_fail_errno(err, "resuming process %d", t->hpid);
	}
}

int pt_seize(struct pt_task *t, pid_t hpid, bool exit_kill, struct ct_err *err)
{
	char path[64];
	memset(t, 0, sizeof(*t));
	t->hpid = hpid;
	t->mem = -1;
	long opts = PTRACE_O_TRACESYSGOOD | (exit_kill ? PTRACE_O_EXITKILL : 0);
	if (pt(PTRACE_SEIZE, hpid, 0, opts) < 0)
		return ct_fail_errno(err, "seizing process %d", hpid);
	if (pt(PTRACE_INTERRUPT, hpid, 0, 0) < 0 || wait_event_stop(t, err) < 0) {
		if (!err || !err->msg[0])
			ct_fail_errno(err, "stopping process %d", hpid);
		pt(PTRACE_DETACH, hpid, 0, 0);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", hpid);
	t->mem = open(path, O_RDWR | O_CLOEXEC);
	if (t->mem < 0 || pt_get_regs(hpid, &t->regs) < 0) {
		ct_fail_errno(err, "opening the memory of process %d", hpid);
		pt_detach(t);
		return -1;
	}
	/* Our traps are forced SIGTRAPs: a blocked one would lose its handler (see cr_ptrace.h). */
	uint64_t open_mask;
	if (pt(PTRACE_GETSIGMASK, hpid, 8, (long)&t->sigmask) < 0 ||
	    ((t->sigmask & PT_TRAP_BIT) && (open_mask = t->sigmask & ~PT_TRAP_BIT,
					pt(PTRACE_SETSIGMASK, hpid, 8, (long)&open_mask) < 0))) {
		ct_fail_errno(err, "reading the signal mask of process %d", hpid);
		pt_detach(t);
		return -1;
	}
	t->mask_held = (t->sigmask & PT_TRAP_BIT) != 0;
	return 0;
}

int pt_set_sigmask(struct pt_task *t, uint64_t mask, struct ct_err *err)
{
	if (pt(PTRACE_SETSIGMASK, t->hpid, 8, (long)&mask) < 0)
		return ct_fail_errno(err, "setting the signal mask of process %d", t->hpid);
	t->sigmask = mask;
	t->mask_held = false;
	return 0;
}

int pt_detach(struct pt_task *t)
{
	if (t->mem >= 0)
		close(t->mem);
	t->mem = -1;
	if (t->mask_held)
		pt(PTRACE_SETSIGMASK, t->hpid, 8, (long)&t->sigmask);
	t->mask_held = false;
	return (int)pt(PTRACE_DETACH, t->hpid, 0, 0);
}

int pt_mem_read(struct pt_task *t, uint32_t addr, void *buf, size_t len)
{
	return pread_all(t->mem, buf, len, (off_t)addr);
}

int pt_mem_write(struct pt_task *t, uint32_t addr, const void *buf, size_t len)
{
	return pwrite_all(t->mem, buf, len, (off_t)addr);
}

int pt_find_gadget(struct pt_task *t, uint32_t vdso_start, struct ct_err *err)
{
	unsigned char code[8192];
	if (pt_mem_read(t, vdso_start, code, sizeof(code)) < 0 && pt_mem_read(t, vdso_start, code, 4096) < 0)
		return ct_fail_errno(err, "reading the vDSO of process %d", t->hpid);
	for (size_t i = 0; i + 1 < 4096; i++)
		if (code[i] == 0xcd && code[i + 1] == 0x80) {
			t->gadget = vdso_start + (uint32_t)i;
			return 0;
		}
	return ct_fail(err, "failed", "no int $0x80 in the vDSO of process %d", t->hpid);
}

/* Runs the one instruction at the gadget (int $0x80) by single-stepping: the kernel reports the
 * step as a SIGTRAP once the syscall has returned, one stop where PTRACE_SYSCALL took two. */
static int step_over_syscall(struct pt_task *t, struct ct_err *err)
{
	for (int strays = 0;; strays++) {
		int status;
		struct cr_regs r;
		if (strays > PT_MAX_STRAY)
			return ct_fail(err, "failed", "process %d keeps taking signals instead of an injected syscall", t->hpid);
		t->trapped = true;
		if (pt(PTRACE_SINGLESTEP, t->hpid, 0, 0) < 0)
			return ct_fail_errno(err, "resuming process %d", t->hpid);
		if (wait_stop(t, &status, err) < 0)
			return -1;
		if (!is_signal_stop(status))
			continue;   /* an event stop (a SIGSTOP's group stop): step on */
		int sig = WSTOPSIG(status);
		if (pt_get_regs(t->hpid, &r) < 0)
			return ct_fail_errno(err, "reading registers of process %d", t->hpid);
		if (sig == SIGTRAP && r.eip == t->gadget + 2)
			return 0;
		if ((sig == SIGTRAP || sig == SIGSEGV || sig == SIGBUS || sig == SIGILL) && r.eip != t->gadget)
			return ct_fail(err, "failed", "an injected syscall faulted in process %d (signal %d)", t->hpid, sig);
		/* A signal of its own came first (the syscall has not run, or has and the trap follows):
		 * keep it to queue again and step on. */
		cr_trace("%d: unexpected stop %#x\n", t->hpid, status);
		keep_stray(t);
	}
}

static int through_syscall_stops(struct pt_task *t, struct ct_err *err);

/* traced: through PTRACE_SYSCALL's entry and exit stops, which are ptrace's reports, not signals
 * (a stop more than a step; for pt_keep_trap_ignored only). */
static int vsyscall(struct pt_task *t, bool traced, long nr, long *ret, struct ct_err *err, int nargs, va_list ap)
{
	struct cr_regs r = t->regs;
	uint32_t a[6] = { r.ebx, r.ecx, r.edx, r.esi, r.edi, r.ebp };
	for (int i = 0; i < nargs && i < 6; i++)
		a[i] = (uint32_t)va_arg(ap, long);
	r.ebx = a[0]; r.ecx = a[1]; r.edx = a[2]; r.esi = a[3]; r.edi = a[4]; r.ebp = a[5];
	r.eax = (uint32_t)nr;
	r.orig_eax = (uint32_t)-1;   /* no syscall-restart logic may rewrite these registers */
	r.eip = t->gadget;
	if (pt(PTRACE_SETREGS, t->hpid, 0, (long)&r) < 0)
		return ct_fail_errno(err, "setting registers of process %d", t->hpid);
	if ((traced ? through_syscall_stops(t, err) : step_over_syscall(t, err)) < 0)
		return -1;
	if (pt_get_regs(t->hpid, &r) < 0)
		return ct_fail_errno(err, "reading registers of process %d", t->hpid);
	*ret = (long)(int32_t)r.eax;
	cr_trace("%lld %d: syscall %ld(%#x, %#x, %#x, %#x, %#x, %#x) = %ld\n", now_us(), t->hpid, nr, a[0], a[1], a[2], a[3],
	      a[4], a[5], *ret);
	return 0;
}

int pt_syscall(struct pt_task *t, long nr, long *ret, struct ct_err *err, int nargs, ...)
{
	va_list ap;
	va_start(ap, nargs);
	int rc = vsyscall(t, false, nr, ret, err, nargs, ap);
	va_end(ap);
	return rc;
}

long pt_call(struct pt_task *t, const char *what, struct ct_err *err, long nr, int nargs, ...)
{
	long ret;
	va_list ap;
	va_start(ap, nargs);
	int rc = vsyscall(t, false, nr, &ret, err, nargs, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		ct_fail_errno(err, "%s in process %d", what, t->hpid);
		return -1;
	}
	return ret;
}

static int through_syscall_stops(struct pt_task *t, struct ct_err *err)
{
	for (int stops = 0, strays = 0; stops < 2;) {
		int status;
		if (pt(PTRACE_SYSCALL, t->hpid, 0, 0) < 0)
			return ct_fail_errno(err, "resuming process %d", t->hpid);
		if (wait_stop(t, &status, err) < 0)
			return -1;
		if ((status >> 16) == 0 && WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			stops++;
			continue;
		}
		if (is_signal_stop(status)) {
			if (++strays > PT_MAX_STRAY)
				return ct_fail(err, "failed", "process %d keeps taking signals instead of an injected syscall", t->hpid);
			keep_stray(t);
		}
	}
	return 0;
}

static int traced_syscall(struct pt_task *t, long *ret, struct ct_err *err, long nr, int nargs, ...)
{
	va_list ap;
	va_start(ap, nargs);
	int rc = vsyscall(t, true, nr, ret, err, nargs, ap);
	va_end(ap);
	return rc;
}

int pt_keep_trap_ignored(struct pt_task *t, int32_t ns_tid, struct ct_err *err)
{
	/* struct sigaction as i386's rt_sigaction takes it, below the task's stack pointer (free
	 * space: nothing of the task's runs until we let it go). */
	uint32_t act[5] = { (uint32_t)(uintptr_t)SIG_IGN, 0, 0, 0, 0 };
	uint32_t at = (t->regs.esp - 512) & ~15u;
	long ret;
	if (pt_mem_write(t, at, act, sizeof(act)) < 0)
		return ct_fail_errno(err, "writing into process %d", t->hpid);
	if (traced_syscall(t, &ret, err, SYS_rt_sigaction, 4, (long)SIGTRAP, (long)at, 0L, 8L) < 0)
		return -1;
	if (ret < 0)
		return ct_fail(err, "failed", "ignoring SIGTRAP again in process %d: error %ld", t->hpid, -ret);
	if (traced_syscall(t, &ret, err, SYS_tgkill, 3, (long)ns_tid, (long)ns_tid, (long)SIGTRAP) < 0)
		return -1;
	if (ret < 0)
		return ct_fail(err, "failed", "stopping process %d: error %ld", t->hpid, -ret);
	/* On its way back to user mode it stops for that SIGTRAP, before the gadget's next
	 * instruction; it is suppressed when the task is let go. */
	for (int strays = 0;; strays++) {
		int status;
		if (pt(PTRACE_CONT, t->hpid, 0, 0) < 0)
			return ct_fail_errno(err, "resuming process %d", t->hpid);
		if (wait_stop(t, &status, err) < 0)
			return -1;
		if (!is_signal_stop(status))
			continue;
		if (WSTOPSIG(status) == SIGTRAP)
			return 0;
		if (strays >= PT_MAX_STRAY)
			return ct_fail(err, "failed", "process %d keeps taking signals", t->hpid);
		keep_stray(t);
	}
}

int pt_run_to_trap(struct pt_task *t, const struct cr_regs *regs, uint32_t trap_eip, struct ct_err *err)
{
	if (pt(PTRACE_SETREGS, t->hpid, 0, (long)regs) < 0)
		return ct_fail_errno(err, "setting registers of process %d", t->hpid);
	t->trapped = true;
	for (;;) {
		int status;
		struct cr_regs r;
		if (pt(PTRACE_CONT, t->hpid, 0, 0) < 0)
			return ct_fail_errno(err, "resuming process %d", t->hpid);
		if (wait_stop(t, &status, err) < 0)
			return -1;
		if (!is_signal_stop(status))
			continue;   /* an event stop (a SIGSTOP's group stop): go on */
		int sig = WSTOPSIG(status);
		if (sig == SIGTRAP && pt_get_regs(t->hpid, &r) == 0 && r.eip == trap_eip)
			return 0;
		/* A fault is the injected code's own: resuming would only repeat it. */
		if (sig == SIGTRAP || sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE)
			return ct_fail(err, "failed", "injected code faulted in process %d (signal %d)", t->hpid, sig);
		keep_stray(t);
	}
}

int pt_set_final_regs(struct pt_task *t, const struct cr_regs *regs, struct ct_err *err)
{
	/* Every stop the engine leaves a task in is inside signal handling (the seize's interrupt, an
	 * injected syscall's step trap, a batch's int3): on resume the kernel's syscall-restart logic
	 * runs over these registers, as it would have for the task's own interrupted syscall. */
	if (pt(PTRACE_SETREGS, t->hpid, 0, (long)regs) < 0)
		return ct_fail_errno(err, "setting registers of process %d", t->hpid);
	return 0;
}
