#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "config.h"
#include "console.h"
#include "container.h"
#include "cr_ptrace.h"
#include "hostnet.h"
#include "netlink.h"
#include "rootfs.h"
#include "userns.h"
#include "util.h"

#define LOG_PREFIX "container"

static void run_path(const char *name, const char *ext, char *buf, size_t size)
{
	snprintf(buf, size, CT_RUN_DIR "/%s.%s", name, ext);
}

int container_lock(const char *name, struct ct_err *err)
{
	char path[256];
	if (mkdir_p(CT_RUN_DIR, 0755, err) < 0)
		return -1;
	run_path(name, "lock", path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ct_fail_errno(err, "opening %s", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return ct_fail_errno(err, "locking %s", path);
		}
	return fd;
}

static pid_t read_pid(const char *name, const char *ext)
{
	char path[256], text[32];
	run_path(name, ext, path, sizeof(path));
	if (read_file(path, text, sizeof(text)) <= 0)
		return 0;
	return (pid_t)atoi(text);
}

enum ct_state container_state(const char *name, pid_t *init_pid)
{
	/* The monitor writes NAME.pid once init runs and removes it after cleaning up. */
	pid_t pid = read_pid(name, "pid");
	bool alive = pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
	if (init_pid)
		*init_pid = alive ? pid : 0;
	return alive ? CT_RUNNING : CT_STOPPED;
}

/* Waits for a container's monitor to finish its cleanup (it unmounts and removes the cgroup).
 * Its last act is removing NAME.mon: watch the file, not the process, which stays a zombie until
 * the host's init gets round to reaping it (busybox init does so about once a second). */
static void wait_monitor_gone(const char *name, int timeout_ms)
{
	char path[256];
	run_path(name, "mon", path, sizeof(path));
	pid_t mon = read_pid(name, "mon");
	long long deadline = now_ms() + timeout_ms;
	while (mon > 0 && access(path, F_OK) == 0 && kill(mon, 0) == 0 && now_ms() < deadline)
		sleep_ms(5);
}

/* The host's memory left for a new container: below this a start would push the whole host into
 * its OOM killer (kernel memory per container, ~170 KiB of it unreclaimable, is charged to no
 * container's cgroup). Refusing is better than losing the host's agent or a running container. */
#define MIN_AVAILABLE_KB (6 * 1024)

long long host_mem_available_kb(void)
{
	char text[2048];
	if (read_file("/proc/meminfo", text, sizeof(text)) <= 0)
		return -1;
	const char *line = strstr(text, "MemAvailable:");
	return line ? atoll(line + strlen("MemAvailable:")) : -1;
}

/* Host infrastructure (the agent, monitors) must be the OOM killer's last choice. */
void protect_from_oom(void)
{
	write_file("/proc/self/oom_score_adj", "-1000", NULL);
}

/* --- create ------------------------------------------------------------------------------ */

struct ip_check { const struct ct_config *c; char clash[CT_NAME_MAX + 1]; };

static int find_ip_clash(const struct ct_config *other, void *arg)
{
	struct ip_check *chk = arg;
	if (other->has_ip && other->ip.s_addr == chk->c->ip.s_addr && strcmp(other->name, chk->c->name)) {
		snprintf(chk->clash, sizeof(chk->clash), "%s", other->name);
		return 1;
	}
	return 0;
}

int container_create(const struct ct_config *c, struct ct_err *err)
{
	char dir[256], tpl[256];
	/* One creator at a time, so two creates cannot both take a name or an address. */
	int lock CLEANUP_FD = container_lock(".create", err);
	if (lock < 0)
		return -1;
	if (config_exists(c->name))
		return ct_fail(err, "exists", "container \"%s\" already exists", c->name);
	snprintf(tpl, sizeof(tpl), CT_TEMPLATE_DIR "/%s", c->template);
	if (access(tpl, F_OK) < 0)
		return ct_fail(err, "invalid_argument", "no template named \"%s\"", c->template);
	if (c->has_ip) {
		struct ip_check chk = { .c = c };
		if (config_for_each(find_ip_clash, &chk, err) < 0)
			return -1;
		if (chk.clash[0])
			return ct_fail(err, "conflict", "IP address already used by container \"%s\"", chk.clash);
	}
	config_path(c->name, NULL, dir, sizeof(dir));
	if (mkdir_p(CT_STATE_DIR, 0755, err) < 0)
		return -1;
	/* 0711: the container's root (an unprivileged id) must pass through to its rootfs. */
	if (mkdir(dir, 0711) < 0)
		return ct_fail_errno(err, "creating %s", dir);
	if (config_save(c, err) < 0) {
		remove_tree(dir, NULL);
		return -1;
	}
	return 0;
}

/* --- start: the monitor and the container's first process --------------------------------- */

struct start_report {
	int ok;
	pid_t init_pid;
	struct ct_err err;
};

static void report(int fd, int ok, pid_t pid, const struct ct_err *err)
{
	struct start_report r = { .ok = ok, .init_pid = pid };
	if (err)
		r.err = *err;
	write_all(fd, &r, sizeof(r));
}

/* Inside the new network namespace: lo, and eth0 with the container's address. The MAC derives
 * from the address so a container that moves keeps both (02:43 is locally administered). */
static int setup_container_network(const struct ct_config *c, unsigned mtu, struct ct_err *err)
{
	if (mtu != 1500) {
		int fd = nl_open(err);
		int rc = fd < 0 ? -1 : nl_link_set_mtu(fd, "eth0", mtu, err);
		nl_close(fd);
		if (rc < 0)
			return -1;
	}
	if (c->has_ip) {
		unsigned char mac[6] = { 0x02, 0x43 };
		memcpy(mac + 2, &c->ip.s_addr, 4);
		return nl_container_side_setup("eth0", "eth0", c->ip, c->prefix, NULL, mac, err);
	}
	int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int rc = nl_link_up(fd, "lo", err);
	if (rc == 0)
		rc = nl_link_up(fd, "eth0", err);
	nl_close(fd);
	return rc;
}

/* Runs in the new namespaces; on success it becomes the container's init by exec. */
static void __attribute__((noreturn))
container_child(const struct ct_config *c, int go_fd, int err_fd, const char *console_path, unsigned mtu,
		const struct ct_start_hooks *hooks)
{
	struct ct_err err;
	char go;
	if (read_all(go_fd, &go, 1) != 1)
		_exit(1); /* the monitor gave up before we started */
	close(go_fd);
	/* The monitor is protected from the OOM killer; the container must not be. Now, while still
	 * host root: after the uid change /proc/self is no longer ours to write. */
	write_file("/proc/self/oom_score_adj", "0", NULL);
	if ((!c->privileged && userns_become_root(&err) < 0))
		goto fail;
	if (sethostname(c->hostname, strlen(c->hostname)) < 0) {
		ct_fail_errno(&err, "setting the hostname");
		goto fail;
	}
	if (setup_container_network(c, mtu, &err) < 0)
		goto fail;
	/* After joining its cgroup: the container sees that group as its cgroup root. */
	if (unshare(CLONE_NEWCGROUP) < 0) {
		ct_fail_errno(&err, "creating the cgroup namespace");
		goto fail;
	}
	cr_trace("%lld child: network\n", now_ms());
	if (rootfs_enter(c, console_path, &err) < 0)
		goto fail;
	cr_trace("%lld child: rootfs entered\n", now_ms());
	if (hooks)
		hooks->child(hooks->arg, err_fd);
	if (setsid() < 0) {
		ct_fail_errno(&err, "setsid");
		goto fail;
	}
	int fd = open("/dev/console", O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
		ct_fail_errno(&err, "opening the console");
		goto fail;
	}
	if (fd > 2)
		close(fd);
	char *const argv[] = { "/sbin/ct-init", NULL };
	char *const envp[] = { "PATH=/sbin:/bin:/usr/sbin:/usr/bin", "HOME=/root", "TERM=linux", "container=ct", NULL };
	execve(argv[0], argv, envp);
	ct_fail_errno(&err, "starting /sbin/ct-init");
fail:
	write_all(err_fd, &err, sizeof(err));
	_exit(1);
}

/* The host uplink's MTU, read before the container's namespaces exist. A bridge takes the smallest
 * MTU of its ports, so veths at the default 1500 would cap a large-MTU backplane. */
static unsigned uplink_mtu(void)
{
	char text[16];
	if (read_file("/sys/class/net/" CT_UPLINK "/mtu", text, sizeof(text)) <= 0)
		return 1500;
	unsigned mtu = (unsigned)atoi(text);
	return mtu >= 576 && mtu <= 65535 ? mtu : 1500;
}

/* The host side of a container's veth, named after its init's host pid (unique while it runs). */
static void host_veth(pid_t init, char name[16])
{
	snprintf(name, 16, "vc%d", init);
}

static int wire_network(pid_t pid, unsigned mtu, bool up, struct ct_err *err)
{
	char host_if[16];
	host_veth(pid, host_if);
	int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int rc = nl_bridge_ensure(fd, CT_BRIDGE, err);
	if (rc == 0)
		rc = nl_veth_create(fd, host_if, "eth0", pid, err);
	if (rc == 0 && mtu != 1500)
		rc = nl_link_set_mtu(fd, host_if, mtu, err);
	if (rc == 0)
		rc = nl_link_set_master(fd, host_if, CT_BRIDGE, err);
	if (rc == 0 && up)
		rc = nl_link_up(fd, host_if, err);
	nl_close(fd);
	return rc;
}

int container_link_up(const char *name, struct ct_err *err)
{
	pid_t init;
	if (container_state(name, &init) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	char host_if[16];
	host_veth(init, host_if);
	int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int rc = nl_link_up(fd, host_if, err);
	nl_close(fd);
	return rc;
}

static void write_pid_file(const char *name, const char *ext, pid_t pid)
{
	char path[256], text[24];
	run_path(name, ext, path, sizeof(path));
	int n = snprintf(text, sizeof(text), "%d\n", pid);
	write_file_atomic(path, text, n, NULL);
}

static void remove_run_file(const char *name, const char *ext)
{
	char path[256];
	run_path(name, ext, path, sizeof(path));
	unlink(path);
}

/* What a stopped container leaves: nothing but its definition and upper layer. */
static void release_resources(const char *name)
{
	rootfs_unmount(name);
	cgroup_remove(name, NULL);
}

/* After start: relays the console into the log and cleans up when init exits. */
static void __attribute__((noreturn)) monitor_loop(const char *name, pid_t init, int master)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN }, { .fd = master, .events = POLLIN } };
	int status = 0;
	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents) {
			char buf[4096];
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0)
				console_log_append(name, buf, n);
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				fds[1].fd = -1; /* no slave open any more: nothing to relay until init exits */
		}
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) < 0 && errno != EAGAIN)
				break;
			if (waitpid(init, &status, WNOHANG) == init)
				break;
		}
	}
	release_resources(name);
	/* The exit status outlives the pid file, whose removal tells the agent the container stopped. */
	char path[256], text[16];
	run_path(name, "exit", path, sizeof(path));
	int n = snprintf(text, sizeof(text), "%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	write_file_atomic(path, text, n, NULL);
	remove_run_file(name, "pid");
	remove_run_file(name, "mon");
	_exit(0);
}

