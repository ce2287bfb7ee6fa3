#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "agent.h"
#include "agent_ops.h"
#include "base64.h"
#include "cgroup.h"
#include "checkpoint.h"
#include "config.h"
#include "console.h"
#include "container.h"
#include "exec.h"
#include "hostnet.h"
#include "migrate.h"
#include "parse.h"
#include "report.h"
#include "util.h"

struct tty_session agent_ttys[AGENT_MAX_TTYS];

/* --- reading arguments: every field is checked for type and range --------------------------- */

static int arg_string(const struct json *args, const char *key, bool required, const char **out, struct ct_err *err)
{
	const struct json *v = json_get(args, key);
	if (!v) {
		if (required)
			return ct_fail(err, "bad_request", "missing field \"%s\"", key);
		*out = NULL;
		return 0;
	}
	if (!json_as_string(v, out, NULL))
		return ct_fail(err, "bad_request", "field \"%s\" must be a string", key);
	return 0;
}

static int arg_name(const struct json *args, const char **name, struct ct_err *err)
{
	if (arg_string(args, "name", true, name, err) < 0)
		return -1;
	return parse_container_name(*name, err);
}

/* An integer limit: absent leaves *out alone, null means unlimited (-1). */
static int arg_limit(const struct json *args, const char *key, int64_t min, int64_t max, bool *given,
		     int64_t *out, struct ct_err *err)
{
	const struct json *v = json_get(args, key);
	if (!v)
		return 0;
	*given = true;
	if (json_is_null(v)) {
		*out = -1;
		return 0;
	}
	int64_t i;
	if (!json_as_int64(v, &i))
		return ct_fail(err, "bad_request", "field \"%s\" must be an integer or null", key);
	if (i < min || i > max)
		return ct_fail(err, "invalid_argument", "field \"%s\" must be from %lld to %lld", key, (long long)min, (long long)max);
	*out = i;
	return 0;
}

static int arg_cpus(const struct json *args, bool *given, int64_t *quota, struct ct_err *err)
{
	const struct json *v = json_get(args, "cpus");
	double d;
	if (!v)
		return 0;
	*given = true;
	if (json_is_null(v)) {
		*quota = -1;
		return 0;
	}
	if (!json_as_double(v, &d))
		return ct_fail(err, "bad_request", "field \"cpus\" must be a number or null");
	char text[32];
	snprintf(text, sizeof(text), "%.6g", d);
	return parse_cpus(text, quota, err);
}

static int arg_limits(const struct json *args, struct ct_limits *l, struct ct_err *err)
{
	if (arg_limit(args, "memory", 1 << 20, 1LL << 40, &l->set_memory, &l->memory, err) < 0 ||
	    arg_limit(args, "pids", 1, 1000000, &l->set_pids, &l->pids, err) < 0 ||
	    arg_cpus(args, &l->set_cpu, &l->cpu_quota, err) < 0)
		return -1;
	return 0;
}

static int reply_info(const char *name, struct jbuf *b, struct ct_err *err)
{
	struct ct_config c;
	if (config_load(name, &c, err) < 0)
		return -1;
	report_info(b, &c);
	return 0;
}

static void empty(struct jbuf *b)
{
	jb_obj_begin(b);
	jb_obj_end(b);
}

/* --- the ops ------------------------------------------------------------------------------- */

static int op_ping(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	(void)args; (void)err;
	empty(b);
	return 0;
}

static int op_create(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name, *tpl, *ip, *hostname;
	struct ct_limits l = { 0 };
	bool privileged = false;
	if (arg_name(args, &name, err) < 0 || arg_string(args, "template", false, &tpl, err) < 0 ||
	    arg_string(args, "ip", false, &ip, err) < 0 || arg_string(args, "hostname", false, &hostname, err) < 0 ||
	    arg_limits(args, &l, err) < 0)
		return -1;
	const struct json *p = json_get(args, "privileged");
	if (p && !json_as_bool(p, &privileged))
		return ct_fail(err, "bad_request", "field \"privileged\" must be a boolean");
	struct ct_config c;
	config_defaults(&c, name);
	if (tpl && parse_container_name(tpl, err) < 0)
		return -1;
	if (tpl)
		snprintf(c.template, sizeof(c.template), "%s", tpl);
	if (hostname && parse_hostname(hostname, err) < 0)
		return -1;
	if (hostname)
		snprintf(c.hostname, sizeof(c.hostname), "%s", hostname);
	if (ip && parse_ipv4_cidr(ip, &c.ip, &c.prefix, err) < 0)
		return -1;
	c.has_ip = ip != NULL;
	if (l.set_memory)
		c.memory = l.memory;
	if (l.set_pids)
		c.pids = l.pids;
	if (l.set_cpu)
		c.cpu_quota = l.cpu_quota;
	c.privileged = privileged;
	if (container_create(&c, err) < 0)
		return -1;
	report_info(b, &c);
	return 0;
}

