#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cr_image.h"
#include "parse.h"

#define BAD "bad_image"

/* --- CRC-32 (IEEE), table made on first use ---------------------------------------------------- */

/* Slicing by four: a word per step instead of a byte (the emulator runs every instruction ~70x
 * slower, and a migration checksums every page it moves). */
static uint32_t crc_table[4][256];

uint32_t cr_crc32(uint32_t crc, const void *data, size_t len)
{
	if (!crc_table[0][1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			crc_table[0][i] = c;
		}
		for (uint32_t i = 0; i < 256; i++)
			for (int k = 1; k < 4; k++)
				crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xff];
	}
	const unsigned char *p = data;
	crc = ~crc;
	for (; len >= 4; len -= 4, p += 4) {
		uint32_t v;
		memcpy(&v, p, 4);   /* i386: little-endian, unaligned loads allowed */
		crc ^= v;
		crc = crc_table[3][crc & 0xff] ^ crc_table[2][(crc >> 8) & 0xff] ^ crc_table[1][(crc >> 16) & 0xff] ^
		      crc_table[0][crc >> 24];
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *cr_rec_name(uint32_t type)
{
	static const char *const names[CR_REC_MAX] = {
		[CR_REC_CONTAINER] = "container", [CR_REC_PROC] = "process", [CR_REC_VMA] = "vma",
		[CR_REC_PAGES] = "pages", [CR_REC_FILE] = "file", [CR_REC_FD] = "fd",
		[CR_REC_PIPE_DATA] = "pipe-data", [CR_REC_SIGINFO] = "siginfo", [CR_REC_FSENTRY] = "fs-entry",
		[CR_REC_LOG] = "log", [CR_REC_END] = "end", [CR_REC_PAGES_REF] = "page-reference",
	};
	return type < CR_REC_MAX && names[type] ? names[type] : "unknown";
}

/* --- writing ------------------------------------------------------------------------------------ */

static int flush(struct cr_writer *w)
{
	size_t off = 0;
	while (off < w->used) {
		ssize_t n = write(w->fd, w->buf + off, w->used - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->failed_errno = n < 0 ? errno : EIO;
			return -1;
		}
		off += n;
	}
	w->used = 0;
	return 0;
}

static int put(struct cr_writer *w, const void *data, size_t len, struct ct_err *err)
{
	const unsigned char *p = data;
	if (w->failed_errno) {
		errno = w->failed_errno;
		return ct_fail_errno(err, "writing the image");
	}
	while (len > 0) {
		size_t n = w->cap - w->used < len ? w->cap - w->used : len;
		memcpy(w->buf + w->used, p, n);
		w->used += n;
		p += n;
		len -= n;
		w->bytes += n;
		if (w->used == w->cap && flush(w) < 0) {
			errno = w->failed_errno;
			return ct_fail_errno(err, "writing the image");
		}
	}
	return 0;
}

int cr_writer_flush(struct cr_writer *w, struct ct_err *err)
{
	if (w->remaining)
		return ct_fail(err, "failed", "internal: image flushed inside a record");
	if (w->failed_errno || flush(w) < 0) {
		errno = w->failed_errno;
		return ct_fail_errno(err, "writing the image");
	}
	return 0;
}

int cr_writer_open(struct cr_writer *w, int fd, const struct cr_header *h, struct ct_err *err)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->cap = 256 << 10;
	w->buf = malloc(w->cap);
	if (!w->buf)
		return ct_fail(err, "failed", "out of memory for the image buffer");
	struct cr_header hh = *h;
	memcpy(hh.magic, CR_MAGIC, sizeof(hh.magic));
	hh.version = CR_FORMAT_VERSION;
	hh.arch = CR_ARCH_I386;
	hh.crc = cr_crc32(0, &hh, offsetof(struct cr_header, crc));
	return put(w, &hh, sizeof(hh), err);
}

