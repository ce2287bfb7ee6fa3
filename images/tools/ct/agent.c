#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <dirent.h>
#include "agent.h"
#include "agent_ops.h"
#include "cgroup.h"
#include "config.h"
#include "container.h"
#include "report.h"
#include "util.h"

#define LINE_MAX_BYTES 65536
#define MAX_WORKERS 16
#define STATS_INTERVAL_S 2

static int port_fd = -1;

/* A forked worker running one slow op; its reply line arrives on `fd`. */
struct worker {
	pid_t pid;
	int fd;
	int64_t id;
	char op[16];
	char name[CT_NAME_MAX + 1];
	struct jbuf out;
	char *buf;
	size_t len;
};
static struct worker workers[MAX_WORKERS];

/* Set in a forked worker: its pipe to the agent and the request it serves. */
static int worker_pipe = -1;
static int64_t worker_request;

void agent_worker_event(struct jbuf *event)
{
	if (worker_pipe >= 0 && jb_done(event)) {
		/* The worker is its pipe's only writer: its event lines and then its reply arrive in order. */
		char *line = malloc(event->len + 1);
		if (line) {
			memcpy(line, event->data, event->len);
			line[event->len] = '\n';
			write_all(worker_pipe, line, event->len + 1);
			free(line);
		}
	}
	jb_free(event);
}

long long agent_worker_request(void)
{
	return worker_request;
}

static void send_line(struct jbuf *b)
{
	if (jb_done(b)) {
		write_all(port_fd, b->data, b->len);
		write_all(port_fd, "\n", 1);
	}
	jb_free(b);
}

static void send_error(int64_t id, bool has_id, const char *code, const char *msg)
{
	struct jbuf b;
	jb_init(&b);
	jb_obj_begin(&b);
	jb_key(&b, "id");
	if (has_id)
		jb_int(&b, id);
	else
		jb_null(&b);
	jb_key(&b, "ok"); jb_bool(&b, false);
	jb_key(&b, "error"); jb_obj_begin(&b);
	jb_key(&b, "code"); jb_str(&b, code);
	jb_key(&b, "message"); jb_str(&b, msg);
	jb_obj_end(&b);
	jb_obj_end(&b);
	send_line(&b);
}

/* exit_code >= 0 is reported with a "stopped" state: how the container's init ended. */
static void send_state(const char *name, const char *state, int exit_code)
{
	struct jbuf b;
	jb_init(&b);
	jb_obj_begin(&b);
	jb_key(&b, "event"); jb_str(&b, "state");
	jb_key(&b, "name"); jb_str(&b, name);
	jb_key(&b, "state"); jb_str(&b, state);
	if (exit_code >= 0) {
		jb_key(&b, "exit_code");
		jb_int(&b, exit_code);
	}
	jb_obj_end(&b);
	send_line(&b);
}

/* Builds {"id":N,"ok":true,"result":...} around an op's result, or an error reply. */
static void run_op(const struct agent_op *op, int64_t id, const struct json *args, struct jbuf *out)
{
	struct ct_err err = { "failed", "" };
	struct jbuf result;
	jb_init(&result);
	jb_init(out);
	if (op->run(args, &result, &err) < 0 || !jb_done(&result)) {
		jb_free(&result);
		jb_obj_begin(out);
		jb_key(out, "id"); jb_int(out, id);
		jb_key(out, "ok"); jb_bool(out, false);
		jb_key(out, "error"); jb_obj_begin(out);
		jb_key(out, "code"); jb_str(out, err.code);
		jb_key(out, "message"); jb_str(out, err.msg[0] ? err.msg : "failed");
		jb_obj_end(out);
		jb_obj_end(out);
		return;
	}
	jb_obj_begin(out);
	jb_key(out, "id"); jb_int(out, id);
	jb_key(out, "ok"); jb_bool(out, true);
	jb_key(out, "result"); jb_raw(out, result.data);
	jb_obj_end(out);
	jb_free(&result);
}

