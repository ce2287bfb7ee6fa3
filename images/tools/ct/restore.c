/*
 * Restore: the image is read and checked whole before anything changes; then the container is
 * started the usual way (cgroup, overlay, namespaces, veth, monitor) except that its first process,
 * instead of exec'ing init, rebuilds the saved process tree as stubs with the saved pids (clone3
 * set_tid), files and sessions; the monitor then seizes each stub and puts its memory, core state
 * and registers back (cr_mem, cr_task) before letting them all go at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "checkpoint.h"
#include "config.h"
#include "console.h"
#include "container.h"
#include "cr_files.h"
#include "cr_fs.h"
#include "cr_mem.h"
#include "cr_task.h"
#include "rootfs.h"
#include "util.h"

/* Where the stubs keep the report pipe (cr_files_report_fd), set before the first is made. */
static int stub_report_fd = -1;
#define READY_TIMEOUT_MS 20000
/* Tests only: "fail-after-seize" makes a restore fail once the monitor holds every process, as a
 * process that cannot be put back would. */
#define RESTORE_FAULT_FILE CT_RUN_DIR "/restore.fault"

struct ready_msg {
	int32_t pid;
	int32_t ok;
	struct ct_err err;
};

/* A migration's image still arriving: the container is built from its head meanwhile, and the
 * monitor and the first process wait for the rest. */
struct stream {
	int image_fd;      /* the image file, growing */
	int complete_fd;   /* one byte when the image is whole; EOF without it: it never will be */
	int checked[2];    /* the monitor tells the first process the whole image checked out */
	struct cr_image whole;
	/* Built from a description before the image (container_restore_prepared): the monitor
	 * first waits for the head ('h' and its size on complete_fd) and puts its files in place. */
	int prepare_fd;
	int built_fd;      /* 'b' to the migration's receiver once the container stands */
	struct cr_image head;
	void *head_map;
	size_t head_size;
};

struct restore_ctx {
	const struct cr_image *img;
	const char *name;
	bool hold;   /* leave the restored container frozen (a migration commits it later) */
	struct stream *stream;
	void *map;        /* the image (or its head) as the restore mapped it */
	size_t map_size;
	int staging;
	struct cr_report *report;
	cr_progress_fn progress;
	void *arg;
};

/* --- in the container: the stubs ----------------------------------------------------------------- */

static void __attribute__((noreturn)) stub_fail(int32_t pid, const struct ct_err *err)
{
	struct ready_msg m = { .pid = pid, .ok = 0, .err = *err };
	write_all(stub_report_fd, &m, sizeof(m));
	_exit(1);
}

static void set_session(const struct cr_image *img, const struct cr_proc *p)
{
	const struct cr_proc *parent = cr_image_proc(img, p->ppid)->proc;
	if (p->sid == p->pid || p->sid != parent->sid)
		setsid();   /* a session led from outside the container becomes one of its own */
	if (p->pgid == p->pid || (p->pgid == 0 && parent->pgid != 0))
		setpgid(0, 0);
	else if (p->pgid != parent->pgid && setpgid(0, p->pgid) < 0)
		setpgid(0, 0);
}

struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static void __attribute__((noreturn)) stub_run(const struct restore_ctx *ctx, const struct cr_proc_index *x);

static void create_children(const struct restore_ctx *ctx, const struct cr_proc *p)
{
	struct ct_err err;
	/* Group leaders first, so the members can join their groups. */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < ctx->img->nprocs; i++) {
			const struct cr_proc_index *c = &ctx->img->procs[i];
			bool leader = c->proc->pgid == c->proc->pid;
			if (c->proc->ppid != p->pid || leader != (pass == 0))
				continue;
			pid_t tid = c->proc->pid;
			struct clone_args_v2 a = { .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&tid, .set_tid_size = 1 };
			long r = syscall(435 /* clone3 */, &a, sizeof(a));
			if (r == 0)
				stub_run(ctx, c);
			if (r < 0) {
				ct_fail_errno(&err, "recreating process %d", tid);
				stub_fail(p->pid, &err);
			}
		}
}