int cr_record_begin(struct cr_writer *w, uint32_t type, uint32_t len, struct ct_err *err)
{
	if (w->remaining)
		return ct_fail(err, "failed", "internal: image record begun before the last one ended");
	if (len > CR_MAX_RECORD)
		return ct_fail(err, "failed", "internal: a %s record of %u bytes is too large", cr_rec_name(type), len);
	struct cr_rec r = { type, len };
	w->crc = cr_crc32(0, &r, sizeof(r));
	w->remaining = len;
	w->nrecords++;
	if (put(w, &r, sizeof(r), err) < 0)
		return -1;
	return len == 0 ? put(w, &w->crc, sizeof(w->crc), err) : 0;
}

int cr_record_data(struct cr_writer *w, const void *data, uint32_t len, struct ct_err *err)
{
	if (len > w->remaining)
		return ct_fail(err, "failed", "internal: image record overrun");
	w->crc = cr_crc32(w->crc, data, len);
	w->remaining -= len;
	if (put(w, data, len, err) < 0)
		return -1;
	return w->remaining == 0 ? put(w, &w->crc, sizeof(w->crc), err) : 0;
}

int cr_write_record(struct cr_writer *w, uint32_t type, const void *payload, uint32_t len, struct ct_err *err)
{
	if (cr_record_begin(w, type, len, err) < 0)
		return -1;
	return len ? cr_record_data(w, payload, len, err) : 0;
}

int cr_writer_finish(struct cr_writer *w, struct ct_err *err)
{
	struct cr_end end = { w->nrecords };
	int rc = cr_write_record(w, CR_REC_END, &end, sizeof(end), err);
	if (rc == 0 && flush(w) < 0) {
		errno = w->failed_errno;
		rc = ct_fail_errno(err, "writing the image");
	}
	free(w->buf);
	w->buf = NULL;
	return rc;
}

void cr_writer_abort(struct cr_writer *w)
{
	free(w->buf);
	w->buf = NULL;
}

/* --- reading ------------------------------------------------------------------------------------ */

/* A string field must end inside its array. */
#define TERMINATED(field) (memchr((field), 0, sizeof(field)) != NULL)

static const size_t fixed_size[CR_REC_MAX] = {
	[CR_REC_CONTAINER] = sizeof(struct cr_container), [CR_REC_PROC] = sizeof(struct cr_proc),
	[CR_REC_VMA] = sizeof(struct cr_vma), [CR_REC_PAGES] = sizeof(struct cr_pages),
	[CR_REC_FILE] = sizeof(struct cr_file), [CR_REC_FD] = sizeof(struct cr_fd),
	[CR_REC_PIPE_DATA] = sizeof(struct cr_pipe_data), [CR_REC_SIGINFO] = sizeof(struct cr_siginfo),
	[CR_REC_FSENTRY] = sizeof(struct cr_fsentry), [CR_REC_LOG] = 0, [CR_REC_END] = sizeof(struct cr_end),
	[CR_REC_PAGES_REF] = sizeof(struct cr_pages),
};
/* Records whose payload may carry data after the fixed part. */
static const bool has_tail[CR_REC_MAX] = {
	[CR_REC_PAGES] = true, [CR_REC_PIPE_DATA] = true, [CR_REC_FSENTRY] = true, [CR_REC_LOG] = true,
};

struct rec_ref { uint32_t type, len; const unsigned char *payload; };

void cr_image_free(struct cr_image *img)
{
	if (img->procs)
		for (uint32_t i = 0; i < img->nprocs; i++) {
			free(img->procs[i].vmas);
			free(img->procs[i].fds);
			free(img->procs[i].siginfo);
			free(img->procs[i].pages);
		}
	free(img->procs);
	free(img->files);
	free(img->pipe_data);
	free(img->fsentries);
	memset(img, 0, sizeof(*img));
}

const struct cr_file *cr_image_file(const struct cr_image *img, uint32_t id)
{
	for (uint32_t i = 0; i < img->nfiles; i++)
		if (img->files[i]->id == id)
			return img->files[i];
	return NULL;
}

const struct cr_proc_index *cr_image_proc(const struct cr_image *img, int32_t pid)
{
	for (uint32_t i = 0; i < img->nprocs; i++)
		if (img->procs[i].proc->pid == pid)
			return &img->procs[i];
	return NULL;
}

