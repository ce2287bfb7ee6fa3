/* The destination side of a live migration (see migrate.h): the listener, one serving child per
 * arrival — the container built ahead from a description, the pre-copied pages kept, the frozen
 * round received and restored, the commit — and the answers to a source in doubt. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cgroup.h"
#include "config.h"
#include "container.h"
#include "cr_task.h"
#include "hostnet.h"
#include "migrate_wire.h"
#include "parse.h"
#include "util.h"

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
	int built;      /* prepared: 'b' and its init once the container stands; -1 once heard (or none) */
	int complete;   /* 'h' + the head's size, then 'y' when the image is whole; closed without: never */
	int result;
	bool head_given;
};

struct restore_result {
	int rc;
	struct cr_report report;
	struct ct_err err;
};

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

/* A restorer that builds the container at once from its description (prepare_size bytes at
 * prepare_path), then restores it from the image arriving at path. */
static int start_restorer(struct restorer *x, int sock, const char *name, const char *path, const char *prepare_path,
			  size_t prepare_size, struct ct_err *err)
{
	int complete[2], result[2], built[2] = { -1, -1 };
	if (pipe2(built, O_CLOEXEC) < 0)
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
		close(built[0]);
		struct restore_result res = { 0 };
		int pfd = open(prepare_path, O_RDONLY | O_CLOEXEC);
		if (pfd < 0)
			res.rc = ct_fail_errno(&res.err, "opening %s", prepare_path);
		else
			res.rc = container_restore_prepared(name, pfd, prepare_size, fd, complete[0], built[1], &res.report,
							    &res.err);
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
	*x = (struct restorer){ pid, built[0], complete[1], result[0], false };
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

static int give_head(struct restorer *x, uint64_t size, struct ct_err *err)
{
	x->head_given = true;
	if (!x->pid)
		return ct_fail(err, "bad_image", "the image came before the container's description");
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
static int flush_head(struct outbuf *out, struct restorer *x, const char *path, uint64_t written, struct ct_err *err)
{
	if (out_flush(out) < 0)
		return ct_fail_errno(err, "writing %s", path);
	return give_head(x, written, err);
}

/* Receives the raw image after F_IMAGE, turning page references into pages, into path; tells the
 * restorer once the head is in. */
static int receive_image(int sock, struct store *st, const char *path, struct restorer *x, struct ct_err *err)
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
			if (flush_head(&out, x, path, written, err) < 0)
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
			unsigned char *pages = malloc((size_t)g.npages * CR_PAGE);
			bool ok = pages != NULL;
			/* Pages the pre-copy sent together sit together in the store: one read and one
			 * release per stretch of them. */
			for (uint32_t i = 0, j; ok && i < g.npages; i = j) {
				struct slot *s = table_find(&st->index, page_key(g.pid, g.addr + i * CR_PAGE), false);
				ok = s != NULL;
				off_t at = ok ? (off_t)(s->hash - 1) : 0;
				for (j = i + 1; ok && j < g.npages; j++) {
					struct slot *n = table_find(&st->index, page_key(g.pid, g.addr + j * CR_PAGE), false);
					if (!n || (off_t)(n->hash - 1) != at + (off_t)(j - i) * CR_PAGE)
						break;
				}
				size_t len = (size_t)(j - i) * CR_PAGE;
				ok = ok && pread(st->fd, pages + (size_t)i * CR_PAGE, len, at) == (ssize_t)len;
				/* The store's copy is no longer needed: give its memory back (the guest's disk is RAM). */
				if (ok)
					fallocate(st->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, (off_t)len);
			}
			if (!ok) {
				free(pages);
				ct_fail(err, "bad_image", "the image refers to memory the pre-copy did not send");
				goto out;
			}
			/* No checksum: the restore reads this image as checked (cr_image_parse_checked), and
			 * these pages did not come in this record (a CRC over them, unread, cost the frozen
			 * round ~3 instructions a byte). */
			uint32_t crc = 0;
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
		if (rec.type == CR_REC_LOG && !x->head_given && flush_head(&out, x, path, written, err) < 0)
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

/* What became of each migration that reached here, by its id (the source's random number): a
 * symlink MIG_DIR/decisions/ID to "c" or "a", for a source in doubt to ask about. By id, not by
 * name: another container of the same name may arrive, or be made, here later. */
static void decision_path(uint64_t id, char *path, size_t size)
{
	snprintf(path, size, MIG_DIR "/decisions/%016llx", (unsigned long long)id);
}

/* Seals what becomes of migration id, once: the first to make the link wins (a symlink is made
 * whole or not at all, and carries its answer) and the winner's answer is returned. The serving
 * child seals D_COMMITTED when the COMMIT arrives; a serving child giving up, or a question about
 * a migration that never decided here, seals D_ABORTED. */
static char seal(uint64_t id, char want)
{
	char path[320], target[2] = { want, 0 }, got[2] = "";
	decision_path(id, path, sizeof(path));
	/* The commit's seal is in the frozen window: the directory is made only the first time. */
	if (symlink(target, path) == 0 ||
	    (errno == ENOENT && mkdir_p(MIG_DIR "/decisions", 0700, NULL) == 0 && symlink(target, path) == 0))
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

static int open_announcer(const char *name, pid_t init, struct hostnet_announcer *garp, struct ct_err *err);

/* What a serving child does on COMMIT, for a copy whose serving child died past its seal: the
 * copy goes on the network and runs (it is the only one: its source, in doubt, asks and hears
 * "committed"). */
static void finish_commit(const char *name)
{
	pid_t init;
	struct hostnet_announcer garp = { .fd = -1 };
	if (container_state(name, &init) != CT_RUNNING)
		return;
	container_link_up(name, NULL);
	set_frozen(name, false);
	struct ct_err ignored;
	if (open_announcer(name, init, &garp, &ignored) == 0 && garp.fd >= 0) {
		hostnet_announce(&garp);
		close(garp.fd);
	}
}

/* With the arrival lock held: an earlier arrival of NAME that died (its directory is left, see
 * serve) is settled. Never decided, it is sealed aborted and its copy (restored and held frozen,
 * never let go: the container did not exist here before it) destroyed, so the name is free to
 * arrive again and a source asking hears "aborted" of a copy that will never run. Committed, its
 * copy is let go: the source gives its own up once it asks. */
static void undo_dead_arrival(const char *name)
{
	char dir[256], path[320];
	uint64_t id;
	snprintf(dir, sizeof(dir), MIG_DIR "/%s", name);
	if (access(dir, F_OK) < 0)
		return;
	snprintf(path, sizeof(path), "%s/id", dir);
	/* Without its id it died before accepting anything, let alone restoring. */
	char d = read_id(path, &id) ? seal(id, D_ABORTED) : 0;
	if (d && config_exists(name) && cgroup_frozen(name)) {
		if (d == D_ABORTED)
			container_destroy(name, true, NULL);
		else
			finish_commit(name);
	}
	remove_tree(dir, NULL);
}

/* After a serving child died (killed, or crashed: it exits 0 or 1 otherwise, its arrival
 * settled): every arrival whose lock is free is one nobody is bringing here any more. */
static void settle_dead_arrivals(void)
{
	DIR *d = opendir(MIG_DIR);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct ct_err ignored;
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "decisions") || parse_container_name(e->d_name, &ignored) < 0)
			continue;
		pid_t p = fork();   /* the lock goes with the process that took it */
		if (p == 0) {
			if (arrival_lock(e->d_name, 0, &ignored) == 0)
				undo_dead_arrival(e->d_name);
			_exit(0);
		}
		if (p > 0)
			waitpid(p, NULL, 0);
	}
	closedir(d);
}