static void __attribute__((noreturn)) stub_run(const struct restore_ctx *ctx, const struct cr_proc_index *x)
{
	const struct cr_proc *p = x->proc;
	struct ct_err err = { "", "" };
	if (p->pid != 1)
		set_session(ctx->img, p);
	create_children(ctx, p);
	if (p->state == CR_PROC_ZOMBIE) {
		struct ready_msg m = { .pid = p->pid, .ok = 1 };
		write_all(stub_report_fd, &m, sizeof(m));
		if (WIFSIGNALED(p->exit_status)) {
			struct rlimit none = { 0, 0 };
			setrlimit(RLIMIT_CORE, &none);
			signal(WTERMSIG(p->exit_status), SIG_DFL);
			sigset_t all;
			sigemptyset(&all);
			sigprocmask(SIG_SETMASK, &all, NULL);
			kill(getpid(), WTERMSIG(p->exit_status));
		}
		_exit(WEXITSTATUS(p->exit_status));
	}
	if (cr_files_install(ctx->img, x, ctx->staging, stub_report_fd, &err) < 0)
		stub_fail(p->pid, &err);
	char cwd[CR_PATH_MAX];
	memcpy(cwd, p->cwd, sizeof(cwd));
	if (chdir(cwd) < 0) {
		ct_fail_errno(&err, "entering %s", cwd);
		stub_fail(p->pid, &err);
	}
	umask(p->umask);
	struct cr_map_files mf;
	if (cr_map_files(x, &mf, &err) < 0)
		stub_fail(p->pid, &err);
	for (int k = 0; k < mf.n; k++) {
		int fd = open(mf.path[k], mf.flags[k] | O_CLOEXEC);
		if (fd < 0 || (fd != mf.base + k && (dup2(fd, mf.base + k) < 0 || close(fd) < 0))) {
			ct_fail_errno(&err, "opening %s", mf.path[k]);
			stub_fail(p->pid, &err);
		}
	}
	/* Only SIGCHLD (ignored) may arrive: nothing may run a handler before the memory is back. */
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGCHLD);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGCHLD, SIG_DFL);
	struct ready_msg m = { .pid = p->pid, .ok = 1 };
	write_all(stub_report_fd, &m, sizeof(m));
	close(stub_report_fd);
	for (;;)
		pause();
}

static int map_whole(struct stream *st, bool checked, struct ct_err *err)
{
	struct stat sb;
	if (fstat(st->image_fd, &sb) < 0)
		return ct_fail_errno(err, "examining the image");
	void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, st->image_fd, 0);
	if (map == MAP_FAILED)
		return ct_fail_errno(err, "reading the image");
	/* Left mapped: the restore reads it to the end, and this process ends or execs no more. */
	return (checked ? cr_image_parse_checked : cr_image_parse)(&st->whole, map, (size_t)sb.st_size, err);
}

