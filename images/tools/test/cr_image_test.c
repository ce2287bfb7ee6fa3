// sources: cr_image.c parse.c err.c
/* Host-side tests of the checkpoint image (cr_image.c), run under ASan and UBSan by run.sh.
 * A valid image is built as a list of records, written with the real writer and read back; then
 * it is damaged in every way we can think of (truncation, flipped bytes, bad header fields,
 * records that are well formed but contradict each other) and by a seeded mutation fuzzer.
 * Every parse reads a heap copy of exactly the image's size, so a read past the end stops the
 * run; a refusal must say "bad_image" with a message and leave nothing allocated, and a success
 * must leave an index whose every pointer, count and reference holds. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "cr_image.h"

#include "check.h"

static void die(const char *what)
{
	printf("FATAL %s\n%d passed, %d failed\n", what, passed, failed + 1);
	exit(1);
}

/* --- an image as a list of records, written by the real writer -------------------------------- */

#define MAXREC 64
#define ANY (-1)
#define FILE_AT 0x08048000u   /* text: 2 pages of /bin/busybox */
#define ANON_AT 0x08050000u   /* heap: 2 anonymous pages, the second one saved */
#define VDSO_AT 0xb7fff000u

struct rec { uint32_t type, fixed, len; unsigned char *p; };   /* payload: fixed part, then tail */
struct recs { struct cr_header h; struct rec r[MAXREC]; int n; };
struct buf { unsigned char *p; size_t len; };

static void *add_at(struct recs *l, int at, uint32_t type, const void *fixed, uint32_t flen,
		    const void *tail, uint32_t tlen)
{
	if (l->n == MAXREC)
		die("too many records in a test image");
	memmove(&l->r[at + 1], &l->r[at], (l->n - at) * sizeof(l->r[0]));
	l->n++;
	struct rec *r = &l->r[at];
	*r = (struct rec){ type, flen, flen + tlen, calloc(1, flen + tlen + 4) };
	if (flen)
		memcpy(r->p, fixed, flen);
	if (tlen)
		memcpy(r->p + flen, tail, tlen);
	return r->p;
}

static void *add(struct recs *l, uint32_t type, const void *fixed, uint32_t flen, const void *tail, uint32_t tlen)
{
	return add_at(l, l->n, type, fixed, flen, tail, tlen);
}

static void drop(struct recs *l, int i)
{
	free(l->r[i].p);
	memmove(&l->r[i], &l->r[i + 1], (l->n - i - 1) * sizeof(l->r[0]));
	l->n--;
}

/* Index of the nth record of a type whose first field (pid, file id, pipe id) is key, or ANY. */
static int find(const struct recs *l, uint32_t type, int64_t key, int nth)
{
	for (int i = 0; i < l->n; i++) {
		int32_t first = 0;
		memcpy(&first, l->r[i].p, sizeof(first));   /* payloads have 4 spare bytes */
		if (l->r[i].type == type && (key == ANY || first == key) && nth-- == 0)
			return i;
	}
	die("no such record in the test image");
	return -1;
}

#define REC(type, T, key, nth) ((T *)l->r[find(l, type, key, nth)].p)
#define PROC(pid) REC(CR_REC_PROC, struct cr_proc, pid, 0)
#define VMA(pid, n) REC(CR_REC_VMA, struct cr_vma, pid, n)
#define FD(pid, n) REC(CR_REC_FD, struct cr_fd, pid, n)
#define PAGES(pid) REC(CR_REC_PAGES, struct cr_pages, pid, 0)
#define FILEREC(id) REC(CR_REC_FILE, struct cr_file, id, 0)
#define CONTAINER() REC(CR_REC_CONTAINER, struct cr_container, ANY, 0)
#define FSENTRY(n) REC(CR_REC_FSENTRY, struct cr_fsentry, ANY, n)

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + 3); }

static void add_vma(struct recs *l, int32_t pid, uint32_t start, uint32_t pages, uint32_t kind, uint32_t prot, const char *path)
{
	struct cr_vma v = { .pid = pid, .start = start, .end = start + pages * CR_PAGE, .prot = prot, .kind = kind };
	strcpy(v.path, path);
	add(l, CR_REC_VMA, &v, sizeof(v), NULL, 0);
}

/* A process; a running one also gets its three memory areas: heap (anon), text (file), vDSO. */
static void add_proc(struct recs *l, int32_t pid, int32_t ppid, uint32_t state, uint32_t nfds, uint32_t nsiginfo)
{
	static struct cr_proc q;
	memset(&q, 0, sizeof(q));
	q.pid = pid, q.ppid = ppid, q.pgid = pid, q.sid = 1, q.state = state, q.umask = 022;
	strcpy(q.comm, pid == 1 ? "init" : "httpd");
	strcpy(q.exe, "/bin/busybox");
	strcpy(q.cwd, "/");
	q.regs.eip = FILE_AT + 0x100, q.regs.esp = ANON_AT + 0x1ff0;
	q.nvmas = state == CR_PROC_RUNNING ? 3 : 0, q.nfds = nfds, q.nsiginfo = nsiginfo;
	add(l, CR_REC_PROC, &q, sizeof(q), NULL, 0);
	if (state != CR_PROC_RUNNING)
		return;
	add_vma(l, pid, ANON_AT, 2, CR_VMA_ANON, 3, "");
	add_vma(l, pid, FILE_AT, 2, CR_VMA_FILE, 5, "/bin/busybox");
	add_vma(l, pid, VDSO_AT, 1, CR_VMA_VDSO, 5, "[vdso]");
}

static void add_fd(struct recs *l, int32_t pid, int32_t fd, uint32_t file_id)
{
	struct cr_fd d = { pid, fd, file_id, 0 };
	add(l, CR_REC_FD, &d, sizeof(d), NULL, 0);
}

static void add_file(struct recs *l, uint32_t id, uint32_t kind, uint32_t flags, uint32_t pipe_id, const char *path)
{
	struct cr_file f = { .id = id, .kind = kind, .flags = flags, .pipe_id = pipe_id,
			     .pipe_size = kind == CR_FILE_PIPE ? 65536 : 0, .pos = 123 };
	strcpy(f.path, path);
	add(l, CR_REC_FILE, &f, sizeof(f), NULL, 0);
}

