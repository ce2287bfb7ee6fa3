#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cgroup.h"
#include "config.h"
#include "container.h"
#include "cr_mem.h"
#include "cr_task.h"
#include "hostnet.h"
#include "migrate.h"
#include "parse.h"
#include "util.h"

#define MIG_MAGIC "CTMIGR1"
#define MIG_DIR "/var/lib/ct-migrate"
#define ROUND_ENOUGH (64u << 10)      /* a pre-copy round this small: freeze now */
#define CONNECT_TIMEOUT_MS 5000
#define REPLY_TIMEOUT_MS 15000
#define RESTORE_TIMEOUT_MS 60000
#define COMMIT_TIMEOUT_MS 10000    /* the destination, READY sent, waits this long for COMMIT */
#define DONE_TIMEOUT_MS 5000       /* the source, COMMIT sent, waits this long for DONE */
#define RESOLVE_MS 20000           /* then keeps asking the destination this long what became of it */

enum { F_HELLO = 1, F_ACCEPT, F_ERROR, F_PAGES, F_ROUND_END, F_IMAGE, F_READY, F_COMMIT, F_ABORT, F_DONE,
       F_QUERY, F_DECISION, F_PREPARE, F_BUILT };

#define PREPARE_MAX 4096   /* a description: header, container record, empty log */
#define BUILT_TIMEOUT_MS 30000   /* the source, pre-copy done, waits this long for the destination's build */

/* The destination's answer to F_QUERY: what became of the container it was sent. */
enum { D_ABORTED = 'a', D_COMMITTED = 'c' };

/* Tests only: makes the destination lose the COMMIT ("lose-commit") or the DONE ("lose-done"), the
 * two messages whose loss leaves the source in doubt. */
#define MIG_FAULT_FILE CT_RUN_DIR "/migrate.fault"

struct frame { uint32_t type, len; };
struct hello {
	char magic[8];
	uint32_t version;
	char name[CT_NAME_MAX + 1];
	char key[65];
	uint64_t memory;   /* the container's memory.current: the destination must have room for it */
};

/* The cluster's migration key (hex), if the page gave this host one: a listener that has a key
 * accepts only peers that send the same, so a container on the network cannot push one in. */
#define MIG_KEY_FILE CT_RUN_DIR "/migrate.key"

static void read_key(char key[65])
{
	memset(key, 0, 65);
	if (read_file(MIG_KEY_FILE, key, 65) > 0)
		key[strcspn(key, "\n")] = 0;
}

