/* Running processes inside a running container: exec, interactive shells. */
#ifndef CT_EXEC_H
#define CT_EXEC_H

#include <sys/types.h>
#include "err.h"

/*
 * Starts argv inside the container with the given stdio fds (-1 = /dev/null) and returns the pid
 * of a helper whose exit status is the command's (128+N if signal N killed it). If tty_master is
 * not NULL, the command instead gets a new pty of the container's own devpts as its controlling
 * terminal, and *tty_master receives the master.
 */
pid_t exec_spawn(const char *name, char *const argv[], const int stdio[3], int *tty_master, struct ct_err *err);
/* Waits for a helper from exec_spawn and decodes its status. */
int exec_wait(pid_t helper);

#endif
