#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "cr_fs.h"
#include "util.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"

static int dump_entry(uint32_t root, int root_fd, const char *rel, struct cr_writer *w, uint64_t *bytes, struct ct_err *err);

static int dump_dir(uint32_t root, int root_fd, const char *rel, struct cr_writer *w, uint64_t *bytes, struct ct_err *err)
{
	int fd = openat(root_fd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return ct_fail_errno(err, "reading the directory %s of the upper layer", rel[0] ? rel : "/");
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char child[CR_PATH_MAX];
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >= sizeof(child)) {
			rc = ct_fail(err, "unsupported", "a path in the container is longer than %d bytes", CR_PATH_MAX - 1);
			break;
		}
		rc = dump_entry(root, root_fd, child, w, bytes, err);
	}
	closedir(d);
	return rc;
}

static int dump_entry(uint32_t root, int root_fd, const char *rel, struct cr_writer *w, uint64_t *bytes, struct ct_err *err)
{
	struct stat st;
	if (fstatat(root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return ct_fail_errno(err, "examining %s", rel);
	struct cr_fsentry e = { .root = root, .mode = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid,
				.mtime = st.st_mtime };
	snprintf(e.path, sizeof(e.path), "%s", rel);
	char link[CR_PATH_MAX];
	if (S_ISDIR(st.st_mode)) {
		char path[CR_PATH_MAX + 64], v[4] = "";
		e.type = CR_FS_DIR;
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", root_fd, rel);
		e.opaque = getxattr(path, OPAQUE_XATTR, v, sizeof(v)) == 1 && v[0] == 'y';
		if (cr_write_record(w, CR_REC_FSENTRY, &e, sizeof(e), err) < 0)
			return -1;
		return dump_dir(root, root_fd, rel, w, bytes, err);
	}
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(root_fd, rel, link, sizeof(link) - 1);
		if (n <= 0)
			return ct_fail_errno(err, "reading the link %s", rel);
		e.type = CR_FS_SYMLINK;
		e.size = (uint32_t)n;
		return cr_record_begin(w, CR_REC_FSENTRY, sizeof(e) + e.size, err) < 0 ||
		       cr_record_data(w, &e, sizeof(e), err) < 0 || cr_record_data(w, link, e.size, err) < 0 ? -1 : 0;
	}
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		e.type = CR_FS_WHITEOUT;
		return cr_write_record(w, CR_REC_FSENTRY, &e, sizeof(e), err);
	}
	if (!S_ISREG(st.st_mode))
		return ct_fail(err, "unsupported", "/%s is a special file the engine cannot save", rel);
	if (st.st_size > (off_t)(CR_MAX_RECORD - sizeof(e)))
		return ct_fail(err, "unsupported", "/%s is larger than %u MiB", rel, CR_MAX_RECORD >> 20);
	int fd CLEANUP_FD = openat(root_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ct_fail_errno(err, "opening /%s", rel);
	e.type = CR_FS_REG;
	e.size = (uint32_t)st.st_size;
	if (cr_record_begin(w, CR_REC_FSENTRY, sizeof(e) + e.size, err) < 0 || cr_record_data(w, &e, sizeof(e), err) < 0)
		return -1;
	char buf[16384];
	uint32_t left = e.size;
	while (left > 0) {
		size_t want = left < sizeof(buf) ? left : sizeof(buf);
		ssize_t n = read_all(fd, buf, want);
		if (n != (ssize_t)want)   /* it shrank under us: the container is frozen, so it should not */
			return ct_fail(err, "failed", "/%s changed while being saved", rel);
		if (cr_record_data(w, buf, (uint32_t)n, err) < 0)
			return -1;
		left -= (uint32_t)n;
	}
	*bytes += e.size;
	return 0;
}

int cr_fs_dump(uint32_t root, const char *dir, struct cr_writer *w, uint64_t *bytes, struct ct_err *err)
{
	int fd CLEANUP_FD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : ct_fail_errno(err, "opening %s", dir);
	return dump_dir(root, fd, "", w, bytes, err);
}

/* The directory holding path (relative to root) and path's last component; no symlink and no
 * ".." on the way may lead out of root. */
static int open_parent(int root, const char *path, char *base, size_t size, struct ct_err *err)
{
	const char *slash = strrchr(path, '/');
	snprintf(base, size, "%s", slash ? slash + 1 : path);
	if (!base[0] || !strcmp(base, ".") || !strcmp(base, ".."))
		return ct_fail(err, "bad_image", "the image names a file \"%s\"", path);
	if (!slash)
		return fcntl(root, F_DUPFD_CLOEXEC, 3);
	char dir[CR_PATH_MAX];
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	struct { uint64_t flags, mode, resolve; } how = { O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
							   0x08 /* RESOLVE_BENEATH */ | 0x04 /* RESOLVE_NO_SYMLINKS */ };
	int fd = (int)syscall(437 /* openat2 */, root, dir, &how, sizeof(how));
	if (fd < 0)
		return ct_fail_errno(err, "opening /%s", dir);
	return fd;
}

/* Owner, mode (not a symlink's: it has none) and mtime of what an entry just made at name in dir. */
static int set_meta(int dir, const char *name, const struct cr_fsentry *e, uint32_t id_shift, const char *path,
		    struct ct_err *err)
{
	if (fchownat(dir, name, e->uid - id_shift, e->gid - id_shift, AT_SYMLINK_NOFOLLOW) < 0)
		return ct_fail_errno(err, "restoring the owner of /%s", path);
	if (e->type != CR_FS_SYMLINK && fchmodat(dir, name, e->mode, 0) < 0)
		return ct_fail_errno(err, "restoring the mode of /%s", path);
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)e->mtime } };
	utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* Directories' times last: filling them changed their mtime. */
