/* User namespaces: container root is an unprivileged id range on the host. */
#ifndef CT_USERNS_H
#define CT_USERNS_H

#include <sys/types.h>
#include "err.h"

/* Writes uid_map and gid_map of a child that was cloned into a new user namespace. */
int userns_write_maps(pid_t pid, struct ct_err *err);
/* In the child, once mapped: become root of the namespace (uid/gid 0, no groups). */
int userns_become_root(struct ct_err *err);

#endif