/* The container's first process, in its namespaces and root: becomes the saved init. */
static void __attribute__((noreturn)) restore_child(void *arg, int report_fd)
{
	struct restore_ctx *ctx = arg;
	struct ct_err err = { "", "" };
	if (ctx->stream) {
		struct stream *st = ctx->stream;
		char ok;
		close(st->complete_fd);
		close(st->checked[1]);
		/* In place: the monitor may say the container stands. */
		struct ready_msg m = { .pid = 0, .ok = 1 };
		close(st->built_fd);
		write_all(report_fd, &m, sizeof(m));
		if (read_all(st->checked[0], &ok, 1) != 1)
			_exit(1);   /* the monitor found the image bad and says why */
		if (map_whole(st, true, &err) < 0) {
			stub_report_fd = report_fd;
			stub_fail(1, &err);
		}
		close(st->checked[0]);
		close(st->image_fd);
		ctx->img = &st->whole;
		ctx->staging = cr_files_staging_base(&st->whole);
		cr_trace("%lld restore: child has the whole image\n", now_ms());
	}
	struct rlimit lim = { 1024, 1024 };
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	int at = cr_files_report_fd(ctx->img, ctx->staging);
	if (at + 3 > (int)lim.rlim_cur) {   /* the report fd and a pair made above it */
		stub_report_fd = report_fd;
		ct_fail(&err, "unsupported", "the image uses fd numbers too high to restore");
		stub_fail(1, &err);
	}
	if (at != report_fd && (dup2(report_fd, at) < 0 || close(report_fd) < 0))
		_exit(1);
	stub_report_fd = at;
	if (setsid() < 0) {
		ct_fail_errno(&err, "setsid");
		stub_fail(1, &err);
	}
	/* /dev/shm is a fresh tmpfs of the new container: fill it from inside, as its root. */
	uint32_t shift = ctx->img->container->privileged ? 0 : CT_IDMAP_BASE;
	if (cr_fs_restore(ctx->img, CR_FS_SHM, "/dev/shm", shift, &err) < 0 ||
	    cr_files_open_all(ctx->img, ctx->staging, &err) < 0)
		stub_fail(1, &err);
	cr_trace("%lld restore: shm and files\n", now_ms());
	for (uint32_t i = 0; i < ctx->img->nfiles; i++)
		if (ctx->img->files[i]->kind == CR_FILE_CONSOLE) {
			int fd = ctx->staging + (int)i;
			unsigned char tio[60];
			memcpy(tio, ctx->img->container->console_termios, sizeof(tio));
			ioctl(fd, TIOCSCTTY, 0);
			ioctl(fd, TCSETS, tio);
			break;
		}
	stub_run(ctx, cr_image_proc(ctx->img, 1));
}

/* --- in the monitor -------------------------------------------------------------------------------- */

static void split_ns(long long ns, long long *sec, long long *nsec)
{
	*sec = ns / 1000000000LL;
	*nsec = ns % 1000000000LL;
	if (*nsec < 0) {
		*nsec += 1000000000LL;
		*sec -= 1;
	}
}

/* The container's clocks carry on from where they were, plus the time the image spent on the shelf. */
static int set_time_offsets(void *arg, struct ct_err *err)
{
	cr_trace("%lld restore: monitor up\n", now_ms());
	const struct restore_ctx *ctx = arg;
	if (ctx->stream && pipe2(ctx->stream->checked, O_CLOEXEC) < 0)
		return ct_fail_errno(err, "pipe");
	const struct cr_container *c = ctx->img->container;
	struct timespec now, mono, boot;
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	long long elapsed = ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000) - (long long)ctx->img->header.created_ms;
	if (elapsed < 0)
		elapsed = 0;
	long long m = c->mono_ns + elapsed * 1000000LL - ((long long)mono.tv_sec * 1000000000LL + mono.tv_nsec);
	long long b = c->boot_ns + elapsed * 1000000LL - ((long long)boot.tv_sec * 1000000000LL + boot.tv_nsec);
	long long ms, mn, bs, bn;
	split_ns(m, &ms, &mn);
	split_ns(b, &bs, &bn);
	char text[256];
	snprintf(text, sizeof(text), "monotonic %lld %lld\nboottime %lld %lld\n", ms, mn, bs, bn);
	return write_file("/proc/self/timens_offsets", text, err);
}

/* The stubs' host pids by their pids in the container, from one pass over the cgroup. */
static int host_pids(const char *name, const struct cr_image *img, pid_t *out)
{
	char path[256], text[8192];
	cgroup_path(name, "cgroup.procs", path, sizeof(path));
	if (read_file(path, text, sizeof(text)) <= 0)
		return -1;
	for (char *s = text; *s;) {
		char *next;
		long hpid = strtol(s, &next, 10);
		if (next == s)
			break;
		struct cr_proc_status st;
		if (cr_read_status((pid_t)hpid, &st, NULL) == 0)
			for (uint32_t i = 0; i < img->nprocs; i++)
				if (img->procs[i].proc->pid == st.ns_pid)
					out[i] = (pid_t)hpid;
		s = next + strspn(next, "\n");
	}
	return 0;
}

