/*
 * ct — the ctlab container runtime. One static binary: the CLI (`ct create`, `ct start`, ...) and
 * the agent (`ct agent`) that serves the page. Each container is a process tree in its own
 * namespaces and cgroup over an overlay root; see docs/agent-protocol.md for the agent's side.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>
#include "agent.h"
#include "cgroup.h"
#include "config.h"
#include "checkpoint.h"
#include "console.h"
#include "cr_show.h"
#include "container.h"
#include "exec.h"
#include "init.h"
#include "migrate.h"
#include "netbench.h"
#include "parse.h"
#include "report.h"
#include "util.h"

static const char usage[] =
	"usage: ct COMMAND [ARGS]\n"
	"  create NAME [--template T] [--memory SIZE] [--pids N] [--cpus N] [--ip A.B.C.D/N]\n"
	"              [--hostname H] [--privileged]\n"
	"  start NAME | stop NAME [--timeout S] | kill NAME [SIGNAL] | restart NAME\n"
	"  destroy NAME [--force] | list [--json] | status NAME [--json] | stats NAME [--json]\n"
	"  set NAME [--memory SIZE] [--pids N] [--cpus N] | logs NAME\n"
	"  exec NAME -- CMD [ARGS...] | enter NAME | agent [--port DEV]\n"
	"  checkpoint NAME --dir DIR [--leave-running] | restore NAME --dir DIR\n"
	"  image DIR|FILE   (prints a checkpoint image as text)\n"
	"  migrate NAME DEST[:PORT] | migrate-abort NAME | migrate-resolve NAME DEST|--resume\n"
	"  migrate-listen [--port PORT]\n";

static int fail(const struct ct_err *err)
{
	fprintf(stderr, "ct: %s\n", err->msg);
	return 1;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ct: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	return 2;
}

static void print_json(struct jbuf *b)
{
	if (b->data)
		puts(b->data);
	jb_free(b);
}

/* Options shared by create and set. */
enum { OPT_TEMPLATE = 256, OPT_MEMORY, OPT_PIDS, OPT_CPUS, OPT_IP, OPT_HOSTNAME, OPT_PRIVILEGED,
       OPT_TIMEOUT, OPT_FORCE, OPT_JSON, OPT_PORT, OPT_DIR, OPT_LEAVE_RUNNING, OPT_RESUME };
static const struct option long_options[] = {
	{ "template", required_argument, NULL, OPT_TEMPLATE }, { "memory", required_argument, NULL, OPT_MEMORY },
	{ "pids", required_argument, NULL, OPT_PIDS }, { "cpus", required_argument, NULL, OPT_CPUS },
	{ "ip", required_argument, NULL, OPT_IP }, { "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "privileged", no_argument, NULL, OPT_PRIVILEGED }, { "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "force", no_argument, NULL, OPT_FORCE }, { "json", no_argument, NULL, OPT_JSON },
	{ "port", required_argument, NULL, OPT_PORT }, { "dir", required_argument, NULL, OPT_DIR },
	{ "leave-running", no_argument, NULL, OPT_LEAVE_RUNNING }, { "resume", no_argument, NULL, OPT_RESUME },
	{ NULL, 0, NULL, 0 },
};

struct cli {
	struct ct_config config;
	struct ct_limits limits;
	int timeout;
	bool force, json;
	const char *port;
	const char *dir;
	bool leave_running, resume;
	char *positional[2];
	int npositional;
	char **rest;   /* after "--" */
};

static int parse_cli(int argc, char **argv, struct cli *cli, struct ct_err *err)
{
	cli->timeout = 10;
	cli->port = "/dev/hvc0";
	opterr = 0;
	optind = 2;
	int opt;
	/* "-": positionals come back in order as option 1; parsing stops at "--". */
	while ((opt = getopt_long(argc, argv, "-", long_options, NULL)) != -1) {
		struct ct_config *c = &cli->config;
		struct ct_limits *l = &cli->limits;
		int rc = 0;
		switch (opt) {
		case 1:
			if (cli->npositional == 2)
				return ct_fail(err, "invalid_argument", "unexpected argument \"%s\"", optarg);
			cli->positional[cli->npositional++] = optarg;
			break;
		case OPT_TEMPLATE: rc = parse_container_name(optarg, err); snprintf(c->template, sizeof(c->template), "%s", optarg); break;
		case OPT_MEMORY: rc = parse_size(optarg, &l->memory, err); c->memory = l->memory; l->set_memory = true; break;
		case OPT_PIDS: rc = parse_count(optarg, "pids limit", &l->pids, err); c->pids = l->pids; l->set_pids = true; break;
		case OPT_CPUS: rc = parse_cpus(optarg, &l->cpu_quota, err); c->cpu_quota = l->cpu_quota; l->set_cpu = true; break;
		case OPT_IP: rc = parse_ipv4_cidr(optarg, &c->ip, &c->prefix, err); c->has_ip = true; break;
		case OPT_HOSTNAME: rc = parse_hostname(optarg, err); snprintf(c->hostname, sizeof(c->hostname), "%s", optarg); break;
		case OPT_PRIVILEGED: c->privileged = true; break;
		case OPT_TIMEOUT: {
			int64_t t;
			rc = parse_count(optarg, "timeout", &t, err);
			cli->timeout = (int)t;
			break;
		}
		case OPT_FORCE: cli->force = true; break;
		case OPT_JSON: cli->json = true; break;
		case OPT_PORT: cli->port = optarg; break;
		case OPT_DIR: cli->dir = optarg; break;
		case OPT_LEAVE_RUNNING: cli->leave_running = true; break;
		case OPT_RESUME: cli->resume = true; break;
		case ':':
			return ct_fail(err, "invalid_argument", "option \"%s\" needs a value", argv[optind - 1]);
		default:
			return ct_fail(err, "invalid_argument", "unknown option \"%s\"", argv[optind - 1]);
		}
		if (rc < 0)
			return -1;
	}
	if (optind < argc)
		cli->rest = argv + optind;
	return 0;
}

