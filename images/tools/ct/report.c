#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "cgroup.h"
#include "container.h"
#include "report.h"

void format_ip(const struct ct_config *c, char *buf, size_t size)
{
	buf[0] = 0;
	if (c->has_ip && inet_ntop(AF_INET, &c->ip, buf, size))
		snprintf(buf + strlen(buf), size - strlen(buf), "/%d", c->prefix);
}

static void limit(struct jbuf *b, const char *key, int64_t v)
{
	jb_key(b, key);
	if (v < 0)
		jb_null(b);
	else
		jb_int(b, v);
}

void report_info(struct jbuf *b, const struct ct_config *c)
{
	char ip[48];
	pid_t init;
	enum ct_state state = container_state(c->name, &init);
	format_ip(c, ip, sizeof(ip));
	jb_obj_begin(b);
	jb_key(b, "name"); jb_str(b, c->name);
	jb_key(b, "state"); jb_str(b, ct_state_name(state));
	jb_key(b, "template"); jb_str(b, c->template);
	jb_key(b, "hostname"); jb_str(b, c->hostname);
	jb_key(b, "ip"); jb_str(b, c->has_ip ? ip : NULL);
	limit(b, "memory", c->memory);
	limit(b, "pids", c->pids);
	jb_key(b, "cpus");
	if (c->cpu_quota < 0)
		jb_null(b);
	else
		jb_double(b, (double)c->cpu_quota / CT_CPU_PERIOD);
	jb_key(b, "privileged"); jb_bool(b, c->privileged);
	limit(b, "init_pid", state == CT_RUNNING ? init : -1);
	/* Running but not running a single instruction: a migration in doubt holds it (or a
	 * checkpoint's freeze is under way). */
	jb_key(b, "frozen"); jb_bool(b, state == CT_RUNNING && cgroup_frozen(c->name));
	jb_key(b, "created"); jb_int(b, c->created);
	jb_obj_end(b);
}

void report_stats(struct jbuf *b, const char *name, const struct ct_stats *s)
{
	jb_obj_begin(b);
	jb_key(b, "name"); jb_str(b, name);
	jb_key(b, "memory"); jb_obj_begin(b);
	jb_key(b, "current"); jb_int(b, s->mem_current);
	limit(b, "max", s->mem_max);
	jb_key(b, "peak"); jb_int(b, s->mem_peak);
	jb_key(b, "oom_kills"); jb_int(b, s->oom_kills);
	jb_obj_end(b);
	jb_key(b, "pids"); jb_obj_begin(b);
	jb_key(b, "current"); jb_int(b, s->pids_current);
	limit(b, "max", s->pids_max);
	jb_key(b, "refused"); jb_int(b, s->pids_refused);
	jb_obj_end(b);
	jb_key(b, "cpu"); jb_obj_begin(b);
	jb_key(b, "usage_usec"); jb_int(b, s->cpu_usage_us);
	jb_key(b, "user_usec"); jb_int(b, s->cpu_user_us);
	jb_key(b, "system_usec"); jb_int(b, s->cpu_system_us);
	jb_key(b, "nr_periods"); jb_int(b, s->cpu_periods);
	jb_key(b, "nr_throttled"); jb_int(b, s->cpu_throttled);
	jb_key(b, "throttled_usec"); jb_int(b, s->cpu_throttled_us);
	jb_obj_end(b);
	jb_key(b, "frozen"); jb_bool(b, s->frozen);
	jb_obj_end(b);
}