static int restore_one(struct pt_task *t, const struct cr_proc_index *x, struct ct_err *err)
{
	struct cr_map_files mf;
	struct pt_batch *b = malloc(sizeof(*b));
	if (!b)
		return ct_fail(err, "failed", "out of memory");
	/* Two batches: the memory layout (then its contents), and all the rest. */
	int rc = cr_map_files(x, &mf, err) < 0 || cr_mem_restore(t, x, &mf, b, err) < 0 ? -1 : 0;
	cr_trace("%lld restore: memory of %d\n", now_ms(), x->proc->pid);
	if (rc == 0 && (cr_task_restore(t, x->proc, mf.base, b, err) < 0 || pt_batch_room(t, b, 1, 0, err) < 0))
		rc = -1;
	if (rc == 0) {
		pt_batch_add(b, "closing the restorer's files", SYS_close_range, 3, (long)mf.base, -1L, 0L);
		if (cr_task_queue_signals(t, x, b, err) < 0 || pt_batch_run(t, b, err) < 0 ||
		    pt_call(t, "unmapping the scratch area", err, SYS_munmap, 2, (long)b->scratch, (long)PT_BATCH_SCRATCH) < 0)
			rc = -1;
	}
	free(b);
	/* Our traps reset an ignored SIGTRAP (cr_ptrace.h): ignored again, last. */
	if (rc == 0 && x->proc->sigactions[SIGTRAP - 1].handler == (uint32_t)(uintptr_t)SIG_IGN &&
	    pt_keep_trap_ignored(t, x->proc->pid, err) < 0)
		rc = -1;
	return rc < 0 ? -1 : cr_task_finish(t, x->proc, err);
}

static int identity_matches(const struct cr_image *img, struct ct_err *err);

/* In the monitor, the container built from the head: waits for the rest of the image, checks it
 * whole, and lets the first process go on with it. */
static int await_whole(struct restore_ctx *ctx, struct ct_err *err)
{
	struct stream *st = ctx->stream;
	close(st->checked[0]);
	char ok = 0;
	struct pollfd p = { .fd = st->complete_fd, .events = POLLIN };
	if (poll(&p, 1, READY_TIMEOUT_MS * 3) <= 0 || read(st->complete_fd, &ok, 1) != 1 || ok != 'y')
		return ct_fail(err, "failed", "the rest of the image never arrived");
	close(st->complete_fd);
	cr_trace("%lld restore: image whole\n", now_ms());
	/* Its checksums were checked as it arrived (by the migration's receiver); every
	 * record's shape and every reference between records are checked here. */
	if (map_whole(st, true, err) < 0 || identity_matches(&st->whole, err) < 0)
		return -1;
	if (st->whole.container->nprocs != ctx->img->container->nprocs ||
	    memcmp(st->whole.container, ctx->img->container, sizeof(*st->whole.container)))
		return ct_fail(err, "bad_image", "the image's head and its whole disagree");
	close(st->image_fd);
	ctx->img = &st->whole;
	cr_trace("%lld restore: whole image parsed\n", now_ms());
	if (write_all(st->checked[1], "y", 1) < 0)
		return ct_fail_errno(err, "releasing the first process");
	close(st->checked[1]);
	return 0;
}

#define HEAD_TIMEOUT_MS (10 * 60 * 1000)   /* a long pre-copy (a large, busy container) comes first */

static bool same_settings(const struct cr_container *a, const struct cr_container *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->template_name, b->template_name) && !strcmp(a->hostname, b->hostname) &&
	       a->privileged == b->privileged && a->ip == b->ip && a->prefix == b->prefix && a->memory == b->memory &&
	       a->pids == b->pids && a->cpu_quota == b->cpu_quota && a->created == b->created;
}