static void set_dir_times(int root, const struct cr_image *img, uint32_t which)
{
	for (uint32_t i = img->nfsentries; i-- > 0;) {
		const struct cr_fsentry *e = img->fsentries[i];
		if (e->root != which || e->type != CR_FS_DIR)
			continue;
		char path[CR_PATH_MAX], base[CR_PATH_MAX];
		memcpy(path, e->path, sizeof(path));
		path[sizeof(path) - 1] = 0;
		int dir CLEANUP_FD = open_parent(root, path, base, sizeof(base), NULL);
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)e->mtime } };
		if (dir >= 0)
			utimensat(dir, base, ts, AT_SYMLINK_NOFOLLOW);
	}
}

int cr_fs_restore(const struct cr_image *img, uint32_t which, const char *dir, uint32_t id_shift, struct ct_err *err)
{
	if (which == CR_FS_UPPER && mkdir(dir, 0755) < 0)
		return ct_fail_errno(err, "creating %s", dir);
	int root CLEANUP_FD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return ct_fail_errno(err, "opening %s", dir);
	for (uint32_t i = 0; i < img->nfsentries; i++) {
		const struct cr_fsentry *e = img->fsentries[i];
		const unsigned char *data = cr_after(e, sizeof(*e));
		char path[CR_PATH_MAX], base[CR_PATH_MAX];
		memcpy(path, e->path, sizeof(path));
		path[sizeof(path) - 1] = 0;
		if (e->root != which)
			continue;
		/* Beneath the root, through no symlink: an entry below one the image made a symlink
		 * would otherwise land wherever that points. */
		int at CLEANUP_FD = open_parent(root, path, base, sizeof(base), err);
		if (at < 0)
			return -1;
		int rc = 0;
		switch (e->type) {
		case CR_FS_DIR:
			rc = mkdirat(at, base, 0700);
			break;
		case CR_FS_SYMLINK: {
			char target[CR_PATH_MAX];
			memcpy(target, data, e->size);
			target[e->size] = 0;
			rc = symlinkat(target, at, base);
			break;
		}
		case CR_FS_WHITEOUT:
			rc = mknodat(at, base, S_IFCHR | 0, makedev(0, 0));
			break;
		case CR_FS_REG: {
			int fd = openat(at, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			rc = fd < 0 ? -1 : write_all(fd, data, e->size);
			if (fd >= 0)
				close(fd);
			break;
		}
		}
		if (rc < 0)
			return ct_fail_errno(err, "restoring /%s", path);
		if (e->type == CR_FS_DIR && e->opaque) {
			int fd CLEANUP_FD = openat(at, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 || fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0)
				return ct_fail_errno(err, "marking /%s opaque", path);
		}
		if (set_meta(at, base, e, id_shift, path, err) < 0)
			return -1;
	}
	set_dir_times(root, img, which);
	return 0;
}

static int empty_dir(int parent, const char *name, struct ct_err *err)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return ct_fail_errno(err, "opening %s", name);
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = remove_tree_at(dirfd(d), e->d_name, err);
	closedir(d);
	return rc;
}

static int apply_entry(int root, const struct cr_fsentry *e, struct ct_err *err)
{
	char path[CR_PATH_MAX], base[CR_PATH_MAX];
	memcpy(path, e->path, sizeof(path));
	path[sizeof(path) - 1] = 0;
	int dir CLEANUP_FD = open_parent(root, path, base, sizeof(base), err);
	if (dir < 0)
		return -1;
	struct stat st;
	bool exists = fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
	/* What the lower layer shows there goes, unless it is the directory the entry keeps. */
	if (exists && !(e->type == CR_FS_DIR && S_ISDIR(st.st_mode))) {
		if (remove_tree_at(dir, base, err) < 0)
			return -1;
		exists = false;
	}
	int rc = 0;
	switch (e->type) {
	case CR_FS_WHITEOUT:
		return 0;
	case CR_FS_DIR:
		if (exists && e->opaque && empty_dir(dir, base, err) < 0)
			return -1;
		rc = exists ? 0 : mkdirat(dir, base, 0700);
		break;
	case CR_FS_SYMLINK: {
		char target[CR_PATH_MAX];
		memcpy(target, cr_after(e, sizeof(*e)), e->size);
		target[e->size] = 0;
		rc = symlinkat(target, dir, base);
		break;
	}
	case CR_FS_REG: {
		int fd = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		rc = fd < 0 ? -1 : write_all(fd, cr_after(e, sizeof(*e)), e->size);
		if (fd >= 0)
			close(fd);
		break;
	}
	}
	if (rc < 0)
		return ct_fail_errno(err, "restoring /%s", path);
	return set_meta(dir, base, e, 0, path, err);
}

int cr_fs_apply(const struct cr_image *img, uint32_t which, const char *dir, struct ct_err *err)
{
	int root CLEANUP_FD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return ct_fail_errno(err, "opening %s", dir);
	/* In the image's order, a directory before what it holds. */
	for (uint32_t i = 0; i < img->nfsentries; i++)
		if (img->fsentries[i]->root == which && apply_entry(root, img->fsentries[i], err) < 0)
			return -1;
	set_dir_times(root, img, which);
	return 0;
}
