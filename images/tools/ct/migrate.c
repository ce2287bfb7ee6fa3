/* The source side of a live migration (see migrate.h): pre-copy, the frozen round into the socket,
 * the commit, and settling a migration left in doubt. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
#include "cgroup.h"
#include "checkpoint.h"
#include "config.h"
#include "container.h"
#include "cr_mem.h"
#include "cr_task.h"
#include "migrate_wire.h"
#include "util.h"

static void on_abort(int sig)
{
	(void)sig;
	mig_abort_requested = 1;
}

static int aborted(struct ct_err *err)
{
	return mig_abort_requested ? ct_fail(err, "aborted", "the migration was aborted: the container runs here on") : 0;
}

/* --- the source ------------------------------------------------------------------------------------ */

struct source {
	int sock;
	uint64_t id;               /* this migration's, in the hello and in a question about it */
	const char *dest, *name;
	struct page_table table;
	uint64_t bytes;            /* this round */
	uint64_t referenced;
	bool send_failed;          /* the destination is unreachable: no further round makes sense */
	struct migrate_report *report;
	long long frozen_at;       /* us */
	cr_progress_fn progress;
	void *arg;
};

/* Pre-copy: sends the pages whose hash changed since the destination last got them. */
static int precopy_run(void *ctx, struct cr_writer *w, int32_t pid, uint32_t addr, uint32_t npages,
		       const unsigned char *data, bool anon, struct ct_err *err)
{
	(void)w;
	struct source *s = ctx;
	for (uint32_t k = 0; k < npages;) {
		uint32_t l = k;
		while (l < npages) {
			const unsigned char *p = data + l * CR_PAGE;
			if (anon && cr_page_zero(p))
				break;
			uint64_t h = page_hash(p);
			struct slot *slot = table_find(&s->table, page_key(pid, addr + l * CR_PAGE), true);
			if (!slot)
				return ct_fail(err, "failed", "out of memory");
			if (slot->hash == h)
				break;
			slot->hash = h;
			l++;
		}
		if (l > k) {
			if (aborted(err) < 0) {
				s->send_failed = true;
				return -1;
			}
			struct cr_pages g = { pid, addr + k * CR_PAGE, l - k };
			if (send_frame(s->sock, F_PAGES, &g, sizeof(g), data + k * CR_PAGE, (l - k) * CR_PAGE) < 0) {
				s->send_failed = true;
				return ct_fail_errno(err, "sending memory to the destination");
			}
			s->bytes += (l - k) * CR_PAGE;
			k = l;
		} else {
			k++;
		}
	}
	return 0;
}

static int precopy_round(const char *name, struct source *s, struct ct_err *err)
{
	char path[256], text[8192];
	cgroup_path(name, "cgroup.procs", path, sizeof(path));
	if (read_file(path, text, sizeof(text)) < 0)
		return ct_fail_errno(err, "reading %s", path);
	struct cr_page_sink sink = { precopy_run, s };
	s->bytes = 0;
	for (char *p = text; *p;) {
		char *next;
		long hpid = strtol(p, &next, 10);
		if (next == p)
			break;
		p = next + strspn(next, "\n");
		struct cr_proc_status st;
		struct cr_area *areas;
		uint32_t n;
		char mempath[64];
		/* A process that is gone by now, or a zombie, has nothing to send. */
		if (cr_read_status((pid_t)hpid, &st, NULL) < 0 || st.state == 'Z')
			continue;
		if (cr_mem_read_maps((pid_t)hpid, st.ns_pid, &areas, &n, err) < 0) {
			if (!strcmp(err->code, "unsupported"))
				return -1;   /* what the final round would refuse: refuse before freezing */
			continue;            /* it exited meanwhile */
		}
		snprintf(mempath, sizeof(mempath), "/proc/%ld/mem", hpid);
		int mem = open(mempath, O_RDONLY | O_CLOEXEC);
		int rc = mem < 0 ? 0 : cr_mem_walk((pid_t)hpid, mem, st.ns_pid, areas, n, &sink, NULL, err);
		if (mem >= 0)
			close(mem);
		free(areas);
		if (rc < 0 && s->send_failed)
			return -1;   /* a process that exited under the walk only loses its round */
	}
	return 0;
}