static struct cr_proc_index *proc_mut(struct cr_image *img, int32_t pid)
{
	return (struct cr_proc_index *)cr_image_proc(img, pid);
}

static int check_header(const struct cr_header *h, struct ct_err *err)
{
	if (memcmp(h->magic, CR_MAGIC, sizeof(h->magic)))
		return ct_fail(err, BAD, "not a ctlab checkpoint image (bad magic)");
	if (h->crc != cr_crc32(0, h, offsetof(struct cr_header, crc)))
		return ct_fail(err, BAD, "the image header is corrupt (checksum mismatch)");
	if (h->version != CR_FORMAT_VERSION)
		return ct_fail(err, BAD, "image format version %u is not supported (this ct reads version %u)",
			       h->version, CR_FORMAT_VERSION);
	if (h->arch != CR_ARCH_I386)
		return ct_fail(err, BAD, "the image is for architecture %u, not i386", h->arch);
	if (!TERMINATED(h->kernel) || !TERMINATED(h->cpu))
		return ct_fail(err, BAD, "the image header is malformed");
	return 0;
}

static bool relative_path_ok(const char *p)
{
	if (!p[0] || p[0] == '/')
		return false;
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n + (e ? 1 : 0);
	}
	return true;
}

static bool page_aligned(uint32_t a) { return (a & (CR_PAGE - 1)) == 0; }
#define TASK_TOP 0xc0000000u
#define PID_LIMIT 4194304