static int op_start(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	if (arg_name(args, &name, err) < 0 || container_start(name, err) < 0)
		return -1;
	return reply_info(name, b, err);
}

static int op_restart(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	if (arg_name(args, &name, err) < 0 || container_restart(name, err) < 0)
		return -1;
	return reply_info(name, b, err);
}

static int op_stop(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	bool given = false;
	int64_t timeout = 10;
	if (arg_name(args, &name, err) < 0 || arg_limit(args, "timeout", 0, 3600, &given, &timeout, err) < 0)
		return -1;
	if (container_stop(name, timeout < 0 ? 10 : (int)timeout, err) < 0)
		return -1;
	return reply_info(name, b, err);
}

static int op_kill(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name, *signame = NULL;
	int64_t signum;
	int sig = SIGKILL;
	if (arg_name(args, &name, err) < 0)
		return -1;
	const struct json *v = json_get(args, "signal");
	if (v && json_as_int64(v, &signum)) {
		if (signum < 1 || signum > 64)
			return ct_fail(err, "invalid_argument", "invalid signal %lld", (long long)signum);
		sig = (int)signum;
	} else if (v && !json_as_string(v, &signame, NULL)) {
		return ct_fail(err, "bad_request", "field \"signal\" must be a number or a name");
	}
	if (signame && parse_signal(signame, &sig, err) < 0)
		return -1;
	if (container_kill(name, sig, err) < 0)
		return -1;
	return reply_info(name, b, err);
}

static int op_destroy(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	bool force = false;
	if (arg_name(args, &name, err) < 0)
		return -1;
	const struct json *v = json_get(args, "force");
	if (v && !json_as_bool(v, &force))
		return ct_fail(err, "bad_request", "field \"force\" must be a boolean");
	if (container_destroy(name, force, err) < 0)
		return -1;
	empty(b);
	return 0;
}

static int list_one(const struct ct_config *c, void *arg)
{
	report_info(arg, c);
	return 0;
}

static int op_list(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	(void)args;
	jb_obj_begin(b);
	jb_key(b, "containers");
	jb_arr_begin(b);
	if (config_for_each(list_one, b, err) < 0)
		return -1;
	jb_arr_end(b);
	jb_obj_end(b);
	return 0;
}

static int op_status(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	return arg_name(args, &name, err) < 0 ? -1 : reply_info(name, b, err);
}

static int op_set(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	struct ct_limits l = { 0 };
	if (arg_name(args, &name, err) < 0 || arg_limits(args, &l, err) < 0)
		return -1;
	if (!l.set_memory && !l.set_pids && !l.set_cpu)
		return ct_fail(err, "bad_request", "give at least one of memory, pids, cpus");
	if (container_set(name, &l, err) < 0)
		return -1;
	return reply_info(name, b, err);
}

static int op_stats(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	struct ct_stats s;
	if (arg_name(args, &name, err) < 0)
		return -1;
	if (config_require(name, err) < 0)
		return -1;
	if (cgroup_read_stats(name, &s, err) < 0)
		return -1;
	report_stats(b, name, &s);
	return 0;
}

static int op_logs(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	static char buf[CT_LOG_KEEP];
	const char *name;
	if (arg_name(args, &name, err) < 0)
		return -1;
	if (config_require(name, err) < 0)
		return -1;
	ssize_t n = console_log_read(name, buf, sizeof(buf));
	jb_obj_begin(b);
	jb_key(b, "data");
	jb_b64(b, buf, n > 0 ? n : 0);
	jb_obj_end(b);
	return 0;
}

/* --- exec: a command with its stdio on pipes, output collected up to a cap ----------------- */

#define EXEC_OUTPUT_MAX (1 << 20)
#define EXEC_MAX_ARGS 256

struct capture { char *data; size_t len; };

static void capture_read(int *fd, struct capture *c)
{
	char buf[16384];
	ssize_t n = read(*fd, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(*fd);
			*fd = -1;
		}
		return;
	}
	size_t keep = c->len + n > EXEC_OUTPUT_MAX ? EXEC_OUTPUT_MAX - c->len : (size_t)n;
	if (keep > 0) {
		char *grown = realloc(c->data, c->len + keep);
		if (!grown)
			return;
		c->data = grown;
		memcpy(c->data + c->len, buf, keep);
		c->len += keep;
	}
}