/* A page run that says npages but carries data_pages pages of data. */
static void add_pages(struct recs *l, int at, int32_t pid, uint32_t addr, uint32_t npages, uint32_t data_pages)
{
	struct cr_pages g = { pid, addr, npages };
	unsigned char *data = malloc(data_pages * CR_PAGE + 1);
	for (size_t i = 0; i < data_pages * CR_PAGE; i++)
		data[i] = pattern(i);
	add_at(l, at, CR_REC_PAGES, &g, sizeof(g), data, data_pages * CR_PAGE);
	free(data);
}

static void add_fsentry(struct recs *l, uint32_t type, const char *path, const char *data, uint32_t size)
{
	struct cr_fsentry e = { .root = CR_FS_UPPER, .type = type, .mode = type == CR_FS_DIR ? 0755 : 0644,
				.mtime = 1700000000, .size = size };
	strcpy(e.path, path);
	add(l, CR_REC_FSENTRY, &e, sizeof(e), data, size);
}

/* Container "web" with init (pid 1: console on 0-2, a saved heap page, a pending SIGUSR1) and
 * pid 5 (both ends of pipe 7, which holds "hello", and a log file), four overlay entries, a log. */
static void valid_image(struct recs *l)
{
	memset(l, 0, sizeof(*l));
	strcpy(l->h.kernel, "6.6.8-ctlab #1 SMP PREEMPT_DYNAMIC");
	strcpy(l->h.cpu, "GenuineIntel 6/85/7 f00d");
	l->h.created_ms = 1700000000123ull;
	struct cr_container c = { .ip = 0x0a00000a, .prefix = 24, .memory = 64 << 20, .pids = -1, .cpu_quota = -1,
				  .created = 1700000000, .mono_ns = 5000000000, .boot_ns = 6000000000,
				  .console_pgrp = 1, .nprocs = 2 };
	strcpy(c.name, "web");
	strcpy(c.template_name, "alpine");
	strcpy(c.hostname, "web");
	add(l, CR_REC_CONTAINER, &c, sizeof(c), NULL, 0);
	add_file(l, 1, CR_FILE_CONSOLE, O_RDWR, 0, "");
	add_file(l, 2, CR_FILE_PIPE, O_RDONLY, 7, "");
	add_file(l, 3, CR_FILE_PIPE, O_WRONLY, 7, "");
	add_file(l, 4, CR_FILE_REG, O_WRONLY | O_APPEND, 0, "/var/log/web.log");
	struct cr_pipe_data pd = { 7, 0, 5 };
	add(l, CR_REC_PIPE_DATA, &pd, sizeof(pd), "hello", 5);
	add_proc(l, 1, 0, CR_PROC_RUNNING, 3, 1);
	for (int fd = 0; fd < 3; fd++)
		add_fd(l, 1, fd, 1);
	add_pages(l, l->n, 1, ANON_AT + CR_PAGE, 1, 1);
	struct cr_siginfo si = { .pid = 1, .shared = 1, .info = { 10 } };   /* si_signo = SIGUSR1 */
	add(l, CR_REC_SIGINFO, &si, sizeof(si), NULL, 0);
	add_proc(l, 5, 1, CR_PROC_RUNNING, 3, 0);
	add_fd(l, 5, 3, 2);
	add_fd(l, 5, 4, 3);
	add_fd(l, 5, 5, 4);
	add_fsentry(l, CR_FS_DIR, "etc", NULL, 0);
	add_fsentry(l, CR_FS_REG, "etc/motd", "welcome\n", 8);
	add_fsentry(l, CR_FS_SYMLINK, "etc/localtime", "/usr/share/zoneinfo/UTC", 23);
	add_fsentry(l, CR_FS_WHITEOUT, "etc/issue", NULL, 0);
	add(l, CR_REC_LOG, NULL, 0, "booted\n", 7);
}

/* Writes the records through the writer into a memfd (records with a tail in three pieces) and reads it back. */
static struct buf write_image(struct recs *l)
{
	struct ct_err e = { "", "" };
	struct cr_writer w;
	int fd = memfd_create("cr_image_test", 0);
	if (fd < 0 || cr_writer_open(&w, fd, &l->h, &e) < 0)
		die("cannot open the writer");
	bool ok = true;
	for (int i = 0; ok && i < l->n; i++) {
		const struct rec *r = &l->r[i];
		if (r->fixed == r->len)
			ok = cr_write_record(&w, r->type, r->p, r->len, &e) == 0;
		else
			ok = cr_record_begin(&w, r->type, r->len, &e) == 0 && cr_record_data(&w, r->p, r->fixed, &e) == 0 &&
			     cr_record_data(&w, r->p + r->fixed, r->len - r->fixed, &e) == 0;
	}
	if (!ok || cr_writer_finish(&w, &e) < 0) {
		printf("     writer: %s\n", e.msg);
		die("the writer failed");
	}
	struct buf b = { NULL, (size_t)lseek(fd, 0, SEEK_END) };
	b.p = malloc(b.len);
	if (pread(fd, b.p, b.len, 0) != (ssize_t)b.len)
		die("cannot read the image back");
	close(fd);
	return b;
}

/* --- parsing, and what a parse promises --------------------------------------------------------- */

static bool inside(const struct cr_image *img, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)img->data;
	return p && a >= base && a - base <= img->size && len <= img->size - (a - base);
}