/* In the monitor of a container built from a description: waits for the image's head, checks it
 * against the description and puts its files in place, through the overlay the container already
 * has mounted (no process of the container has run yet). */
static int await_head(struct restore_ctx *ctx, pid_t init, int report_fd, struct ct_err *err)
{
	struct stream *st = ctx->stream;
	/* First the container's first process in place (network, root, namespaces: all done). */
	struct ready_msg m;
	struct pollfd r = { .fd = report_fd, .events = POLLIN };
	if (poll(&r, 1, READY_TIMEOUT_MS) <= 0 || read_all(report_fd, &m, sizeof(m)) != sizeof(m))
		return ct_fail(err, "failed", "the container's first process did not get ready");
	if (!m.ok) {
		*err = m.err;
		return -1;
	}
	cr_trace("%lld restore: built\n", now_ms());
	/* With its init: the receiver opens what the commit needs inside the namespace now. */
	unsigned char built[1 + sizeof(pid_t)] = { 'b' };
	memcpy(built + 1, &init, sizeof(init));
	write_all(st->built_fd, built, sizeof(built));
	close(st->built_fd);
	st->built_fd = -1;
	unsigned char msg[1 + sizeof(uint64_t)];
	struct pollfd p = { .fd = st->complete_fd, .events = POLLIN };
	if (poll(&p, 1, HEAD_TIMEOUT_MS) <= 0 || read_all(st->complete_fd, msg, sizeof(msg)) != sizeof(msg) || msg[0] != 'h')
		return ct_fail(err, "failed", "the image never arrived");
	uint64_t size;
	memcpy(&size, msg + 1, sizeof(size));
	cr_trace("%lld restore: head here\n", now_ms());
	if (size < sizeof(struct cr_header) || size > SIZE_MAX / 2)
		return ct_fail(err, "bad_image", "the image's head is %llu bytes", (unsigned long long)size);
	st->head_map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, st->image_fd, 0);
	if (st->head_map == MAP_FAILED) {
		st->head_map = NULL;
		return ct_fail_errno(err, "reading the image's head");
	}
	st->head_size = (size_t)size;
	if (cr_image_parse_head(&st->head, st->head_map, st->head_size, err) < 0 || identity_matches(&st->head, err) < 0)
		return -1;
	if (!same_settings(st->head.container, ctx->img->container))
		return ct_fail(err, "conflict", "\"%s\" changed while it was moving (its limits, address or hostname): "
			       "try again", ctx->name);
	char root[256];
	rootfs_path(ctx->name, root, sizeof(root));
	if (cr_fs_apply(&st->head, CR_FS_UPPER, root, err) < 0)
		return -1;
	if (st->head.log_len) {
		char logpath[256];
		console_log_path(ctx->name, logpath, sizeof(logpath));
		write_file_atomic(logpath, (const char *)st->head.log, st->head.log_len, NULL);
	}
	ctx->img = &st->head;
	cr_trace("%lld restore: files in place\n", now_ms());
	return 0;
}

static int bring_to_life_mapped(struct restore_ctx *ctx, int report_fd, struct ct_err *err);

/* The monitor outlives the restore by as long as the container runs: it must not keep the image's
 * pages (the file may be deleted: a migration's is, at once) mapped all that time. */
static int bring_to_life(void *arg, pid_t init, int report_fd, struct ct_err *err)
{
	struct restore_ctx *ctx = arg;
	struct stream *st = ctx->stream;
	int rc = st && (await_head(ctx, init, report_fd, err) < 0 || await_whole(ctx, err) < 0)
		 ? -1 : bring_to_life_mapped(ctx, report_fd, err);
	munmap(ctx->map, ctx->map_size);
	if (st && st->whole.data)
		munmap((void *)st->whole.data, st->whole.size);
	if (st && st->head_map)
		munmap(st->head_map, st->head_size);
	return rc;
}