/* Container events the protocol promises beyond what the run directory shows (see inotify). */
static void after_success(const char *op, const char *name)
{
	if (!strcmp(op, "create"))
		send_state(name, "stopped", -1);
	else if (!strcmp(op, "destroy") || !strcmp(op, "migrate"))
		send_state(name, "destroyed", -1);   /* a migrated container left this host for good */
}

static void start_worker(const struct agent_op *op, int64_t id, const struct json *args, const char *name)
{
	struct worker *w = NULL;
	for (int i = 0; i < MAX_WORKERS && !w; i++)
		if (workers[i].pid == 0)
			w = &workers[i];
	if (!w) {
		send_error(id, true, "failed", "the agent is busy: too many operations in progress");
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		send_error(id, true, "failed", "pipe failed");
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		send_error(id, true, "failed", "fork failed");
		return;
	}
	if (pid == 0) {
		struct jbuf out;
		close(p[0]);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		worker_pipe = p[1];
		worker_request = id;
		run_op(op, id, args, &out);
		if (out.data)
			write_all(p[1], out.data, out.len);
		_exit(0);
	}
	close(p[1]);
	*w = (struct worker){ .pid = pid, .fd = p[0], .id = id };
	snprintf(w->op, sizeof(w->op), "%s", op->name);
	snprintf(w->name, sizeof(w->name), "%s", name ? name : "");
}

static void finish_worker(struct worker *w)
{
	close(w->fd);
	if (w->len > 0) {
		write_all(port_fd, w->buf, w->len);
		write_all(port_fd, "\n", 1);
		if (strstr(w->buf, "\"ok\":true"))
			after_success(w->op, w->name);
	} else {
		send_error(w->id, true, "failed", "the operation's worker died");
	}
	free(w->buf);
	waitpid(w->pid, NULL, 0);
	memset(w, 0, sizeof(*w));
}

/* A worker writes event lines, each ending in '\n', then its reply without one: lines are
 * forwarded as they complete, what is left at the end is the reply. */
static void forward_worker_lines(struct worker *w)
{
	char *nl;
	while (w->len > 0 && (nl = memchr(w->buf, '\n', w->len))) {
		size_t line = (size_t)(nl - w->buf) + 1;
		write_all(port_fd, w->buf, line);
		memmove(w->buf, w->buf + line, w->len - line);
		w->len -= line;
		w->buf[w->len] = 0;
	}
}

static void read_worker(struct worker *w)
{
	char buf[65536];
	ssize_t n = read(w->fd, buf, sizeof(buf));
	if (n > 0) {
		char *grown = realloc(w->buf, w->len + n + 1);
		if (grown) {
			w->buf = grown;
			memcpy(w->buf + w->len, buf, n);
			w->len += n;
			w->buf[w->len] = 0;
			forward_worker_lines(w);
		}
		return;
	}
	if (n == 0 || errno != EINTR)
		finish_worker(w);
}

static void handle_line(char *line, size_t len)
{
	static char arena_mem[JSON_ARENA_SIZE(LINE_MAX_BYTES)];
	struct json_arena arena;
	char why[128];
	json_arena_init(&arena, arena_mem, sizeof(arena_mem));
	const struct json *req = json_parse(&arena, line, len, why, sizeof(why));
	int64_t id;
	if (!req || req->type != JSON_OBJECT) {
		char msg[192];
		snprintf(msg, sizeof(msg), "malformed request: %s", req ? "not a JSON object" : why);
		send_error(0, false, "bad_request", msg);
		return;
	}
	if (!json_get_int64(req, "id", &id)) {
		send_error(0, false, "bad_request", "request has no integer \"id\"");
		return;
	}
	const char *opname;
	if (!json_get_string(req, "op", &opname, NULL)) {
		send_error(id, true, "bad_request", "request has no string \"op\"");
		return;
	}
	const struct agent_op *op = agent_find_op(opname);
	if (!op) {
		char msg[128];
		snprintf(msg, sizeof(msg), "unknown op \"%.60s\"", opname);
		send_error(id, true, "unknown_op", msg);
		return;
	}
	const struct json *args = json_get(req, "args");
	if (args && args->type != JSON_OBJECT) {
		send_error(id, true, "bad_request", "\"args\" must be an object");
		return;
	}
	const char *name = NULL;
	json_get_string(args, "name", &name, NULL);
	if (op->forked) {
		start_worker(op, id, args, name);
		return;
	}
	struct jbuf out;
	run_op(op, id, args, &out);
	bool ok = out.data && strstr(out.data, "\"ok\":true") != NULL;
	send_line(&out);
	if (ok && name)
		after_success(op->name, name);
}

