/* A container's root filesystem: an overlay of a read-only template and a private upper layer. */
#ifndef CT_ROOTFS_H
#define CT_ROOTFS_H

#include "ct.h"

void rootfs_path(const char *name, char *buf, size_t size);
/* Creates the upper layer (owned by the container's root) and mounts the overlay, on the host. */
int rootfs_mount(const struct ct_config *c, struct ct_err *err);
void rootfs_unmount(const char *name);
/* In the container's new mount namespace: mounts /proc, /sys, /dev (console bound to
 * console_path), then pivot_root into the overlay and drops the host's tree. */
int rootfs_enter(const struct ct_config *c, const char *console_path, struct ct_err *err);

#endif