static int op_exec(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name, *stdin_b64 = NULL;
	size_t stdin_b64_len = 0;
	bool given = false;
	int64_t timeout = 30;
	if (arg_name(args, &name, err) < 0 || arg_limit(args, "timeout", 1, 3600, &given, &timeout, err) < 0)
		return -1;
	const struct json *argv_json = json_get(args, "argv");
	size_t argc = json_array_len(argv_json);
	if (!argv_json || argv_json->type != JSON_ARRAY || argc == 0 || argc > EXEC_MAX_ARGS)
		return ct_fail(err, "bad_request", "field \"argv\" must be an array of 1 to %d strings", EXEC_MAX_ARGS);
	char *argv[EXEC_MAX_ARGS + 1];
	for (size_t i = 0; i < argc; i++)
		if (!json_as_string(json_array_at(argv_json, i), (const char **)&argv[i], NULL))
			return ct_fail(err, "bad_request", "field \"argv\" must be an array of strings");
	argv[argc] = NULL;
	const struct json *in = json_get(args, "stdin");
	if (in && !json_as_string(in, &stdin_b64, &stdin_b64_len))
		return ct_fail(err, "bad_request", "field \"stdin\" must be a base64 string");
	char *input = NULL;
	ssize_t input_len = 0;
	if (stdin_b64) {
		input = malloc(b64_decoded_max(stdin_b64_len) + 1);
		input_len = input ? b64_decode(input, stdin_b64, stdin_b64_len) : -1;
		if (input_len < 0) {
			free(input);
			return ct_fail(err, "bad_request", "field \"stdin\" is not valid base64");
		}
	}

	int in_pipe[2], out_pipe[2], err_pipe[2];
	if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		free(input);
		return ct_fail_errno(err, "pipe");
	}
	const int stdio[3] = { in_pipe[0], out_pipe[1], err_pipe[1] };
	pid_t helper = exec_spawn(name, argv, stdio, NULL, err);
	close(in_pipe[0]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (helper < 0) {
		close(in_pipe[1]);
		close(out_pipe[0]);
		close(err_pipe[0]);
		free(input);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	write_all(in_pipe[1], input, input_len); /* a command that does not read it gets EPIPE: fine */
	close(in_pipe[1]);
	free(input);

	struct capture out = { 0 }, errout = { 0 };
	int fds[2] = { out_pipe[0], err_pipe[0] };
	long long deadline = now_ms() + timeout * 1000;
	bool timed_out = false;
	while (fds[0] >= 0 || fds[1] >= 0) {
		struct pollfd p[2] = { { .fd = fds[0], .events = POLLIN }, { .fd = fds[1], .events = POLLIN } };
		long long left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			capture_read(&fds[0], &out);
		if (p[1].revents)
			capture_read(&fds[1], &errout);
	}
	if (timed_out)
		kill(helper, SIGKILL); /* its command dies with it (PR_SET_PDEATHSIG) */
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	int code = exec_wait(helper);
	if (timed_out) {
		free(out.data);
		free(errout.data);
		return ct_fail(err, "timeout", "%s did not finish within %lld s", argv[0], (long long)timeout);
	}
	jb_obj_begin(b);
	jb_key(b, "exit_code"); jb_int(b, code);
	jb_key(b, "stdout"); jb_b64(b, out.data, out.len);
	jb_key(b, "stderr"); jb_b64(b, errout.data, errout.len);
	jb_obj_end(b);
	free(out.data);
	free(errout.data);
	return 0;
}

/* --- terminals ----------------------------------------------------------------------------- */

static struct tty_session *find_tty(const struct json *args, struct ct_err *err)
{
	int64_t id;
	if (!json_get_int64(args, "session", &id))
		return ct_fail(err, "bad_request", "field \"session\" must be an integer"), NULL;
	for (int i = 0; i < AGENT_MAX_TTYS; i++)
		if (agent_ttys[i].id == id && agent_ttys[i].id > 0)
			return &agent_ttys[i];
	return ct_fail(err, "not_found", "no terminal session %lld", (long long)id), NULL;
}

static int arg_size(const struct json *args, const char *key, int64_t def, int64_t *out, struct ct_err *err)
{
	bool given = false;
	*out = def;
	return arg_limit(args, key, 1, 1000, &given, out, err);
}

static void set_winsize(int master, int64_t cols, int64_t rows)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	ioctl(master, TIOCSWINSZ, &ws);
}