static int bring_to_life_mapped(struct restore_ctx *ctx, int report_fd, struct ct_err *err)
{
	const struct cr_image *img = ctx->img;
	/* Every stub reports once: ready, or what failed. */
	for (uint32_t got = 0; got < img->nprocs;) {
		struct pollfd p = { .fd = report_fd, .events = POLLIN };
		if (poll(&p, 1, READY_TIMEOUT_MS) <= 0)
			return ct_fail(err, "timeout", "the restored processes did not get ready");
		struct ready_msg m;
		if (read_all(report_fd, &m, sizeof(m)) != sizeof(m))
			return ct_fail(err, "failed", "a restore stub died before it was ready");
		if (!m.ok) {
			*err = m.err;
			return -1;
		}
		got++;
	}
	if (ctx->progress)
		ctx->progress("memory", ctx->arg);
	cr_trace("%lld restore: stubs ready\n", now_ms());
	struct pt_task *tasks = calloc(img->nprocs, sizeof(*tasks));
	bool *seized = calloc(img->nprocs, sizeof(*seized));
	pid_t *hpids = calloc(img->nprocs, sizeof(*hpids));
	int rc = tasks && seized && hpids ? 0 : ct_fail(err, "failed", "out of memory");
	if (rc == 0 && host_pids(ctx->name, img, hpids) < 0)
		rc = ct_fail_errno(err, "listing the restored processes");
	for (uint32_t i = 0; i < img->nprocs && rc == 0; i++) {
		const struct cr_proc_index *x = &img->procs[i];
		if (x->proc->state != CR_PROC_RUNNING)
			continue;
		pid_t hpid = hpids[i];
		if (!hpid)
			rc = ct_fail(err, "failed", "restored process %d went missing", x->proc->pid);
		else if ((rc = pt_seize(&tasks[i], hpid, true, err)) == 0) {
			seized[i] = true;
			tasks[i].id_base = img->container->privileged ? 0 : CT_IDMAP_BASE;
		}
	}
	cr_trace("%lld restore: seized\n", now_ms());
	char fault[32] = "";
	if (rc == 0 && read_file(RESTORE_FAULT_FILE, fault, sizeof(fault)) > 0 && !strncmp(fault, "fail-after-seize", 16))
		rc = ct_fail(err, "failed", "a fault injected in the restore, its processes seized (%s)", RESTORE_FAULT_FILE);
	for (uint32_t i = 0; i < img->nprocs && rc == 0; i++)
		if (seized[i]) {
			rc = restore_one(&tasks[i], &img->procs[i], err);
			cr_trace("%lld restore: process %d done\n", now_ms(), img->procs[i].proc->pid);
		}
	/* Held: frozen before release, so the tasks stop on their way back to user mode. */
	if (rc == 0 && ctx->hold) {
		char path[256];
		cgroup_path(ctx->name, "cgroup.freeze", path, sizeof(path));
		rc = write_file(path, "1", err);
	}
	/* All at once: no restored process runs while another is still half made. */
	for (uint32_t i = 0; i < img->nprocs; i++)
		if (seized && seized[i] && rc == 0)
			pt_detach(&tasks[i]);
	/* On failure they die here, reaped by us, their tracer (init last): the monitor then kills
	 * init, whose end waits for every task of its namespace, and a traced task is not gone until
	 * its tracer has seen it die (else init, the monitor and the migration waiting on it hang). */
	for (uint32_t i = 0; seized && rc < 0 && i < img->nprocs; i++)
		if (seized[i])
			kill(hpids[i], SIGKILL);
	for (uint32_t pass = 0; seized && rc < 0 && pass < 2; pass++)
		for (uint32_t i = 0; i < img->nprocs; i++)
			if (seized[i] && (img->procs[i].proc->pid == 1) == (pass == 1))
				waitpid(hpids[i], NULL, __WALL);
	free(tasks);
	free(seized);
	free(hpids);
	return rc;
}