enum page_kind { PAGE_ZERO, PAGE_HELD, PAGE_NEW };

static enum page_kind kind_of(struct source *s, int32_t pid, uint32_t addr, const unsigned char *p, bool anon)
{
	if (anon && cr_page_zero(p))   /* absent means zero */
		return PAGE_ZERO;
	struct slot *slot = table_find(&s->table, page_key(pid, addr), false);
	return slot && slot->hash == page_hash(p) ? PAGE_HELD : PAGE_NEW;
}

/* The frozen round: pages the destination holds unchanged travel as references. Each page is
 * looked at once (hashing is most of the frozen round's own work). */
static int final_run(void *ctx, struct cr_writer *w, int32_t pid, uint32_t addr, uint32_t npages,
		     const unsigned char *data, bool anon, struct ct_err *err)
{
	struct source *s = ctx;
	int next = -1;   /* the kind of page k, when the previous run already looked at it */
	for (uint32_t k = 0; k < npages;) {
		enum page_kind kind = next >= 0 ? (enum page_kind)next : kind_of(s, pid, addr + k * CR_PAGE, data + k * CR_PAGE, anon);
		next = -1;
		if (kind == PAGE_ZERO) {
			k++;
			continue;
		}
		uint32_t l = k + 1;
		for (; l < npages; l++) {
			enum page_kind kl = kind_of(s, pid, addr + l * CR_PAGE, data + l * CR_PAGE, anon);
			if (kl != kind) {
				next = (int)kl;
				break;
			}
		}
		bool held = kind == PAGE_HELD;
		if (cr_write_pages(w, held ? CR_REC_PAGES_REF : CR_REC_PAGES, pid, addr + k * CR_PAGE, l - k, data + k * CR_PAGE,
				   err) < 0)
			return -1;
		if (held)
			s->referenced += l - k;
		k = l;
	}
	return 0;
}

static void phase(struct source *s, const char *what)
{
	if (s->progress)
		s->progress(what, s->arg);
}

static int connect_to(const char *dest, struct ct_err *err);

/* Asks dest what became of migration id, which sent it the container: D_COMMITTED, D_ABORTED, or 0
 * (no answer). */
static char migrate_query(const char *dest, const char *name, uint64_t id, struct ct_err *err)
{
	int fd = connect_to(dest, err);
	if (fd < 0)
		return 0;
	struct hello q = { .version = MIG_VERSION, .id = id };
	memcpy(q.magic, MIG_MAGIC, sizeof(q.magic));
	snprintf(q.name, sizeof(q.name), "%s", name);
	read_key(q.key);
	uint32_t type;
	char answer[sizeof(struct ct_err)] = "";
	int n = send_frame(fd, F_QUERY, &q, sizeof(q), NULL, 0) < 0 ? -1
		: recv_reply(fd, &type, answer, sizeof(answer), REPLY_TIMEOUT_MS, err);
	close(fd);
	if (n == 1 && type == F_DECISION && (answer[0] == D_COMMITTED || answer[0] == D_ABORTED))
		return answer[0];
	if (n >= 0)
		ct_fail(err, "failed", "%s answered the query with %u", dest, type);
	return 0;
}

static int send_description(const char *name, int sock, struct ct_err *err)
{
	int fd CLEANUP_FD = memfd_create("ct-description", MFD_CLOEXEC);
	if (fd < 0)
		return ct_fail_errno(err, "describing \"%s\"", name);
	if (container_describe(name, fd, err) < 0)
		return -1;
	off_t size = lseek(fd, 0, SEEK_CUR);
	unsigned char buf[PREPARE_MAX];
	if (size <= 0 || size > PREPARE_MAX || pread(fd, buf, (size_t)size, 0) != size)
		return ct_fail(err, "failed", "describing \"%s\": %lld bytes", name, (long long)size);
	if (send_frame(sock, F_PREPARE, buf, (uint32_t)size, NULL, 0) < 0)
		return ct_fail_errno(err, "sending the description of \"%s\"", name);
	return 0;
}

