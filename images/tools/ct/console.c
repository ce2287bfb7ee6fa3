#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "console.h"
#include "ct.h"
#include "util.h"

void console_log_path(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, CT_RUN_DIR "/%s.log", name);
}

int console_open(int *master, char *slave_path, size_t size, uid_t owner, struct ct_err *err)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return ct_fail_errno(err, "opening a pty for the console");
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 || ptsname_r(*master, slave_path, size) != 0 ||
	    chown(slave_path, owner, owner + 5 /* tty */) < 0) {
		ct_fail_errno(err, "preparing the console pty");
		close(*master);
		return -1;
	}
	return 0;
}

void console_log_append(const char *name, const char *data, size_t len)
{
	char path[256];
	console_log_path(name, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	write_all(fd, data, len);
	struct stat st;
	/* Let the file grow to twice the kept size, then cut it back: one rewrite per 64 KiB. */
	if (fstat(fd, &st) == 0 && st.st_size > 2 * CT_LOG_KEEP) {
		char *keep = malloc(CT_LOG_KEEP);
		int in = open(path, O_RDONLY | O_CLOEXEC);
		if (keep && in >= 0 && pread(in, keep, CT_LOG_KEEP, st.st_size - CT_LOG_KEEP) == CT_LOG_KEEP)
			write_file_atomic(path, keep, CT_LOG_KEEP, NULL);
		if (in >= 0)
			close(in);
		free(keep);
	}
	close(fd);
}

ssize_t console_log_read(const char *name, char *buf, size_t size)
{
	char path[256];
	console_log_path(name, path, sizeof(path));
	int fd CLEANUP_FD = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	off_t want = st.st_size < CT_LOG_KEEP ? st.st_size : CT_LOG_KEEP;
	if ((size_t)want > size)
		want = size;
	ssize_t n = pread(fd, buf, want, st.st_size - want);
	return n;
}