static void print_limit(const char *label, int64_t v, const char *unit)
{
	if (v < 0)
		printf("%-10s unlimited\n", label);
	else
		printf("%-10s %lld%s\n", label, (long long)v, unit);
}

static int cmd_status(const struct ct_config *c, bool json)
{
	struct jbuf b;
	jb_init(&b);
	if (json) {
		report_info(&b, c);
		print_json(&b);
		return 0;
	}
	char ip[48];
	pid_t init;
	enum ct_state state = container_state(c->name, &init);
	format_ip(c, ip, sizeof(ip));
	bool frozen = state == CT_RUNNING && cgroup_frozen(c->name);
	printf("%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s\n", "name", c->name, "state", frozen ? "frozen" : ct_state_name(state),
	       "hostname", c->hostname, "ip", ip[0] ? ip : "-");
	print_limit("memory", c->memory, " bytes");
	print_limit("pids", c->pids, "");
	if (c->cpu_quota < 0)
		printf("%-10s unlimited\n", "cpus");
	else
		printf("%-10s %.2f\n", "cpus", (double)c->cpu_quota / CT_CPU_PERIOD);
	printf("%-10s %s\n", "user ns", c->privileged ? "no (privileged)" : "yes");
	if (state == CT_RUNNING)
		printf("%-10s %d\n", "init pid", init);
	return 0;
}

static int list_row(const struct ct_config *c, void *arg)
{
	struct jbuf *b = arg;
	if (b) {
		report_info(b, c);
		return 0;
	}
	char ip[48], mem[24] = "-", cpus[24] = "-", pids[24] = "-";
	format_ip(c, ip, sizeof(ip));
	if (c->memory >= 0)
		snprintf(mem, sizeof(mem), "%lldM", (long long)(c->memory >> 20));
	if (c->pids >= 0)
		snprintf(pids, sizeof(pids), "%lld", (long long)c->pids);
	if (c->cpu_quota >= 0)
		snprintf(cpus, sizeof(cpus), "%.2f", (double)c->cpu_quota / CT_CPU_PERIOD);
	enum ct_state state = container_state(c->name, NULL);
	bool frozen = state == CT_RUNNING && cgroup_frozen(c->name);
	printf("%-20s %-8s %-18s %-8s %-6s %s\n", c->name, frozen ? "frozen" : ct_state_name(state),
	       ip[0] ? ip : "-", mem, pids, cpus);
	return 0;
}

static int cmd_list(bool json)
{
	struct ct_err err;
	struct jbuf b;
	jb_init(&b);
	if (json)
		jb_arr_begin(&b);
	else
		printf("%-20s %-8s %-18s %-8s %-6s %s\n", "NAME", "STATE", "IP", "MEMORY", "PIDS", "CPUS");
	if (config_for_each(list_row, json ? &b : NULL, &err) < 0)
		return fail(&err);
	if (json) {
		jb_arr_end(&b);
		print_json(&b);
	}
	return 0;
}