/* The destination hung up while we were sending: it may have said why (its build failed). */
static void peer_error(int sock, struct ct_err *err)
{
	uint32_t type;
	struct ct_err remote;
	if (recv_reply(sock, &type, &remote, sizeof(remote), 1000, NULL) == sizeof(remote) && type == F_ERROR) {
		remote.msg[sizeof(remote.msg) - 1] = 0;
		ct_fail(err, "failed", "the destination could not restore it: %s", remote.msg);
	}
}

/* When, on our clock, the container began to run on the destination: DONE's way back (half the
 * COMMIT -> DONE round trip less the time the destination held the COMMIT) and the time from its
 * thaw to its DONE, taken off the moment DONE came. Not before COMMIT left, whatever it says. */
static long long running_since(long long commit_sent, long long heard, const struct done_timing *t)
{
	long long round_trip = heard - commit_sent;
	if (!t || t->held_us > round_trip || t->running_us > t->held_us)
		return heard;   /* no timing (or none that fits): the DONE's arrival bounds it */
	long long back = (round_trip - t->held_us) / 2;
	return heard - back - t->running_us;
}

/* Called with the image sent and the source's tasks still held. */
static int decide(void *arg, struct ct_err *err)
{
	struct source *s = arg;
	phase(s, "restoring");
	uint32_t type;
	union { struct ct_err err; struct cr_report report; } reply;
	struct ct_err remote;
	long long image_sent = now_ms();
	s->report->dump_ms = image_sent - s->frozen_at / 1000;
	int n = recv_reply(s->sock, &type, &reply, sizeof(reply), RESTORE_TIMEOUT_MS, err);
	if (aborted(err) < 0 || n < 0)
		return -1;
	remote = reply.err;
	if (type == F_READY && n == sizeof(reply.report))
		s->report->restore_ms = reply.report.total_ms;
	s->report->ready_ms = now_ms() - image_sent;
	if (type == F_ERROR && n == sizeof(struct ct_err)) {
		remote.msg[sizeof(remote.msg) - 1] = 0;
		return ct_fail(err, "failed", "the destination could not restore it: %s", remote.msg);
	}
	if (type != F_READY)
		return ct_fail(err, "failed", "the destination answered %u instead of READY", type);
	if (aborted(err) < 0)
		return -1;
	/* Past this point the destination runs it once it has our COMMIT: ours must not resume unless
	 * we know it does not. */
	cr_trace("%lld migrate: ready\n", now_ms());
	phase(s, "committing");
	long long commit_sent = now_us();
	int len;
	if (send_frame(s->sock, F_COMMIT, NULL, 0, NULL, 0) == 0 &&
	    (len = recv_reply(s->sock, &type, &remote, sizeof(remote), DONE_TIMEOUT_MS, err)) >= 0 && type == F_DONE) {
		long long heard = now_us();
		struct done_timing t;
		memcpy(&t, &remote, sizeof(t));
		s->report->confirmed_ms = (heard - s->frozen_at) / 1000;
		s->report->frozen_ms = (running_since(commit_sent, heard, len == sizeof(t) ? &t : NULL) - s->frozen_at) / 1000;
		cr_trace("%lld migrate: done\n", now_ms());
		send_frame(s->sock, F_FORGET, NULL, 0, NULL, 0);   /* lost, it costs a stale symlink there */
		return 0;
	}
	/* The COMMIT or the DONE was lost: ask the destination, which sealed one answer for good. */
	phase(s, "in doubt: asking the destination");
	close(s->sock);
	s->sock = -1;
	char d = 0;
	for (long long end = now_ms() + RESOLVE_MS; !d && now_ms() < end; ) {
		d = migrate_query(s->dest, s->name, s->id, err);
		if (!d)
			sleep_ms(1000);
	}
	s->report->frozen_ms = s->report->confirmed_ms = (now_us() - s->frozen_at) / 1000;   /* not known better */
	if (d == D_COMMITTED)
		return 0;
	if (d == D_ABORTED)
		return ct_fail(err, "failed", "%s did not take the container (the commit never reached it): it runs here again",
			       s->dest);
	/* Kept with the container: ct migrate-resolve asks about this migration, not about the name
	 * (another container of that name may have arrived there since). */
	char path[256];
	config_path(s->name, MIGRATION_ID_FILE, path, sizeof(path));
	write_id(path, s->id, NULL);
	ct_fail(err, "in_doubt", "could not learn from %s whether it runs \"%s\" now: it stays frozen here until "
		"`ct migrate-resolve %s %s` (or --resume, if %s is gone for good)", s->dest, s->name, s->name, s->dest, s->dest);
	return CR_DECIDE_HOLD;
}