/* Re-checks a successful parse from the outside; NULL if all holds, else what does not. */
static const char *inconsistency(const struct cr_image *img)
{
	const struct cr_container *c = img->container;
	if (!inside(img, c, sizeof(*c)) || img->nprocs != c->nprocs || !memchr(c->name, 0, sizeof(c->name)))
		return "container";
	const struct cr_proc_index *init = cr_image_proc(img, 1);
	if (!init || init->proc->ppid != 0)
		return "no init";
	uint64_t page_bytes = 0;
	for (uint32_t i = 0; i < img->nprocs; i++) {
		const struct cr_proc_index *x = &img->procs[i];
		const struct cr_proc *q = x->proc;
		if (!inside(img, q, sizeof(*q)) || cr_image_proc(img, q->pid) != x)
			return "process pointer or duplicate pid";
		if (x->nvmas != q->nvmas || x->nfds != q->nfds || x->nsiginfo != q->nsiginfo)
			return "record counts";
		const struct cr_proc *up = q;
		for (uint32_t steps = 0; up->pid != 1; steps++) {
			const struct cr_proc_index *parent = cr_image_proc(img, up->ppid);
			if (!parent || steps > img->nprocs)
				return "parent chain";
			up = parent->proc;
		}
		int vdso = 0;
		for (uint32_t j = 0; j < x->nvmas; j++) {
			const struct cr_vma *v = x->vmas[j];
			if (!inside(img, v, sizeof(*v)) || v->pid != q->pid || v->start >= v->end ||
			    (j > 0 && v->start < x->vmas[j - 1]->end))
				return "memory areas";
			vdso += v->kind == CR_VMA_VDSO;
		}
		if (q->state == CR_PROC_RUNNING && vdso != 1)
			return "vDSO";
		for (uint32_t j = 0; j < x->nfds; j++)
			if (!inside(img, x->fds[j], sizeof(struct cr_fd)) || x->fds[j]->pid != q->pid ||
			    !cr_image_file(img, x->fds[j]->file_id))
				return "fd";
		for (uint32_t j = 0; j < x->nsiginfo; j++)
			if (!inside(img, x->siginfo[j], sizeof(struct cr_siginfo)) || x->siginfo[j]->pid != q->pid)
				return "siginfo";
		for (uint32_t j = 0; j < x->npages; j++) {
			const struct cr_pages *g = x->pages[j];
			uint64_t len = (uint64_t)g->npages * CR_PAGE;
			bool in_vma = false;
			for (uint32_t k = 0; k < x->nvmas; k++)
				in_vma |= x->vmas[k]->start <= g->addr && g->addr + len <= x->vmas[k]->end;
			if (!inside(img, g, sizeof(*g) + len) || g->pid != q->pid || !in_vma)
				return "pages";
			page_bytes += len;
		}
	}
	if (page_bytes != img->page_bytes)
		return "page_bytes";
	for (uint32_t i = 0; i < img->nfiles; i++)
		if (!inside(img, img->files[i], sizeof(struct cr_file)))
			return "file";
	for (uint32_t i = 0; i < img->npipe_data; i++)
		if (!inside(img, img->pipe_data[i], sizeof(struct cr_pipe_data) + img->pipe_data[i]->len))
			return "pipe data";
	for (uint32_t i = 0; i < img->nfsentries; i++)
		if (!inside(img, img->fsentries[i], sizeof(struct cr_fsentry) + img->fsentries[i]->size))
			return "fs entry";
	if (img->log_len && !inside(img, img->log, img->log_len))
		return "log";
	return NULL;
}

enum outcome { ACCEPTED, REFUSED, WRONG };
static char last_msg[256];
static const char *last_wrong;

/* Parses a heap copy of exactly n bytes. A success must be consistent (and is freed here); a
 * failure must have code bad_image, a message and leave img empty. */
static enum outcome parse_copy(const unsigned char *p, size_t n)
{
	unsigned char *copy = malloc(n ? n : 1);
	if (n)
		memcpy(copy, p, n);
	struct cr_image img;
	struct ct_err e = { "", "" };
	enum outcome out;
	if (cr_image_parse(&img, copy, n, &e) == 0) {
		last_wrong = inconsistency(&img);
		out = last_wrong ? WRONG : ACCEPTED;
		cr_image_free(&img);
	} else {
		memcpy(last_msg, e.msg, sizeof(last_msg));
		bool ok = !strcmp(e.code, "bad_image") && e.msg[0] && !img.procs && !img.files && !img.pipe_data &&
			  !img.fsentries && !img.nprocs;
		last_wrong = ok ? NULL : "a refusal without bad_image, a message, or with something left in the image";
		out = ok ? REFUSED : WRONG;
	}
	free(copy);
	return out;
}

/* Must be refused, with needle (if any) in the message so we know which check caught it. */
static void expect_bad_bytes(const unsigned char *p, size_t n, const char *what, const char *needle)
{
	enum outcome o = parse_copy(p, n);
	check(o == REFUSED && (!needle || strstr(last_msg, needle)), "%s: refused (%s)", what,
	      o == REFUSED ? last_msg : o == ACCEPTED ? "accepted!" : last_wrong);
}

static void expect_bad(struct recs *l, const char *what, const char *needle)
{
	struct buf b = write_image(l);
	expect_bad_bytes(b.p, b.len, what, needle);
	free(b.p);
}

/* --- the tests ---------------------------------------------------------------------------------- */