/* Splits the port's byte stream into lines; a line over LINE_MAX_BYTES is dropped whole. */
static void read_port(void)
{
	static char buf[LINE_MAX_BYTES + 1];
	static size_t len;
	static bool discarding;
	ssize_t n = read(port_fd, buf + len, sizeof(buf) - len);
	if (n <= 0)
		return;
	len += n;
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (discarding)
			discarding = false;
		else if (i > start)
			handle_line(buf + start, i - start);
		start = i + 1;
	}
	memmove(buf, buf + start, len - start);
	len -= start;
	if (len == sizeof(buf)) {
		if (!discarding)
			send_error(0, false, "oversized", "request line longer than 65536 bytes");
		discarding = true;
		len = 0;
	}
}

static void send_stats(void)
{
	DIR *d = opendir(CT_RUN_DIR);
	if (!d)
		return;
	struct jbuf b;
	int count = 0;
	jb_init(&b);
	jb_obj_begin(&b);
	jb_key(&b, "event"); jb_str(&b, "stats");
	jb_key(&b, "containers"); jb_arr_begin(&b);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".pid"))
			continue;
		char name[CT_NAME_MAX + 1];
		struct ct_stats s;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), e->d_name);
		if (container_state(name, NULL) == CT_RUNNING && cgroup_read_stats(name, &s, NULL) == 0) {
			report_stats(&b, name, &s);
			count++;
		}
	}
	closedir(d);
	jb_arr_end(&b);
	jb_obj_end(&b);
	if (count)
		send_line(&b);
	else
		jb_free(&b);
}

/* NAME.pid appears when a container's init runs and goes when its monitor has cleaned up. */
static void read_inotify(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(fd, buf, sizeof(buf));
	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *ev = (struct inotify_event *)p;
		size_t len = ev->len ? strlen(ev->name) : 0;
		if (len > 4 && !strcmp(ev->name + len - 4, ".pid")) {
			char name[CT_NAME_MAX + 1];
			snprintf(name, sizeof(name), "%.*s", (int)(len - 4), ev->name);
			if (ev->mask & IN_DELETE) {
				char path[256], text[16];
				snprintf(path, sizeof(path), CT_RUN_DIR "/%s.exit", name);
				send_state(name, "stopped", read_file(path, text, sizeof(text)) > 0 ? atoi(text) : -1);
			} else {
				send_state(name, "running", -1);
			}
		}
		p += sizeof(*ev) + ev->len;
	}
}