static int op_tty_open(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	static int next_id = 1;
	const char *name;
	int64_t cols, rows;
	if (arg_name(args, &name, err) < 0 || arg_size(args, "cols", 80, &cols, err) < 0 ||
	    arg_size(args, "rows", 24, &rows, err) < 0)
		return -1;
	struct tty_session *t = NULL;
	for (int i = 0; i < AGENT_MAX_TTYS && !t; i++)
		if (agent_ttys[i].id == 0)
			t = &agent_ttys[i];
	if (!t)
		return ct_fail(err, "failed", "too many terminal sessions (%d)", AGENT_MAX_TTYS);
	char *const argv[] = { "/bin/sh", "-l", NULL };
	int master;
	pid_t helper = exec_spawn(name, argv, NULL, &master, err);
	if (helper < 0)
		return -1;
	set_winsize(master, cols, rows);
	fcntl(master, F_SETFL, O_NONBLOCK);
	*t = (struct tty_session){ .id = next_id++, .master = master, .helper = helper };
	jb_obj_begin(b);
	jb_key(b, "session"); jb_int(b, t->id);
	jb_obj_end(b);
	return 0;
}

static int op_tty_input(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *data;
	size_t len;
	struct tty_session *t = find_tty(args, err);
	if (!t)
		return -1;
	if (!json_get_string(args, "data", &data, &len))
		return ct_fail(err, "bad_request", "field \"data\" must be a base64 string");
	char *bytes = malloc(b64_decoded_max(len) + 1);
	ssize_t n = bytes ? b64_decode(bytes, data, len) : -1;
	if (n < 0) {
		free(bytes);
		return ct_fail(err, "bad_request", "field \"data\" is not valid base64");
	}
	/* The master is non-blocking; a full terminal buffer drops keystrokes rather than the agent. */
	if (n > 0 && write(t->master, bytes, n) < 0 && errno != EAGAIN) {
		free(bytes);
		return ct_fail_errno(err, "writing to terminal %d", t->id);
	}
	free(bytes);
	empty(b);
	return 0;
}

static int op_tty_resize(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	int64_t cols, rows;
	struct tty_session *t = find_tty(args, err);
	if (!t || arg_size(args, "cols", 80, &cols, err) < 0 || arg_size(args, "rows", 24, &rows, err) < 0)
		return -1;
	set_winsize(t->master, cols, rows);
	empty(b);
	return 0;
}

static int op_tty_close(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	struct tty_session *t = find_tty(args, err);
	if (!t)
		return -1;
	/* Hanging up the terminal ends the shell; the exit is reported as a tty_exit event. */
	close(t->master);
	t->master = -1;
	kill(t->helper, SIGHUP);
	empty(b);
	return 0;
}

static int op_host_configure(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *hostname, *mac_text, *address;
	unsigned char mac[6];
	struct in_addr addr;
	int prefix;
	const char *key = NULL;
	if (arg_string(args, "hostname", true, &hostname, err) < 0 || arg_string(args, "mac", true, &mac_text, err) < 0 ||
	    arg_string(args, "address", true, &address, err) < 0 || arg_string(args, "migrate_key", false, &key, err) < 0 ||
	    parse_mac(mac_text, mac, err) < 0 || parse_ipv4_cidr(address, &addr, &prefix, err) < 0)
		return -1;
	/* The key first: it is the only part that can be refused for its form. */
	if ((key && migrate_set_key(key, err) < 0) || hostnet_configure(hostname, mac, addr, prefix, err) < 0)
		return -1;
	jb_obj_begin(b);
	jb_key(b, "hostname"); jb_str(b, hostname);
	jb_key(b, "mac"); jb_str(b, mac_text);
	jb_key(b, "address"); jb_str(b, address);
	jb_obj_end(b);
	return 0;
}

/* Sets the guest's wall clock: a host restored from a saved state wakes at the time of the save. */
static int op_set_time(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	int64_t ms;
	if (!json_get_int64(args, "time_ms", &ms) || ms < 0)
		return ct_fail(err, "bad_request", "field \"time_ms\" must be a non-negative integer (ms since 1970)");
	struct timespec before, now = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	clock_gettime(CLOCK_REALTIME, &before);
	if (clock_settime(CLOCK_REALTIME, &now) < 0)
		return ct_fail_errno(err, "setting the clock");
	jb_obj_begin(b);
	jb_key(b, "previous_ms"); jb_int(b, (int64_t)before.tv_sec * 1000 + before.tv_nsec / 1000000);
	jb_obj_end(b);
	return 0;
}

/* --- checkpoint images: made by checkpoint, moved in chunks, consumed by restore ---------------- */