static void test_crc_and_writer(void)
{
	check(cr_crc32(0, "123456789", 9) == 0xcbf43926u, "CRC-32 check value");
	/* The word-at-a-time CRC against the bitwise definition: every start alignment, lengths with
	 * every remainder, and split into two calls anywhere. */
	unsigned char data[300];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	int wrong = 0;
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; off + n <= sizeof(data); n += 13) {
			uint32_t ref = ~0u;
			for (size_t i = 0; i < n; i++) {
				ref ^= data[off + i];
				for (int k = 0; k < 8; k++)
					ref = ref & 1 ? 0xedb88320u ^ (ref >> 1) : ref >> 1;
			}
			ref = ~ref;
			wrong += cr_crc32(0, data + off, n) != ref;
			wrong += cr_crc32(cr_crc32(0, data + off, n / 3), data + off + n / 3, n - n / 3) != ref;
		}
	check(wrong == 0, "CRC-32 by words equals the bitwise definition at every alignment and split");
	check(!strcmp(cr_rec_name(CR_REC_PAGES), "pages") && !strcmp(cr_rec_name(0), "unknown") &&
	      !strcmp(cr_rec_name(CR_REC_MAX), "unknown") && !strcmp(cr_rec_name(0xffffffffu), "unknown"), "record names");
	struct cr_header h = { .created_ms = 1 };
	struct cr_writer w;
	struct ct_err e = { "", "" };
	int fd = open("/dev/null", O_RDONLY);   /* writes fail with EBADF, but only when flushed */
	check(cr_writer_open(&w, fd, &h, &e) == 0 && cr_record_begin(&w, CR_REC_LOG, 4, &e) == 0 &&
	      cr_record_data(&w, "abcde", 5, &e) < 0 && !strcmp(e.code, "failed"), "writer: record overrun refused");
	check(cr_record_begin(&w, CR_REC_LOG, 1, &e) < 0 && e.msg[0], "writer: a record begun inside another refused");
	cr_writer_abort(&w);
	check(cr_writer_open(&w, fd, &h, &e) == 0 && cr_record_begin(&w, CR_REC_PAGES, CR_MAX_RECORD + 1, &e) < 0,
	      "writer: an oversized record refused");
	check(cr_writer_finish(&w, &e) < 0 && !strcmp(e.code, "failed") &&
	      strstr(e.msg, "writing the image") && !w.buf, "writer: a failed flush is reported and the buffer freed");
	close(fd);
}

static void test_valid(const struct buf *b)
{
	struct cr_image img;
	struct ct_err e = { "", "" };
	check(parse_copy(b->p, b->len) == ACCEPTED, "the valid image (%zu bytes) parses into a consistent index", b->len);
	if (!check(cr_image_parse(&img, b->p, b->len, &e) == 0, "the valid image parses in place%s%s", e.msg[0] ? ": " : "", e.msg))
		return;
	const struct cr_container *c = img.container;
	check(img.data == b->p && img.size == b->len && img.header.version == CR_FORMAT_VERSION &&
	      img.header.arch == CR_ARCH_I386 && !strcmp(img.header.cpu, "GenuineIntel 6/85/7 f00d") &&
	      img.header.created_ms == 1700000000123ull, "header read back");
	check(!strcmp(c->name, "web") && !strcmp(c->hostname, "web") && !strcmp(c->template_name, "alpine") &&
	      c->nprocs == 2 && c->memory == 64 << 20 && c->pids == -1 && c->boot_ns == 6000000000, "container record");
	check(img.nprocs == 2 && img.nfiles == 4 && img.npipe_data == 1 && img.nfsentries == 4 && img.page_bytes == CR_PAGE,
	      "counts: %u processes, %u files, %u pipe data, %u fs entries, %llu page bytes", img.nprocs, img.nfiles,
	      img.npipe_data, img.nfsentries, (unsigned long long)img.page_bytes);
	const struct cr_proc_index *init = cr_image_proc(&img, 1), *web = cr_image_proc(&img, 5);
	check(init && web && !cr_image_proc(&img, 0) && !cr_image_proc(&img, 2) && !cr_image_proc(&img, -1), "process lookup");
	if (!init || !web) {
		cr_image_free(&img);
		return;
	}
	check(init->nvmas == 3 && init->nfds == 3 && init->nsiginfo == 1 && init->npages == 1 && !strcmp(init->proc->comm, "init"),
	      "init: 3 areas, 3 fds, 1 signal, 1 page run");
	check(web->nvmas == 3 && web->nfds == 3 && web->nsiginfo == 0 && web->npages == 0 && web->proc->ppid == 1,
	      "pid 5: 3 areas, 3 fds, child of init");
	check(init->vmas[0]->start == FILE_AT && init->vmas[0]->kind == CR_VMA_FILE && !strcmp(init->vmas[0]->path, "/bin/busybox") &&
	      init->vmas[1]->start == ANON_AT && init->vmas[2]->kind == CR_VMA_VDSO, "memory areas sorted by address");
	const struct cr_pages *g = init->pages[0];
	const unsigned char *data = cr_after(g, sizeof(*g));
	bool same = g->addr == ANON_AT + CR_PAGE && g->npages == 1;
	for (size_t i = 0; i < CR_PAGE; i++)
		same = same && data[i] == pattern(i);
	check(same, "page run: address and contents");
	int32_t signo;
	memcpy(&signo, init->siginfo[0]->info, sizeof(signo));
	check(signo == 10 && init->siginfo[0]->shared == 1, "pending signal");
	const struct cr_file *con = cr_image_file(&img, init->fds[2]->file_id);
	check(con && con->kind == CR_FILE_CONSOLE && init->fds[2]->fd == 2, "init's fd 2 is the console");
	const struct cr_file *rd = cr_image_file(&img, web->fds[0]->file_id), *wr = cr_image_file(&img, web->fds[1]->file_id);
	check(rd && wr && rd != wr && rd->kind == CR_FILE_PIPE && wr->kind == CR_FILE_PIPE && rd->pipe_id == 7 &&
	      wr->pipe_id == 7 && rd->flags == O_RDONLY && wr->flags == O_WRONLY, "pid 5's fds 3 and 4: the two ends of pipe 7");
	const struct cr_file *log = cr_image_file(&img, web->fds[2]->file_id);
	check(log && !strcmp(log->path, "/var/log/web.log") && log->pos == 123 && !cr_image_file(&img, 99), "regular file and file lookup");
	const struct cr_pipe_data *pd = img.pipe_data[0];
	check(pd->pipe_id == 7 && pd->len == 5 && !memcmp(cr_after(pd, sizeof(*pd)), "hello", 5), "pipe data");
	const struct cr_fsentry *const *fs = img.fsentries;
	check(fs[0]->type == CR_FS_DIR && !strcmp(fs[0]->path, "etc") && fs[1]->type == CR_FS_REG && fs[1]->size == 8 &&
	      !memcmp(cr_after(fs[1], sizeof(*fs[1])), "welcome\n", 8) && fs[2]->type == CR_FS_SYMLINK &&
	      !memcmp(cr_after(fs[2], sizeof(*fs[2])), "/usr/share/zoneinfo/UTC", 23) && fs[3]->type == CR_FS_WHITEOUT &&
	      !strcmp(fs[3]->path, "etc/issue"), "file-system entries and contents");
	check(img.log_len == 7 && !memcmp(img.log, "booted\n", 7), "console log");
	cr_image_free(&img);
	check(!img.procs && !img.files && img.nprocs == 0 && !img.container, "cr_image_free empties the image");
}

