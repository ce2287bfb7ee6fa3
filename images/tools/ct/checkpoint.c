/*
 * Checkpoint: freeze the container's cgroup, seize every task, write the image (container,
 * files, then each process: core, memory areas and pages, fds, pending signals; then the upper
 * layer and the console log), and then either kill the container or give every task back exactly
 * as it was. Any failure before the image is complete leaves the container running untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "checkpoint.h"
#include "config.h"
#include "console.h"
#include "container.h"
#include "cr_batch.h"
#include "cr_files.h"
#include "cr_fs.h"
#include "cr_mem.h"
#include "cr_task.h"
#include "util.h"

#define MAX_TASKS CR_MAX_PROCS

void cr_host_identity(char kernel[128], char cpu[64])
{
	struct utsname u;
	uname(&u);
	snprintf(kernel, 128, "%.40s %.80s", u.release, u.version);
	char text[4096] = "";
	read_file("/proc/cpuinfo", text, sizeof(text));
	char vendor[16] = "?";
	int family = 0, model = 0, stepping = 0;
	const char *p;
	if ((p = strstr(text, "vendor_id")) && (p = strchr(p, ':')))
		sscanf(p + 1, "%15s", vendor);
	if ((p = strstr(text, "cpu family")) && (p = strchr(p, ':')))
		family = atoi(p + 1);
	if ((p = strstr(text, "\nmodel\t")) && (p = strchr(p, ':')))
		model = atoi(p + 1);
	if ((p = strstr(text, "stepping")) && (p = strchr(p, ':')))
		stepping = atoi(p + 1);
	uint32_t flags = 0;
	if ((p = strstr(text, "\nflags")) && (p = strchr(p, ':'))) {
		const char *end = strchr(p, '\n');
		flags = cr_crc32(0, p, end ? (size_t)(end - p) : strlen(p));
	}
	snprintf(cpu, 64, "%s %d/%d/%d flags %08x", vendor, family, model, stepping, flags);
}

struct task {
	pid_t hpid;
	struct cr_proc_status st;
	struct pt_task pt;
	bool seized;
	bool regs_back;      /* dumped and given its own registers again */
	uint32_t scratch;    /* the syscall scratch area still mapped in it (0: none) */
	struct cr_fd *fds;
	uint32_t nfds;
};

struct ckpt {
	const char *name;
	struct task *tasks;
	int ntasks;
	pid_t init;
	bool frozen;
	const struct cr_page_sink *sink;   /* migration: pages the destination has already */
};

static int set_frozen(const char *name, bool on, struct ct_err *err)
{
	char path[256];
	cgroup_path(name, "cgroup.freeze", path, sizeof(path));
	if (write_file(path, on ? "1" : "0", err) < 0)
		return -1;
	if (!on || cgroup_wait_frozen(name, 3000))
		return 0;
	return ct_fail(err, "timeout", "container \"%s\" did not freeze within 3 s", name);
}

static int list_tasks(struct ckpt *k, struct ct_err *err)
{
	char path[256], text[16384];
	cgroup_path(k->name, "cgroup.threads", path, sizeof(path));
	ssize_t nthreads_len = read_file(path, text, sizeof(text));
	int nthreads = 0;
	for (ssize_t i = 0; i < nthreads_len; i++)
		nthreads += text[i] == '\n';
	cgroup_path(k->name, "cgroup.procs", path, sizeof(path));
	if (read_file(path, text, sizeof(text)) < 0)
		return ct_fail_errno(err, "reading %s", path);
	k->tasks = calloc(MAX_TASKS, sizeof(*k->tasks));
	if (!k->tasks)
		return ct_fail(err, "failed", "out of memory");
	for (char *s = text; *s;) {
		char *next;
		long pid = strtol(s, &next, 10);
		if (next == s)
			break;
		if (k->ntasks == MAX_TASKS)
			return ct_fail(err, "unsupported", "more than %d processes", MAX_TASKS);
		k->tasks[k->ntasks++].hpid = (pid_t)pid;
		s = next + strspn(next, "\n");
	}
	if (nthreads != k->ntasks)
		return ct_fail(err, "unsupported", "a process in the container has several threads: the engine "
			       "restores single-threaded processes only (yet)");
	return 0;
}

/* Unmaps a dumped task's scratch area (its registers go back after): only while the cgroup is
 * thawed, as a frozen task would not run the syscall. */