static void source_progress(const char *what, void *arg)
{
	struct source *s = arg;
	if (!strcmp(what, "freezing"))
		s->frozen_at = now_us();
	cr_trace("%lld migrate: %s\n", now_ms(), what);
	phase(s, what);
}

static int connect_to(const char *dest, struct ct_err *err)
{
	char host[128];
	int port = CT_MIGRATE_PORT;
	snprintf(host, sizeof(host), "%s", dest);
	char *colon = strchr(host, ':');
	if (colon) {
		*colon = 0;
		port = atoi(colon + 1);
		if (port <= 0 || port > 65535)
			return ct_fail(err, "invalid_argument", "bad port in \"%s\"", dest);
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
		if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
			return ct_fail(err, "invalid_argument", "unknown destination host \"%s\"", host);
		a.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ct_fail_errno(err, "socket");
	int one = 1, size = 1 << 20;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		ct_fail_errno(err, "connecting to %s", dest);
		close(fd);
		return -1;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	if (poll(&p, 1, CONNECT_TIMEOUT_MS) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
		errno = soerr ? soerr : ETIMEDOUT;
		ct_fail_errno(err, "connecting to %s port %d", host, port);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, 0);
	timeouts(fd);
	return fd;
}

static int migrate_once(const char *name, const char *dest, struct migrate_report *r, cr_progress_fn progress,
			void *arg, struct ct_err *err);

/* A frozen round refused for something passing (a request being served on a connection, one
 * waiting to be accepted) is tried again from the start: the container ran on meanwhile. */
#define MIG_ATTEMPTS 8

/* One migration per container at a time; its pid is where an abort is sent. */
static void migrating_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, CT_RUN_DIR "/%s.migrating", name);
}

static pid_t migrating_pid(const char *name)
{
	char path[256], text[24] = "";
	migrating_path(name, path, sizeof(path));
	if (read_file(path, text, sizeof(text)) <= 0)
		return 0;
	pid_t pid = (pid_t)atoi(text);
	return pid > 0 && kill(pid, 0) == 0 ? pid : 0;
}

static int register_migration(const char *name, struct ct_err *err)
{
	char path[256], text[24];
	migrating_path(name, path, sizeof(path));
	if (mkdir_p(CT_RUN_DIR, 0755, err) < 0)
		return -1;
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0) {
			int n = snprintf(text, sizeof(text), "%d\n", getpid());
			int rc = write_all(fd, text, (size_t)n);
			close(fd);
			return rc < 0 ? ct_fail_errno(err, "writing %s", path) : 0;
		}
		if (errno != EEXIST)
			return ct_fail_errno(err, "creating %s", path);
		if (migrating_pid(name))
			return ct_fail(err, "conflict", "a migration of \"%s\" is already under way", name);
		unlink(path);   /* left by a migration that died */
	}
	return ct_fail(err, "conflict", "a migration of \"%s\" is already under way", name);
}

int container_migrate_abort(const char *name, struct ct_err *err)
{
	pid_t pid = migrating_pid(name);
	if (!pid)
		return ct_fail(err, "state", "no migration of \"%s\" is under way", name);
	if (kill(pid, SIGUSR2) < 0)
		return ct_fail_errno(err, "asking the migration of \"%s\" to stop", name);
	return 0;
}