static void test_truncation_and_flips(const struct buf *b)
{
	size_t bad = 0, first = 0;
	for (size_t n = 0; n < b->len; n++)
		if (parse_copy(b->p, n) != REFUSED && bad++ == 0)
			first = n;
	check(bad == 0, "all %zu truncations refused", b->len);
	if (bad)
		printf("     %zu not refused, the first at %zu bytes\n", bad, first);
	unsigned char *w = malloc(b->len);
	memcpy(w, b->p, b->len);
	for (int m = 0; m < 2; m++) {
		unsigned char mask = m ? 0xff : 0x01;
		bad = 0;
		for (size_t off = 0; off < b->len; off++) {
			w[off] ^= mask;
			if (parse_copy(w, b->len) != REFUSED && bad++ == 0)
				first = off;
			w[off] ^= mask;
		}
		check(bad == 0, "a byte xor 0x%02x at each of %zu offsets refused", mask, b->len);
		if (bad)
			printf("     %zu not refused, the first at offset %zu\n", bad, first);
	}
	free(w);
}

/* A copy of the image with a new header (its crc recomputed). */
static unsigned char *rehead(const struct buf *b, struct cr_header *h)
{
	unsigned char *w = malloc(b->len + 64);
	memcpy(w, b->p, b->len);
	h->crc = cr_crc32(0, h, offsetof(struct cr_header, crc));
	memcpy(w, h, sizeof(*h));
	return w;
}

static void test_header_and_framing(const struct buf *b)
{
	struct cr_header h;
	memcpy(&h, b->p, sizeof(h));
	unsigned char *w = rehead(b, &h);
	check(parse_copy(w, b->len) == ACCEPTED, "control: a recomputed header crc alone changes nothing");
	w[0] = 'X';
	expect_bad_bytes(w, b->len, "wrong magic", "magic");
	free(w);
	h.version = CR_FORMAT_VERSION + 1;
	expect_bad_bytes(w = rehead(b, &h), b->len, "format version 2 with a good crc", "version 2");
	free(w);
	h.version = CR_FORMAT_VERSION, h.arch = 64;
	expect_bad_bytes(w = rehead(b, &h), b->len, "arch 64 with a good crc", "architecture");
	free(w);
	h.arch = CR_ARCH_I386;
	memset(h.kernel, 'k', sizeof(h.kernel));
	expect_bad_bytes(w = rehead(b, &h), b->len, "unterminated kernel string", "malformed");
	memcpy(w + b->len, b->p + b->len - 16, 16);   /* the end record, twice */
	memcpy(w, b->p, sizeof(h));
	expect_bad_bytes(w, b->len + 1, "one byte after the end record", "garbage");
	expect_bad_bytes(w, b->len + 16, "a second end record", "garbage");
	expect_bad_bytes(w, sizeof(h), "a header and nothing else", "truncated");
	free(w);
}