/* Shape and ranges of one record on its own. */
static int check_record(const struct rec_ref *r, struct ct_err *err)
{
	const void *p = r->payload;
	switch (r->type) {
	case CR_REC_CONTAINER: {
		const struct cr_container *c = p;
		struct ct_err e;
		if (!TERMINATED(c->name) || !TERMINATED(c->template_name) || !TERMINATED(c->hostname) ||
		    parse_container_name(c->name, &e) < 0 || parse_hostname(c->hostname, &e) < 0)
			return ct_fail(err, BAD, "the container record has a bad name or hostname");
		if (c->nprocs < 1 || c->nprocs > CR_MAX_PROCS || c->prefix < 0 || c->prefix > 32 ||
		    c->privileged > 1 || c->mono_ns < 0 || c->boot_ns < 0 || c->console_pgrp < 0)
			return ct_fail(err, BAD, "the container record has values out of range");
		return 0;
	}
	case CR_REC_PROC: {
		const struct cr_proc *q = p;
		if (q->pid < 1 || q->pid >= PID_LIMIT || q->ppid < 0 || q->ppid >= PID_LIMIT || q->pgid < 0 ||
		    q->pgid >= PID_LIMIT || q->sid < 0 || q->sid >= PID_LIMIT || q->state > CR_PROC_ZOMBIE ||
		    !TERMINATED(q->comm) || !TERMINATED(q->exe) || !TERMINATED(q->cwd) ||
		    q->ngroups > CR_MAX_GROUPS || q->nauxv > CR_AUXV_MAX || q->nvmas > 65530 ||
		    q->nfds > 65536 || q->nsiginfo > 4096)
			return ct_fail(err, BAD, "process record %d has values out of range", q->pid);
		if (q->state == CR_PROC_RUNNING && (q->cwd[0] != '/' || q->exe[0] != '/'))
			return ct_fail(err, BAD, "process record %d has a bad cwd or exe path", q->pid);
		return 0;
	}
	case CR_REC_VMA: {
		const struct cr_vma *v = p;
		if (!page_aligned(v->start) || !page_aligned(v->end) || v->start >= v->end || v->end > TASK_TOP ||
		    v->prot > 7 || v->flags > 3 || v->kind > CR_VMA_VVAR || !TERMINATED(v->path) ||
		    (v->kind == CR_VMA_FILE && v->path[0] != '/'))
			return ct_fail(err, BAD, "a memory area of process %d is malformed", v->pid);
		return 0;
	}
	case CR_REC_PAGES: {
		const struct cr_pages *g = p;
		if (g->npages == 0 || !page_aligned(g->addr) ||
		    (uint64_t)g->npages * CR_PAGE != r->len - sizeof(*g) ||
		    (uint64_t)g->addr + (uint64_t)g->npages * CR_PAGE > TASK_TOP)
			return ct_fail(err, BAD, "a page run of process %d is malformed", g->pid);
		return 0;
	}
	case CR_REC_FILE: {
		const struct cr_file *f = p;
		if (f->kind < 1 || f->kind >= CR_FILE_KIND_MAX || !TERMINATED(f->path) || f->side > 1 ||
		    f->pipe_size > (1u << 20) || f->port > 65535 || f->backlog > 65535)
			return ct_fail(err, BAD, "file record %u is malformed", f->id);
		if ((f->kind == CR_FILE_REG || f->kind == CR_FILE_DEV) && f->path[0] != '/')
			return ct_fail(err, BAD, "file record %u has no absolute path", f->id);
		if ((f->kind == CR_FILE_PIPE || f->kind == CR_FILE_UNIX_PAIR) && f->pipe_id == 0)
			return ct_fail(err, BAD, "file record %u has no pipe id", f->id);
		return 0;
	}
	case CR_REC_FD: {
		const struct cr_fd *d = p;
		if (d->fd < 0 || d->fd >= 65536 || d->cloexec > 1)
			return ct_fail(err, BAD, "an fd record of process %d is malformed", d->pid);
		return 0;
	}
	case CR_REC_PIPE_DATA: {
		const struct cr_pipe_data *d = p;
		if (d->len != r->len - sizeof(*d) || d->len > (1u << 20) || d->side > 1)
			return ct_fail(err, BAD, "the buffered data of pipe %u is malformed", d->pipe_id);
		return 0;
	}
	case CR_REC_SIGINFO: {
		const struct cr_siginfo *s = p;
		int32_t signo;
		memcpy(&signo, s->info, sizeof(signo));
		if (s->shared > 1 || signo < 1 || signo > CR_NSIG)
			return ct_fail(err, BAD, "a pending signal of process %d is malformed", s->pid);
		return 0;
	}
	case CR_REC_FSENTRY: {
		const struct cr_fsentry *e = p;
		if (!TERMINATED(e->path) || !relative_path_ok(e->path) || e->root < CR_FS_UPPER || e->root > CR_FS_SHM ||
		    e->type < CR_FS_DIR || e->type > CR_FS_WHITEOUT || e->size != r->len - sizeof(*e) ||
		    (e->type == CR_FS_SYMLINK && (e->size == 0 || e->size >= CR_PATH_MAX ||
						  memchr(cr_after(e, sizeof(*e)), 0, e->size))) ||
		    ((e->type == CR_FS_DIR || e->type == CR_FS_WHITEOUT) && e->size != 0) || e->mode > 07777)
			return ct_fail(err, BAD, "a file-system entry of the image is malformed");
		return 0;
	}
	case CR_REC_LOG:
		return r->len > (1u << 20) ? ct_fail(err, BAD, "the console log record is too large") : 0;
	case CR_REC_END:
		return 0;
	case CR_REC_PAGES_REF:
		return ct_fail(err, BAD, "a page reference record: only a migration stream may hold one");
	}
	return ct_fail(err, BAD, "unknown record type %u", r->type);
}

/* Walks the records after the header; fills refs (if not NULL) and counts them. */
bool cr_rec_in_head(uint32_t t)
{
	return t == CR_REC_CONTAINER || t == CR_REC_FSENTRY || t == CR_REC_LOG;
}

