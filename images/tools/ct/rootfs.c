#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "config.h"
#include "rootfs.h"
#include "util.h"

void rootfs_path(const char *name, char *buf, size_t size)
{
	config_path(name, "rootfs", buf, size);
}

int rootfs_mount(const struct ct_config *c, struct ct_err *err)
{
	char lower[256], upper[256], work[256], root[256], opts[800];
	snprintf(lower, sizeof(lower), CT_TEMPLATE_DIR "/%s", c->template);
	config_path(c->name, "upper", upper, sizeof(upper));
	config_path(c->name, "work", work, sizeof(work));
	rootfs_path(c->name, root, sizeof(root));
	if (access(lower, F_OK) < 0)
		return ct_fail(err, "invalid_argument", "no template named \"%s\"", c->template);
	if (mkdir_p(upper, 0755, err) < 0 || mkdir_p(work, 0700, err) < 0 || mkdir_p(root, 0755, err) < 0)
		return -1;
	/* The upper layer's root must belong to the container's root user, or it could not write
	 * to its own /. The template's directories are owned by the same id (see the image build). */
	uid_t owner = c->privileged ? 0 : CT_IDMAP_BASE;
	if (chown(upper, owner, owner) < 0)
		return ct_fail_errno(err, "chown %s", upper);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (mount("overlay", root, "overlay", 0, opts) < 0)
		return ct_fail_errno(err, "mounting the overlay root of %s", c->name);
	return 0;
}

void rootfs_unmount(const char *name)
{
	char root[256];
	rootfs_path(name, root, sizeof(root));
	umount2(root, MNT_DETACH);
}

static int mount_at(const char *src, const char *dst, const char *type, unsigned long flags,
		    const char *data, struct ct_err *err)
{
	if (mount(src, dst, type, flags, data) < 0)
		return ct_fail_errno(err, "mounting %s on %s", type ? type : src ? src : "(remount)", dst);
	return 0;
}

/* Device nodes are bind mounts of the host's: a user namespace may not mknod. */
static int bind_device(const char *name, struct ct_err *err)
{
	char src[64], dst[64];
	snprintf(src, sizeof(src), "/dev/%s", name);
	snprintf(dst, sizeof(dst), "dev/%s", name);
	int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0)
		return ct_fail_errno(err, "creating %s", dst);
	close(fd);
	return mount_at(src, dst, NULL, MS_BIND, NULL, err);
}

static int populate_dev(const char *console_path, struct ct_err *err)
{
	static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
	if (mount_at("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k", err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (bind_device(devices[i], err) < 0)
			return -1;
	if (mkdir("dev/pts", 0755) < 0 || mkdir("dev/shm", 01777) < 0)
		return ct_fail_errno(err, "creating /dev/pts and /dev/shm");
	/* A devpts instance of the container's own: its ptys are invisible to the host and others. */
	if (mount_at("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620,gid=5", err) < 0 ||
	    mount_at("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=16m", err) < 0)
		return -1;
	if (symlink("pts/ptmx", "dev/ptmx") < 0 || symlink("/proc/self/fd", "dev/fd") < 0 ||
	    symlink("/proc/self/fd/0", "dev/stdin") < 0 || symlink("/proc/self/fd/1", "dev/stdout") < 0 ||
	    symlink("/proc/self/fd/2", "dev/stderr") < 0)
		return ct_fail_errno(err, "creating /dev links");
	/* The console is a pty whose master stays with the monitor, outside the container. */
	int fd = open("dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return ct_fail_errno(err, "creating /dev/console");
	close(fd);
	return mount_at(console_path, "dev/console", NULL, MS_BIND, NULL, err);
}

int rootfs_enter(const struct ct_config *c, const char *console_path, struct ct_err *err)
{
	char root[256];
	rootfs_path(c->name, root, sizeof(root));
	/* Nothing mounted from here on may propagate back to the host. */
	if (mount_at(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, err) < 0)
		return -1;
	/* The overlay came from the host's mount namespace, so in a user namespace it is locked and
	 * pivot_root refuses it: bind it onto itself here to get a mount of our own. */
	if (mount_at(root, root, NULL, MS_BIND | MS_REC, NULL, err) < 0)
		return -1;
	if (chdir(root) < 0)
		return ct_fail_errno(err, "entering %s", root);
	if (mount_at("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0 ||
	    mount_at("sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, err) < 0 ||
	    mount_at("cgroup2", "sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0 ||
	    populate_dev(console_path, err) < 0)
		return -1;
	/* pivot_root(".", ".") stacks the old root under the new one; detaching "." then drops it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return ct_fail_errno(err, "pivot_root into %s", root);
	if (umount2(".", MNT_DETACH) < 0)
		return ct_fail_errno(err, "detaching the host's root");
	if (chdir("/") < 0)
		return ct_fail_errno(err, "chdir /");
	return 0;
}