/* --- ct restore ------------------------------------------------------------------------------------- */

static int load_image(const char *dir, struct cr_image *img, void **map, size_t *size, struct ct_err *err)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/" CR_IMAGE_FILE, dir);
	int fd CLEANUP_FD = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ct_fail_errno(err, "opening %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ct_fail_errno(err, "examining %s", path);
	if (st.st_size < (off_t)sizeof(struct cr_header))
		return ct_fail(err, "bad_image", "%s is truncated (%lld bytes)", path, (long long)st.st_size);
	*size = (size_t)st.st_size;
	*map = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*map == MAP_FAILED)
		return ct_fail_errno(err, "reading %s", path);
	if (cr_image_parse(img, *map, *size, err) < 0) {
		munmap(*map, *size);
		return -1;
	}
	if (identity_matches(img, err) < 0) {
		cr_image_free(img);
		munmap(*map, *size);
		return -1;
	}
	return 0;
}

static int identity_matches(const struct cr_image *img, struct ct_err *err)
{
	char kernel[128], cpu[64];
	cr_host_identity(kernel, cpu);
	if (strncmp(kernel, img->header.kernel, sizeof(kernel)) || strncmp(cpu, img->header.cpu, sizeof(cpu)))
		return ct_fail(err, "incompatible", "the image was made on another guest build or CPU (kernel \"%.60s\", "
			       "cpu \"%.40s\")", img->header.kernel, img->header.cpu);
	return 0;
}

static void config_from_image(const struct cr_container *c, const char *name, struct ct_config *cfg)
{
	config_defaults(cfg, name);
	snprintf(cfg->template, sizeof(cfg->template), "%s", c->template_name);
	snprintf(cfg->hostname, sizeof(cfg->hostname), "%.63s", c->hostname);
	cfg->has_ip = c->ip != 0;
	cfg->ip.s_addr = c->ip;
	cfg->prefix = c->prefix;
	cfg->memory = c->memory;
	cfg->pids = c->pids;
	cfg->cpu_quota = c->cpu_quota;
	cfg->privileged = c->privileged;
	cfg->created = c->created;
}

static int restore(const char *name, const char *dir, struct stream *st, size_t head_size, bool hold,
		   struct cr_report *r, cr_progress_fn progress, void *arg, struct ct_err *err);

int container_restore(const char *name, const char *dir, struct cr_report *r, cr_progress_fn progress, void *arg,
		      struct ct_err *err)
{
	return restore(name, dir, NULL, 0, false, r, progress, arg, err);
}

int container_restore_prepared(const char *name, int prepare_fd, size_t prepare_size, int image_fd, int complete_fd,
			       int built_fd, struct cr_report *r, struct ct_err *err)
{
	struct stream st = { .image_fd = image_fd, .complete_fd = complete_fd, .checked = { -1, -1 },
			     .prepare_fd = prepare_fd, .built_fd = built_fd };
	return restore(name, NULL, &st, prepare_size, true, r, NULL, NULL, err);
}

static int load_head(struct stream *st, size_t size, struct cr_image *img, void **map, struct ct_err *err)
{
	*map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, st->prepare_fd, 0);
	if (*map == MAP_FAILED)
		return ct_fail_errno(err, "reading the image");
	if (cr_image_parse_head(img, *map, size, err) < 0) {
		munmap(*map, size);
		return -1;
	}
	if (identity_matches(img, err) < 0) {
		cr_image_free(img);
		munmap(*map, size);
		return -1;
	}
	return 0;
}