/* Each image is IMAGES_DIR/<id>/ct.img. Ids are the agent's own: lowercase, digits, '-', '_'. */
#define IMAGES_DIR "/var/lib/ct-images"
#define IMAGE_ID_MAX 48
#define IMAGE_MAX_BYTES (64LL << 20)
#define IMAGE_CHUNK_MAX (48 << 10)
#define IMAGES_MAX 8

static int valid_image_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > IMAGE_ID_MAX || !(islower((unsigned char)id[0]) || isdigit((unsigned char)id[0])))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)id[i]) && !isdigit((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
			return 0;
	return 1;
}

static void image_path(const char *id, const char *file, char *out, size_t size)
{
	if (file)
		snprintf(out, size, IMAGES_DIR "/%.48s/%.16s", id, file);
	else
		snprintf(out, size, IMAGES_DIR "/%.48s", id);
}

/* The "image" field: a well-formed id of an image that exists. */
static int arg_image(const struct json *args, const char **id, struct ct_err *err)
{
	if (arg_string(args, "image", true, id, err) < 0)
		return -1;
	if (!valid_image_id(*id))
		return ct_fail(err, "invalid_argument", "invalid image id \"%.40s\": use 1-%d of a-z, 0-9, '-' and '_'",
			       *id, IMAGE_ID_MAX);
	char path[256];
	struct stat st;
	image_path(*id, NULL, path, sizeof(path));
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return ct_fail(err, "not_found", "no image \"%s\"", *id);
	return 0;
}

static int count_images(void)
{
	DIR *d = opendir(IMAGES_DIR);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (valid_image_id(e->d_name))
			n++;
	closedir(d);
	return n;
}

/* Makes IMAGES_DIR/<prefix>-<8 hex digits>/ and writes its id to id. */
static int new_image(const char *prefix, char id[IMAGE_ID_MAX + 1], struct ct_err *err)
{
	if (mkdir_p(IMAGES_DIR, 0700, err) < 0)
		return -1;
	if (count_images() >= IMAGES_MAX)
		return ct_fail(err, "failed", "the host keeps at most %d images: delete one first", IMAGES_MAX);
	for (int attempt = 0; attempt < 8; attempt++) {
		uint32_t r = 0;
		if (getrandom(&r, sizeof(r), GRND_INSECURE) != sizeof(r))   /* unique, not secret: no wait */
			r = (uint32_t)now_ms() * 2654435761u + (uint32_t)getpid() + (uint32_t)attempt;
		snprintf(id, IMAGE_ID_MAX + 1, "%.32s-%08x", prefix, r);
		char path[256];
		image_path(id, NULL, path, sizeof(path));
		if (mkdir(path, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return ct_fail_errno(err, "creating %s", path);
	}
	return ct_fail(err, "failed", "could not pick a free image id");
}

static void delete_image(const char *id)
{
	char path[256];
	image_path(id, NULL, path, sizeof(path));
	remove_tree(path, NULL);
}

struct progress_ctx {
	const char *op;
	const char *name;
};

static void send_progress(const char *phase, void *arg)
{
	const struct progress_ctx *p = arg;
	struct jbuf b;
	jb_init(&b);
	jb_obj_begin(&b);
	jb_key(&b, "event"); jb_str(&b, "progress");
	jb_key(&b, "request"); jb_int(&b, agent_worker_request());
	jb_key(&b, "op"); jb_str(&b, p->op);
	jb_key(&b, "name"); jb_str(&b, p->name);
	jb_key(&b, "phase"); jb_str(&b, phase);
	jb_obj_end(&b);
	agent_worker_event(&b);
}

static void report_cr(struct jbuf *b, const char *image, const char *name, const struct cr_report *r)
{
	jb_key(b, "image"); jb_str(b, image);
	jb_key(b, "name"); jb_str(b, name);
	jb_key(b, "processes"); jb_int(b, r->processes);
	jb_key(b, "pages"); jb_int(b, (int64_t)r->pages);
	jb_key(b, "fs_bytes"); jb_int(b, (int64_t)r->fs_bytes);
	jb_key(b, "image_bytes"); jb_int(b, (int64_t)r->image_bytes);
	jb_key(b, "frozen_ms"); jb_int(b, r->frozen_ms);
	jb_key(b, "total_ms"); jb_int(b, r->total_ms);
}

static int op_checkpoint(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	bool leave_running = false;
	char id[IMAGE_ID_MAX + 1], dir[256], file[256];
	if (arg_name(args, &name, err) < 0)
		return -1;
	const struct json *v = json_get(args, "leave_running");
	if (v && !json_as_bool(v, &leave_running))
		return ct_fail(err, "bad_request", "field \"leave_running\" must be a boolean");
	if (config_require(name, err) < 0)
		return -1;
	if (container_state(name, NULL) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	if (new_image(name, id, err) < 0)
		return -1;
	image_path(id, NULL, dir, sizeof(dir));
	image_path(id, CR_IMAGE_FILE, file, sizeof(file));
	struct cr_report r;
	struct progress_ctx ctx = { "checkpoint", name };
	if (container_checkpoint(name, dir, leave_running, &r, send_progress, &ctx, err) < 0) {
		delete_image(id);
		return -1;
	}
	struct stat st;
	if (stat(file, &st) == 0)
		r.image_bytes = (uint64_t)st.st_size;
	jb_obj_begin(b);
	report_cr(b, id, name, &r);
	jb_obj_end(b);
	return 0;
}

static int op_restore(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name, *id;
	char dir[256];
	if (arg_name(args, &name, err) < 0 || arg_image(args, &id, err) < 0)
		return -1;
	image_path(id, NULL, dir, sizeof(dir));
	struct cr_report r;
	struct progress_ctx ctx = { "restore", name };
	if (container_restore(name, dir, &r, send_progress, &ctx, err) < 0)
		return -1;
	struct ct_config c;
	if (config_load(name, &c, err) < 0)
		return -1;
	jb_obj_begin(b);
	report_cr(b, id, name, &r);
	jb_key(b, "container");
	report_info(b, &c);
	jb_obj_end(b);
	return 0;
}

static int op_image_create(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	(void)args;
	char id[IMAGE_ID_MAX + 1], file[256];
	if (new_image("upload", id, err) < 0)
		return -1;
	image_path(id, CR_IMAGE_FILE, file, sizeof(file));
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ct_fail_errno(err, "creating %s", file);
		delete_image(id);
		return -1;
	}
	close(fd);
	jb_obj_begin(b);
	jb_key(b, "image"); jb_str(b, id);
	jb_obj_end(b);
	return 0;
}

static int arg_offset(const struct json *args, int64_t *offset, struct ct_err *err)
{
	const struct json *v = json_get(args, "offset");
	if (!v)
		return ct_fail(err, "bad_request", "missing field \"offset\"");
	if (!json_as_int64(v, offset))
		return ct_fail(err, "bad_request", "field \"offset\" must be an integer");
	if (*offset < 0 || *offset > IMAGE_MAX_BYTES)
		return ct_fail(err, "invalid_argument", "field \"offset\" must be from 0 to %lld", IMAGE_MAX_BYTES);
	return 0;
}

static int open_image_file(const char *id, int flags, struct ct_err *err)
{
	char file[256];
	image_path(id, CR_IMAGE_FILE, file, sizeof(file));
	int fd = open(file, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return ct_fail(err, "not_found", "image \"%s\" has no file yet", id);
	if (fd < 0)
		return ct_fail_errno(err, "opening %s", file);
	return fd;
}

static int op_image_write(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *id, *data;
	size_t len;
	int64_t offset;
	if (arg_image(args, &id, err) < 0 || arg_offset(args, &offset, err) < 0)
		return -1;
	if (!json_get_string(args, "data", &data, &len))
		return ct_fail(err, "bad_request", "field \"data\" must be a base64 string");
	if (b64_decoded_max(len) > IMAGE_CHUNK_MAX + 2)
		return ct_fail(err, "invalid_argument", "field \"data\" holds more than %d bytes", IMAGE_CHUNK_MAX);
	char *bytes = malloc(b64_decoded_max(len) + 1);
	ssize_t n = bytes ? b64_decode(bytes, data, len) : -1;
	if (n < 0) {
		free(bytes);
		return ct_fail(err, "bad_request", "field \"data\" is not valid base64");
	}
	if (n > IMAGE_CHUNK_MAX || offset + n > IMAGE_MAX_BYTES) {
		free(bytes);
		return ct_fail(err, "invalid_argument", n > IMAGE_CHUNK_MAX
			       ? "field \"data\" holds more than 48 KiB" : "an image may hold at most 64 MiB");
	}
	int fd CLEANUP_FD = open_image_file(id, O_WRONLY, err);
	if (fd < 0) {
		free(bytes);
		return -1;
	}
	for (ssize_t done = 0; done < n;) {
		ssize_t w = pwrite(fd, bytes + done, (size_t)(n - done), (off_t)(offset + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			free(bytes);
			return ct_fail_errno(err, "writing image \"%s\"", id);
		}
		done += w;
	}
	free(bytes);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ct_fail_errno(err, "examining image \"%s\"", id);
	jb_obj_begin(b);
	jb_key(b, "size"); jb_int(b, (int64_t)st.st_size);
	jb_obj_end(b);
	return 0;
}

static int op_image_read(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *id;
	int64_t offset, length;
	bool given = false;
	if (arg_image(args, &id, err) < 0 || arg_offset(args, &offset, err) < 0)
		return -1;
	if (!json_get(args, "length"))
		return ct_fail(err, "bad_request", "missing field \"length\"");
	if (arg_limit(args, "length", 1, IMAGE_CHUNK_MAX, &given, &length, err) < 0)
		return -1;
	if (length < 0)
		return ct_fail(err, "bad_request", "field \"length\" must be an integer");
	int fd CLEANUP_FD = open_image_file(id, O_RDONLY, err);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ct_fail_errno(err, "examining image \"%s\"", id);
	static char buf[IMAGE_CHUNK_MAX];
	ssize_t n = 0;
	while (n < length) {
		ssize_t r = pread(fd, buf + n, (size_t)(length - n), (off_t)(offset + n));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ct_fail_errno(err, "reading image \"%s\"", id);
		if (r == 0)
			break;
		n += r;
	}
	jb_obj_begin(b);
	jb_key(b, "data"); jb_b64(b, buf, (size_t)n);
	jb_key(b, "size"); jb_int(b, (int64_t)st.st_size);
	jb_obj_end(b);
	return 0;
}

static int op_image_delete(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *id;
	if (arg_image(args, &id, err) < 0)
		return -1;
	delete_image(id);
	empty(b);
	return 0;
}

static int op_image_list(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	(void)args; (void)err;
	jb_obj_begin(b);
	jb_key(b, "images");
	jb_arr_begin(b);
	DIR *d = opendir(IMAGES_DIR);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!valid_image_id(e->d_name))
			continue;
		char file[256];
		struct stat st;
		image_path(e->d_name, CR_IMAGE_FILE, file, sizeof(file));
		jb_obj_begin(b);
		jb_key(b, "image"); jb_str(b, e->d_name);
		jb_key(b, "size");
		if (lstat(file, &st) == 0)
			jb_int(b, (int64_t)st.st_size);
		else
			jb_null(b);   /* a checkpoint still writing it */
		jb_obj_end(b);
	}
	if (d)
		closedir(d);
	jb_arr_end(b);
	jb_obj_end(b);
	return 0;
}

/* --- live migration: the container moves to another host's `ct migrate-listen` ---------------- */

#define DEST_MAX 80

/* DEST: an IPv4 dotted quad or a host name of a-z, 0-9 and '-', optionally ":PORT" (1-65535). */
static int arg_dest(const struct json *args, const char **dest, struct ct_err *err)
{
	if (arg_string(args, "dest", true, dest, err) < 0)
		return -1;
	const char *d = *dest;
	size_t n = strlen(d);
	const char *colon = strchr(d, ':');
	size_t host_len = colon ? (size_t)(colon - d) : n;
	bool ok = n > 0 && n <= DEST_MAX && host_len > 0 && host_len <= 63;
	bool digits_and_dots = true;
	for (size_t i = 0; ok && i < host_len; i++) {
		char c = d[i];
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == '.'))
			ok = false;
		if (!isdigit((unsigned char)c) && c != '.')
			digits_and_dots = false;
	}
	if (ok && digits_and_dots) {
		/* Looks like an address: it must be a whole dotted quad. */
		char host[64];
		struct in_addr a;
		snprintf(host, sizeof(host), "%.*s", (int)host_len, d);
		unsigned parts = 0, value = 0, len = 0;
		for (const char *p = host;; p++) {
			if (*p == '.' || !*p) {
				ok = ok && len > 0 && len <= 3 && value <= 255;
				parts++;
				value = len = 0;
				if (!*p)
					break;
			} else {
				value = value * 10 + (unsigned)(*p - '0');
				len++;
			}
		}
		ok = ok && parts == 4 && inet_pton(AF_INET, host, &a) == 1;
	} else if (ok) {
		/* A host name: labels of a-z, 0-9, '-', none empty nor starting or ending with '-'. */
		ok = !memchr(d, '.', host_len) && d[0] != '-' && d[host_len - 1] != '-';
	}
	if (ok && colon) {
		const char *p = colon + 1;
		long port = 0;
		ok = *p && strlen(p) <= 5;
		for (; ok && *p; p++) {
			if (!isdigit((unsigned char)*p))
				ok = false;
			else
				port = port * 10 + (*p - '0');
		}
		ok = ok && port >= 1 && port <= 65535;
	}
	if (!ok)
		return ct_fail(err, "invalid_argument",
			       "invalid destination \"%.40s\": give an IPv4 address or a host name (a-z, 0-9, '-'), optionally with :PORT",
			       d);
	return 0;
}

/* Stops a migration of this host's container before its COMMIT: the migrate request then fails with
 * code "aborted" and the container runs on here. */
static int op_migrate_abort(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name;
	if (arg_name(args, &name, err) < 0 || container_migrate_abort(name, err) < 0)
		return -1;
	empty(b);
	return 0;
}

/* A migration that ended "in_doubt" left the container frozen here: ask the destination (or, with
 * resume, take it back without asking: the destination is gone for good). */
static int op_migrate_resolve(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name, *dest = "";
	bool resume = false;
	const struct json *v = json_get(args, "resume");
	if (v && !json_as_bool(v, &resume))
		return ct_fail(err, "bad_request", "field \"resume\" must be a boolean");
	if (arg_name(args, &name, err) < 0 || (!resume && arg_dest(args, &dest, err) < 0))
		return -1;
	int rc = container_migrate_resolve(name, dest, resume, err);
	if (rc < 0)
		return -1;
	jb_obj_begin(b);
	jb_key(b, "name"); jb_str(b, name);
	jb_key(b, "outcome"); jb_str(b, rc ? "moved" : "resumed");
	jb_obj_end(b);
	return 0;
}

static int op_migrate(const struct json *args, struct jbuf *b, struct ct_err *err)
{
	const char *name, *dest;
	if (arg_name(args, &name, err) < 0 || arg_dest(args, &dest, err) < 0)
		return -1;
	if (config_require(name, err) < 0)
		return -1;
	if (container_state(name, NULL) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	struct migrate_report r;
	struct progress_ctx ctx = { "migrate", name };
	if (container_migrate(name, dest, &r, send_progress, &ctx, err) < 0)
		return -1;
	jb_obj_begin(b);
	jb_key(b, "name"); jb_str(b, name);
	jb_key(b, "dest"); jb_str(b, dest);
	jb_key(b, "rounds"); jb_int(b, r.rounds);
	jb_key(b, "round_bytes");
	jb_arr_begin(b);
	for (uint32_t i = 0; i < r.rounds && i < MIG_MAX_ROUNDS; i++)
		jb_int(b, (int64_t)r.round_bytes[i]);
	jb_arr_end(b);
	jb_key(b, "final_bytes"); jb_int(b, (int64_t)r.final_bytes);
	jb_key(b, "pages_referenced"); jb_int(b, (int64_t)r.pages_referenced);
	jb_key(b, "frozen_ms"); jb_int(b, r.frozen_ms);
	jb_key(b, "confirmed_ms"); jb_int(b, r.confirmed_ms);
	jb_key(b, "total_ms"); jb_int(b, r.total_ms);
	jb_key(b, "processes"); jb_int(b, r.dump.processes);
	jb_key(b, "pages"); jb_int(b, (int64_t)r.dump.pages);
	jb_key(b, "fs_bytes"); jb_int(b, (int64_t)r.dump.fs_bytes);
	jb_obj_end(b);
	return 0;
}

static const struct agent_op ops[] = {
	{ "ping", false, op_ping }, { "create", false, op_create }, { "start", true, op_start },
	{ "stop", true, op_stop }, { "kill", false, op_kill }, { "restart", true, op_restart },
	{ "destroy", true, op_destroy }, { "list", false, op_list }, { "status", false, op_status },
	{ "set", false, op_set }, { "stats", false, op_stats }, { "logs", false, op_logs },
	{ "exec", true, op_exec }, { "tty_open", false, op_tty_open }, { "tty_input", false, op_tty_input },
	{ "tty_resize", false, op_tty_resize }, { "tty_close", false, op_tty_close },
	{ "host_configure", false, op_host_configure }, { "set_time", false, op_set_time },
	{ "checkpoint", true, op_checkpoint }, { "restore", true, op_restore },
	{ "image_create", false, op_image_create }, { "image_write", false, op_image_write },
	{ "image_read", false, op_image_read }, { "image_delete", false, op_image_delete },
	{ "image_list", false, op_image_list }, { "migrate", true, op_migrate },
	{ "migrate_resolve", true, op_migrate_resolve }, { "migrate_abort", false, op_migrate_abort },
};

const struct agent_op *agent_find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].name, name))
			return &ops[i];
	return NULL;
}