static int cmd_stats(const char *name, bool json)
{
	struct ct_err err;
	struct ct_stats s;
	if (cgroup_read_stats(name, &s, &err) < 0)
		return fail(&err);
	if (json) {
		struct jbuf b;
		jb_init(&b);
		report_stats(&b, name, &s);
		print_json(&b);
		return 0;
	}
	char mem_max[24] = "unlimited", pids_max[24] = "unlimited";
	if (s.mem_max >= 0)
		snprintf(mem_max, sizeof(mem_max), "%lld", (long long)s.mem_max);
	if (s.pids_max >= 0)
		snprintf(pids_max, sizeof(pids_max), "%lld", (long long)s.pids_max);
	printf("memory   current %lld  max %s  peak %lld  oom kills %lld\n", (long long)s.mem_current,
	       mem_max, (long long)s.mem_peak, (long long)s.oom_kills);
	printf("pids     current %lld  max %s  refused forks %lld\n", (long long)s.pids_current,
	       pids_max, (long long)s.pids_refused);
	printf("cpu      usage %lld us (user %lld, system %lld)  throttled %lld of %lld periods, %lld us\n",
	       (long long)s.cpu_usage_us, (long long)s.cpu_user_us, (long long)s.cpu_system_us,
	       (long long)s.cpu_throttled, (long long)s.cpu_periods, (long long)s.cpu_throttled_us);
	return 0;
}

static int cmd_logs(const char *name)
{
	static char buf[CT_LOG_KEEP];
	struct ct_err err;
	if (config_require(name, &err) < 0)
		return fail(&err);
	ssize_t n = console_log_read(name, buf, sizeof(buf));
	if (n > 0)
		write_all(1, buf, n);
	return 0;
}

static int cmd_exec(const char *name, char **argv)
{
	struct ct_err err;
	const int stdio[3] = { 0, 1, 2 };
	pid_t helper = exec_spawn(name, argv, stdio, NULL, &err);
	if (helper < 0)
		return fail(&err);
	return exec_wait(helper);
}