static int restore(const char *name, const char *dir, struct stream *st, size_t head_size, bool hold,
		   struct cr_report *r, cr_progress_fn progress, void *arg, struct ct_err *err)
{
	long long t0 = now_ms();
	memset(r, 0, sizeof(*r));
	struct cr_image img;
	void *map = NULL;
	size_t size = st ? head_size : 0;
	if (progress)
		progress("reading", arg);
	cr_trace("%lld restore: start\n", now_ms());
	if (st ? load_head(st, size, &img, &map, err) < 0 : load_image(dir, &img, &map, &size, err) < 0)
		return -1;
	cr_trace("%lld restore: image checked\n", now_ms());
	struct ct_config cfg;
	config_from_image(img.container, name, &cfg);
	bool created = false;
	int rc = -1, lock = -1;
	char upper[256], fresh[256], prev[256];
	config_path(name, "upper", upper, sizeof(upper));
	config_path(name, "upper.restore", fresh, sizeof(fresh));
	config_path(name, "upper.prev", prev, sizeof(prev));
	if (config_exists(name)) {
		lock = container_lock(name, err);
		if (lock < 0)
			goto out;
		if (container_state(name, NULL) == CT_RUNNING) {
			ct_fail(err, "state", "container \"%s\" is running: stop or destroy it before restoring over it", name);
			goto out;
		}
	} else {
		if (container_create(&cfg, err) < 0)
			goto out;
		created = true;
		lock = container_lock(name, err);
		if (lock < 0)
			goto out;
	}
	if (progress)
		progress("filesystem", arg);
	if (st)
		goto files_later;   /* the monitor puts them in place once the image's head is here */
	remove_tree(fresh, NULL);
	remove_tree(prev, NULL);
	if (cr_fs_restore(&img, CR_FS_UPPER, fresh, 0, err) < 0) {
		remove_tree(fresh, NULL);
		goto out;
	}
	if ((access(upper, F_OK) == 0 && rename(upper, prev) < 0) || rename(fresh, upper) < 0) {
		ct_fail_errno(err, "putting the restored files in place");
		remove_tree(fresh, NULL);
		goto out;
	}
	if (img.log_len) {
		char logpath[256];
		console_log_path(name, logpath, sizeof(logpath));
		mkdir_p(CT_RUN_DIR, 0755, NULL);
		write_file_atomic(logpath, (const char *)img.log, img.log_len, NULL);
	}
	cr_trace("%lld restore: files in place\n", now_ms());
files_later:
	if (progress)
		progress("processes", arg);
	struct restore_ctx ctx = { .img = &img, .staging = st ? 0 : cr_files_staging_base(&img), .report = r, .name = name,
				   .hold = hold, .stream = st, .map = map, .map_size = size, .progress = progress, .arg = arg };
	struct ct_start_hooks hooks = { .before_clone = set_time_offsets, .child = restore_child,
					.after_go = bring_to_life, .arg = &ctx,
					.keep_fds = { st ? st->image_fd : -1, st ? st->complete_fd : -1,
						      st ? st->built_fd : -1 },
					/* A migration's copy stays off the network until it commits: until then
					 * the source's copy is the one that answers for the address. */
					.link_down = st != NULL };
	if (container_start_locked(&cfg, &hooks, err) < 0) {
		/* Back to the files the container had. */
		remove_tree(upper, NULL);
		if (access(prev, F_OK) == 0)
			rename(prev, upper);
		goto out;
	}
	cr_trace("%lld restore: running\n", now_ms());
	remove_tree(prev, NULL);
	if (!created)
		config_save(&cfg, NULL);
	r->processes = img.container->nprocs;
	r->pages = img.page_bytes / CR_PAGE;   /* a migration's description has none: its monitor counted them */
	r->image_bytes = size;
	struct stat sb;
	if (st && fstat(st->image_fd, &sb) == 0)
		r->image_bytes = (uint64_t)sb.st_size;
	rc = 0;
out:
	if (rc < 0 && created) {
		char cdir[256];
		config_path(name, NULL, cdir, sizeof(cdir));
		remove_tree(cdir, NULL);
	}
	if (lock >= 0)
		close(lock);
	cr_image_free(&img);
	munmap(map, size);
	r->total_ms = now_ms() - t0;
	return rc;
}
