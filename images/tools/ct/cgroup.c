#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cgroup.h"
#include "util.h"

void cgroup_path(const char *name, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, CT_CGROUP_ROOT "/%s%s%s", name, file ? "/" : "", file ? file : "");
}

static int write_knob(const char *name, const char *file, const char *value, struct ct_err *err)
{
	char path[256];
	cgroup_path(name, file, path, sizeof(path));
	return write_file(path, value, err);
}

/* The parent of all container groups, with the controllers handed down to them. */
static int prepare_root(struct ct_err *err)
{
	if (mkdir(CT_CGROUP_ROOT, 0755) < 0 && errno != EEXIST)
		return ct_fail_errno(err, "creating " CT_CGROUP_ROOT);
	return write_file(CT_CGROUP_ROOT "/cgroup.subtree_control", "+memory +pids +cpu", err);
}

static void format_max(char *buf, size_t size, int64_t v)
{
	if (v < 0)
		snprintf(buf, size, "max");
	else
		snprintf(buf, size, "%lld", (long long)v);
}

int cgroup_set_limits(const char *name, int64_t memory, int64_t pids, int64_t cpu_quota, struct ct_err *err)
{
	char v[48];
	format_max(v, sizeof(v), memory);
	if (write_knob(name, "memory.max", v, err) < 0)
		return -1;
	format_max(v, sizeof(v), pids);
	if (write_knob(name, "pids.max", v, err) < 0)
		return -1;
	format_max(v, sizeof(v), cpu_quota);
	snprintf(v + strlen(v), sizeof(v) - strlen(v), " %d", CT_CPU_PERIOD);
	return write_knob(name, "cpu.max", v, err);
}

int cgroup_create(const struct ct_config *c, struct ct_err *err)
{
	char path[256];
	if (prepare_root(err) < 0)
		return -1;
	cgroup_path(c->name, NULL, path, sizeof(path));
	if (mkdir(path, 0755) < 0) {
		if (errno != EEXIST)
			return ct_fail_errno(err, "creating cgroup %s", path);
		/* A leftover from a crash: reuse it only if nothing runs in it. */
		if (cgroup_populated(c->name))
			return ct_fail(err, "state", "cgroup %s still has processes", path);
	}
	if (cgroup_set_limits(c->name, c->memory, c->pids, c->cpu_quota, err) < 0) {
		rmdir(path);
		return -1;
	}
	return 0;
}

int cgroup_add_process(const char *name, pid_t pid, struct ct_err *err)
{
	char v[24];
	snprintf(v, sizeof(v), "%d", pid);
	return write_knob(name, "cgroup.procs", v, err);
}

bool cgroup_exists(const char *name)
{
	char path[256];
	cgroup_path(name, NULL, path, sizeof(path));
	return access(path, F_OK) == 0;
}

bool cgroup_populated(const char *name)
{
	char path[256], text[256];
	cgroup_path(name, "cgroup.events", path, sizeof(path));
	if (read_file(path, text, sizeof(text)) < 0)
		return false;
	return strstr(text, "populated 1") != NULL;
}

/* Waits until cgroup.events has the line `line`; -1 if the file cannot be read (no group). The kernel
 * wakes a poll on the file at each change of it: no sleeping between looks (a freeze in the
 * frozen window waited for ticks of a 2 ms sleep). The poll is capped: a missed wake costs 100 ms,
 * not the timeout. */
static int wait_events(const char *name, const char *line, int timeout_ms)
{
	char path[256], text[256];
	cgroup_path(name, "cgroup.events", path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long long deadline = now_ms() + timeout_ms;
	int rc = 0;
	for (;;) {
		ssize_t n = pread(fd, text, sizeof(text) - 1, 0);   /* reading it re-arms the poll */
		if (n < 0) {
			rc = -1;
			break;
		}
		text[n] = 0;
		if (strstr(text, line)) {
			rc = 1;
			break;
		}
		long long left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		poll(&p, 1, left > 100 ? 100 : (int)left);
	}
	close(fd);
	return rc;
}

bool cgroup_wait_empty(const char *name, int timeout_ms)
{
	return wait_events(name, "populated 0", timeout_ms) != 0;   /* no group: empty */
}

bool cgroup_wait_frozen(const char *name, int timeout_ms)
{
	return wait_events(name, "frozen 1", timeout_ms) == 1;
}

int cgroup_kill(const char *name, struct ct_err *err)
{
	return write_knob(name, "cgroup.kill", "1", err);
}

int cgroup_remove(const char *name, struct ct_err *err)
{
	char path[256];
	cgroup_path(name, NULL, path, sizeof(path));
	if (access(path, F_OK) < 0)
		return 0;
	if (cgroup_populated(name)) {
		cgroup_kill(name, NULL);
		cgroup_wait_empty(name, 2000);
	}
	/* The kernel may still be tearing down the last task: a few short retries. */
	for (int i = 0; i < 50; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sleep_ms(10);
	}
	return ct_fail_errno(err, "removing cgroup %s", path);
}

static int64_t read_value(const char *name, const char *file)
{
	char path[256], text[64];
	cgroup_path(name, file, path, sizeof(path));
	if (read_file(path, text, sizeof(text)) < 0)
		return 0;
	if (!strncmp(text, "max", 3))
		return -1;
	return strtoll(text, NULL, 10);
}

/* One "key value" entry of a flat-keyed file such as memory.events or cpu.stat. */
static int64_t read_keyed(const char *name, const char *file, const char *key)
{
	char path[256], text[1024];
	cgroup_path(name, file, path, sizeof(path));
	if (read_file(path, text, sizeof(text)) < 0)
		return 0;
	size_t klen = strlen(key);
	for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, key, klen) && line[klen] == ' ')
			return strtoll(line + klen + 1, NULL, 10);
	return 0;
}

int cgroup_read_stats(const char *name, struct ct_stats *s, struct ct_err *err)
{
	if (!cgroup_exists(name))
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	s->mem_current = read_value(name, "memory.current");
	s->mem_max = read_value(name, "memory.max");
	s->mem_peak = read_value(name, "memory.peak");
	s->oom_kills = read_keyed(name, "memory.events", "oom_kill");
	s->pids_current = read_value(name, "pids.current");
	s->pids_max = read_value(name, "pids.max");
	s->pids_refused = read_keyed(name, "pids.events", "max");
	s->cpu_usage_us = read_keyed(name, "cpu.stat", "usage_usec");
	s->cpu_user_us = read_keyed(name, "cpu.stat", "user_usec");
	s->cpu_system_us = read_keyed(name, "cpu.stat", "system_usec");
	s->cpu_periods = read_keyed(name, "cpu.stat", "nr_periods");
	s->cpu_throttled = read_keyed(name, "cpu.stat", "nr_throttled");
	s->cpu_throttled_us = read_keyed(name, "cpu.stat", "throttled_usec");
	s->frozen = cgroup_frozen(name);
	return 0;
}

bool cgroup_frozen(const char *name)
{
	char path[256], text[8] = "";
	cgroup_path(name, "cgroup.freeze", path, sizeof(path));
	return read_file(path, text, sizeof(text)) > 0 && text[0] == '1';
}