static void __attribute__((noreturn)) monitor_run(const struct ct_config *c, int report_fd,
						  const struct ct_start_hooks *hooks)
{
	struct ct_err err = { "", "" };
	char console_path[64];
	int master = -1, go[2] = { -1, -1 }, errp[2] = { -1, -1 };
	pid_t pid = -1;

	prctl(PR_SET_NAME, "ct-monitor");
	protect_from_oom();
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	uid_t root = c->privileged ? 0 : CT_IDMAP_BASE;
	unsigned mtu = uplink_mtu();
	if (console_open(&master, console_path, sizeof(console_path), root, &err) < 0)
		goto fail;
	/* The container's clocks get a namespace from birth, so a restore can carry them over. */
	if (unshare(CLONE_NEWTIME) < 0) {
		ct_fail_errno(&err, "creating the time namespace");
		goto fail;
	}
	if (hooks && hooks->before_clone && hooks->before_clone(hooks->arg, &err) < 0)
		goto fail;
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		ct_fail_errno(&err, "pipe");
		goto fail;
	}
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
			      (c->privileged ? 0 : CLONE_NEWUSER);
	pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		ct_fail_errno(&err, "creating the container's namespaces");
		goto fail;
	}
	if (pid == 0) {
		close(go[1]);
		close(errp[0]);
		close(master);
		close(report_fd);
		container_child(c, go[0], errp[1], console_path, mtu, hooks);
	}
	close(go[0]);
	close(errp[1]);
	cr_trace("%lld monitor: cloned\n", now_ms());
	if ((!c->privileged && userns_write_maps(pid, &err) < 0) ||
	    cgroup_add_process(c->name, pid, &err) < 0 || wire_network(pid, mtu, !(hooks && hooks->link_down), &err) < 0)
		goto fail;
	cr_trace("%lld monitor: wired\n", now_ms());
	if (write_all(go[1], "g", 1) < 0) {
		ct_fail_errno(&err, "releasing the container's init");
		goto fail;
	}
	close(go[1]);
	go[1] = -1;
	if (hooks) {
		if (hooks->after_go(hooks->arg, pid, errp[0], &err) < 0)
			goto fail;
	} else if (read_all(errp[0], &err, sizeof(err)) == sizeof(err)) {
		/* The error pipe closes on exec: EOF means init is running, data is the child's error. */
		goto fail;
	}
	close(errp[0]);
	write_pid_file(c->name, "mon", getpid());
	write_pid_file(c->name, "pid", pid);
	report(report_fd, 1, pid, NULL);
	close(report_fd);
	monitor_loop(c->name, pid, master);

