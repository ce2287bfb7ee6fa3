/*
 * ct-init: PID 1 of every ctlab container (the ct binary, hard-linked into the template as
 * /sbin/ct-init, so containers need no second executable).
 * Runs /etc/rc (the template's start script) and then stays, reaping orphans, as init must in a
 * pid namespace. TERM, INT and QUIT are forwarded to every process in the container and end it
 * once they are gone; HUP, USR1, USR2 and WINCH are forwarded only.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "init.h"

static void start_rc(void)
{
	if (access("/etc/rc", R_OK) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl("/bin/sh", "sh", "/etc/rc", (char *)NULL);
		_exit(127);
	}
}

/* Reaps every exited child; returns false when no child is left. */
static bool reap(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		return !(pid < 0 && errno == ECHILD);
	}
}

int init_main(void)
{
	/* PID 1 of a namespace gets only the signals it handles: take them all synchronously. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	start_rc();
	bool stopping = false;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		switch (sig) {
		case SIGCHLD:
			break;
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			stopping = true;
			kill(-1, sig);
			kill(-1, SIGCONT); /* stopped processes must run to see the signal */
			break;
		case SIGHUP:
		case SIGUSR1:
		case SIGUSR2:
		case SIGWINCH:
			kill(-1, sig);
			break;
		default:
			break;
		}
		if (!reap() && stopping)
			return 0;
	}
}