/* Relays between our terminal (raw) and the pty of a shell in the container. */
static int cmd_enter(const char *name)
{
	struct ct_err err;
	char *const argv[] = { "/bin/sh", "-l", NULL };
	int master;
	pid_t helper = exec_spawn(name, argv, NULL, &master, &err);
	if (helper < 0)
		return fail(&err);
	struct termios saved, raw;
	bool tty = tcgetattr(0, &saved) == 0;
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	struct pollfd fds[3] = { { .fd = 0, .events = POLLIN }, { .fd = master, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
	char buf[4096];
	for (;;) {
		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n <= 0)
				break; /* the shell and everything on its terminal are gone */
			write_all(1, buf, n);
		}
		if (fds[0].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0)
				fds[0].fd = -1;
			else
				write_all(master, buf, n);
		}
		if (fds[2].revents) {
			struct signalfd_siginfo si;
			struct winsize ws;
			if (read(sfd, &si, sizeof(si)) > 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(master, TIOCSWINSZ, &ws);
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(master);
	return exec_wait(helper);
}

static void print_phase(const char *phase, void *arg)
{
	(void)arg;
	fprintf(stderr, "ct: %s\n", phase);
}

static int cmd_checkpoint(const char *cmd, const char *name, struct cli *cli)
{
	struct ct_err err;
	struct cr_report r;
	if (!cli->dir)
		return usage_error("%s needs --dir DIR", cmd);
	bool verbose = isatty(2);
	int rc = !strcmp(cmd, "checkpoint")
		? container_checkpoint(name, cli->dir, cli->leave_running, &r, verbose ? print_phase : NULL, NULL, &err)
		: container_restore(name, cli->dir, &r, verbose ? print_phase : NULL, NULL, &err);
	if (rc < 0)
		return fail(&err);
	printf("%s %s: %u processes, %llu pages, %llu bytes of files, image %llu bytes, frozen %lld ms, total %lld ms\n",
	       cmd, name, r.processes, (unsigned long long)r.pages, (unsigned long long)r.fs_bytes,
	       (unsigned long long)r.image_bytes, r.frozen_ms, r.total_ms);
	return 0;
}

static int cmd_migrate(const char *name, const char *dest)
{
	struct ct_err err;
	struct migrate_report r;
	if (container_migrate(name, dest, &r, isatty(2) ? print_phase : NULL, NULL, &err) < 0)
		return fail(&err);
	printf("migrate %s: %u pre-copy rounds (", name, r.rounds);
	for (uint32_t i = 0; i < r.rounds; i++)
		printf("%s%llu", i ? " " : "", (unsigned long long)r.round_bytes[i]);
	printf(" bytes), final %llu bytes (%llu pages referenced), frozen %lld ms (dump %lld, to ready %lld, "
	       "restore %lld; confirmed at %lld), total %lld ms\n", (unsigned long long)r.final_bytes,
	       (unsigned long long)r.pages_referenced, r.frozen_ms, r.dump_ms, r.ready_ms, r.restore_ms, r.confirmed_ms,
	       r.total_ms);
	return 0;
}

static int run(const char *cmd, struct cli *cli)
{
	struct ct_err err;
	const char *name = cli->positional[0];
	if (!strcmp(cmd, "migrate-listen")) {
		int port = cli->port && strcmp(cli->port, "/dev/hvc0") ? atoi(cli->port) : CT_MIGRATE_PORT;
		if (port <= 0 || port > 65535)
			return usage_error("bad port \"%s\"", cli->port);
		return migrate_listen(port);
	}
	if (!strcmp(cmd, "image")) {
		if (!cli->positional[0] || cli->positional[1])
			return usage_error("%s needs one DIR or FILE", cmd);
		return cr_show(cli->positional[0]);
	}
	bool needs_name = strcmp(cmd, "list") && strcmp(cmd, "agent");
	if (needs_name && !name)
		return usage_error("%s needs a container name", cmd);
	if (needs_name && parse_container_name(name, &err) < 0)
		return fail(&err);
	if (!strcmp(cmd, "migrate")) {
		if (!cli->positional[1])
			return usage_error("%s needs a destination host", cmd);
		return cmd_migrate(name, cli->positional[1]);
	}
	if (!strcmp(cmd, "migrate-abort"))
		return container_migrate_abort(name, &err) < 0 ? fail(&err) : 0;
	if (!strcmp(cmd, "migrate-resolve")) {
		if (!cli->positional[1] && !cli->resume)
			return usage_error("%s needs the destination host (or --resume)", cmd);
		int rc = container_migrate_resolve(name, cli->positional[1] ? cli->positional[1] : "", cli->resume, &err);
		if (rc < 0)
			return fail(&err);
		printf("%s: %s\n", name, rc ? "runs on the destination; the copy here is gone" : "runs here again");
		return 0;
	}
	if (cli->positional[1] && strcmp(cmd, "kill"))
		return usage_error("unexpected argument \"%s\"", cli->positional[1]);
	if (cli->rest && strcmp(cmd, "exec"))
		return usage_error("unexpected \"--\" after %s", cmd);

	if (!strcmp(cmd, "create")) {
		struct ct_config c = cli->config;
		snprintf(c.name, sizeof(c.name), "%s", name);
		if (!c.hostname[0])
			snprintf(c.hostname, sizeof(c.hostname), "%s", name);
		return container_create(&c, &err) < 0 ? fail(&err) : 0;
	}
	if (!strcmp(cmd, "start"))
		return container_start(name, &err) < 0 ? fail(&err) : 0;
	if (!strcmp(cmd, "stop"))
		return container_stop(name, cli->timeout, &err) < 0 ? fail(&err) : 0;
	if (!strcmp(cmd, "restart"))
		return container_restart(name, &err) < 0 ? fail(&err) : 0;
	if (!strcmp(cmd, "kill")) {
		int sig = SIGKILL;
		if (cli->positional[1] && parse_signal(cli->positional[1], &sig, &err) < 0)
			return fail(&err);
		return container_kill(name, sig, &err) < 0 ? fail(&err) : 0;
	}
	if (!strcmp(cmd, "destroy"))
		return container_destroy(name, cli->force, &err) < 0 ? fail(&err) : 0;
	if (!strcmp(cmd, "set")) {
		if (!cli->limits.set_memory && !cli->limits.set_pids && !cli->limits.set_cpu)
			return usage_error("set %s: give --memory, --pids or --cpus", name);
		return container_set(name, &cli->limits, &err) < 0 ? fail(&err) : 0;
	}
	if (!strcmp(cmd, "list"))
		return cmd_list(cli->json);
	if (!strcmp(cmd, "status")) {
		struct ct_config c;
		return config_load(name, &c, &err) < 0 ? fail(&err) : cmd_status(&c, cli->json);
	}
	if (!strcmp(cmd, "stats")) {
		if (config_require(name, &err) < 0)
			return fail(&err);
		return cmd_stats(name, cli->json);
	}
	if (!strcmp(cmd, "logs"))
		return cmd_logs(name);
	if (!strcmp(cmd, "exec")) {
		if (!cli->rest || !cli->rest[0])
			return usage_error("exec %s: give a command after --", name);
		return cmd_exec(name, cli->rest);
	}
	if (!strcmp(cmd, "enter"))
		return cmd_enter(name);
	if (!strcmp(cmd, "checkpoint") || !strcmp(cmd, "restore"))
		return cmd_checkpoint(cmd, name, cli);
	if (!strcmp(cmd, "agent"))
		return agent_main(cli->port);
	return usage_error("unknown command \"%s\"", cmd);
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	if (!strcmp(self ? self + 1 : argv[0], "ct-init"))
		return init_main();
	if (!strcmp(self ? self + 1 : argv[0], "ctnet"))
		return netbench_main(argc, argv);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	struct cli cli = { 0 };
	struct ct_err err;
	config_defaults(&cli.config, "");
	cli.config.hostname[0] = 0;
	if (parse_cli(argc, argv, &cli, &err) < 0) {
		fprintf(stderr, "ct: %s\n", err.msg);
		return 2;
	}
	return run(argv[1], &cli);
}
