#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "util.h"

void close_fdp(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

int write_file(const char *path, const char *text, struct ct_err *err)
{
	int fd CLEANUP_FD = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		return ct_fail_errno(err, "writing \"%s\" to %s", text, path);
	return 0;
}

int write_file_atomic(const char *path, const char *data, size_t len, struct ct_err *err)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ct_fail_errno(err, "creating %s", tmp);
	if (write_all(fd, data, len) < 0) {
		close(fd);
		unlink(tmp);
		return ct_fail_errno(err, "writing %s", tmp);
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return ct_fail_errno(err, "renaming %s", tmp);
	}
	return 0;
}

ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd CLEANUP_FD = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read_all(fd, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

int mkdir_p(const char *path, mode_t mode, struct ct_err *err)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return ct_fail_errno(err, "creating %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return ct_fail_errno(err, "creating %s", buf);
	return 0;
}

static int remove_at(int parent, const char *name, dev_t dev, struct ct_err *err)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : ct_fail_errno(err, "examining %s", name);
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev != dev)
			return ct_fail(err, "failed", "not removing %s: a filesystem is mounted there", name);
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return ct_fail_errno(err, "opening %s", name);
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return ct_fail_errno(err, "reading %s", name);
		}
		struct dirent *e;
		int rc = 0;
		while (rc == 0 && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				rc = remove_at(dirfd(d), e->d_name, dev, err);
		closedir(d);
		if (rc)
			return rc;
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return ct_fail_errno(err, "removing %s", name);
		return 0;
	}
	if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
		return ct_fail_errno(err, "removing %s", name);
	return 0;
}

int remove_tree_at(int parent, const char *name, struct ct_err *err)
{
	struct stat st;
	if (fstat(parent, &st) < 0)
		return ct_fail_errno(err, "examining the directory of %s", name);
	return remove_at(parent, name, st.st_dev, err);
}

int remove_tree(const char *path, struct ct_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : ct_fail_errno(err, "examining %s", path);
	return remove_at(AT_FDCWD, path, st.st_dev, err);
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void close_fds_except(const int *keep, int n)
{
	int from = 3;
	for (;;) {
		int next = -1; /* the lowest kept fd at or above `from` */
		for (int i = 0; i < n; i++)
			if (keep[i] >= from && (next < 0 || keep[i] < next))
				next = keep[i];
		if (next < 0) {
			syscall(SYS_close_range, from, ~0U, 0);
			return;
		}
		if (next > from)
			syscall(SYS_close_range, from, next - 1, 0);
		from = next + 1;
	}
}

int pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}
