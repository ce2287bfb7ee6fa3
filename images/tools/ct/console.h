/* Container consoles: a pty whose master is held outside the container, and its bounded log. */
#ifndef CT_CONSOLE_H
#define CT_CONSOLE_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"

#define CT_LOG_KEEP (64 * 1024)

/* A new pty on the host's devpts, its slave owned by `owner` (the container's root). */
int console_open(int *master, char *slave_path, size_t size, uid_t owner, struct ct_err *err);
/* Appends to the container's console log, keeping roughly the last CT_LOG_KEEP bytes. */
void console_log_append(const char *name, const char *data, size_t len);
/* Reads the log's last CT_LOG_KEEP bytes into buf (size >= CT_LOG_KEEP); returns the length. */
ssize_t console_log_read(const char *name, char *buf, size_t size);
void console_log_path(const char *name, char *buf, size_t size);

#endif