static int walk(const unsigned char *data, size_t size, bool head, bool crcs, struct rec_ref *refs, uint32_t *count,
		uint32_t *by_type, struct ct_err *err)
{
	size_t off = sizeof(struct cr_header);
	uint32_t n = 0;
	for (;;) {
		if (head && off == size) {
			*count = n;
			return 0;
		}
		if (size - off < sizeof(struct cr_rec))
			return ct_fail(err, BAD, "the image is truncated (after %u records, no end record)", n);
		struct cr_rec r;
		memcpy(&r, data + off, sizeof(r));
		if (r.type == 0 || r.type >= CR_REC_MAX)
			return ct_fail(err, BAD, "record %u has an unknown type %u", n, r.type);
		if (head && !cr_rec_in_head(r.type))
			return ct_fail(err, BAD, "record %u (%s) does not belong in the image's head", n, cr_rec_name(r.type));
		if (r.len > CR_MAX_RECORD || size - off - sizeof(r) < (size_t)r.len + sizeof(uint32_t))
			return ct_fail(err, BAD, "the image is truncated in record %u (%s)", n, cr_rec_name(r.type));
		const unsigned char *payload = data + off + sizeof(r);
		uint32_t crc = 0, stored = 0;
		if (crcs) {
			crc = cr_crc32(cr_crc32(0, &r, sizeof(r)), payload, r.len);
			memcpy(&stored, payload + r.len, sizeof(stored));
		}
		if (crc != stored)
			return ct_fail(err, BAD, "record %u (%s) is corrupt (checksum mismatch)", n, cr_rec_name(r.type));
		if (r.len < fixed_size[r.type] || (!has_tail[r.type] && r.len != fixed_size[r.type]))
			return ct_fail(err, BAD, "record %u (%s) has the wrong size %u", n, cr_rec_name(r.type), r.len);
		struct rec_ref ref = { r.type, r.len, payload };
		if (check_record(&ref, err) < 0)
			return -1;
		off += sizeof(r) + r.len + sizeof(uint32_t);
		if (r.type == CR_REC_END) {
			struct cr_end end;
			memcpy(&end, payload, sizeof(end));
			if (end.nrecords != n)
				return ct_fail(err, BAD, "the image's end record counts %u records, found %u", end.nrecords, n);
			if (off != size)
				return ct_fail(err, BAD, "%zu bytes of garbage follow the image's end record", size - off);
			*count = n;
			return 0;
		}
		if (refs)
			refs[n] = ref;
		by_type[r.type]++;
		n++;
		if (n > 50u * 1000 * 1000)
			return ct_fail(err, BAD, "the image has too many records");
	}
}