/* Damage made of well-formed records with correct checksums: only the semantic checks can catch it. */
static void rename_pid(struct recs *l, int32_t from, int32_t to)
{
	for (int i = 0; i < l->n; i++) {
		int32_t pid;
		memcpy(&pid, l->r[i].p, sizeof(pid));
		uint32_t t = l->r[i].type;   /* the records that start with a pid */
		if (pid == from && (t == CR_REC_PROC || t == CR_REC_VMA || t == CR_REC_PAGES || t == CR_REC_FD || t == CR_REC_SIGINFO))
			memcpy(l->r[i].p, &to, sizeof(to));
		if (l->r[i].type == CR_REC_PROC && ((struct cr_proc *)l->r[i].p)->ppid == from)
			((struct cr_proc *)l->r[i].p)->ppid = to;
	}
}
static void third_proc(struct recs *l, int32_t pid, int32_t ppid)   /* a zombie: no memory needed */
{
	add_proc(l, pid, ppid, CR_PROC_ZOMBIE, 0, 0);
	CONTAINER()->nprocs = 3;
}
static void repage(struct recs *l, uint32_t addr, uint32_t npages, uint32_t data_pages)   /* init's run */
{
	drop(l, find(l, CR_REC_PAGES, 1, 0));
	add_pages(l, l->n, 1, addr, npages, data_pages);
}
static void resymlink(struct recs *l, const char *target, uint32_t size)
{
	drop(l, find(l, CR_REC_FSENTRY, ANY, 2));
	add_fsentry(l, CR_FS_SYMLINK, "etc/x", target, size);
}
/* Each case: a name, what it is, a word the refusal must contain (NULL: any), and the edit. */
#define SEMANTIC_CASES(X) \
	X(parent_missing, "a process whose parent is missing", "no parent", PROC(5)->ppid = 9) \
	X(grandparent_missing, "a process whose grandparent is missing", "parent", PROC(5)->ppid = 6; third_proc(l, 6, 9)) \
	X(grandparent_zero, "a process whose parent has parent 0", "parent", PROC(5)->ppid = 6; third_proc(l, 6, 0)) \
	X(same_pid, "two processes with pid 5", "twice", third_proc(l, 5, 1)) \
	X(no_init, "no pid 1", NULL, rename_pid(l, 1, 2)) \
	X(init_has_parent, "init with a parent", "init", PROC(1)->ppid = 5) \
	X(cycle, "a parent cycle 5 -> 6 -> 5", "cycle", PROC(5)->ppid = 6; third_proc(l, 6, 5)) \
	X(self_parent, "a process that is its own parent", "cycle", PROC(5)->ppid = 5) \
	X(fd_missing_file, "an fd referring to a missing file", "missing file", FD(5, 1)->file_id = 42) \
	X(fd_twice, "the same fd twice in one process", "twice", FD(5, 1)->fd = 3) \
	X(file_id_twice, "two files with one id", "twice", FILEREC(3)->id = 2) \
	X(pipe_data_orphan, "pipe data for a pipe no file uses", "no file uses", FILEREC(2)->pipe_id = 8; FILEREC(3)->pipe_id = 8) \
	X(pages_outside, "pages outside any memory area", "outside", PAGES(1)->addr = 0x09000000) \
	X(pages_in_vdso, "pages in the vDSO", "outside", PAGES(1)->addr = VDSO_AT) \
	X(pages_straddle, "pages running past the end of their area", "outside", repage(l, ANON_AT + CR_PAGE, 2, 2)) \
	X(pages_len_short, "a page run shorter than npages", "malformed", repage(l, ANON_AT, 2, 1)) \
	X(pages_len_long, "a page run longer than npages", "malformed", repage(l, ANON_AT, 1, 2)) \
	X(pages_zero, "a page run of 0 pages", "malformed", repage(l, ANON_AT, 0, 0)) \
	X(vmas_overlap, "overlapping memory areas", "overlapping", VMA(5, 1)->end = ANON_AT + CR_PAGE) \
	X(vma_unaligned, "an unaligned memory area", "malformed", VMA(5, 0)->start += 1) \
	X(two_vdsos, "two vDSOs", "vDSO", VMA(5, 1)->kind = CR_VMA_VDSO) \
	X(zombie_with_memory, "a zombie with memory", "zombie", PROC(5)->state = CR_PROC_ZOMBIE) \
	X(fs_dotdot, "an fs path with ..", "malformed", strcpy(FSENTRY(1)->path, "etc/../../etc/shadow")) \
	X(fs_dot, "an fs path with .", "malformed", strcpy(FSENTRY(1)->path, "./motd")) \
	X(fs_absolute, "an absolute fs path", "malformed", strcpy(FSENTRY(1)->path, "/etc/motd")) \
	X(fs_empty_part, "an fs path with //", "malformed", strcpy(FSENTRY(1)->path, "etc//motd")) \
	X(fs_dir_with_data, "a directory with contents", "malformed", FSENTRY(1)->type = CR_FS_DIR) \
	X(symlink_nul, "a symlink target with a NUL", "malformed", resymlink(l, "/usr\0/bin", 9)) \
	X(symlink_empty, "an empty symlink target", "malformed", resymlink(l, "", 0)) \
	X(nvmas_more, "PROC declaring more areas than present", "missing", PROC(5)->nvmas = 4) \
	X(nvmas_fewer, "PROC declaring fewer areas than present", "declares", PROC(5)->nvmas = 2) \
	X(nfds_more, "PROC declaring more fds than present", "missing", PROC(1)->nfds = 4) \
	X(nsiginfo_more, "PROC declaring a signal that is absent", "missing", PROC(5)->nsiginfo = 1) \
	X(nsiginfo_fewer, "PROC declaring no signal where one is", "declares", PROC(1)->nsiginfo = 0) \
	X(nprocs_wrong, "the container counting 3 processes", "says 3", CONTAINER()->nprocs = 3) \
	X(record_for_missing_pid, "an fd of a process not in the image", "not in the image", FD(5, 2)->pid = 77) \
	X(bad_container_name, "container name \"Web\"", "name", strcpy(CONTAINER()->name, "Web")) \
	X(unterminated_comm, "an unterminated comm", "range", memset(PROC(5)->comm, 'x', sizeof(PROC(5)->comm))) \
	X(signal_zero, "a pending signal 0", "malformed", REC(CR_REC_SIGINFO, struct cr_siginfo, 1, 0)->info[0] = 0) \
	X(file_kind_zero, "a file of kind 0", "malformed", FILEREC(4)->kind = 0) \
	X(container_not_first, "the container record not first", "container", struct rec t = l->r[0]; l->r[0] = l->r[1]; l->r[1] = t) \
	X(two_containers, "two container records", "container", add(l, CR_REC_CONTAINER, CONTAINER(), sizeof(struct cr_container), NULL, 0)) \
	X(two_logs, "two log records", NULL, add(l, CR_REC_LOG, NULL, 0, "x", 1)) \
	X(unknown_type, "a record of type 99", "unknown", add_at(l, 2, 99, "abcd", 4, NULL, 0)) \
	X(type_zero, "a record of type 0", "unknown", add_at(l, 2, 0, "abcd", 4, NULL, 0)) \
	X(type_max, "a record of type CR_REC_MAX", "unknown", add_at(l, 2, CR_REC_MAX, "abcd", 4, NULL, 0)) \
	X(fd_too_long, "an fd record with 4 extra bytes", "size", add_at(l, 2, CR_REC_FD, FD(5, 0), sizeof(struct cr_fd), "xxxx", 4)) \
	X(proc_too_short, "a process record 1 byte short", "size", add_at(l, 2, CR_REC_PROC, PROC(5), sizeof(struct cr_proc) - 1, NULL, 0)) \
	X(end_early, "an end record in the middle with the wrong count", "counts", struct cr_end e = { 0 }; add_at(l, 3, CR_REC_END, &e, sizeof(e), NULL, 0)) \
	X(end_early_counted, "an end record in the middle with the right count", "garbage", struct cr_end e = { 3 }; add_at(l, 3, CR_REC_END, &e, sizeof(e), NULL, 0))

#define EDIT(name, what, needle, ...) static void name(struct recs *l) { __VA_ARGS__; }
SEMANTIC_CASES(EDIT)

static void test_semantic(void)
{
	#define ROW(name, what, needle, ...) { name, what, needle },
	static const struct { void (*edit)(struct recs *); const char *what, *needle; } cases[] = { SEMANTIC_CASES(ROW) };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct recs l;
		valid_image(&l);
		cases[i].edit(&l);
		expect_bad(&l, cases[i].what, cases[i].needle);
		while (l.n)
			drop(&l, l.n - 1);
	}
}

