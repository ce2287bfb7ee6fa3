#include <grp.h>
#include <stdio.h>
#include <unistd.h>
#include "ct.h"
#include "userns.h"
#include "util.h"

int userns_write_maps(pid_t pid, struct ct_err *err)
{
	char path[64], map[64];
	snprintf(map, sizeof(map), "0 %d %d", CT_IDMAP_BASE, CT_IDMAP_SIZE);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	if (write_file(path, map, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	return write_file(path, map, err);
}

int userns_become_root(struct ct_err *err)
{
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return ct_fail_errno(err, "becoming root of the user namespace");
	return 0;
}