int migrate_set_key(const char *key, struct ct_err *err)
{
	size_t n = strlen(key);
	if (n > 64 || strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return ct_fail(err, "invalid_argument", "a migration key is 1-64 of A-Z a-z 0-9 _ -");
	if (n == 0) {
		if (unlink(MIG_KEY_FILE) < 0 && errno != ENOENT)
			return ct_fail_errno(err, "removing %s", MIG_KEY_FILE);
		return 0;
	}
	if (mkdir_p(CT_RUN_DIR, 0755, err) < 0)
		return -1;
	mode_t old = umask(077);
	int rc = write_file_atomic(MIG_KEY_FILE, key, n, err);
	umask(old);
	return rc;
}

static bool same_key(const char *a, const char *b)
{
	unsigned char diff = 0;   /* constant time: the comparison says nothing about where they differ */
	for (int i = 0; i < 64; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* --- framing ----------------------------------------------------------------------------------- */

static int send_frame(int fd, uint32_t type, const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	/* One writev: with TCP_NODELAY, a header written alone would leave as a packet of its own. */
	struct frame f = { type, alen + blen };
	struct iovec v[3] = { { &f, sizeof(f) }, { (void *)a, alen }, { (void *)b, blen } };
	size_t left = sizeof(f) + alen + blen;
	int i = 0;
	while (left > 0) {
		ssize_t n = writev(fd, v + i, 3 - i);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= (size_t)n;
		for (; i < 3 && (size_t)n >= v[i].iov_len; i++)
			n -= (ssize_t)v[i].iov_len;
		if (i < 3) {
			v[i].iov_base = (char *)v[i].iov_base + n;
			v[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Set by SIGUSR2 (`ct migrate-abort`, agent op migrate_abort): the source gives up at the next
 * step before COMMIT; after it, the migration completes (there is nothing left to abort). */
static volatile sig_atomic_t abort_requested;

static void on_abort(int sig)
{
	(void)sig;
	abort_requested = 1;
}

static int aborted(struct ct_err *err)
{
	return abort_requested ? ct_fail(err, "aborted", "the migration was aborted: the container runs here on") : 0;
}

/* Reads exactly len bytes, giving up after timeout_ms of silence (or at once when aborted). */
static int read_timed(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR && abort_requested) {
			errno = ECANCELED;
			return -1;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n == 0 ? ECONNRESET : errno;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* A small frame (replies): its payload into buf. */
static int recv_reply(int fd, uint32_t *type, void *buf, uint32_t cap, int timeout_ms, struct ct_err *err)
{
	struct frame f;
	if (read_timed(fd, &f, sizeof(f), timeout_ms) < 0)
		return ct_fail_errno(err, "the migration peer did not answer");
	if (f.len > cap)
		return ct_fail(err, "failed", "the migration peer sent a malformed reply");
	if (f.len && read_timed(fd, buf, f.len, timeout_ms) < 0)
		return ct_fail_errno(err, "the migration peer did not answer");
	*type = f.type;
	return (int)f.len;
}

static void send_error(int fd, const struct ct_err *err)
{
	send_frame(fd, F_ERROR, err, sizeof(*err), NULL, 0);
}

/* --- page hashes: what the destination already holds --------------------------------------------- */

struct page_table {
	struct slot { uint64_t key, hash; } *slots;
	uint32_t cap, used;
};

static uint64_t page_hash(const unsigned char *p)
{
	/* FNV-1a over 32-bit words: a quarter of the multiplies of the bytewise one. */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < CR_PAGE; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	return h | 1;   /* never 0: 0 marks an empty slot's hash */
}

static uint64_t page_key(int32_t pid, uint32_t addr)
{
	return ((uint64_t)(uint32_t)pid << 32) | addr;
}

static struct slot *table_find(struct page_table *t, uint64_t key, bool insert)
{
	if (insert && (t->used + 1) * 2 > t->cap) {
		struct page_table bigger = { calloc(t->cap ? t->cap * 2 : 4096, sizeof(struct slot)), t->cap ? t->cap * 2 : 4096, 0 };
		if (!bigger.slots)
			return NULL;
		for (uint32_t i = 0; i < t->cap; i++)
			if (t->slots[i].hash) {
				struct slot *s = table_find(&bigger, t->slots[i].key, true);
				*s = t->slots[i];
			}
		free(t->slots);
		*t = bigger;
	}
	if (!t->cap)
		return NULL;
	for (uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ULL) >> 40) % t->cap;; i = (i + 1) % t->cap) {
		if (t->slots[i].hash && t->slots[i].key == key)
			return &t->slots[i];
		if (!t->slots[i].hash) {
			if (!insert)
				return NULL;
			t->slots[i].key = key;
			t->used++;
			return &t->slots[i];
		}
	}
}

/* --- the source ------------------------------------------------------------------------------------ */

struct source {
	int sock;
	const char *dest, *name;
	struct page_table table;
	uint64_t bytes;            /* this round */
	uint64_t referenced;
	bool send_failed;          /* the destination is unreachable: no further round makes sense */
	struct migrate_report *report;
	long long frozen_at;
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

/* The frozen round: pages the destination holds unchanged travel as references. */
static int final_run(void *ctx, struct cr_writer *w, int32_t pid, uint32_t addr, uint32_t npages,
		     const unsigned char *data, bool anon, struct ct_err *err)
{
	struct source *s = ctx;
	for (uint32_t k = 0; k < npages;) {
		const unsigned char *p = data + k * CR_PAGE;
		if (anon && cr_page_zero(p)) {   /* absent means zero */
			k++;
			continue;
		}
		struct slot *slot = table_find(&s->table, page_key(pid, addr + k * CR_PAGE), false);
		bool same = slot && slot->hash == page_hash(p);
		uint32_t l = k + 1;
		while (l < npages) {
			const unsigned char *q = data + l * CR_PAGE;
			if (anon && cr_page_zero(q))
				break;
			struct slot *o = table_find(&s->table, page_key(pid, addr + l * CR_PAGE), false);
			if ((o && o->hash == page_hash(q)) != same)
				break;
			l++;
		}
		if (cr_write_pages(w, same ? CR_REC_PAGES_REF : CR_REC_PAGES, pid, addr + k * CR_PAGE, l - k, p, err) < 0)
			return -1;
		if (same)
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

/* Asks dest what became of the container we sent it: D_COMMITTED, D_ABORTED, or 0 (no answer). */
static char migrate_query(const char *dest, const char *name, struct ct_err *err)
{
	int fd = connect_to(dest, err);
	if (fd < 0)
		return 0;
	struct hello q = { .version = 1 };
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

/* Called with the image sent and the source's tasks still held. */
static int decide(void *arg, struct ct_err *err)
{
	struct source *s = arg;
	phase(s, "restoring");
	uint32_t type;
	union { struct ct_err err; struct cr_report report; } reply;
	struct ct_err remote;
	long long image_sent = now_ms();
	s->report->dump_ms = image_sent - s->frozen_at;
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
	if (send_frame(s->sock, F_COMMIT, NULL, 0, NULL, 0) == 0 &&
	    recv_reply(s->sock, &type, &remote, sizeof(remote), DONE_TIMEOUT_MS, err) >= 0 && type == F_DONE) {
		s->report->frozen_ms = now_ms() - s->frozen_at;
		cr_trace("%lld migrate: done\n", now_ms());
		return 0;
	}
	/* The COMMIT or the DONE was lost: ask the destination, which sealed one answer for good. */
	phase(s, "in doubt: asking the destination");
	close(s->sock);
	s->sock = -1;
	char d = 0;
	for (long long end = now_ms() + RESOLVE_MS; !d && now_ms() < end; ) {
		d = migrate_query(s->dest, s->name, err);
		if (!d)
			sleep_ms(1000);
	}
	s->report->frozen_ms = now_ms() - s->frozen_at;
	if (d == D_COMMITTED)
		return 0;
	if (d == D_ABORTED)
		return ct_fail(err, "failed", "%s did not take the container (the commit never reached it): it runs here again",
			       s->dest);
	ct_fail(err, "in_doubt", "could not learn from %s whether it runs \"%s\" now: it stays frozen here until "
		"`ct migrate-resolve %s %s` (or --resume, if %s is gone for good)", s->dest, s->name, s->name, s->dest, s->dest);
	return CR_DECIDE_HOLD;
}

static void source_progress(const char *what, void *arg)
{
	struct source *s = arg;
	if (!strcmp(what, "freezing"))
		s->frozen_at = now_ms();
	cr_trace("%lld migrate: %s\n", now_ms(), what);
	phase(s, what);
}

/* A link that drops must end the migration, not hang it: TCP would retry for many minutes. */
static void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 10 };
	unsigned user_timeout = 10000;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
	/* A peer that vanishes while we wait for it (its tab closed) is noticed in ~5 s, not at the
	 * end of a long reply timeout: keepalive probes every second after 2 s of silence. */
	int on = 1, idle = 2, intvl = 1, cnt = 3;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
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
	struct source s = { .report = r, .progress = progress, .arg = arg, .dest = dest, .name = name };
	/* A destination that hangs up must give us an error, not kill us while we hold the container. */
	signal(SIGPIPE, SIG_IGN);
	phase(&s, "connecting");
	s.sock = connect_to(dest, err);
	if (s.sock < 0)
		return -1;
	int rc = -1;
	struct hello h = { .version = 1 };
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

static bool held_frozen(const char *name)
{
	char path[256], text[8] = "";
	cgroup_path(name, "cgroup.freeze", path, sizeof(path));
	return read_file(path, text, sizeof(text)) > 0 && text[0] == '1';
}

int container_migrate_resolve(const char *name, const char *dest, bool resume, struct ct_err *err)
{
	if (config_require(name, err) < 0)
		return -1;
	{
		int lock CLEANUP_FD = container_lock(name, err);
		if (lock < 0)
			return -1;
		if (container_state(name, NULL) != CT_RUNNING || !held_frozen(name))
			return ct_fail(err, "state", "container \"%s\" is not held by a migration in doubt", name);
	}
	char d = resume ? D_ABORTED : migrate_query(dest, name, err);
	if (!d)
		return -1;
	if (d == D_COMMITTED)
		return container_destroy(name, true, err) < 0 ? -1 : 1;
	char path[256];
	cgroup_path(name, "cgroup.freeze", path, sizeof(path));
	return write_file(path, "0", err) < 0 ? -1 : 0;
}

/* --- the destination ----------------------------------------------------------------------------- */

struct store {
	int fd;
	uint64_t size;
	struct page_table index;   /* key -> offset + 1 in the store file (as "hash") */
};

static int store_pages(struct store *st, const struct cr_pages *g, const unsigned char *data, struct ct_err *err)
{
	for (uint32_t i = 0; i < g->npages; i++) {
		struct slot *s = table_find(&st->index, page_key(g->pid, g->addr + i * CR_PAGE), true);
		if (!s)
			return ct_fail(err, "failed", "out of memory");
		uint64_t off = s->hash ? s->hash - 1 : st->size;
		if (pwrite(st->fd, data + (size_t)i * CR_PAGE, CR_PAGE, (off_t)off) != CR_PAGE)
			return ct_fail_errno(err, "storing pre-copied memory");
		if (!s->hash) {
			s->hash = off + 1;
			st->size += CR_PAGE;
		}
	}
	return 0;
}

/* The restore runs beside the receiving: a child builds the container from the image's head while
 * the source still dumps the processes, and takes them once the image is whole. */
struct restorer {
	pid_t pid;
	int built;      /* prepared: 'b' once the container stands; -1 once heard (or none) */
	int complete;   /* ['h' + the head's size, prepared,] 'y' when the image is whole; closed without: never */
	int result;
	bool prepared;  /* started from a description: it waits for the head too */
	bool head_given;
};

struct restore_result {
	int rc;
	struct cr_report report;
	struct ct_err err;
};

/* Without prepare_path: a restorer of the image at path, whose head (head_size bytes) is there. With
 * it: a restorer that builds the container from that description (prepare_size bytes) at once. */
static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

static int start_restorer(struct restorer *x, int sock, const char *name, const char *path, size_t head_size,
			  const char *prepare_path, struct ct_err *err)
{
	int complete[2], result[2], built[2] = { -1, -1 };
	if (prepare_path && pipe2(built, O_CLOEXEC) < 0)
		return ct_fail_errno(err, "pipe");
	if (pipe2(complete, O_CLOEXEC) < 0) {
		close_pair(built);
		return ct_fail_errno(err, "pipe");
	}
	if (pipe2(result, O_CLOEXEC) < 0) {
		close_pair(built);
		close_pair(complete);
		return ct_fail_errno(err, "pipe");
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	pid_t pid = fd < 0 ? -1 : fork();
	if (pid == 0) {
		/* Only the serving child speaks to the source: the socket must close when it does. */
		close(sock);
		close(complete[1]);
		close(result[0]);
		if (built[0] >= 0)
			close(built[0]);
		struct restore_result res = { 0 };
		int pfd = prepare_path ? open(prepare_path, O_RDONLY | O_CLOEXEC) : -1;
		if (prepare_path && pfd < 0)
			res.rc = ct_fail_errno(&res.err, "opening %s", prepare_path);
		else if (prepare_path)
			res.rc = container_restore_prepared(name, pfd, head_size, fd, complete[0], built[1], &res.report,
							    &res.err);
		else
			res.rc = container_restore_streamed(name, fd, head_size, complete[0], &res.report, &res.err);
		write_all(result[1], &res, sizeof(res));
		_exit(0);
	}
	int saved = errno;
	if (fd >= 0)
		close(fd);
	close(complete[0]);
	close(result[1]);
	if (pid < 0) {
		close_pair(built);
		close(complete[1]);
		close(result[0]);
		errno = saved;
		return ct_fail_errno(err, "starting the restore");
	}
	*x = (struct restorer){ pid, built[0], complete[1], result[0], prepare_path != NULL, false };
	if (built[1] >= 0)
		close(built[1]);
	return 0;
}

/* Tells the restorer whether the image is whole and waits for its outcome. */
static int finish_restorer(struct restorer *x, bool whole, struct restore_result *res)
{
	if (whole)
		write_all(x->complete, "y", 1);
	close(x->complete);
	struct pollfd p = { .fd = x->result, .events = POLLIN };
	int ok = poll(&p, 1, RESTORE_TIMEOUT_MS) > 0 && read_all(x->result, res, sizeof(*res)) == sizeof(*res);
	close(x->result);
	if (x->built >= 0)
		close(x->built);
	x->built = -1;
	if (!ok) {
		kill(x->pid, SIGKILL);
		ct_fail(&res->err, "failed", "the restore did not finish");
		res->rc = -1;
	}
	waitpid(x->pid, NULL, 0);
	x->pid = 0;
	return ok && res->rc == 0 ? 0 : -1;
}

static int give_head(struct restorer *x, int sock, const char *name, const char *path, uint64_t size,
		     struct ct_err *err)
{
	x->head_given = true;
	if (!x->pid)
		return start_restorer(x, sock, name, path, (size_t)size, NULL, err);
	unsigned char msg[1 + sizeof(uint64_t)] = { 'h' };
	memcpy(msg + 1, &size, sizeof(size));
	if (write_all(x->complete, msg, sizeof(msg)) == 0)
		return 0;
	/* It gave up before the head came: say why. */
	struct restore_result res = { .rc = -1 };
	finish_restorer(x, false, &res);
	if (!res.err.msg[0])
		ct_fail(&res.err, "failed", "the restore gave up before the image's head came");
	*err = res.err;
	return -1;
}

/* The frozen round arrives as many small records: read and written through buffers, each costs a
 * copy instead of a few syscalls (expensive in the emulator, and the source waits on every one). */
struct inbuf {
	int fd;
	size_t pos, len;
	unsigned char data[65536];
};

static int in_read(struct inbuf *b, void *dst, size_t n)
{
	unsigned char *d = dst;
	while (n > 0) {
		if (b->pos == b->len) {
			/* ACK at once while the image streams in: a delayed ACK stalls the source's window. */
			int one = 1;
			setsockopt(b->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
			struct pollfd p = { .fd = b->fd, .events = POLLIN };
			int r = poll(&p, 1, REPLY_TIMEOUT_MS);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				errno = r == 0 ? ETIMEDOUT : errno;
				return -1;
			}
			ssize_t got = read(b->fd, b->data, sizeof(b->data));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				errno = got == 0 ? ECONNRESET : errno;
				return -1;
			}
			b->pos = 0;
			b->len = (size_t)got;
		}
		size_t k = n < b->len - b->pos ? n : b->len - b->pos;
		memcpy(d, b->data + b->pos, k);
		b->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

struct outbuf {
	int fd;
	size_t used;
	unsigned char data[65536];
};

static int out_flush(struct outbuf *b)
{
	int rc = b->used ? write_all(b->fd, b->data, b->used) : 0;
	b->used = 0;
	return rc;
}

static int out_write(struct outbuf *b, const void *src, size_t n)
{
	if (b->used + n > sizeof(b->data) && out_flush(b) < 0)
		return -1;
	if (n >= sizeof(b->data))
		return write_all(b->fd, src, n);
	memcpy(b->data + b->used, src, n);
	b->used += n;
	return 0;
}

/* The head on disk, then to the restorer. */
static int flush_head(struct outbuf *out, struct restorer *x, int sock, const char *name, const char *path,
		      uint64_t written, struct ct_err *err)
{
	if (out_flush(out) < 0)
		return ct_fail_errno(err, "writing %s", path);
	return give_head(x, sock, name, path, written, err);
}

/* Receives the raw image after F_IMAGE, turning page references into pages, into path; starts the
 * restorer once the head is in. */
static int receive_image(int sock, struct store *st, const char *name, const char *path, struct restorer *x,
			 struct ct_err *err)
{
	static struct inbuf in;
	static struct outbuf out;
	in = (struct inbuf){ .fd = sock };
	out.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	out.used = 0;
	if (out.fd < 0)
		return ct_fail_errno(err, "creating %s", path);
	uint64_t written = sizeof(struct cr_header);
	int rc = -1;
	unsigned char *buf = NULL;
	struct cr_header h;
	if (in_read(&in, &h, sizeof(h)) < 0 || out_write(&out, &h, sizeof(h)) < 0) {
		ct_fail_errno(err, "receiving the image");
		goto out;
	}
	for (;;) {
		struct cr_rec rec;
		if (in_read(&in, &rec, sizeof(rec)) < 0) {
			ct_fail_errno(err, "receiving the image");
			goto out;
		}
		if (rec.len > CR_MAX_RECORD) {
			ct_fail(err, "bad_image", "the migration stream holds a record of %u bytes", rec.len);
			goto out;
		}
		if (!x->head_given && !cr_rec_in_head(rec.type)) {
			if (flush_head(&out, x, sock, name, path, written, err) < 0)
				goto out;
		} else if (x->head_given && cr_rec_in_head(rec.type)) {   /* the log included: one, and last in the head */
			ct_fail(err, "bad_image", "the migration stream has a %s record after its head", cr_rec_name(rec.type));
			goto out;
		}
		free(buf);
		buf = malloc((size_t)rec.len + 4);
		if (!buf || in_read(&in, buf, (size_t)rec.len + 4) < 0) {
			ct_fail_errno(err, "receiving the image");
			goto out;
		}
		if (rec.type == CR_REC_PAGES_REF && rec.len == sizeof(struct cr_pages)) {
			struct cr_pages g;
			memcpy(&g, buf, sizeof(g));
			if (g.npages == 0 || g.npages > CR_MAX_RECORD / CR_PAGE) {
				ct_fail(err, "bad_image", "a page reference is malformed");
				goto out;
			}
			struct cr_rec full = { CR_REC_PAGES, sizeof(g) + g.npages * CR_PAGE };
			uint32_t crc = cr_crc32(cr_crc32(0, &full, sizeof(full)), &g, sizeof(g));
			unsigned char *pages = malloc((size_t)g.npages * CR_PAGE);
			bool ok = pages != NULL;
			for (uint32_t i = 0; ok && i < g.npages; i++) {
				struct slot *s = table_find(&st->index, page_key(g.pid, g.addr + i * CR_PAGE), false);
				ok = s && pread(st->fd, pages + (size_t)i * CR_PAGE, CR_PAGE, (off_t)(s->hash - 1)) == CR_PAGE;
			}
			if (!ok) {
				free(pages);
				ct_fail(err, "bad_image", "the image refers to memory the pre-copy did not send");
				goto out;
			}
			crc = cr_crc32(crc, pages, (size_t)g.npages * CR_PAGE);
			/* The store's copy is no longer needed: give its memory back (the guest's disk is RAM). */
			for (uint32_t i = 0; i < g.npages; i++) {
				struct slot *s = table_find(&st->index, page_key(g.pid, g.addr + i * CR_PAGE), false);
				fallocate(st->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(s->hash - 1), CR_PAGE);
			}
			int w = out_write(&out, &full, sizeof(full)) < 0 || out_write(&out, &g, sizeof(g)) < 0 ||
				out_write(&out, pages, (size_t)g.npages * CR_PAGE) < 0 || out_write(&out, &crc, 4) < 0;
			written += sizeof(full) + full.len + 4;
			free(pages);
			if (w) {
				ct_fail_errno(err, "writing %s", path);
				goto out;
			}
			continue;
		}
		/* Checked here, as it streams in: the restore then reads the image without a second pass. */
		uint32_t crc = cr_crc32(cr_crc32(0, &rec, sizeof(rec)), buf, rec.len), stored;
		memcpy(&stored, buf + rec.len, 4);
		if (crc != stored) {
			ct_fail(err, "bad_image", "a %s record of the migration stream is corrupt", cr_rec_name(rec.type));
			goto out;
		}
		if (out_write(&out, &rec, sizeof(rec)) < 0 || out_write(&out, buf, (size_t)rec.len + 4) < 0) {
			ct_fail_errno(err, "writing %s", path);
			goto out;
		}
		written += sizeof(rec) + rec.len + 4;
		/* The log closes the head: the restore can start on it (or, built ahead, go on with it). */
		if (rec.type == CR_REC_LOG && !x->head_given && flush_head(&out, x, sock, name, path, written, err) < 0)
			goto out;
		if (rec.type == CR_REC_END)
			break;
	}
	/* The source says nothing more until we answer: anything here is not ours to keep. */
	if (in.pos != in.len)
		ct_fail(err, "bad_image", "the migration stream goes on after the image's end");
	else
		rc = out_flush(&out) < 0 ? ct_fail_errno(err, "writing %s", path) : 0;
out:
	free(buf);
	if (close(out.fd) < 0 && rc == 0)
		rc = ct_fail_errno(err, "writing %s", path);
	return rc;
}

static void set_frozen(const char *name, bool on)
{
	char path[256];
	cgroup_path(name, "cgroup.freeze", path, sizeof(path));
	write_file(path, on ? "1" : "0", NULL);
}

/* Seals what becomes of an arriving container, once: the first to make the link wins (a symlink is
 * made whole or not at all, and carries its answer). The serving child seals D_COMMITTED when the
 * COMMIT arrives; a query from a source in doubt, or a serving child giving up, seals D_ABORTED. */
static char seal(const char *name, char want)
{
	char path[320], target[2] = { want, 0 }, got[2] = "";
	snprintf(path, sizeof(path), MIG_DIR "/%s/decision", name);
	if (symlink(target, path) == 0)
		return want;
	if (errno != EEXIST || readlink(path, got, 1) != 1)
		return 0;
	return got[0];
}

static int arrival_lock(const char *name, int timeout_ms, struct ct_err *err)
{
	char path[256];
	snprintf(path, sizeof(path), CT_RUN_DIR "/%s.arriving", name);
	if (mkdir_p(CT_RUN_DIR, 0755, err) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);   /* kept open until we exit */
	if (fd < 0)
		return ct_fail_errno(err, "creating %s", path);
	for (long long end = now_ms() + timeout_ms; flock(fd, LOCK_EX | LOCK_NB) < 0;) {
		if (errno != EWOULDBLOCK || now_ms() > end)
			return ct_fail(err, "busy", "the last attempt to bring \"%s\" here is still being undone", name);
		sleep_ms(50);
	}
	return 0;
}

static void fault(char what[16])
{
	memset(what, 0, 16);
	if (read_file(MIG_FAULT_FILE, what, 16) > 0)
		what[strcspn(what, "\n")] = 0;
}

/* A source in doubt asks what became of NAME here. Whoever is bringing it here holds its arrival
 * lock until it has committed or given up: once the lock is ours, the decision it sealed (kept
 * after a commit, for this question) is the answer, with nothing left to race against. Without
 * one, the arrival never got as far as a decision: a copy here runs only if something else
 * started it, and one held frozen was never committed. */
#define QUERY_WAIT_MS 12000   /* an arrival waits at most COMMIT_TIMEOUT_MS for its COMMIT */

static void __attribute__((noreturn)) answer_query(int sock, const char *name)
{
	struct ct_err err = { "", "" };
	char d = 0, path[320];
	snprintf(path, sizeof(path), MIG_DIR "/%s/decision", name);
	if (arrival_lock(name, QUERY_WAIT_MS, &err) == 0 && readlink(path, &d, 1) != 1)
		d = config_exists(name) && container_state(name, NULL) == CT_RUNNING && !held_frozen(name) ? D_COMMITTED
													      : D_ABORTED;
	if (d == D_COMMITTED || d == D_ABORTED)
		send_frame(sock, F_DECISION, &d, 1, NULL, 0);
	else
		send_error(sock, &err);
	_exit(d ? 0 : 1);
}

/* After a commit: all but the decision goes (see answer_query). */
static void clear_arrival(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "decision")) {
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			remove_tree(path, NULL);
		}
	if (d)
		closedir(d);
}

/* Waits for the source's next frame; meanwhile a container built ahead may report that it stands
 * (F_BUILT to the source, which freezes only then) or that it failed (-2, err says why). */
static int wait_frame(int sock, struct restorer *x, struct ct_err *err)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = x->pid ? x->built : -1, .events = POLLIN } };
		int r = poll(p, 2, REPLY_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (p[1].revents) {
			char b = 0;
			ssize_t n = read(x->built, &b, 1);
			close(x->built);
			x->built = -1;
			if (n == 1 && b == 'b') {
				cr_trace("%lld serve: built\n", now_ms());
				if (send_frame(sock, F_BUILT, NULL, 0, NULL, 0) < 0)
					return -1;
			} else {
				struct restore_result res = { .rc = -1 };
				finish_restorer(x, false, &res);
				if (!res.err.msg[0])
					ct_fail(&res.err, "failed", "building the container failed");
				*err = res.err;
				return -2;
			}
		}
		if (p[0].revents)
			return 0;
	}
}

static void __attribute__((noreturn)) serve(int sock)
{
	signal(SIGPIPE, SIG_IGN);   /* a source that hangs up must not keep us from cleaning up */
	struct ct_err err = { "", "" };
	struct hello h;
	uint32_t type;
	char dir[256] = "", path[320];
	struct store st = { .fd = -1 };
	struct hostnet_announcer garp = { .fd = -1 };
	struct restorer x = { .built = -1 };
	bool restored = false;
	int n = recv_reply(sock, &type, &h, sizeof(h), REPLY_TIMEOUT_MS, &err);
	if (n != (int)sizeof(h) || (type != F_HELLO && type != F_QUERY) || memcmp(h.magic, MIG_MAGIC, sizeof(h.magic)) ||
	    h.version != 1) {
		ct_fail(&err, "invalid_argument", "not a ctlab migration (or another version)");
		goto fail;
	}
	h.name[CT_NAME_MAX] = 0;
	h.key[64] = 0;
	char key[65];
	read_key(key);
	if (key[0] && !same_key(key, h.key)) {
		ct_fail(&err, "permission", "the migration key does not match this host's");
		goto fail;
	}
	if (parse_container_name(h.name, &err) < 0)
		goto fail;
	if (type == F_QUERY)
		answer_query(sock, h.name);
	/* One arrival per name at a time: a source that gave up and tries again (a busy container)
	 * may find the last attempt still taking down what it began to build. Its lock goes with it. */
	if (arrival_lock(h.name, REPLY_TIMEOUT_MS, &err) < 0)
		goto fail;
	if (config_exists(h.name)) {
		ct_fail(&err, "exists", "a container named \"%s\" already exists here", h.name);
		goto fail;
	}
	/* Refused up front rather than met half-way: the pre-copied pages and the restored container
	 * each hold its memory for a while, and the host needs a margin to stay alive. */
	long long avail_kb = host_mem_available_kb();
	uint64_t need = 2 * h.memory + (16u << 20);
	if (avail_kb >= 0 && (uint64_t)avail_kb * 1024 < need) {
		ct_fail(&err, "failed", "not enough memory here: %lld MiB available, the container needs about %llu MiB",
			avail_kb / 1024, (unsigned long long)(need >> 20));
		goto fail;
	}
	snprintf(dir, sizeof(dir), MIG_DIR "/%s", h.name);
	remove_tree(dir, NULL);
	if (mkdir_p(dir, 0700, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/pages", dir);
	st.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (st.fd < 0) {
		ct_fail_errno(&err, "creating %s", path);
		goto fail;
	}
	if (send_frame(sock, F_ACCEPT, NULL, 0, NULL, 0) < 0)
		goto quiet;
	unsigned char *data = malloc(sizeof(struct cr_pages) + 256 * CR_PAGE);
	for (;;) {
		struct frame f;
		int w = wait_frame(sock, &x, &err);
		if (w == -2)
			goto fail;
		if (!data || w < 0 || read_timed(sock, &f, sizeof(f), REPLY_TIMEOUT_MS) < 0)
			goto quiet;   /* the source is gone: its copy runs on */
		if (f.type == F_IMAGE)
			break;
		if (f.type == F_ABORT)
			goto quiet;
		if (f.len > sizeof(struct cr_pages) + 256 * CR_PAGE || read_timed(sock, data, f.len, REPLY_TIMEOUT_MS) < 0)
			goto quiet;
		if (f.type == F_PREPARE && !x.pid) {
			/* Built now, while the pages come: see send_description. */
			char prepare[320], image[320];
			snprintf(prepare, sizeof(prepare), "%s/prepare", dir);
			snprintf(image, sizeof(image), "%s/" CR_IMAGE_FILE, dir);
			int pfd = f.len <= PREPARE_MAX ? open(prepare, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
			int ifd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			int w = pfd < 0 || ifd < 0 || write_all(pfd, data, f.len) < 0;
			if (pfd >= 0)
				close(pfd);
			if (ifd >= 0)
				close(ifd);
			if (w) {
				ct_fail_errno(&err, "keeping the description of \"%s\"", h.name);
				goto fail;
			}
			if (start_restorer(&x, sock, h.name, image, f.len, prepare, &err) < 0)
				goto fail;
		}
		if (f.type == F_PAGES) {
			struct cr_pages g;
			memcpy(&g, data, sizeof(g));
			if (f.len != sizeof(g) + (uint64_t)g.npages * CR_PAGE || (g.addr & (CR_PAGE - 1))) {
				ct_fail(&err, "bad_image", "a pre-copy frame is malformed");
				goto fail;
			}
			if (store_pages(&st, &g, data + sizeof(g), &err) < 0)
				goto fail;
		}
	}
	free(data);
	snprintf(path, sizeof(path), "%s/" CR_IMAGE_FILE, dir);
	cr_trace("%lld serve: image starts\n", now_ms());
	int received = receive_image(sock, &st, h.name, path, &x, &err);
	cr_trace("%lld serve: image received\n", now_ms());
	close(st.fd);
	st.fd = -1;
	snprintf(path, sizeof(path), "%s/pages", dir);
	unlink(path);
	bool started = x.pid != 0;
	struct restore_result res = { .rc = -1 };
	if (started && finish_restorer(&x, received == 0, &res) < 0 && received == 0)
		err = res.err;
	if (received == 0 && !started)
		ct_fail(&err, "bad_image", "the image holds no process");
	if (received < 0 || !started || res.rc < 0)
		goto fail;
	struct cr_report r = res.report;
	restored = true;
	/* Everything the commit needs is made now, while the source waits anyway. */
	struct ct_config c;
	pid_t init;
	if (config_load(h.name, &c, &err) < 0 || container_state(h.name, &init) != CT_RUNNING ||
	    (c.has_ip && hostnet_announcer_open(&garp, init, c.ip, &err) < 0)) {
		if (!err.msg[0])
			ct_fail(&err, "failed", "the restored container stopped");
		goto fail;
	}
	if (send_frame(sock, F_READY, &r, sizeof(r), NULL, 0) < 0)
		goto quiet;
	char lose[16];
	fault(lose);
	struct ct_err ignored;
	if (!strcmp(lose, "lose-commit")) {
		sleep_ms(COMMIT_TIMEOUT_MS);
		goto quiet;
	}
	if (recv_reply(sock, &type, &ignored, sizeof(ignored), COMMIT_TIMEOUT_MS, &err) < 0 || type != F_COMMIT)
		goto quiet;
	/* A source that gave up waiting may have asked meanwhile and been told "aborted". */
	if (seal(h.name, D_COMMITTED) != D_COMMITTED)
		goto quiet;
	cr_trace("%lld serve: commit\n", now_ms());
	container_link_up(h.name, NULL);
	set_frozen(h.name, false);
	if (garp.fd >= 0)
		hostnet_announce(&garp);
	if (!strcmp(lose, "lose-done"))
		shutdown(sock, SHUT_RDWR);
	else
		send_frame(sock, F_DONE, NULL, 0, NULL, 0);
	cr_trace("%lld serve: done\n", now_ms());
	/* Repeated for a frame lost on a busy link; the source no longer waits for these. */
	for (int i = 0; i < 2 && garp.fd >= 0; i++) {
		sleep_ms(20);
		hostnet_announce(&garp);
	}
	clear_arrival(dir);
	_exit(0);
fail:
	send_error(sock, &err);
	/* Closed with the source's pages unread, the socket would reset and could lose the error. */
	shutdown(sock, SHUT_WR);
	for (long long end = now_ms() + 2000; now_ms() < end;) {
		char sink[4096];
		struct pollfd p = { .fd = sock, .events = POLLIN };
		if (poll(&p, 1, 200) > 0 && read(sock, sink, sizeof(sink)) <= 0)
			break;
	}
quiet:
	/* Whatever went wrong, the source keeps (or takes back) the container: drop ours. A query
	 * answered from now on says aborted (the seal, then no directory and no container). */
	if (x.pid) {   /* one built ahead, still waiting for the image: it takes itself down */
		struct restore_result ignored;
		finish_restorer(&x, false, &ignored);
	}
	if (dir[0])
		seal(h.name, D_ABORTED);
	if (restored)
		container_destroy(h.name, true, NULL);
	if (dir[0])
		remove_tree(dir, NULL);
	_exit(1);
}

int migrate_listen(int port)
{
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 8) < 0) {
		fprintf(stderr, "ct: listening on port %d: %s\n", port, strerror(errno));
		return 1;
	}
	signal(SIGCHLD, SIG_IGN);   /* children reap themselves */
	protect_from_oom();
	for (;;) {
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "ct: accept: %s\n", strerror(errno));
			return 1;
		}
		int size = 1 << 20, one = 1;
		setsockopt(c, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		timeouts(c);
		pid_t child = fork();
		if (child == 0) {
			close(ls);
			signal(SIGCHLD, SIG_DFL);
			serve(c);
		}
		close(c);
	}
}
