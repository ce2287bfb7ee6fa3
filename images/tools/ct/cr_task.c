#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cr_batch.h"
#include "cr_task.h"
#include "ct.h"
#include "util.h"

#define ERESTARTNOINTR 513
#define ERESTART_RESTARTBLOCK 516
#define PR_GET_TID_ADDRESS_ 40
#define PR_SET_MM_ 35
#define PR_SET_MM_MAP_ 14
#define CAP_LAST 40
#define CAP_VERSION_3 0x20080522

/* struct prctl_mm_map as the i386 kernel lays it out (u64 aligned to 4). */
struct mm_map {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint32_t auxv, auxv_size, exe_fd;
} __attribute__((packed));

static long sys(long nr, long a, long b, long c, long d)
{
	return syscall(nr, a, b, c, d);
}

/* --- /proc/PID/status ------------------------------------------------------------------------ */

/* The lines of a /proc/PID/status text, found once: each field is then a short lookup (scanning
 * the text again per field cost a restore and a dump several % of their work). */
struct status_lines {
	const char *line[96];
	int n;
};

static void status_lines(const char *text, struct status_lines *s)
{
	s->n = 0;
	for (const char *p = text; p && *p && s->n < 96; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		s->line[s->n++] = p;
}

static const char *field(const struct status_lines *s, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < s->n; i++)
		if (s->line[i][0] == name[0] && !strncmp(s->line[i], name, n) && s->line[i][n] == ':')
			return s->line[i] + n + 1;
	return NULL;
}

/* The last number of a line such as "NSpid:\t812\t3": the value in the innermost namespace. */
static long long last_number(const char *v)
{
	long long x = 0;
	if (!v)
		return 0;   /* a field this kernel does not have (Seccomp without CONFIG_SECCOMP) */
	const char *end = strchr(v, '\n');
	for (const char *p = v; *p && (!end || p < end);) {
		char *next;
		long long y = strtoll(p, &next, 10);
		if (next == p)
			break;
		x = y;
		p = next;
	}
	return x;
}