/* A source in doubt asks what became of its migration (id) of NAME. Whoever is bringing NAME here
 * holds its arrival lock until it has committed or given up: once the lock is ours, the decision
 * sealed for that id is the answer, with nothing left to race against. No decision: that migration
 * never got as far here, and never will (sealed aborted now). */
#define QUERY_WAIT_MS 12000   /* an arrival waits at most COMMIT_TIMEOUT_MS for its COMMIT */

static void __attribute__((noreturn)) answer_query(int sock, const char *name, uint64_t id)
{
	struct ct_err err = { "", "" };
	char d = 0;
	if (arrival_lock(name, QUERY_WAIT_MS, &err) == 0) {
		undo_dead_arrival(name);
		d = seal(id, D_ABORTED);
		if (!d)
			ct_fail_errno(&err, "reading the decision of migration %016llx", (unsigned long long)id);
	}
	if (d == D_COMMITTED || d == D_ABORTED)
		send_frame(sock, F_DECISION, &d, 1, NULL, 0);
	else
		send_error(sock, &err);
	_exit(d ? 0 : 1);
}

/* Made as soon as the container stands, before the source freezes: the socket that announces the
 * container's address from its own eth0 once it runs here (nothing about it is left to the frozen
 * window but sendto). The same namespace holds the restored processes: the restore reuses the
 * built container's init. */
static int open_announcer(const char *name, pid_t init, struct hostnet_announcer *garp, struct ct_err *err)
{
	struct ct_config c;
	if (config_load(name, &c, err) < 0)
		return -1;
	return c.has_ip ? hostnet_announcer_open(garp, init, c.ip, err) : 0;
}

/* Waits for the source's next frame; meanwhile a container built ahead may report that it stands
 * (F_BUILT to the source, which freezes only then) or that it failed (-2, err says why). */
