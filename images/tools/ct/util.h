/* Small file and process helpers shared by ct's modules. */
#ifndef CT_UTIL_H
#define CT_UTIL_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"

/* Writes the whole string to a file (no O_CREAT): how cgroup and /proc knobs are set. */
int write_file(const char *path, const char *text, struct ct_err *err);
/* Creates or replaces a file atomically (write to a temporary name, then rename). */
int write_file_atomic(const char *path, const char *data, size_t len, struct ct_err *err);
/* Reads up to size-1 bytes and NUL-terminates; returns the length or -1 (errno set). */
ssize_t read_file(const char *path, char *buf, size_t size);
int mkdir_p(const char *path, mode_t mode, struct ct_err *err);
/* Removes a directory tree without following symlinks; stays on one filesystem. */
int remove_tree(const char *path, struct ct_err *err);
/* name in the directory parent, whatever it is (a directory with all in it); never across mounts. */
int remove_tree_at(int parent, const char *name, struct ct_err *err);
int write_all(int fd, const void *buf, size_t len);
/* Whole-buffer pread/pwrite (e.g. /proc/PID/mem): 0, or -1 with errno. */
int pread_all(int fd, void *buf, size_t len, off_t off);
int pwrite_all(int fd, const void *buf, size_t len, off_t off);
ssize_t read_all(int fd, void *buf, size_t len);
/* Closes every fd from 3 up except those in keep: long-lived children (a container's monitor, exec
 * helpers) must not hold the agent's channel, a worker's pipe or a lock of their parent. */
void close_fds_except(const int *keep, int n);
/* Sleeps for ms milliseconds. */
void sleep_ms(int ms);
long long now_ms(void);
long long now_us(void);   /* CLOCK_MONOTONIC, as now_ms */

#define CLEANUP_FD __attribute__((cleanup(close_fdp)))
void close_fdp(int *fd);

#endif