int cr_read_status(pid_t hpid, struct cr_proc_status *s, struct ct_err *err)
{
	char path[64], text[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", hpid);
	if (read_file(path, text, sizeof(text)) <= 0)
		return ct_fail_errno(err, "reading %s", path);
	memset(s, 0, sizeof(*s));
	struct status_lines l;
	status_lines(text, &l);
	const char *v;
	s->ns_pid = (int32_t)last_number(field(&l, "NSpid"));
	s->ns_pgid = (int32_t)last_number(field(&l, "NSpgid"));
	s->ns_sid = (int32_t)last_number(field(&l, "NSsid"));
	s->host_ppid = (pid_t)last_number(field(&l, "PPid"));
	s->threads = (int)last_number(field(&l, "Threads"));
	s->seccomp = (int)last_number(field(&l, "Seccomp"));
	s->tracer = (pid_t)last_number(field(&l, "TracerPid"));
	if ((v = field(&l, "State")))
		s->state = v[strspn(v, " \t")];
	if ((v = field(&l, "SigIgn")))
		s->sig_ign = strtoull(v, NULL, 16);
	if ((v = field(&l, "SigCgt")))
		s->sig_cgt = strtoull(v, NULL, 16);
	if (s->ns_pid <= 0)
		return ct_fail(err, "failed", "no namespace pid for process %d", hpid);
	return 0;
}

/* --- dump ---------------------------------------------------------------------------------------- */

static void parse_ids(const char *v, uint32_t out[4], uint32_t base)
{
	for (int i = 0; i < 4 && v; i++) {
		char *next;
		unsigned long x = strtoul(v, &next, 10);
		out[i] = x >= base && x - base < CT_IDMAP_SIZE ? (uint32_t)(x - base) : (uint32_t)x;
		v = next;
	}
}

static int read_status_core(pid_t hpid, uint32_t base, struct cr_proc *p, struct ct_err *err)
{
	char path[64], text[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", hpid);
	if (read_file(path, text, sizeof(text)) <= 0)
		return ct_fail_errno(err, "reading %s", path);
	struct status_lines l;
	status_lines(text, &l);
	const char *v;
	uint32_t ids[4] = { 0 };
	parse_ids(field(&l, "Uid"), ids, base);
	memcpy(p->uid, ids, sizeof(ids));
	parse_ids(field(&l, "Gid"), ids, base);
	memcpy(p->gid, ids, sizeof(ids));
	if ((v = field(&l, "Groups"))) {
		const char *end = strchr(v, '\n');
		while (p->ngroups < CR_MAX_GROUPS) {
			char *next;
			unsigned long g = strtoul(v, &next, 10);
			if (next == v || (end && next > end))
				break;
			p->groups[p->ngroups++] = g >= base && g - base < CT_IDMAP_SIZE ? (uint32_t)(g - base) : (uint32_t)g;
			v = next;
		}
	}
	if ((v = field(&l, "Umask")))
		p->umask = (uint32_t)strtoul(v, NULL, 8);
	p->no_new_privs = (uint32_t)last_number(field(&l, "NoNewPrivs"));
	if ((v = field(&l, "CapInh"))) p->cap_inh = strtoull(v, NULL, 16);
	if ((v = field(&l, "CapPrm"))) p->cap_prm = strtoull(v, NULL, 16);
	if ((v = field(&l, "CapEff"))) p->cap_eff = strtoull(v, NULL, 16);
	if ((v = field(&l, "CapBnd"))) p->cap_bnd = strtoull(v, NULL, 16);
	if ((v = field(&l, "CapAmb"))) p->cap_amb = strtoull(v, NULL, 16);
	return 0;
}

/* mm fields from /proc/PID/stat (fields 26-28 and 45-51) and the comm. */
static int read_stat_mm(pid_t hpid, struct cr_proc *p, struct ct_err *err)
{
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", hpid);
	if (read_file(path, text, sizeof(text)) <= 0)
		return ct_fail_errno(err, "reading %s", path);
	char *open = strchr(text, '('), *close = strrchr(text, ')');
	if (!open || !close)
		return ct_fail(err, "failed", "malformed %s", path);
	size_t n = (size_t)(close - open - 1);
	memcpy(p->comm, open + 1, n < sizeof(p->comm) - 1 ? n : sizeof(p->comm) - 1);
	unsigned long long f[53] = { 0 };
	int i = 3;
	for (char *s = close + 2; *s && i < 53; i++) {
		char *next;
		if (i == 3) {   /* the state letter */
			next = s + 1;
		} else {
			f[i] = strtoull(s, &next, 10);
		}
		s = next + (*next == ' ');
	}
	static const int idx[11] = { 26, 27, 45, 46, 47, 0, 28, 48, 49, 50, 51 };
	for (int k = 0; k < 11; k++)
		p->mm[k] = idx[k] ? (uint32_t)f[idx[k]] : 0;
	p->exit_status = (int32_t)f[52];
	return 0;
}

int cr_task_dump(struct pt_task *t, const struct cr_proc_status *st, uint32_t id_base, uint32_t scratch,
		 struct cr_proc *p, struct ct_err *err)
{
	pid_t hpid = t->hpid;
	char path[64], text[64];
	if (read_status_core(hpid, id_base, p, err) < 0 || read_stat_mm(hpid, p, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/personality", hpid);
	if (read_file(path, text, sizeof(text)) > 0)
		p->personality = (uint32_t)strtoul(text, NULL, 16);
	snprintf(path, sizeof(path), "/proc/%d/exe", hpid);
	ssize_t n = readlink(path, p->exe, sizeof(p->exe) - 1);
	if (n < 0)
		return ct_fail_errno(err, "reading %s", path);
	snprintf(path, sizeof(path), "/proc/%d/cwd", hpid);
	n = readlink(path, p->cwd, sizeof(p->cwd) - 1);
	if (n < 0)
		return ct_fail_errno(err, "reading %s", path);
	if (strstr(p->cwd, " (deleted)"))
		return ct_fail(err, "unsupported", "process %d works in a deleted directory", st->ns_pid);
	char root[CR_PATH_MAX] = "";
	snprintf(path, sizeof(path), "/proc/%d/root", hpid);
	if (readlink(path, root, sizeof(root) - 1) < 0 || strcmp(root, "/"))
		return ct_fail(err, "unsupported", "process %d has changed its root directory (chroot)", st->ns_pid);
	unsigned char auxv[CR_AUXV_MAX * 4];
	snprintf(path, sizeof(path), "/proc/%d/auxv", hpid);
	ssize_t an = read_file(path, (char *)auxv, sizeof(auxv));
	if (an > 0) {
		p->nauxv = (uint32_t)an / 4;
		memcpy(p->auxv, auxv, p->nauxv * 4);
	}
	for (int r = 0; r < CR_NRLIMIT; r++) {
		struct rlimit64 lim;
		if (sys(SYS_prlimit64, hpid, r, 0, (long)&lim) == 0) {
			p->rlim_cur[r] = lim.rlim_cur;
			p->rlim_max[r] = lim.rlim_max;
		}
	}

	/* From ptrace: registers, FPU, TLS, the signal mask and queues. */
	p->regs = t->regs;
	if (sys(SYS_ptrace, PTRACE_GETFPXREGS, hpid, 0, (long)p->fpx) < 0)
		return ct_fail_errno(err, "reading the FPU state of process %d", st->ns_pid);
	for (int i = 0; i < 3; i++) {
		struct cr_tls d = { .entry_number = 6 + i };
		if (sys(SYS_ptrace, PTRACE_GET_THREAD_AREA, hpid, 6 + i, (long)&d) < 0)
			return ct_fail_errno(err, "reading the TLS of process %d", st->ns_pid);
		p->tls[i] = d;
	}
	p->sigmask = t->sigmask;   /* as seized (pt_seize unblocks SIGTRAP while it holds the task) */

	/* What only the task itself can tell: one batch of syscalls answering through the scratch. */
	struct pt_batch *b = malloc(sizeof(*b));
	if (!b)
		return ct_fail(err, "failed", "out of memory");
	pt_batch_init(b, scratch);
	int brk = pt_batch_add(b, "reading the program break", SYS_brk, 1, 0L);
	uint32_t act[CR_NSIG] = { 0 };
	for (int sig = 1; sig <= CR_NSIG; sig++) {
		uint64_t bit = 1ull << (sig - 1);
		if (st->sig_ign & bit)
			p->sigactions[sig - 1].handler = (uint32_t)(uintptr_t)SIG_IGN;
		if (!(st->sig_cgt & bit))
			continue;
		act[sig - 1] = pt_batch_data(b, NULL, sizeof(struct cr_sigaction));
		pt_batch_add(b, "reading a signal handler", SYS_rt_sigaction, 4, (long)sig, 0L, (long)act[sig - 1], 8L);
	}
	uint32_t ss = pt_batch_data(b, NULL, 12), it[3], tid = pt_batch_data(b, NULL, 4);
	uint32_t robust = pt_batch_data(b, NULL, 8), pdeath = pt_batch_data(b, NULL, 4);
	pt_batch_add(b, "reading the signal stack", SYS_sigaltstack, 2, 0L, (long)ss);
	for (int w = 0; w < 3; w++) {
		it[w] = pt_batch_data(b, NULL, 16);
		pt_batch_add(b, "reading a timer", SYS_getitimer, 2, (long)w, (long)it[w]);
	}
	pt_batch_add(b, "reading the tid address", SYS_prctl, 2, (long)PR_GET_TID_ADDRESS_, (long)tid);
	pt_batch_add(b, "reading the robust list", SYS_get_robust_list, 3, 0L, (long)robust, (long)robust + 4);
	int rc = pt_batch_add(b, "reading the parent-death signal", SYS_prctl, 2, (long)PR_GET_PDEATHSIG, (long)pdeath);
	/* 64 handlers and a few words fit in one batch by far: a full one is a bug, not a limit. */
	if (rc < 0 || !it[2] || !pdeath)
		rc = ct_fail(err, "failed", "the batch of syscalls for process %d overflowed", st->ns_pid);
	else
		rc = pt_batch_run(t, b, err);
	if (rc == 0) {
		p->mm[5] = b->op[brk].ret;
		for (int sig = 1; sig <= CR_NSIG; sig++)
			if (act[sig - 1])
				memcpy(&p->sigactions[sig - 1], pt_batch_at(b, act[sig - 1]), sizeof(struct cr_sigaction));
		uint32_t buf[3];
		memcpy(buf, pt_batch_at(b, ss), 12);
		p->altstack_sp = buf[0];
		p->altstack_flags = buf[1];
		p->altstack_size = buf[2];
		for (int w = 0; w < 3; w++)
			memcpy(p->itimer[w], pt_batch_at(b, it[w]), 16);
		memcpy(&p->tid_address, pt_batch_at(b, tid), 4);
		memcpy(buf, pt_batch_at(b, robust), 8);
		p->robust_list = buf[0];
		p->robust_len = buf[1];
		memcpy(&p->pdeath_sig, pt_batch_at(b, pdeath), 4);
	}
	free(b);
	return rc;
}

/* --- restore ------------------------------------------------------------------------------------ */

/* Stands for the address of a syscall's data in add_with's arguments. */
#define DATA_ADDR (-1L)

/* A syscall taking data (copied into the batch's area); fails only when the batch cannot hold it. */
static int add_with(struct pt_task *t, struct pt_batch *b, const void *data, uint32_t len, const char *what, long nr,
		    int nargs, long a, long b2, long c, long d, struct ct_err *err)
{
	if (pt_batch_room(t, b, 1, len, err) < 0)
		return -1;
	uint32_t at = pt_batch_data(b, data, len);
	if (!at)
		return ct_fail(err, "failed", "%s: %u bytes do not fit a batch", what, len);
	long args[4] = { a, b2, c, d };
	for (int i = 0; i < 4; i++)
		if (args[i] == DATA_ADDR)
			args[i] = (long)at;
	pt_batch_add(b, what, nr, nargs, args[0], args[1], args[2], args[3]);
	return 0;
}

static int add(struct pt_task *t, struct pt_batch *b, const char *what, long nr, int nargs, long a, long b2, long c,
	       long d, long e, struct ct_err *err)
{
	if (pt_batch_room(t, b, 1, 0, err) < 0)
		return -1;
	pt_batch_add(b, what, nr, nargs, a, b2, c, d, e);
	return 0;
}

/* The stub already has the credentials a container's root processes have (most of them): then
 * the five syscalls that would set them are skipped. */
static bool same_creds(pid_t hpid, const struct cr_proc *p, uint32_t id_base)
{
	struct cr_proc now;
	memset(&now, 0, sizeof(now));
	if (read_status_core(hpid, id_base, &now, NULL) < 0)
		return false;
	return !memcmp(now.uid, p->uid, sizeof(now.uid)) && !memcmp(now.gid, p->gid, sizeof(now.gid)) &&
	       now.ngroups == p->ngroups && !memcmp(now.groups, p->groups, sizeof(now.groups)) &&
	       now.cap_inh == p->cap_inh && now.cap_prm == p->cap_prm && now.cap_eff == p->cap_eff &&
	       now.cap_bnd == p->cap_bnd && now.cap_amb == p->cap_amb;
}

static int restore_creds(struct pt_task *t, const struct cr_proc *p, struct pt_batch *b, struct ct_err *err)
{
	if (same_creds(t->hpid, p, t->id_base))
		goto dumpable;
	for (int cap = 0; cap <= CAP_LAST; cap++)
		if (!(p->cap_bnd & (1ull << cap)) &&
		    add(t, b, "dropping a bounding capability", SYS_prctl, 2, (long)PR_CAPBSET_DROP, (long)cap, 0, 0, 0, err) < 0)
			return -1;
	uint32_t groups[CR_MAX_GROUPS];
	memcpy(groups, p->groups, sizeof(groups));
	uint32_t ngroups = p->ngroups < CR_MAX_GROUPS ? p->ngroups : CR_MAX_GROUPS;
	if (add_with(t, b, groups, ngroups * 4, "setgroups", SYS_setgroups32, 2, (long)ngroups, DATA_ADDR, 0, 0, err) < 0 ||
	    add(t, b, "setresgid", SYS_setresgid32, 3, (long)p->gid[0], (long)p->gid[1], (long)p->gid[2], 0, 0, err) < 0)
		return -1;
	bool keep = p->uid[1] != 0 && p->cap_prm;
	if (keep && add(t, b, "keeping capabilities", SYS_prctl, 2, (long)PR_SET_KEEPCAPS, 1L, 0, 0, 0, err) < 0)
		return -1;
	if (add(t, b, "setresuid", SYS_setresuid32, 3, (long)p->uid[0], (long)p->uid[1], (long)p->uid[2], 0, 0, err) < 0)
		return -1;
	if (keep && add(t, b, "keeping capabilities", SYS_prctl, 2, (long)PR_SET_KEEPCAPS, 0L, 0, 0, 0, err) < 0)
		return -1;
	uint32_t caps[8] = { CAP_VERSION_3, 0,
			     (uint32_t)p->cap_eff, (uint32_t)p->cap_prm, (uint32_t)p->cap_inh,
			     (uint32_t)(p->cap_eff >> 32), (uint32_t)(p->cap_prm >> 32), (uint32_t)(p->cap_inh >> 32) };
	/* capset(header, data): both in the data, the header first. */
	if (pt_batch_room(t, b, 1, sizeof(caps), err) < 0)
		return -1;
	uint32_t at = pt_batch_data(b, caps, sizeof(caps));
	pt_batch_add(b, "setting capabilities", SYS_capset, 2, (long)at, (long)at + 8);
dumpable:
	/* A uid change made the task undumpable (no exec follows to undo it), which would hide its
	 * /proc files from the container's root. */
	if (add(t, b, "setting dumpable", SYS_prctl, 2, (long)PR_SET_DUMPABLE, 1L, 0, 0, 0, err) < 0)
		return -1;
	if (p->no_new_privs &&
	    add(t, b, "setting no_new_privs", SYS_prctl, 5, (long)PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L, err) < 0)
		return -1;
	return 0;
}

int cr_task_restore(struct pt_task *t, const struct cr_proc *p, int exe_fd, struct pt_batch *b, struct ct_err *err)
{
	/* The mm fields: brk, the argument and environment areas /proc/PID/cmdline shows, auxv. */
	uint32_t auxv[CR_AUXV_MAX];
	memcpy(auxv, p->auxv, sizeof(auxv));
	uint32_t nauxv = p->nauxv < CR_AUXV_MAX ? p->nauxv : CR_AUXV_MAX;
	if (pt_batch_room(t, b, 2, sizeof(struct mm_map) + sizeof(auxv) + 8, err) < 0)
		return -1;
	uint32_t auxv_at = pt_batch_data(b, auxv, nauxv * 4);
	struct mm_map m = {
		.start_code = p->mm[0], .end_code = p->mm[1], .start_data = p->mm[2], .end_data = p->mm[3],
		.start_brk = p->mm[4], .brk = p->mm[5], .start_stack = p->mm[6], .arg_start = p->mm[7],
		.arg_end = p->mm[8], .env_start = p->mm[9], .env_end = p->mm[10],
		.auxv = auxv_at, .auxv_size = nauxv * 4, .exe_fd = (uint32_t)exe_fd,
	};
	if (add_with(t, b, &m, sizeof(m), "restoring the memory layout (PR_SET_MM_MAP)", SYS_prctl, 4, PR_SET_MM_,
		     PR_SET_MM_MAP_, DATA_ADDR, sizeof(m), err) < 0)
		return -1;
	char comm[16];
	memcpy(comm, p->comm, sizeof(comm));
	comm[15] = 0;
	if (add_with(t, b, comm, sizeof(comm), "setting the name", SYS_prctl, 2, PR_SET_NAME, DATA_ADDR, 0, 0, err) < 0)
		return -1;
	for (int sig = 1; sig <= CR_NSIG; sig++) {
		struct cr_sigaction a = p->sigactions[sig - 1];
		if (sig == SIGKILL || sig == SIGSTOP || (a.handler == 0 && a.flags == 0))
			continue;
		if (add_with(t, b, &a, sizeof(a), "setting a signal handler", SYS_rt_sigaction, 4, sig, DATA_ADDR, 0, 8, err) < 0)
			return -1;
	}
	if (p->altstack_sp || p->altstack_size) {
		uint32_t ss[3] = { p->altstack_sp, p->altstack_flags & ~1u /* SS_ONSTACK is a state */, p->altstack_size };
		if (add_with(t, b, ss, sizeof(ss), "setting the signal stack", SYS_sigaltstack, 2, DATA_ADDR, 0, 0, 0, err) < 0)
			return -1;
	}
	for (int w = 0; w < 3; w++) {
		uint32_t it[4];
		memcpy(it, p->itimer[w], sizeof(it));
		if ((it[2] || it[3]) &&
		    add_with(t, b, it, sizeof(it), "setting a timer", SYS_setitimer, 3, w, DATA_ADDR, 0, 0, err) < 0)
			return -1;
	}
	if (p->tid_address &&
	    add(t, b, "set_tid_address", SYS_set_tid_address, 1, (long)p->tid_address, 0, 0, 0, 0, err) < 0)
		return -1;
	if (p->robust_list &&
	    add(t, b, "set_robust_list", SYS_set_robust_list, 2, (long)p->robust_list, (long)p->robust_len, 0, 0, 0, err) < 0)
		return -1;
	if (p->pdeath_sig &&
	    add(t, b, "setting the parent-death signal", SYS_prctl, 2, (long)PR_SET_PDEATHSIG, (long)p->pdeath_sig, 0, 0, 0, err) < 0)
		return -1;
	if (p->personality &&
	    add(t, b, "setting the personality", SYS_personality, 1, (long)p->personality, 0, 0, 0, 0, err) < 0)
		return -1;
	for (int r = 0; r < CR_NRLIMIT; r++) {
		struct rlimit64 lim = { p->rlim_cur[r], p->rlim_max[r] };
		if (lim.rlim_max && sys(SYS_prlimit64, t->hpid, r, (long)&lim, 0) < 0)
			return ct_fail_errno(err, "setting resource limit %d of process %d", r, p->pid);
	}
	return restore_creds(t, p, b, err);
}

int cr_task_queue_signals(struct pt_task *t, const struct cr_proc_index *x, struct pt_batch *b, struct ct_err *err)
{
	for (uint32_t i = 0; i < x->nsiginfo; i++) {
		const struct cr_siginfo *s = x->siginfo[i];
		int32_t signo;
		unsigned char info[128];
		memcpy(info, s->info, sizeof(info));
		memcpy(&signo, info, sizeof(signo));
		int rc = s->shared
			? add_with(t, b, info, sizeof(info), "queueing a signal", SYS_rt_sigqueueinfo, 3,
				   x->proc->pid, signo, DATA_ADDR, 0, err)
			: add_with(t, b, info, sizeof(info), "queueing a signal", SYS_rt_tgsigqueueinfo, 4,
				   x->proc->pid, x->proc->pid, signo, DATA_ADDR, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int cr_task_finish(struct pt_task *t, const struct cr_proc *p, struct ct_err *err)
{
	pid_t hpid = t->hpid;
	struct cr_regs regs = p->regs;
	/* A sleep's restart block stayed in the old kernel: re-issue the call instead (nanosleep has
	 * written the time left into its argument; time namespaces keep absolute deadlines right). */
	if ((int32_t)regs.orig_eax >= 0 && (int32_t)regs.eax == -ERESTART_RESTARTBLOCK)
		regs.eax = (uint32_t)-ERESTARTNOINTR;
	if (pt_set_final_regs(t, &regs, err) < 0)
		return -1;
	unsigned char fpx[512];
	memcpy(fpx, p->fpx, sizeof(fpx));
	if (pt_set_sigmask(t, p->sigmask, err) < 0)
		return -1;
	if (sys(SYS_ptrace, PTRACE_SETFPXREGS, hpid, 0, (long)fpx) < 0)
		return ct_fail_errno(err, "setting the FPU state of process %d", p->pid);
	for (int i = 0; i < 3; i++) {
		struct cr_tls d = p->tls[i];
		if (sys(SYS_ptrace, PTRACE_SET_THREAD_AREA, hpid, d.entry_number, (long)&d) < 0)
			return ct_fail_errno(err, "setting the TLS of process %d", p->pid);
	}
	/* Once more now that TLS is in place: %gs must point at a valid descriptor. */
	if (sys(SYS_ptrace, PTRACE_SETREGS, hpid, 0, (long)&regs) < 0)
		return ct_fail_errno(err, "setting the registers of process %d", p->pid);
	return 0;
}