static int vma_compare(const void *a, const void *b)
{
	const struct cr_vma *x = *(const struct cr_vma *const *)a, *y = *(const struct cr_vma *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* References between records: parents, counts, fds to files, pages inside their areas. */
static int check_links(struct cr_image *img, struct ct_err *err)
{
	const struct cr_container *c = img->container;
	if (img->nprocs != c->nprocs)
		return ct_fail(err, BAD, "the image holds %u processes, its container record says %u", img->nprocs, c->nprocs);
	for (uint32_t i = 0; i < img->nfiles; i++)
		for (uint32_t j = 0; j < i; j++)
			if (img->files[i]->id == img->files[j]->id)
				return ct_fail(err, BAD, "file id %u appears twice", img->files[i]->id);
	for (uint32_t i = 0; i < img->npipe_data; i++) {
		bool found = false;
		for (uint32_t j = 0; j < img->nfiles && !found; j++)
			found = img->files[j]->pipe_id == img->pipe_data[i]->pipe_id &&
				(img->files[j]->kind == CR_FILE_PIPE || img->files[j]->kind == CR_FILE_UNIX_PAIR);
		if (!found)
			return ct_fail(err, BAD, "buffered data for pipe %u, which no file uses", img->pipe_data[i]->pipe_id);
	}
	bool have_init = false;
	for (uint32_t i = 0; i < img->nprocs; i++) {
		struct cr_proc_index *x = &img->procs[i];
		const struct cr_proc *q = x->proc;
		for (uint32_t j = 0; j < i; j++)
			if (img->procs[j].proc->pid == q->pid)
				return ct_fail(err, BAD, "process %d appears twice", q->pid);
		if (q->pid == 1) {
			have_init = true;
			if (q->ppid != 0 || q->state != CR_PROC_RUNNING)
				return ct_fail(err, BAD, "the container's init has a parent or is not running");
		} else if (q->ppid == 0 || !cr_image_proc(img, q->ppid)) {
			return ct_fail(err, BAD, "process %d has no parent in the image", q->pid);
		}
		/* Every chain of parents ends at init. */
		const struct cr_proc *up = q;
		for (uint32_t steps = 0; up->pid != 1; steps++) {
			if (steps > img->nprocs)
				return ct_fail(err, BAD, "the process tree has a cycle at %d", q->pid);
			/* An ancestor later in the image has not had its own parent checked yet. */
			const struct cr_proc_index *parent = cr_image_proc(img, up->ppid);
			if (!parent)
				return ct_fail(err, BAD, "process %d has no parent in the image", up->pid);
			up = parent->proc;
		}
		if (x->nvmas != q->nvmas || x->nfds != q->nfds || x->nsiginfo != q->nsiginfo)
			return ct_fail(err, BAD, "process %d: its memory, fd or signal records are missing", q->pid);
		if (q->state == CR_PROC_ZOMBIE && (x->nvmas || x->nfds || x->npages))
			return ct_fail(err, BAD, "zombie %d has memory or files", q->pid);
		qsort(x->vmas, x->nvmas, sizeof(*x->vmas), vma_compare);
		int vdso = 0;
		for (uint32_t j = 0; j < x->nvmas; j++) {
			if (j > 0 && x->vmas[j]->start < x->vmas[j - 1]->end)
				return ct_fail(err, BAD, "process %d has overlapping memory areas", q->pid);
			vdso += x->vmas[j]->kind == CR_VMA_VDSO;
		}
		if (q->state == CR_PROC_RUNNING && vdso != 1)
			return ct_fail(err, BAD, "process %d does not have exactly one vDSO", q->pid);
		for (uint32_t j = 0; j < x->nfds; j++) {
			if (!cr_image_file(img, x->fds[j]->file_id))
				return ct_fail(err, BAD, "fd %d of process %d refers to a missing file", x->fds[j]->fd, q->pid);
			for (uint32_t k = 0; k < j; k++)
				if (x->fds[k]->fd == x->fds[j]->fd)
					return ct_fail(err, BAD, "process %d has fd %d twice", q->pid, x->fds[j]->fd);
		}
		for (uint32_t j = 0; j < x->npages; j++) {
			const struct cr_pages *g = x->pages[j];
			uint64_t end = (uint64_t)g->addr + (uint64_t)g->npages * CR_PAGE;
			bool inside = false;
			for (uint32_t k = 0; k < x->nvmas && !inside; k++)
				inside = x->vmas[k]->start <= g->addr && end <= x->vmas[k]->end &&
					 x->vmas[k]->kind <= CR_VMA_FILE;
			if (!inside)
				return ct_fail(err, BAD, "process %d has pages outside its memory areas", q->pid);
		}
	}
	if (!have_init)
		return ct_fail(err, BAD, "the image has no init process");
	return 0;
}

#define GROW(arr, n) ((arr) = calloc((n) ? (n) : 1, sizeof(*(arr))))

static int parse(struct cr_image *img, const void *data, size_t size, bool head, bool crcs, struct ct_err *err);

int cr_image_parse(struct cr_image *img, const void *data, size_t size, struct ct_err *err)
{
	return parse(img, data, size, false, true, err);
}

int cr_image_parse_checked(struct cr_image *img, const void *data, size_t size, struct ct_err *err)
{
	return parse(img, data, size, false, false, err);
}

int cr_image_parse_head(struct cr_image *img, const void *data, size_t size, struct ct_err *err)
{
	return parse(img, data, size, true, true, err);
}

static int parse(struct cr_image *img, const void *data, size_t size, bool head, bool crcs, struct ct_err *err)
{
	memset(img, 0, sizeof(*img));
	img->data = data;
	img->size = size;
	if (size < sizeof(struct cr_header))
		return ct_fail(err, BAD, "the image is truncated (%zu bytes, shorter than its header)", size);
	memcpy(&img->header, data, sizeof(img->header));
	if (check_header(&img->header, err) < 0)
		return -1;
	uint32_t count = 0, by_type[CR_REC_MAX] = { 0 };
	if (walk(data, size, head, crcs, NULL, &count, by_type, err) < 0)
		return -1;
	struct rec_ref *refs = calloc(count ? count : 1, sizeof(*refs));
	uint32_t unused[CR_REC_MAX] = { 0 };
	if (!refs)
		return ct_fail(err, "failed", "out of memory reading the image");
	walk(data, size, head, crcs, refs, &count, unused, err);
	int rc = -1;
	if (count == 0 || refs[0].type != CR_REC_CONTAINER || by_type[CR_REC_CONTAINER] != 1) {
		ct_fail(err, BAD, "the image must start with exactly one container record");
		goto out;
	}
	if (by_type[CR_REC_LOG] > 1 || by_type[CR_REC_FILE] > 65536 || by_type[CR_REC_PROC] > CR_MAX_PROCS) {
		ct_fail(err, BAD, "the image has too many log, file or process records");
		goto out;
	}
	img->container = (const struct cr_container *)refs[0].payload;
	if (!GROW(img->procs, by_type[CR_REC_PROC]) || !GROW(img->files, by_type[CR_REC_FILE]) ||
	    !GROW(img->pipe_data, by_type[CR_REC_PIPE_DATA]) || !GROW(img->fsentries, by_type[CR_REC_FSENTRY])) {
		ct_fail(err, "failed", "out of memory reading the image");
		goto out;
	}
	/* First the processes, so the records that name one can be counted against it. */
	for (uint32_t i = 0; i < count; i++) {
		const void *p = refs[i].payload;
		switch (refs[i].type) {
		case CR_REC_PROC: img->procs[img->nprocs++].proc = p; break;
		case CR_REC_FILE: img->files[img->nfiles++] = p; break;
		case CR_REC_PIPE_DATA: img->pipe_data[img->npipe_data++] = p; break;
		case CR_REC_FSENTRY: img->fsentries[img->nfsentries++] = p; break;
		case CR_REC_LOG: img->log = p; img->log_len = refs[i].len; break;
		}
	}
	for (uint32_t pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < count; i++) {
			uint32_t t = refs[i].type;
			if (t != CR_REC_VMA && t != CR_REC_FD && t != CR_REC_SIGINFO && t != CR_REC_PAGES)
				continue;
			int32_t pid;
			memcpy(&pid, refs[i].payload, sizeof(pid));   /* every one of them starts with its pid */
			struct cr_proc_index *x = proc_mut(img, pid);
			if (!x) {
				ct_fail(err, BAD, "a %s record names process %d, which is not in the image", cr_rec_name(t), pid);
				goto out;
			}
			const void *p = refs[i].payload;
			if (pass == 0) {
				x->nvmas += t == CR_REC_VMA;
				x->nfds += t == CR_REC_FD;
				x->nsiginfo += t == CR_REC_SIGINFO;
				x->npages += t == CR_REC_PAGES;
				continue;
			}
			if (t == CR_REC_VMA) x->vmas[x->nvmas++] = p;
			if (t == CR_REC_FD) x->fds[x->nfds++] = p;
			if (t == CR_REC_SIGINFO) x->siginfo[x->nsiginfo++] = p;
			if (t == CR_REC_PAGES) {
				x->pages[x->npages++] = p;
				img->page_bytes += (uint64_t)((const struct cr_pages *)p)->npages * CR_PAGE;
			}
		}
		if (pass == 0)
			for (uint32_t i = 0; i < img->nprocs; i++) {
				struct cr_proc_index *x = &img->procs[i];
				if (x->nvmas > x->proc->nvmas || x->nfds > x->proc->nfds || x->nsiginfo > x->proc->nsiginfo) {
					ct_fail(err, BAD, "process %d has more records than it declares", x->proc->pid);
					goto out;
				}
				if (!GROW(x->vmas, x->nvmas) || !GROW(x->fds, x->nfds) || !GROW(x->siginfo, x->nsiginfo) ||
				    !GROW(x->pages, x->npages)) {
					ct_fail(err, "failed", "out of memory reading the image");
					goto out;
				}
				x->nvmas = x->nfds = x->nsiginfo = x->npages = 0;
			}
	}
	rc = head ? 0 : check_links(img, err);
out:
	free(refs);
	if (rc < 0)
		cr_image_free(img);
	return rc;
}