static void pump_tty(struct tty_session *t)
{
	char buf[8192];
	ssize_t n = read(t->master, buf, sizeof(buf));
	if (n > 0) {
		struct jbuf b;
		jb_init(&b);
		jb_obj_begin(&b);
		jb_key(&b, "event"); jb_str(&b, "tty");
		jb_key(&b, "session"); jb_int(&b, t->id);
		jb_key(&b, "data"); jb_b64(&b, buf, n);
		jb_obj_end(&b);
		send_line(&b);
		return;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	close(t->master); /* EIO: every process on the terminal is gone */
	t->master = -1;
}

static void end_tty(struct tty_session *t)
{
	struct jbuf b;
	jb_init(&b);
	jb_obj_begin(&b);
	jb_key(&b, "event"); jb_str(&b, "tty_exit");
	jb_key(&b, "session"); jb_int(&b, t->id);
	jb_key(&b, "exit_code"); jb_int(&b, t->exit_code);
	jb_obj_end(&b);
	send_line(&b);
	if (t->master >= 0)
		close(t->master);
	memset(t, 0, sizeof(*t));
}

static void reap_children(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < AGENT_MAX_TTYS; i++)
			if (agent_ttys[i].id && agent_ttys[i].helper == pid) {
				agent_ttys[i].exited = true;
				agent_ttys[i].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			}
	}
}

static int open_port(const char *port)
{
	int fd = open(port, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ct agent: opening %s: %s\n", port, strerror(errno));
		return -1;
	}
	/* Raw: no echo, no line editing, no 4095-byte canonical line limit. */
	struct termios t;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	return fd;
}

int agent_main(const char *port)
{
	port_fd = open_port(port);
	if (port_fd < 0)
		return 1;
	protect_from_oom();
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	mkdir_p(CT_RUN_DIR, 0755, NULL);
	int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	inotify_add_watch(ifd, CT_RUN_DIR, IN_MOVED_TO | IN_DELETE);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec every = { { STATS_INTERVAL_S, 0 }, { STATS_INTERVAL_S, 0 } };
	timerfd_settime(tfd, 0, &every, NULL);

	char host[65] = "";
	gethostname(host, sizeof(host) - 1);
	struct jbuf hello;
	jb_init(&hello);
	jb_obj_begin(&hello);
	jb_key(&hello, "event"); jb_str(&hello, "hello");
	jb_key(&hello, "protocol"); jb_int(&hello, 1);
	jb_key(&hello, "hostname"); jb_str(&hello, host);
	jb_obj_end(&hello);
	send_line(&hello);

	enum { FIXED = 4 };
	for (;;) {
		struct pollfd fds[FIXED + MAX_WORKERS + AGENT_MAX_TTYS];
		int nfds = 0;
		fds[nfds++] = (struct pollfd){ .fd = port_fd, .events = POLLIN };
		fds[nfds++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		fds[nfds++] = (struct pollfd){ .fd = ifd, .events = POLLIN };
		fds[nfds++] = (struct pollfd){ .fd = tfd, .events = POLLIN };
		for (int i = 0; i < MAX_WORKERS; i++)
			fds[nfds++] = (struct pollfd){ .fd = workers[i].pid ? workers[i].fd : -1, .events = POLLIN };
		for (int i = 0; i < AGENT_MAX_TTYS; i++)
			fds[nfds++] = (struct pollfd){ .fd = agent_ttys[i].id ? agent_ttys[i].master : -1, .events = POLLIN };
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (fds[0].revents & POLLIN)
			read_port();
		if (fds[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0)
				;
		}
		if (fds[2].revents)
			read_inotify(ifd);
		if (fds[3].revents) {
			uint64_t ticks;
			if (read(tfd, &ticks, sizeof(ticks)) > 0)
				send_stats();
		}
		for (int i = 0; i < MAX_WORKERS; i++)
			if (workers[i].pid && fds[FIXED + i].revents)
				read_worker(&workers[i]);
		for (int i = 0; i < AGENT_MAX_TTYS; i++)
			if (agent_ttys[i].id && agent_ttys[i].master >= 0 && fds[FIXED + MAX_WORKERS + i].revents)
				pump_tty(&agent_ttys[i]);
		/* Reap after draining pipes, so a worker's last reply bytes are read before its exit. */
		reap_children();
		for (int i = 0; i < AGENT_MAX_TTYS; i++)
			if (agent_ttys[i].id && agent_ttys[i].exited && agent_ttys[i].master < 0)
				end_tty(&agent_ttys[i]);
	}
}
