#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config.h"
#include "parse.h"
#include "util.h"

void config_path(const char *name, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, CT_STATE_DIR "/%s%s%s", name, file ? "/" : "", file ? file : "");
}

void config_defaults(struct ct_config *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->template, sizeof(c->template), "busybox");
	snprintf(c->hostname, sizeof(c->hostname), "%s", name);
	c->memory = c->pids = c->cpu_quota = -1;
	c->created = time(NULL);
}

static int parse_bool(const char *v, bool *out, struct ct_err *err)
{
	if (strcmp(v, "0") && strcmp(v, "1"))
		return ct_fail(err, "invalid_argument", "invalid boolean \"%.20s\"", v);
	*out = v[0] == '1';
	return 0;
}

static int parse_line(struct ct_config *c, const char *key, const char *v, struct ct_err *err)
{
	if (!strcmp(key, "name"))
		return parse_container_name(v, err) ?: (snprintf(c->name, sizeof(c->name), "%s", v), 0);
	if (!strcmp(key, "template"))
		return parse_container_name(v, err) ?: (snprintf(c->template, sizeof(c->template), "%s", v), 0);
	if (!strcmp(key, "hostname"))
		return parse_hostname(v, err) ?: (snprintf(c->hostname, sizeof(c->hostname), "%s", v), 0);
	if (!strcmp(key, "ip")) {
		c->has_ip = *v != 0;
		return c->has_ip ? parse_ipv4_cidr(v, &c->ip, &c->prefix, err) : 0;
	}
	if (!strcmp(key, "memory"))
		return parse_size(v, &c->memory, err);
	if (!strcmp(key, "pids"))
		return parse_count(v, "pids limit", &c->pids, err);
	if (!strcmp(key, "cpu_quota"))
		return parse_count(v, "CPU quota", &c->cpu_quota, err);
	if (!strcmp(key, "privileged"))
		return parse_bool(v, &c->privileged, err);
	if (!strcmp(key, "created")) {
		char *end;
		c->created = strtoll(v, &end, 10);
		return *end ? ct_fail(err, "invalid_argument", "invalid creation time \"%.20s\"", v) : 0;
	}
	return ct_fail(err, "invalid_argument", "unknown key \"%.40s\"", key);
}

int config_parse(struct ct_config *c, const char *text, struct ct_err *err)
{
	char line[256];
	int lineno = 0;
	while (*text) {
		size_t n = strcspn(text, "\n");
		lineno++;
		if (n >= sizeof(line))
			return ct_fail(err, "invalid_argument", "line %d is too long", lineno);
		memcpy(line, text, n);
		line[n] = 0;
		text += n + (text[n] == '\n');
		if (!line[0] || line[0] == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			return ct_fail(err, "invalid_argument", "line %d has no '='", lineno);
		*eq = 0;
		struct ct_err e;
		if (parse_line(c, line, eq + 1, &e) < 0)
			return ct_fail(err, "invalid_argument", "line %d: %s", lineno, e.msg);
	}
	if (!c->name[0])
		return ct_fail(err, "invalid_argument", "no name");
	return 0;
}

static void format_limit(char *buf, size_t size, int64_t v)
{
	if (v < 0)
		snprintf(buf, size, "max");
	else
		snprintf(buf, size, "%lld", (long long)v);
}

int config_format(const struct ct_config *c, char *buf, size_t size)
{
	char ip[48] = "", mem[24], pids[24], cpu[24];
	if (c->has_ip) {
		inet_ntop(AF_INET, &c->ip, ip, sizeof(ip));
		snprintf(ip + strlen(ip), sizeof(ip) - strlen(ip), "/%d", c->prefix);
	}
	format_limit(mem, sizeof(mem), c->memory);
	format_limit(pids, sizeof(pids), c->pids);
	format_limit(cpu, sizeof(cpu), c->cpu_quota);
	return snprintf(buf, size,
		"name=%s\ntemplate=%s\nhostname=%s\nip=%s\nmemory=%s\npids=%s\ncpu_quota=%s\nprivileged=%d\ncreated=%lld\n",
		c->name, c->template, c->hostname, ip, mem, pids, cpu, c->privileged, (long long)c->created);
}

int config_load(const char *name, struct ct_config *c, struct ct_err *err)
{
	char path[256], text[2048];
	config_path(name, "config", path, sizeof(path));
	if (read_file(path, text, sizeof(text)) < 0) {
		if (errno == ENOENT)
			return ct_fail(err, "not_found", "no container named \"%s\"", name);
		return ct_fail_errno(err, "reading %s", path);
	}
	config_defaults(c, name);
	struct ct_err e;
	if (config_parse(c, text, &e) < 0)
		return ct_fail(err, "failed", "%s is corrupt: %s", path, e.msg);
	if (strcmp(c->name, name))
		return ct_fail(err, "failed", "%s names another container (%s)", path, c->name);
	return 0;
}

int config_save(const struct ct_config *c, struct ct_err *err)
{
	char path[256], text[2048];
	config_path(c->name, "config", path, sizeof(path));
	int n = config_format(c, text, sizeof(text));
	return write_file_atomic(path, text, n, err);
}

bool config_exists(const char *name)
{
	char path[256], text[8];
	config_path(name, "config", path, sizeof(path));
	return read_file(path, text, sizeof(text)) >= 0;
}

int config_require(const char *name, struct ct_err *err)
{
	return config_exists(name) ? 0 : ct_fail(err, "not_found", "no container named \"%s\"", name);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int config_for_each(int (*fn)(const struct ct_config *c, void *arg), void *arg, struct ct_err *err)
{
	struct dirent **list;
	int n = scandir(CT_STATE_DIR, &list, NULL, by_name);
	if (n < 0)
		return errno == ENOENT ? 0 : ct_fail_errno(err, "listing " CT_STATE_DIR);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		struct ct_config c;
		struct ct_err ignored;
		/* Skip what is not a container: dot files, and directories a failed create left half-made. */
		if (rc == 0 && list[i]->d_name[0] != '.' && config_load(list[i]->d_name, &c, &ignored) == 0)
			rc = fn(&c, arg);
		free(list[i]);
	}
	free(list);
	return rc;
}