int container_migrate(const char *name, const char *dest, struct migrate_report *r, cr_progress_fn progress,
		      void *arg, struct ct_err *err)
{
	long long t0 = now_ms();
	memset(r, 0, sizeof(*r));
	if (config_require(name, err) < 0 || register_migration(name, err) < 0)
		return -1;
	struct sigaction sa = { .sa_handler = on_abort };   /* no SA_RESTART: a wait ends at once */
	sigaction(SIGUSR2, &sa, NULL);
	int rc = -1;
	for (int attempt = 0; attempt < MIG_ATTEMPTS; attempt++) {
		rc = aborted(err) < 0 ? -1 : migrate_once(name, dest, r, progress, arg, err);
		if (rc == 0 || strcmp(err->code, "busy"))
			break;
		if (progress)
			progress("retrying", arg);
		sleep_ms(50 + (int)(now_ms() % 200));   /* out of step with whatever keeps it busy */
	}
	char path[256];
	migrating_path(name, path, sizeof(path));
	unlink(path);
	r->total_ms = now_ms() - t0;
	return rc;
}

static int migrate_once(const char *name, const char *dest, struct migrate_report *r, cr_progress_fn progress,
			void *arg, struct ct_err *err)
{
	long long t0 = now_ms();
	memset(r, 0, sizeof(*r));
	if (config_require(name, err) < 0)
		return -1;
	if (container_state(name, NULL) != CT_RUNNING)
		return ct_fail(err, "state", "container \"%s\" is not running", name);
	if (container_refuse_frozen(name, err) < 0)   /* as container_dump would, before any pre-copy */
		return -1;
	struct source s = { .report = r, .progress = progress, .arg = arg, .dest = dest, .name = name };
	/* Unique, not secret: GRND_INSECURE does not wait for the kernel's random pool, which a host
	 * just restored from the saved state fills only seconds later (getrandom blocked ~2.5 s). */
	if (getrandom(&s.id, sizeof(s.id), GRND_INSECURE) != sizeof(s.id))
		return ct_fail_errno(err, "making a migration id");
	/* A destination that hangs up must give us an error, not kill us while we hold the container. */
	signal(SIGPIPE, SIG_IGN);
	phase(&s, "connecting");
	s.sock = connect_to(dest, err);
	if (s.sock < 0)
		return -1;
	int rc = -1;
	struct hello h = { .version = MIG_VERSION, .id = s.id };
	memcpy(h.magic, MIG_MAGIC, sizeof(h.magic));
	snprintf(h.name, sizeof(h.name), "%s", name);
	read_key(h.key);
	char mempath[256], memtext[32] = "";
	cgroup_path(name, "memory.current", mempath, sizeof(mempath));
	if (read_file(mempath, memtext, sizeof(memtext)) > 0)
		h.memory = strtoull(memtext, NULL, 10);
	uint32_t type;
	struct ct_err remote;
	if (send_frame(s.sock, F_HELLO, &h, sizeof(h), NULL, 0) < 0) {
		ct_fail_errno(err, "talking to %s", dest);
		goto out;
	}
	int n = recv_reply(s.sock, &type, &remote, sizeof(remote), REPLY_TIMEOUT_MS, err);
	if (n < 0)
		goto out;
	if (type != F_ACCEPT) {
		remote.msg[sizeof(remote.msg) - 1] = 0;
		ct_fail(err, "failed", "%s refused the container: %s", dest, type == F_ERROR ? remote.msg : "?");
		goto out;
	}
	/* The destination builds the container (cgroup, overlay, namespaces, veth, monitor) while the
	 * pre-copy runs, from a description: the frozen round then waits for none of that. */
	if (send_description(name, s.sock, err) < 0)
		goto out;
	/* Pre-copy while the container runs, until a round is small or stops shrinking. */
	for (uint32_t round = 0; round < MIG_MAX_ROUNDS - 1; round++) {
		char what[32];
		snprintf(what, sizeof(what), "pre-copy %u", round + 1);
		phase(&s, what);
		if (precopy_round(name, &s, err) < 0 || send_frame(s.sock, F_ROUND_END, &round, 4, NULL, 0) < 0) {
			if (!err->msg[0])
				ct_fail_errno(err, "sending memory to %s", dest);
			peer_error(s.sock, err);
			goto out;
		}
		r->round_bytes[round] = s.bytes;
		r->rounds = round + 1;
		snprintf(what, sizeof(what), "pre-copy %u: %llu bytes", round + 1, (unsigned long long)s.bytes);
		phase(&s, what);
		if (s.bytes < ROUND_ENOUGH || (round > 0 && s.bytes * 10 > r->round_bytes[round - 1] * 8))
			break;
	}
	/* Its copy there must stand (namespaces, network, overlay, monitor) before ours stops: the
	 * frozen round then waits for nothing of that. */
	phase(&s, "destination building");
	n = recv_reply(s.sock, &type, &remote, sizeof(remote), BUILT_TIMEOUT_MS, err);
	if (n < 0 || type != F_BUILT) {
		if (n < 0)
			aborted(err);   /* asked to stop: say so rather than "did not answer" */
		else if (type == F_ERROR) {
			remote.msg[sizeof(remote.msg) - 1] = 0;
			ct_fail(err, "failed", "the destination could not restore it: %s", remote.msg);
		} else {
			ct_fail(err, "failed", "%s answered %u instead of BUILT", dest, type);
		}
		send_frame(s.sock, F_ABORT, NULL, 0, NULL, 0);
		goto out;
	}
	/* The frozen round: a checkpoint into the socket, held until the destination runs it. */
	if (aborted(err) < 0) {
		send_frame(s.sock, F_ABORT, NULL, 0, NULL, 0);
		goto out;
	}
	if (send_frame(s.sock, F_IMAGE, NULL, 0, NULL, 0) < 0) {
		ct_fail_errno(err, "talking to %s", dest);
		goto out;
	}
	struct cr_page_sink sink = { final_run, &s };
	struct cr_dump_opts o = { .fd = s.sock, .decide = decide, .sink = &sink, .progress = source_progress, .arg = &s };
	rc = container_dump(name, &o, &r->dump, err);
	r->final_bytes = r->dump.image_bytes;
	r->pages_referenced = s.referenced;
	if (rc < 0)
		send_frame(s.sock, F_ABORT, NULL, 0, NULL, 0);
	/* It runs there now: nothing of it stays here (definition, files, log). */
	if (rc == 0) {
		phase(&s, "cleaning up");
		struct ct_err derr;
		if (container_destroy(name, true, &derr) < 0) {
			sleep_ms(500);   /* one more try: a monitor slow to let go of the rootfs */
			if (container_destroy(name, true, &derr) < 0)
				fprintf(stderr, "ct: \"%s\" runs on %s; its stopped copy here could not be removed: %s\n", name,
					dest, derr.msg);
		}
	}
out:
	if (s.sock >= 0)
		close(s.sock);
	free(s.table.slots);
	r->total_ms = now_ms() - t0;
	return rc;
}

int container_migrate_resolve(const char *name, const char *dest, bool resume, struct ct_err *err)
{
	if (config_require(name, err) < 0)
		return -1;
	{
		int lock CLEANUP_FD = container_lock(name, err);
		if (lock < 0)
			return -1;
		if (container_state(name, NULL) != CT_RUNNING || !cgroup_frozen(name))
			return ct_fail(err, "state", "container \"%s\" is not held by a migration in doubt", name);
	}
	char idpath[256];
	config_path(name, MIGRATION_ID_FILE, idpath, sizeof(idpath));
	uint64_t id = 0;
	if (!resume && !read_id(idpath, &id))
		return ct_fail(err, "state", "no record here of the migration that holds \"%s\": only --resume can let it go", name);
	char d = resume ? D_ABORTED : migrate_query(dest, name, id, err);
	if (!d)
		return -1;
	if (d == D_COMMITTED)
		return container_destroy(name, true, err) < 0 ? -1 : 1;
	char path[256];
	cgroup_path(name, "cgroup.freeze", path, sizeof(path));
	if (write_file(path, "0", err) < 0)
		return -1;
	unlink(idpath);
	return 0;
}