static int wait_frame(int sock, const char *name, struct restorer *x, struct hostnet_announcer *garp,
		      struct ct_err *err)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = x->pid ? x->built : -1, .events = POLLIN } };
		int r = poll(p, 2, REPLY_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (p[1].revents) {
			unsigned char b[1 + sizeof(pid_t)] = { 0 };
			pid_t init;
			ssize_t n = read(x->built, b, sizeof(b));
			close(x->built);
			x->built = -1;
			memcpy(&init, b + 1, sizeof(init));
			if (n == (ssize_t)sizeof(b) && b[0] == 'b') {
				cr_trace("%lld serve: built\n", now_ms());
				if (open_announcer(name, init, garp, err) < 0)
					return -2;
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
	    h.version != MIG_VERSION) {
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
		answer_query(sock, h.name, h.id);
	/* One arrival per name at a time: a source that gave up and tries again (a busy container)
	 * may find the last attempt still taking down what it began to build. Its lock goes with it. */
	if (arrival_lock(h.name, REPLY_TIMEOUT_MS, &err) < 0)
		goto fail;
	undo_dead_arrival(h.name);
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
	snprintf(path, sizeof(path), "%s/id", dir);
	if (mkdir_p(dir, 0700, &err) < 0 || write_id(path, h.id, &err) < 0)
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
		int w = wait_frame(sock, h.name, &x, &garp, &err);
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
			if (start_restorer(&x, sock, h.name, image, prepare, f.len, &err) < 0)
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
	int received = receive_image(sock, &st, path, &x, &err);
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
	char lose[16];
	fault(lose);
	if (!strcmp(lose, "crash-restored"))
		_exit(9);   /* tests: the serving child dies with the copy restored and held */
	if (container_state(h.name, NULL) != CT_RUNNING) {
		ct_fail(&err, "failed", "the restored container stopped");
		goto fail;
	}
	cr_trace("%lld serve: ready\n", now_ms());
	if (send_frame(sock, F_READY, &r, sizeof(r), NULL, 0) < 0)
		goto quiet;
	struct ct_err ignored;
	if (!strcmp(lose, "lose-commit")) {
		sleep_ms(COMMIT_TIMEOUT_MS);
		goto quiet;
	}
	if (recv_reply(sock, &type, &ignored, sizeof(ignored), COMMIT_TIMEOUT_MS, &err) < 0 || type != F_COMMIT)
		goto quiet;
	long long committed_at = now_us();
	/* A source that gave up waiting may have asked meanwhile and been told "aborted". */
	if (seal(h.id, D_COMMITTED) != D_COMMITTED)
		goto quiet;
	if (!strcmp(lose, "crash-committed"))
		_exit(9);   /* tests: the serving child dies with the commit sealed, the copy still held */
	cr_trace("%lld serve: commit\n", now_ms());
	container_link_up(h.name, NULL);
	set_frozen(h.name, false);
	long long running_at = now_us();
	cr_trace("%lld serve: thawed\n", now_ms());
	if (garp.fd >= 0)
		hostnet_announce(&garp);
	if (!strcmp(lose, "lose-done")) {
		shutdown(sock, SHUT_RDWR);
	} else {
		long long sent_at = now_us();
		struct done_timing t = { (uint32_t)(sent_at - committed_at), (uint32_t)(sent_at - running_at) };
		send_frame(sock, F_DONE, &t, sizeof(t), NULL, 0);
	}
	cr_trace("%lld serve: done\n", now_ms());
	/* Repeated for a frame lost on a busy link; the source no longer waits for these. */
	for (int i = 0; i < 2 && garp.fd >= 0; i++) {
		sleep_ms(20);
		hostnet_announce(&garp);
	}
	remove_tree(dir, NULL);
	/* The decision stays for a source that may ask about it, unless it says it never will. */
	if (recv_reply(sock, &type, &ignored, sizeof(ignored), FORGET_WAIT_MS, NULL) == 0 && type == F_FORGET) {
		decision_path(h.id, path, sizeof(path));
		unlink(path);
	}
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
		seal(h.id, D_ABORTED);
	if (restored)
		container_destroy(h.name, true, NULL);
	if (dir[0])
		remove_tree(dir, NULL);
	_exit(1);
}

static void child_ended(int sig)
{
	(void)sig;
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
	/* A child's end interrupts accept: reaped, and if it died its arrival is settled here. */
	struct sigaction sa = { .sa_handler = child_ended };
	sigaction(SIGCHLD, &sa, NULL);
	protect_from_oom();
	settle_dead_arrivals();   /* those of a listener before us */
	for (;;) {
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC), accept_errno = errno;
		bool died = false;
		for (int st; (waitpid(-1, &st, WNOHANG)) > 0;)
			died |= !WIFEXITED(st) || WEXITSTATUS(st) > 1;
		if (died)
			settle_dead_arrivals();
		if (c < 0) {
			errno = accept_errno;
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