/* --- fuzzing ------------------------------------------------------------------------------------ */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return n ? (uint32_t)(rng >> 20) % n : 0;
}

/* Offsets of the records that fit in the buffer, in order. */
static int record_offsets(const unsigned char *p, size_t n, size_t *offs, int max)
{
	size_t off = sizeof(struct cr_header);
	int count = 0;
	struct cr_rec r;
	while (count < max && n - off >= sizeof(r) + 4 && n > off) {
		memcpy(&r, p + off, sizeof(r));
		if (r.len > n - off - sizeof(r) - 4)
			break;
		offs[count++] = off;
		off += sizeof(r) + r.len + 4;
	}
	return count;
}

static void fix_crc(unsigned char *p, size_t off)
{
	struct cr_rec r;
	memcpy(&r, p + off, sizeof(r));
	uint32_t crc = cr_crc32(cr_crc32(0, &r, sizeof(r)), p + off + sizeof(r), r.len);
	memcpy(p + off + sizeof(r) + r.len, &crc, sizeof(crc));
}

/* The fields the semantic checks look at, for mutations that aim. */
static const struct { uint32_t type; size_t off; } fields[] = {
	{ CR_REC_PROC, offsetof(struct cr_proc, pid) }, { CR_REC_PROC, offsetof(struct cr_proc, ppid) },
	{ CR_REC_PROC, offsetof(struct cr_proc, state) }, { CR_REC_PROC, offsetof(struct cr_proc, nvmas) },
	{ CR_REC_PROC, offsetof(struct cr_proc, nfds) }, { CR_REC_PROC, offsetof(struct cr_proc, nsiginfo) },
	{ CR_REC_VMA, offsetof(struct cr_vma, pid) }, { CR_REC_VMA, offsetof(struct cr_vma, start) },
	{ CR_REC_VMA, offsetof(struct cr_vma, end) }, { CR_REC_VMA, offsetof(struct cr_vma, kind) },
	{ CR_REC_PAGES, offsetof(struct cr_pages, pid) }, { CR_REC_PAGES, offsetof(struct cr_pages, addr) },
	{ CR_REC_PAGES, offsetof(struct cr_pages, npages) }, { CR_REC_FD, offsetof(struct cr_fd, pid) },
	{ CR_REC_FD, offsetof(struct cr_fd, fd) }, { CR_REC_FD, offsetof(struct cr_fd, file_id) },
	{ CR_REC_FILE, offsetof(struct cr_file, id) }, { CR_REC_FILE, offsetof(struct cr_file, kind) },
	{ CR_REC_FILE, offsetof(struct cr_file, pipe_id) }, { CR_REC_PIPE_DATA, offsetof(struct cr_pipe_data, len) },
	{ CR_REC_PIPE_DATA, offsetof(struct cr_pipe_data, pipe_id) }, { CR_REC_SIGINFO, offsetof(struct cr_siginfo, pid) },
	{ CR_REC_FSENTRY, offsetof(struct cr_fsentry, type) }, { CR_REC_FSENTRY, offsetof(struct cr_fsentry, size) },
	{ CR_REC_FSENTRY, offsetof(struct cr_fsentry, path) }, { CR_REC_CONTAINER, offsetof(struct cr_container, nprocs) },
	{ CR_REC_END, offsetof(struct cr_end, nrecords) },
};
static const uint32_t interesting[] = { 0, 1, 2, 3, 4, 5, 6, 7, 9, 0x2e2e, 0x7f, 4096, 65536, 0x7fffffff, 0x80000000,
					0xffffffff, 0xfffffffe, ANON_AT, ANON_AT + CR_PAGE, FILE_AT, VDSO_AT, 0xc0000000 };

/* Changes one field or byte of a record (or the header) and makes its checksum right again. */
static void mutate_field(unsigned char *w, size_t n)
{
	size_t offs[MAXREC + 8];
	int count = record_offsets(w, n, offs, MAXREC + 8), i = (int)rnd(count + 1);
	if (i == count) {   /* the header */
		w[rnd(offsetof(struct cr_header, crc))] = (unsigned char)rnd(256);
		uint32_t crc = cr_crc32(0, w, offsetof(struct cr_header, crc));
		memcpy(w + offsetof(struct cr_header, crc), &crc, sizeof(crc));
		return;
	}
	struct cr_rec r;
	memcpy(&r, w + offs[i], sizeof(r));
	size_t at = rnd(r.len ? r.len : 1), k = rnd(sizeof(fields) / sizeof(fields[0]));
	if (rnd(2) && fields[k].type == r.type)
		at = fields[k].off;
	else if (rnd(2))
		at = rnd(r.len < 64 ? r.len : 64);
	uint32_t v = rnd(3) ? interesting[rnd(sizeof(interesting) / sizeof(interesting[0]))] : rnd(0xffffffffu);
	size_t room = r.len > at ? r.len - at : 0;
	memcpy(w + offs[i] + sizeof(r) + at, &v, room < 4 ? room : 4);
	fix_crc(w, offs[i]);
}

/* Removes, duplicates or swaps whole records, keeping the end record's count and crc right. */
static void mutate_records(unsigned char *w, size_t *n, size_t cap)
{
	size_t offs[MAXREC + 8];
	int count = record_offsets(w, *n, offs, MAXREC + 8);
	if (count < 3 || offs[count - 1] + 16 != *n)
		return;
	int i = (int)rnd(count - 1), delta = 0;
	size_t a = offs[i], len = offs[i + 1] - a, len2 = i + 2 < count ? offs[i + 2] - offs[i + 1] : 0;
	switch (rnd(3)) {
	case 0:
		memmove(w + a, w + a + len, *n - a - len), *n -= len, delta = -1;
		break;
	case 1:
		if (*n + len > cap)
			return;
		memmove(w + a + len, w + a, *n - a), *n += len, delta = 1;
		break;
	default:
		if (i + 2 < count) {
			unsigned char *t = malloc(len);
			memcpy(t, w + a, len);
			memmove(w + a, w + a + len, len2);
			memcpy(w + a + len2, t, len);
			free(t);
		}
	}
	struct cr_end end;
	memcpy(&end, w + *n - 8, sizeof(end));
	end.nrecords += delta;
	memcpy(w + *n - 8, &end, sizeof(end));
	fix_crc(w, *n - 16);
}