static void drop_scratch(struct task *t)
{
	if (!t->seized || !t->scratch)
		return;
	long ignored;
	pt_syscall(&t->pt, SYS_munmap, &ignored, NULL, 2, (long)t->scratch, (long)PT_BATCH_SCRATCH);
	t->scratch = 0;
	t->regs_back = false;
}

/* Gives every seized task back exactly as it was: registers, stray signals queued again. */
static void release_all(struct ckpt *k)
{
	for (int i = 0; i < k->ntasks; i++) {
		struct task *t = &k->tasks[i];
		if (!t->seized)
			continue;
		if (!k->frozen)
			drop_scratch(t);
		/* Our traps reset an ignored SIGTRAP (cr_ptrace.h): ignored again, last (not while
		 * frozen: a frozen task runs no syscall). */
		bool reignored = !k->frozen && t->pt.trapped && (t->st.sig_ign & PT_TRAP_BIT) &&
				 pt_keep_trap_ignored(&t->pt, t->st.ns_pid, NULL) == 0;
		for (int s = 0; s < t->pt.nstray; s++) {
			int32_t signo;
			memcpy(&signo, t->pt.stray[s], 4);
			syscall(SYS_rt_tgsigqueueinfo, t->hpid, t->hpid, signo, t->pt.stray[s]);
		}
		if (!t->regs_back || reignored)
			pt_set_final_regs(&t->pt, &t->pt.regs, NULL);
		pt_detach(&t->pt);
		t->seized = false;
	}
}

static int32_t ns_pid_of(struct ckpt *k, pid_t hpid)
{
	for (int i = 0; i < k->ntasks; i++)
		if (k->tasks[i].hpid == hpid)
			return k->tasks[i].st.ns_pid;
	return 0;
}

/* The container's hostname lives in its UTS namespace: ask from inside it, stepping in and back
 * out (a fork to do it would cost more than the rest of the container record). */
static void read_hostname(pid_t init, char *out, size_t size)
{
	char path[64], name[65] = "";
	snprintf(path, sizeof(path), "/proc/%d/ns/uts", init);
	int ns = open(path, O_RDONLY | O_CLOEXEC), self = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	if (ns >= 0 && self >= 0 && setns(ns, CLONE_NEWUTS) == 0) {
		gethostname(name, sizeof(name) - 1);
		setns(self, CLONE_NEWUTS);   /* back: as host root into our own namespace, it cannot fail */
	}
	if (name[0])
		snprintf(out, size, "%s", name);
	if (ns >= 0)
		close(ns);
	if (self >= 0)
		close(self);
}