fail:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (!err.msg[0])
		ct_fail(&err, "failed", "the container's init failed to start");
	report(report_fd, 0, 0, &err);
	_exit(1);
}

static int start_locked(const struct ct_config *c, struct ct_err *err)
{
	return container_start_locked(c, NULL, err);
}

int container_start_locked(const struct ct_config *c, const struct ct_start_hooks *hooks, struct ct_err *err)
{
	if (container_state(c->name, NULL) == CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is already running", c->name);
	wait_monitor_gone(c->name, 2000);
	long long avail = host_mem_available_kb();
	if (avail >= 0 && avail < MIN_AVAILABLE_KB)
		return ct_fail(err, "failed", "the host is low on memory (%lld KiB available): not starting \"%s\"",
			       avail, c->name);
	if (mkdir_p(CT_RUN_DIR, 0755, err) < 0 || cgroup_create(c, err) < 0)
		return -1;
	cr_trace("%lld start: cgroup\n", now_ms());
	if (rootfs_mount(c, err) < 0) {
		cgroup_remove(c->name, NULL);
		return -1;
	}
	cr_trace("%lld start: rootfs mounted\n", now_ms());
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		release_resources(c->name);
		return ct_fail_errno(err, "pipe");
	}
	/* Fork twice so the monitor is a child of the host's init, not of ct or the agent. */
	pid_t mid = fork();
	if (mid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		int keep[4] = { pipefd[1], hooks ? hooks->keep_fds[0] : -1, hooks ? hooks->keep_fds[1] : -1,
				 hooks ? hooks->keep_fds[2] : -1 };
		close_fds_except(keep, 4);
		setsid();
		if (fork() == 0)
			monitor_run(c, pipefd[1], hooks);
		_exit(0);
	}
	close(pipefd[1]);
	struct start_report r = { 0 };
	if (mid > 0)
		waitpid(mid, NULL, 0);
	ssize_t n = mid > 0 ? read_all(pipefd[0], &r, sizeof(r)) : -1;
	close(pipefd[0]);
	if (n != sizeof(r) || !r.ok) {
		release_resources(c->name);
		if (n != sizeof(r))
			return ct_fail(err, "failed", "the monitor of \"%s\" died while starting it", c->name);
		*err = r.err;
		return -1;
	}
	return 0;
}

