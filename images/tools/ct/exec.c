#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cgroup.h"
#include "config.h"
#include "container.h"
#include "exec.h"
#include "userns.h"
#include "util.h"

static const struct { const char *file; int type; } namespaces[] = {
	/* The time namespace belongs to the host's user namespace (the monitor made it): join it while
	 * still privileged there. Then the user namespace, which grants the rights for the rest. */
	{ "time", CLONE_NEWTIME }, { "user", CLONE_NEWUSER }, { "cgroup", CLONE_NEWCGROUP }, { "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET }, { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
};
#define N_NS (sizeof(namespaces) / sizeof(namespaces[0]))

/* Same namespace as ours? Then setns would fail (user) or is pointless. */
static bool same_ns(pid_t pid, const char *file)
{
	char a[64], b[64], la[64] = "", lb[64] = "";
	snprintf(a, sizeof(a), "/proc/%d/ns/%s", pid, file);
	snprintf(b, sizeof(b), "/proc/self/ns/%s", file);
	return readlink(a, la, sizeof(la) - 1) > 0 && readlink(b, lb, sizeof(lb) - 1) > 0 && !strcmp(la, lb);
}

/* In a forked helper: joins the container's cgroup and namespaces and becomes its root. */
static int join(const char *name, pid_t init, struct ct_err *err)
{
	int fds[N_NS];
	for (size_t i = 0; i < N_NS; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", init, namespaces[i].file);
		fds[i] = same_ns(init, namespaces[i].file) ? -1 : open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 && !same_ns(init, namespaces[i].file))
			return ct_fail_errno(err, "opening %s", path);
	}
	if (cgroup_add_process(name, getpid(), err) < 0)
		return -1;
	for (size_t i = 0; i < N_NS; i++) {
		if (fds[i] >= 0 && setns(fds[i], namespaces[i].type) < 0)
			return ct_fail_errno(err, "joining the %s namespace of \"%s\"", namespaces[i].file, name);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	if (chdir("/") < 0)
		return ct_fail_errno(err, "chdir /");
	return userns_become_root(err);
}

/* A pty from the container's devpts instance, so the terminal belongs to the container. */
static int open_container_pty(pid_t init, int *master, struct ct_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root/dev/pts/ptmx", init);
	*master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0;
	if (*master < 0 || ioctl(*master, TIOCSPTLCK, &unlock) < 0)
		return ct_fail_errno(err, "opening a terminal in the container");
	return 0;
}

static void __attribute__((noreturn))
run_command(char *const argv[], const int stdio[3], int master)
{
	/* Whoever waits for the command (ct exec, an agent worker) may give up on it: then it dies. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (master >= 0) {
		int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
		if (slave < 0 || setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
			_exit(126);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
	} else {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);   /* not to leak into the command */
		for (int i = 0; i < 3; i++)
			dup2(stdio[i] >= 0 ? stdio[i] : null, i);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char *const envp[] = { "PATH=/sbin:/bin:/usr/sbin:/usr/bin", "HOME=/root", "TERM=xterm-256color", "container=ct", NULL };
	execve(argv[0], argv, envp);
	/* Not a path: look it up on the container's PATH. */
	if (!strchr(argv[0], '/')) {
		static const char *const dirs[] = { "/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/" };
		for (size_t i = 0; i < 4; i++) {
			char path[256];
			snprintf(path, sizeof(path), "%s%s", dirs[i], argv[0]);
			execve(path, argv, envp);
		}
	}
	dprintf(2, "ct: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

pid_t exec_spawn(const char *name, char *const argv[], const int stdio[3], int *tty_master, struct ct_err *err)
{
	pid_t init;
	if (config_require(name, err) < 0)
		return -1;
	if (container_state(name, &init) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	int master = -1;
	if (tty_master && open_container_pty(init, &master, err) < 0)
		return -1;
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0)
		return ct_fail_errno(err, "pipe");
	pid_t helper = fork();
	if (helper < 0) {
		close(errp[0]);
		close(errp[1]);
		if (master >= 0)
			close(master);
		return ct_fail_errno(err, "fork");
	}
	if (helper == 0) {
		struct ct_err e;
		const int keep[] = { errp[1], master, stdio ? stdio[0] : -1, stdio ? stdio[1] : -1, stdio ? stdio[2] : -1 };
		close_fds_except(keep, 5);
		/* The agent is protected from the OOM killer; what runs in a container must not be. Now,
		 * while still host root: after the uid change /proc/self is no longer ours to write. */
		write_file("/proc/self/oom_score_adj", "0", NULL);
		if (join(name, init, &e) < 0) {
			write_all(errp[1], &e, sizeof(e));
			_exit(125);
		}
		/* Joining a pid namespace takes effect for children: fork once more. */
		pid_t child = fork();
		if (child == 0)
			run_command(argv, stdio, master);
		close(errp[1]);
		int status;
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	close(errp[1]);
	struct ct_err e;
	ssize_t n = read_all(errp[0], &e, sizeof(e));
	close(errp[0]);
	if (n == sizeof(e)) {
		waitpid(helper, NULL, 0);
		if (master >= 0)
			close(master);
		*err = e;
		return -1;
	}
	if (tty_master)
		*tty_master = master;
	return helper;
}

int exec_wait(pid_t helper)
{
	int status;
	while (waitpid(helper, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