static void read_clocks(pid_t init, struct cr_container *c)
{
	char path[64], text[256];
	long long mono_s = 0, mono_ns = 0, boot_s = 0, boot_ns = 0;
	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", init);
	if (read_file(path, text, sizeof(text)) > 0) {
		const char *m = strstr(text, "monotonic"), *b = strstr(text, "boottime");
		if (m)
			sscanf(m, "monotonic %lld %lld", &mono_s, &mono_ns);
		if (b)
			sscanf(b, "boottime %lld %lld", &boot_s, &boot_ns);
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->mono_ns = (ts.tv_sec + mono_s) * 1000000000LL + ts.tv_nsec + mono_ns;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	c->boot_ns = (ts.tv_sec + boot_s) * 1000000000LL + ts.tv_nsec + boot_ns;
}

static int write_container(struct ckpt *k, const struct ct_config *cfg, struct cr_writer *w, unsigned long *console_rdev,
			   struct ct_err *err)
{
	struct cr_container c = { .privileged = cfg->privileged, .prefix = cfg->prefix, .memory = cfg->memory,
				  .pids = cfg->pids, .cpu_quota = cfg->cpu_quota, .created = cfg->created,
				  .nprocs = (uint32_t)k->ntasks };
	snprintf(c.name, sizeof(c.name), "%s", cfg->name);
	snprintf(c.template_name, sizeof(c.template_name), "%s", cfg->template);
	snprintf(c.hostname, sizeof(c.hostname), "%s", cfg->hostname);
	if (cfg->has_ip)
		c.ip = cfg->ip.s_addr;
	read_hostname(k->init, c.hostname, sizeof(c.hostname));
	read_clocks(k->init, &c);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root/dev/console", k->init);
	struct stat st;
	*console_rdev = stat(path, &st) == 0 ? st.st_rdev : (unsigned long)-1;
	int con = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (con >= 0) {
		ioctl(con, TCGETS, c.console_termios);
		close(con);
	}
	return cr_write_record(w, CR_REC_CONTAINER, &c, sizeof(c), err);
}

static int peek_signals(struct task *t, struct cr_siginfo **out, uint32_t *n, struct ct_err *err)
{
	struct cr_siginfo *list = NULL;
	uint32_t count = 0;
	for (int shared = 0; shared < 2; shared++) {
		for (uint64_t off = 0;; off++) {
			struct { uint64_t off; uint32_t flags; int32_t nr; } args = { off, (uint32_t)shared, 1 };
			unsigned char info[128];
			long r = syscall(SYS_ptrace, 0x4209 /* PTRACE_PEEKSIGINFO */, t->hpid, (long)&args, (long)info);
			if (r < 0) {
				free(list);
				return ct_fail_errno(err, "reading the pending signals of process %d", t->st.ns_pid);
			}
			if (r == 0)
				break;
			struct cr_siginfo *b = realloc(list, (count + 1) * sizeof(*b));
			if (!b) {
				free(list);
				return ct_fail(err, "failed", "out of memory");
			}
			list = b;
			list[count] = (struct cr_siginfo){ .pid = t->st.ns_pid, .shared = (uint32_t)shared };
			memcpy(list[count].info, info, sizeof(info));
			count++;
		}
	}
	for (int s = 0; s < t->pt.nstray; s++) {
		struct cr_siginfo *b = realloc(list, (count + 1) * sizeof(*b));
		if (!b) {
			free(list);
			return ct_fail(err, "failed", "out of memory");
		}
		list = b;
		list[count] = (struct cr_siginfo){ .pid = t->st.ns_pid, .shared = 0 };
		memcpy(list[count].info, t->pt.stray[s], 128);
		count++;
	}
	*out = list;
	*n = count;
	return 0;
}

static int dump_task(struct ckpt *k, struct task *t, uint32_t id_base, struct cr_writer *w, struct cr_report *r,
		     struct ct_err *err)
{
	struct cr_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return ct_fail(err, "failed", "out of memory");
	p->pid = t->st.ns_pid;
	p->ppid = t->st.ns_pid == 1 ? 0 : ns_pid_of(k, t->st.host_ppid);
	if (p->ppid == 0 && p->pid != 1)
		p->ppid = 1;   /* its parent is outside (a `ct exec` helper): it will be init's child */
	p->pgid = t->st.ns_pgid;
	p->sid = t->st.ns_sid;
	int rc = -1;
	struct cr_area *areas = NULL;
	struct cr_siginfo *sigs = NULL;
	uint32_t nareas = 0, nsigs = 0;
	if (t->st.state == 'Z') {
		char path[64], text[1024];
		snprintf(path, sizeof(path), "/proc/%d/stat", t->hpid);
		p->state = CR_PROC_ZOMBIE;
		if (read_file(path, text, sizeof(text)) > 0) {
			const char *s = strrchr(text, ')');
			for (int field = 2; s && field < 52; field++)
				s = strchr(s + 1, ' ');
			if (s)
				p->exit_status = atoi(s + 1);
			const char *o = strchr(text, '(');
			if (o)
				snprintf(p->comm, sizeof(p->comm), "%.*s", (int)(strrchr(text, ')') - o - 1), o + 1);
		}
		rc = cr_write_record(w, CR_REC_PROC, p, sizeof(*p), err);
		free(p);
		return rc;
	}
	if (cr_mem_read_maps(t->hpid, p->pid, &areas, &nareas, err) < 0)
		goto out;
	uint32_t vdso = 0;
	for (uint32_t i = 0; i < nareas; i++)
		if (areas[i].kind == CR_VMA_VDSO)
			vdso = areas[i].start;
	if (!vdso || pt_find_gadget(&t->pt, vdso, err) < 0) {
		if (!vdso)
			ct_fail(err, "unsupported", "process %d has no vDSO", p->pid);
		goto out;
	}
	long scratch = pt_call(&t->pt, "mapping a scratch area", err, SYS_mmap2, 6, 0L, (long)PT_BATCH_SCRATCH,
			       (long)(PROT_READ | PROT_WRITE | PROT_EXEC), (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);
	if (scratch < 0 && scratch > -4096)
		goto out;
	cr_trace("%lld dump: %d maps read, scratch mapped\n", now_ms(), p->pid);
	t->scratch = (uint32_t)scratch;
	rc = cr_task_dump(&t->pt, &t->st, id_base, (uint32_t)scratch, p, err);
	/* Its own registers back at once: should we die now, the kernel lets it go as it was (with an
	 * idle scratch mapping). The scratch goes only if the task lives on here (release_all): a
	 * migrated or stopped container's tasks end, and an injected munmap costs a stop. */
	if (pt_set_final_regs(&t->pt, &t->pt.regs, err) < 0)
		rc = -1;
	else
		t->regs_back = true;
	if (rc < 0)
		goto out;
	rc = -1;
	cr_trace("%lld dump: %d regs back\n", now_ms(), p->pid);
	if (peek_signals(t, &sigs, &nsigs, err) < 0)
		goto out;
	p->nvmas = nareas;
	p->nfds = t->nfds;
	p->nsiginfo = nsigs;
	if (cr_write_record(w, CR_REC_PROC, p, sizeof(*p), err) < 0)
		goto out;
	for (uint32_t i = 0; i < t->nfds; i++)
		if (cr_write_record(w, CR_REC_FD, &t->fds[i], sizeof(t->fds[i]), err) < 0)
			goto out;
	for (uint32_t i = 0; i < nsigs; i++)
		if (cr_write_record(w, CR_REC_SIGINFO, &sigs[i], sizeof(sigs[i]), err) < 0)
			goto out;
	if (cr_mem_dump(&t->pt, p->pid, areas, nareas, k->sink, w, &r->pages, err) < 0)
		goto out;
	rc = 0;
out:
	free(areas);
	free(sigs);
	free(p);
	return rc;
}

static int write_image(struct ckpt *k, const struct ct_config *cfg, int fd, struct cr_report *r,
		       cr_progress_fn progress, void *arg, struct ct_err *err)
{
	struct cr_header h = { .created_ms = 0 };
	cr_host_identity(h.kernel, h.cpu);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.created_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	struct cr_writer w;
	unsigned long console_rdev;
	struct cr_files_dump *files = NULL;
	uint32_t id_base = cfg->privileged ? 0 : CT_IDMAP_BASE;
	int rc = -1;
	if (cr_writer_open(&w, fd, &h, err) < 0)
		goto out;
	if (write_container(k, cfg, &w, &console_rdev, err) < 0)
		goto fail;
	/* The image's head (container, files of the filesystem, log) comes first: a migration's
	 * destination starts building the container from it while the processes are still dumped. */
	if (progress)
		progress("filesystem", arg);
	char upper[256];
	config_path(cfg->name, "upper", upper, sizeof(upper));
	char shm[64];
	snprintf(shm, sizeof(shm), "/proc/%d/root/dev/shm", k->init);
	if (cr_fs_dump(CR_FS_UPPER, upper, &w, &r->fs_bytes, err) < 0 || cr_fs_dump(CR_FS_SHM, shm, &w, &r->fs_bytes, err) < 0)
		goto fail;
	char *log = malloc(CT_LOG_KEEP);
	ssize_t loglen = log ? console_log_read(cfg->name, log, CT_LOG_KEEP) : -1;
	/* Always one, even empty: it closes the head (a migration's destination starts on it). */
	rc = cr_write_record(&w, CR_REC_LOG, log, loglen > 0 ? (uint32_t)loglen : 0, err);
	free(log);
	if (rc < 0 || cr_writer_flush(&w, err) < 0)   /* the head leaves now: see above */
		goto fail;
	cr_trace("%lld dump: head flushed\n", now_ms());
	if (progress)
		progress("files", arg);
	files = cr_files_dump_new(console_rdev, k->init);
	if (!files) {
		ct_fail(err, "failed", "out of memory");
		goto fail;
	}
	for (int i = 0; i < k->ntasks; i++)
		if (k->tasks[i].st.state != 'Z' &&
		    cr_files_scan(files, k->tasks[i].hpid, k->tasks[i].st.ns_pid, &k->tasks[i].fds, &k->tasks[i].nfds, err) < 0)
			goto fail;
	if (cr_files_write(files, &w, err) < 0)
		goto fail;
	if (progress)
		progress("memory", arg);
	cr_trace("%lld dump: files written\n", now_ms());
	/* Each process leaves as soon as it is saved: a migration's transfer overlaps the next dump. */
	for (int i = 0; i < k->ntasks; i++) {
		if (dump_task(k, &k->tasks[i], id_base, &w, r, err) < 0 || cr_writer_flush(&w, err) < 0)
			goto fail;
		cr_trace("%lld dump: process %d written\n", now_ms(), k->tasks[i].st.ns_pid);
	}
	r->image_bytes = w.bytes;
	rc = cr_writer_finish(&w, err);
	cr_trace("%lld dump: image written\n", now_ms());
	r->image_bytes += sizeof(struct cr_rec) + sizeof(struct cr_end) + 4;
	goto out;
fail:
	cr_writer_abort(&w);
	rc = -1;
out:
	cr_files_dump_free(files);
	return rc;
}

int container_describe(const char *name, int fd, struct ct_err *err)
{
	struct ct_config cfg;
	struct ckpt k = { .name = name };
	if (config_load(name, &cfg, err) < 0)
		return -1;
	if (container_state(name, &k.init) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	struct cr_header h = { .created_ms = 0 };
	cr_host_identity(h.kernel, h.cpu);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);   /* with the clocks read below: the restore's time base */
	h.created_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* Its processes as they are now (the count the restore goes by comes with the image). */
	if (list_tasks(&k, err) < 0) {
		free(k.tasks);
		return -1;
	}
	free(k.tasks);
	if (k.ntasks < 1)
		return ct_fail(err, "state", "container \"%s\" has no processes", name);
	struct cr_writer w;
	unsigned long console_rdev;
	if (cr_writer_open(&w, fd, &h, err) < 0)
		return -1;
	int rc = write_container(&k, &cfg, &w, &console_rdev, err) < 0 || cr_write_record(&w, CR_REC_LOG, NULL, 0, err) < 0 ||
		 cr_writer_flush(&w, err) < 0 ? -1 : 0;
	cr_writer_abort(&w);
	return rc;
}

int container_refuse_frozen(const char *name, struct ct_err *err)
{
	/* Held still by a migration that has not settled where it runs: moved or saved now, it
	 * could run twice. */
	if (cgroup_frozen(name))
		return ct_fail(err, "state", "container \"%s\" is frozen: a migration has not settled where it runs "
			       "(ct migrate-resolve)", name);
	return 0;
}

int container_dump(const char *name, const struct cr_dump_opts *o, struct cr_report *r, struct ct_err *err)
{
	struct ct_config cfg;
	struct ckpt k = { .name = name, .sink = o->sink };
	memset(r, 0, sizeof(*r));
	long long t0 = now_ms();
	if (config_load(name, &cfg, err) < 0)
		return -1;
	int lock CLEANUP_FD = container_lock(name, err);
	if (lock < 0)
		return -1;
	if (container_state(name, &k.init) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	if (container_refuse_frozen(name, err) < 0)
		return -1;
	if (o->progress)
		o->progress("freezing", o->arg);
	int rc = -1;
	bool hold = false;
	long long frozen_at = now_ms();
	if (set_frozen(name, true, err) < 0)
		goto out;
	cr_trace("%lld dump: frozen\n", now_ms());
	k.frozen = true;
	if (list_tasks(&k, err) < 0)
		goto out;
	for (int i = 0; i < k.ntasks; i++) {
		struct task *t = &k.tasks[i];
		if (cr_read_status(t->hpid, &t->st, err) < 0)
			goto out;
		if (t->st.tracer) {
			ct_fail(err, "unsupported", "process %d is being traced (by host process %d)", t->st.ns_pid, t->st.tracer);
			goto out;
		}
		if (t->st.seccomp) {
			ct_fail(err, "unsupported", "process %d runs under a seccomp filter", t->st.ns_pid);
			goto out;
		}
		if (t->st.state == 'T' || t->st.state == 't') {
			ct_fail(err, "unsupported", "process %d is stopped (job control): continue it first", t->st.ns_pid);
			goto out;
		}
		char path[64], timers[64] = "";
		snprintf(path, sizeof(path), "/proc/%d/timers", t->hpid);
		if (t->st.state != 'Z' && read_file(path, timers, sizeof(timers)) > 0) {
			ct_fail(err, "unsupported", "process %d uses POSIX timers", t->st.ns_pid);
			goto out;
		}
		if (t->st.state == 'Z')
			continue;
		if (pt_seize(&t->pt, t->hpid, false, err) < 0)
			goto out;
		t->seized = true;
	}
	cr_trace("%lld dump: seized\n", now_ms());
	/* Seized tasks stay stopped; thawed, they can run the syscalls we inject. */
	if (set_frozen(name, false, err) < 0)
		goto out;
	k.frozen = false;
	r->processes = (uint32_t)k.ntasks;
	if (write_image(&k, &cfg, o->fd, r, o->progress, o->arg, err) < 0)
		goto out;
	r->frozen_ms = now_ms() - frozen_at;
	/* The image is out; whoever has it says whether the container ends here. */
	int decision = o->decide ? o->decide(o->arg, err) : 0;
	hold = decision == CR_DECIDE_HOLD;
	if (decision < 0)
		goto out;
	rc = 0;
out:
	if (rc == 0 && !o->leave_running) {
		/* The container ends here. SIGKILL reaches seized tasks too. */
		if (o->progress)
			o->progress("stopping", o->arg);
		cgroup_kill(name, NULL);
		/* A dead tracee is ours to reap before its parent hears of it, in any order: init's exit
		 * waits for the rest of its namespace. */
		int left = 0;
		for (int i = 0; i < k.ntasks; i++)
			if (k.tasks[i].seized) {
				close(k.tasks[i].pt.mem);
				left++;
			}
		for (long long deadline = now_ms() + 5000; left > 0 && now_ms() < deadline;) {
			for (int i = 0; i < k.ntasks; i++)
				if (k.tasks[i].seized && waitpid(k.tasks[i].hpid, NULL, __WALL | WNOHANG) != 0) {
					k.tasks[i].seized = false;
					left--;
				}
			if (left)
				sleep_ms(2);
		}
		container_stop_locked(name, 0, NULL);
	} else {
		/* Held: frozen again before the tasks are let go, so none runs a single instruction. */
		for (int i = 0; hold && !k.frozen && i < k.ntasks; i++)
			drop_scratch(&k.tasks[i]);
		if (hold && !k.frozen && set_frozen(name, true, NULL) == 0)
			k.frozen = true;
		release_all(&k);
		if (k.frozen && !hold)
			set_frozen(name, false, NULL);
		if (rc == 0)
			r->frozen_ms = now_ms() - frozen_at;
	}
	for (int i = 0; k.tasks && i < k.ntasks; i++)
		free(k.tasks[i].fds);
	free(k.tasks);
	r->total_ms = now_ms() - t0;
	return rc;
}

struct file_image { int fd; const char *tmp, *final; };

/* The image is safe on disk before the container may end. */
static int commit_file(void *arg, struct ct_err *err)
{
	struct file_image *f = arg;
	if (fsync(f->fd) < 0)
		return ct_fail_errno(err, "writing %s", f->tmp);
	if (rename(f->tmp, f->final) < 0)
		return ct_fail_errno(err, "renaming %s", f->tmp);
	return 0;
}

struct progress_relay { cr_progress_fn fn; void *arg; struct file_image *file; };

static void relay(const char *phase, void *arg)
{
	struct progress_relay *p = arg;
	if (p->fn)
		p->fn(phase, p->arg);
}

static int relay_commit(void *arg, struct ct_err *err)
{
	return commit_file(((struct progress_relay *)arg)->file, err);
}

int container_checkpoint(const char *name, const char *dir, bool leave_running, struct cr_report *r,
			 cr_progress_fn progress, void *arg, struct ct_err *err)
{
	char tmp[512], final[512];
	memset(r, 0, sizeof(*r));
	if (config_require(name, err) < 0 || mkdir_p(dir, 0700, err) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/" CR_IMAGE_FILE ".part", dir);
	snprintf(final, sizeof(final), "%s/" CR_IMAGE_FILE, dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ct_fail_errno(err, "creating %s", tmp);
	struct file_image file = { fd, tmp, final };
	struct progress_relay p = { progress, arg, &file };
	struct cr_dump_opts o = { .fd = fd, .leave_running = leave_running, .decide = relay_commit, .progress = relay,
				  .arg = &p };
	int rc = container_dump(name, &o, r, err);
	close(fd);
	if (rc < 0)
		unlink(tmp);
	return rc;
}