static void test_fuzz(const struct buf *b, int iterations)
{
	size_t cap = b->len * 2 + 64;
	unsigned char *w = malloc(cap);
	int tally[3] = { 0 }, shown = 0;
	for (int it = 0; it < iterations; it++) {
		memcpy(w, b->p, b->len);
		size_t n = b->len;
		for (int round = 0, rounds = 1 + rnd(3); round < rounds; round++) {
			size_t a = rnd(n), c = rnd(n), len = 1 + rnd(64);
			switch (rnd(7)) {
			case 0:   /* flip a few bytes anywhere */
				for (int k = 0, m = 1 + rnd(4); k < m; k++)
					w[rnd(n)] ^= 1 + rnd(255);
				break;
			case 1:   /* copy a chunk over another */
				len = len < n - a && len < n - c ? len : 0;
				memmove(w + c, w + a, len);
				break;
			case 2:   /* delete or insert a chunk */
				if (rnd(2) && len <= n - a)
					memmove(w + a, w + a + len, n - a - len), n -= len;
				else if (n + len <= cap)
					memmove(w + a + len, w + a, n - a), n += len;
				break;
			case 3:   /* truncate */
				n = rnd(n);
				break;
			case 4:
			case 5:
				mutate_field(w, n);
				break;
			default:
				mutate_records(w, &n, cap);
			}
		}
		enum outcome o = parse_copy(w, n);
		tally[o]++;
		if (o == WRONG && shown++ < 5)
			printf("     fuzz iteration %d: %s\n", it, last_wrong);
	}
	free(w);
	check(tally[WRONG] == 0 && tally[ACCEPTED] > 0 && tally[REFUSED] > 0,
	      "fuzz: %d mutations, %d accepted consistently, %d refused with a message, %d wrong", iterations,
	      tally[ACCEPTED], tally[REFUSED], tally[WRONG]);
}

/* The head of an image still arriving (container, filesystem, log first, as ct writes them): it
 * parses exactly at each record boundary inside the head, and nowhere else. */
static void test_head(void)
{
	struct recs l;
	valid_image(&l);
	for (int i = 1, to = 1; i < l.n; i++)
		if (l.r[i].type == CR_REC_FSENTRY || l.r[i].type == CR_REC_LOG) {
			struct rec r = l.r[i];
			memmove(&l.r[to + 1], &l.r[to], (size_t)(i - to) * sizeof(l.r[0]));
			l.r[to++] = r;
		}
	struct buf b = write_image(&l);
	check(parse_copy(b.p, b.len) == ACCEPTED, "an image with its head first is valid");
	size_t bounds[MAXREC + 1], off = sizeof(struct cr_header);
	int nb = 0;
	for (int i = 0; i < l.n && (l.r[i].type == CR_REC_CONTAINER || l.r[i].type == CR_REC_FSENTRY ||
				   l.r[i].type == CR_REC_LOG); i++) {
		off += sizeof(struct cr_rec) + l.r[i].len + 4;
		bounds[nb++] = off;
	}
	size_t wrong = 0, accepted = 0, first = 0;
	for (size_t n = 0; n < b.len; n++) {
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, b.p, n);
		struct cr_image img;
		struct ct_err e = { "", "" };
		bool at_bound = false;
		int k = 0;
		for (; k < nb && !at_bound; k++)
			at_bound = bounds[k] == n;
		int rc = cr_image_parse_head(&img, copy, n, &e);
		bool ok = rc == 0 ? at_bound && img.container && img.nprocs == 0 && img.nfiles == 0 &&
				    img.nfsentries == (uint32_t)(k - 1 - (img.log != NULL))
				  : !at_bound && !strcmp(e.code, "bad_image") && e.msg[0] && !img.fsentries;
		if (rc == 0) {
			accepted++;
			cr_image_free(&img);
		}
		if (!ok && wrong++ == 0)
			first = n;
		free(copy);
	}
	check(wrong == 0 && accepted == (size_t)nb, "the head parses at its %d record boundaries and at no other of %zu "
	      "lengths", nb, b.len);
	if (wrong)
		printf("     %zu wrong, the first at %zu bytes\n", wrong, first);
	unsigned char *w = malloc(bounds[nb - 1]);
	memcpy(w, b.p, bounds[nb - 1]);
	wrong = 0;
	for (size_t o = 0; o < bounds[nb - 1]; o++) {
		w[o] ^= 0x01;
		struct cr_image img;
		struct ct_err e = { "", "" };
		if (cr_image_parse_head(&img, w, bounds[nb - 1], &e) == 0) {
			wrong++;
			cr_image_free(&img);
		}
		w[o] ^= 0x01;
	}
	check(wrong == 0, "a flipped bit anywhere in the head refused");
	free(w);
	free(b.p);
	while (l.n)
		drop(&l, l.n - 1);
}

int main(void)
{
	struct recs l;
	valid_image(&l);
	struct buf b = write_image(&l);
	/* The fuzzer's image also has a zombie 6, child of 5, placed before 5: a parent chain that
	 * runs forward through the image, as real process trees do. */
	third_proc(&l, 6, 5);
	struct rec zombie = l.r[--l.n];
	int at = find(&l, CR_REC_PROC, 5, 0);
	add_at(&l, at, zombie.type, zombie.p, zombie.len, NULL, 0);
	free(zombie.p);
	struct buf fuzz_base = write_image(&l);
	check(parse_copy(fuzz_base.p, fuzz_base.len) == ACCEPTED, "the fuzzer's image (3 processes) is valid");
	while (l.n)
		drop(&l, l.n - 1);
	test_crc_and_writer();
	test_valid(&b);
	test_truncation_and_flips(&b);
	test_header_and_framing(&b);
	test_semantic();
	test_head();
	test_fuzz(&fuzz_base, 20000);
	free(b.p);
	free(fuzz_base.p);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