int container_start(const char *name, struct ct_err *err)
{
	struct ct_config c;
	if (config_load(name, &c, err) < 0)
		return -1;
	int lock CLEANUP_FD = container_lock(name, err);
	return lock < 0 ? -1 : start_locked(&c, err);
}

/* --- stop, kill, restart, destroy ------------------------------------------------------------ */

static int stop_locked(const char *name, int timeout_s, struct ct_err *err)
{
	return container_stop_locked(name, timeout_s, err);
}

int container_stop_locked(const char *name, int timeout_s, struct ct_err *err)
{
	pid_t init;
	if (container_state(name, &init) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	/* ct-init forwards TERM to every process and exits when they are gone. */
	if (timeout_s > 0 && kill(init, SIGTERM) == 0 && cgroup_wait_empty(name, timeout_s * 1000))
		goto done;
	if (cgroup_kill(name, err) < 0)
		return -1;
	if (!cgroup_wait_empty(name, 5000))
		return ct_fail(err, "timeout", "processes of \"%s\" survived cgroup.kill", name);
done:
	wait_monitor_gone(name, 5000);
	return 0;
}

int container_stop(const char *name, int timeout_s, struct ct_err *err)
{
	if (config_require(name, err) < 0)
		return -1;
	int lock CLEANUP_FD = container_lock(name, err);
	return lock < 0 ? -1 : stop_locked(name, timeout_s, err);
}

int container_kill(const char *name, int sig, struct ct_err *err)
{
	pid_t init;
	if (config_require(name, err) < 0)
		return -1;
	if (container_state(name, &init) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	/* KILL means every process: init in a pid namespace cannot be made to forward it. */
	if (sig == SIGKILL)
		return cgroup_kill(name, err);
	if (kill(init, sig) < 0)
		return ct_fail_errno(err, "signalling the init of \"%s\"", name);
	return 0;
}

int container_restart(const char *name, struct ct_err *err)
{
	struct ct_config c;
	if (config_load(name, &c, err) < 0)
		return -1;
	int lock CLEANUP_FD = container_lock(name, err);
	if (lock < 0)
		return -1;
	if (container_state(name, NULL) == CT_RUNNING && stop_locked(name, 10, err) < 0)
		return -1;
	return start_locked(&c, err);
}

int container_destroy(const char *name, bool force, struct ct_err *err)
{
	char dir[256];
	if (config_require(name, err) < 0)
		return -1;
	int lock CLEANUP_FD = container_lock(name, err);
	if (lock < 0)
		return -1;
	if (container_state(name, NULL) == CT_RUNNING) {
		if (!force)
			return ct_fail(err, "state", "container \"%s\" is running: stop it first or use --force", name);
		if (stop_locked(name, 0, err) < 0)
			return -1;
	}
	/* Its processes gone, the monitor may still be letting go of the rootfs (a migration's source
	 * kills them itself, then destroys at once): removing the files under a mounted overlay would
	 * fail half-way and leave a definition behind. */
	wait_monitor_gone(name, 5000);
	rootfs_unmount(name);
	config_path(name, NULL, dir, sizeof(dir));
	if (remove_tree(dir, err) < 0)
		return -1;
	char path[256];
	console_log_path(name, path, sizeof(path));
	unlink(path);
	remove_run_file(name, "lock");
	remove_run_file(name, "exit");
	remove_run_file(name, "arriving");
	return 0;
}

int container_set(const char *name, const struct ct_limits *l, struct ct_err *err)
{
	struct ct_config c;
	if (config_load(name, &c, err) < 0)
		return -1;
	int lock CLEANUP_FD = container_lock(name, err);
	if (lock < 0)
		return -1;
	if (l->set_memory)
		c.memory = l->memory;
	if (l->set_pids)
		c.pids = l->pids;
	if (l->set_cpu)
		c.cpu_quota = l->cpu_quota;
	/* Apply first: a limit the kernel refuses is not saved. */
	if (container_state(name, NULL) == CT_RUNNING &&
	    cgroup_set_limits(name, c.memory, c.pids, c.cpu_quota, err) < 0)
		return -1;
	return config_save(&c, err);
}
