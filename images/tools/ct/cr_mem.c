#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cr_mem.h"
#include "util.h"

#define PM_PRESENT (1ull << 63)
#define PM_SWAP (1ull << 62)
#define PM_FILE (1ull << 61)
#define RUN_PAGES 256          /* pages per PAGES record */
#define TASK_TOP 0xc0000000u
#define LOW 0x00100000u        /* scratch and temporary places start above 1 MiB */

int cr_mem_read_maps(pid_t hpid, int32_t ns_pid, struct cr_area **areas, uint32_t *n, struct ct_err *err)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", hpid);
	FILE *f = fopen(path, "re");
	if (!f)
		return ct_fail_errno(err, "reading %s", path);
	uint32_t cap = 32, count = 0;
	struct cr_area *a = malloc(cap * sizeof(*a));
	int rc = 0;
	while (a && fgets(line, sizeof(line), f)) {
		/* "start-end perms offset dev inode   name", parsed by hand: sscanf cost ~10x more in
		 * the frozen round, where every process's maps are read. */
		char *p = line, *q;
		unsigned long start = strtoul(p, &q, 16), end = 0, off = 0;
		bool ok = q != p && *q == '-';
		if (ok) {
			end = strtoul(p = q + 1, &q, 16);
			ok = q != p && *q == ' ' && strlen(q + 1) > 5 && q[5] == ' ';
		}
		char perms[5] = "";
		if (ok) {
			memcpy(perms, q + 1, 4);
			off = strtoul(p = q + 6, &q, 16);
			ok = q != p && *q == ' ';
		}
		for (int skip = 0; ok && skip < 2; skip++) {   /* dev, inode */
			q += strspn(q, " ");
			ok = *q && *q != '\n';
			q += strcspn(q, " \n");
		}
		if (!ok) {
			rc = ct_fail(err, "failed", "unreadable line in %s", path);
			break;
		}
		q += strspn(q, " ");
		char name[CR_PATH_MAX];
		snprintf(name, sizeof(name), "%s", q);
		name[strcspn(name, "\n")] = 0;
		if (count == cap) {
			cap *= 2;
			struct cr_area *b = realloc(a, cap * sizeof(*a));
			if (!b)
				break;
			a = b;
		}
		struct cr_area *x = &a[count];
		memset(x, 0, sizeof(*x));
		x->start = (uint32_t)start;
		x->end = (uint32_t)end;
		x->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			  (perms[2] == 'x' ? PROT_EXEC : 0);
		x->flags = perms[3] == 's' ? CR_VMA_SHARED : 0;
		x->pgoff = (uint32_t)(off / CR_PAGE);
		if (!strcmp(name, "[vdso]")) {
			x->kind = CR_VMA_VDSO;
		} else if (!strcmp(name, "[vvar]")) {
			x->kind = CR_VMA_VVAR;
		} else if (!name[0] || !strcmp(name, "[heap]") || !strcmp(name, "[stack]")) {
			x->kind = CR_VMA_ANON;
			if (!strcmp(name, "[stack]"))
				x->flags |= CR_VMA_GROWSDOWN;
			if (x->flags & CR_VMA_SHARED) {
				rc = ct_fail(err, "unsupported", "process %d has shared anonymous memory", ns_pid);
				break;
			}
		} else if (name[0] == '/' && !strstr(name, " (deleted)")) {
			x->kind = CR_VMA_FILE;
			snprintf(x->path, sizeof(x->path), "%s", name);
		} else {
			rc = ct_fail(err, "unsupported", "process %d maps %s, which the engine cannot restore", ns_pid, name);
			break;
		}
		count++;
	}
	fclose(f);
	if (!a)
		return ct_fail(err, "failed", "out of memory reading %s", path);
	if (rc < 0) {
		free(a);
		return -1;
	}
	*areas = a;
	*n = count;
	return 0;
}

/* Sixteen bytes a step (musl's memcmp goes a byte at a time: 5x the instructions, and every
 * page the frozen round reads passes here). */
static bool all_zero(const unsigned char *p)
{
	for (size_t i = 0; i < CR_PAGE; i += 16) {
		uint32_t w[4];
		memcpy(w, p + i, sizeof(w));
		if (w[0] | w[1] | w[2] | w[3])
			return false;
	}
	return true;
}

/* Which pages of an area hold state: anonymous memory that was touched (and is not all zero),
 * and pages of private file mappings that were written (copied on write). */
static bool page_saved(const struct cr_area *a, uint64_t pm)
{
	if (!(pm & (PM_PRESENT | PM_SWAP)))
		return false;
	if (a->kind == CR_VMA_ANON)
		return true;
	return a->kind == CR_VMA_FILE && !(a->flags & CR_VMA_SHARED) && !(pm & PM_FILE);
}

/* Calls the sink for every run of saved pages of an area, with their contents. */
static int walk_area(int mem, int pagemap, int32_t ns_pid, const struct cr_area *a, const struct cr_page_sink *sink,
		     struct cr_writer *w, unsigned char *buf, struct ct_err *err)
{
	uint32_t npages = (a->end - a->start) / CR_PAGE;
	uint64_t pm[RUN_PAGES];
	for (uint32_t first = 0; first < npages; first += RUN_PAGES) {
		uint32_t count = npages - first < RUN_PAGES ? npages - first : RUN_PAGES;
		uint32_t addr = a->start + first * CR_PAGE;
		if (pread(pagemap, pm, count * 8, (off_t)(addr / CR_PAGE) * 8) != (ssize_t)(count * 8))
			return ct_fail_errno(err, "reading the page map of process %d", ns_pid);
		for (uint32_t i = 0; i < count;) {
			if (!page_saved(a, pm[i])) {
				i++;
				continue;
			}
			uint32_t j = i;
			while (j < count && page_saved(a, pm[j]))
				j++;
			uint32_t run_addr = addr + i * CR_PAGE;
			if (pread_all(mem, buf, (size_t)(j - i) * CR_PAGE, (off_t)run_addr) < 0)
				return ct_fail_errno(err, "reading memory of process %d at %#x", ns_pid, run_addr);
			if (sink->run(sink->ctx, w, ns_pid, run_addr, j - i, buf, a->kind == CR_VMA_ANON, err) < 0)
				return -1;
			i = j;
		}
	}
	return 0;
}

bool cr_page_zero(const unsigned char *p)
{
	return all_zero(p);
}

int cr_mem_walk(pid_t hpid, int mem, int32_t ns_pid, const struct cr_area *areas, uint32_t n,
		const struct cr_page_sink *sink, struct cr_writer *w, struct ct_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", hpid);
	int pagemap = open(path, O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		return ct_fail_errno(err, "opening %s", path);
	unsigned char *buf = malloc(RUN_PAGES * CR_PAGE);
	int rc = buf ? 0 : ct_fail(err, "failed", "out of memory");
	for (uint32_t i = 0; i < n && rc == 0; i++)
		if (areas[i].kind <= CR_VMA_FILE)
			rc = walk_area(mem, pagemap, ns_pid, &areas[i], sink, w, buf, err);
	free(buf);
	close(pagemap);
	return rc;
}

int cr_write_pages(struct cr_writer *w, uint32_t type, int32_t pid, uint32_t addr, uint32_t npages,
		   const unsigned char *data, struct ct_err *err)
{
	struct cr_pages g = { pid, addr, npages };
	uint32_t len = type == CR_REC_PAGES ? npages * CR_PAGE : 0;
	if (cr_record_begin(w, type, sizeof(g) + len, err) < 0 || cr_record_data(w, &g, sizeof(g), err) < 0)
		return -1;
	return len ? cr_record_data(w, data, len, err) : 0;
}

/* The plain image sink: PAGES records; untouched-looking anonymous pages (all zero) need not
 * travel, a fresh mapping is zero. */
static int plain_run(void *ctx, struct cr_writer *w, int32_t pid, uint32_t addr, uint32_t npages,
		     const unsigned char *data, bool anon, struct ct_err *err)
{
	uint64_t *saved = ctx;
	for (uint32_t k = 0; k < npages;) {
		if (anon && all_zero(data + k * CR_PAGE)) {
			k++;
			continue;
		}
		uint32_t l = k;
		while (l < npages && !(anon && all_zero(data + l * CR_PAGE)))
			l++;
		if (cr_write_pages(w, CR_REC_PAGES, pid, addr + k * CR_PAGE, l - k, data + k * CR_PAGE, err) < 0)
			return -1;
		*saved += l - k;
		k = l;
	}
	return 0;
}

int cr_mem_dump(struct pt_task *t, int32_t ns_pid, const struct cr_area *areas, uint32_t n,
		const struct cr_page_sink *sink, struct cr_writer *w, uint64_t *pages, struct ct_err *err)
{
	for (uint32_t i = 0; i < n; i++) {
		struct cr_vma v = { .pid = ns_pid, .start = areas[i].start, .end = areas[i].end, .prot = areas[i].prot,
				    .flags = areas[i].flags, .kind = areas[i].kind, .pgoff = areas[i].pgoff };
		memcpy(v.path, areas[i].path, sizeof(v.path));
		if (cr_write_record(w, CR_REC_VMA, &v, sizeof(v), err) < 0)
			return -1;
	}
	struct cr_page_sink def = { plain_run, pages };
	return cr_mem_walk(t->hpid, t->mem, ns_pid, areas, n, sink ? sink : &def, w, err);
}

/* --- restore ------------------------------------------------------------------------------------ */

int cr_map_files(const struct cr_proc_index *x, struct cr_map_files *mf, struct ct_err *err)
{
	memset(mf, 0, sizeof(*mf));
	int top = 2;
	for (uint32_t i = 0; i < x->nfds; i++)
		if (x->fds[i]->fd > top)
			top = x->fds[i]->fd;
	mf->base = top + 1;
	mf->path[mf->n] = x->proc->exe;
	mf->flags[mf->n++] = O_RDONLY;
	for (uint32_t i = 0; i < x->nvmas; i++) {
		const struct cr_vma *v = x->vmas[i];
		if (v->kind != CR_VMA_FILE)
			continue;
		bool rw = (v->flags & CR_VMA_SHARED) && (v->prot & PROT_WRITE);
		int k;
		for (k = 0; k < mf->n; k++)
			if (!strcmp(mf->path[k], v->path))
				break;
		if (k == mf->n) {
			if (mf->n == CR_MAX_MAP_FILES)
				return ct_fail(err, "unsupported", "process %d maps more than %d files", x->proc->pid, CR_MAX_MAP_FILES);
			mf->path[mf->n] = v->path;
			mf->flags[mf->n++] = O_RDONLY;
		}
		if (rw)
			mf->flags[k] = O_RDWR;
	}
	return 0;
}

static bool overlaps(uint32_t s1, uint32_t e1, uint32_t s2, uint32_t e2)
{
	return s1 < e2 && s2 < e1;
}

uint32_t cr_mem_free_spot(const struct cr_area *a, uint32_t na, const struct cr_proc_index *x, uint32_t len)
{
	for (uint32_t addr = LOW; addr + len <= TASK_TOP; addr += 0x10000) {
		bool clash = false;
		for (uint32_t i = 0; i < na && !clash; i++)
			clash = overlaps(addr, addr + len, a[i].start, a[i].end);
		for (uint32_t i = 0; x && i < x->nvmas && !clash; i++)
			clash = overlaps(addr, addr + len, x->vmas[i]->start, x->vmas[i]->end);
		if (!clash)
			return addr;
	}
	return 0;
}

static const struct cr_area *find_kind(const struct cr_area *a, uint32_t n, uint32_t kind)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].kind == kind)
			return &a[i];
	return NULL;
}

static const struct cr_vma *saved_kind(const struct cr_proc_index *x, uint32_t kind)
{
	for (uint32_t i = 0; i < x->nvmas; i++)
		if (x->vmas[i]->kind == kind)
			return x->vmas[i];
	return NULL;
}

static int move_area(struct pt_task *t, struct pt_batch *b, uint32_t from, uint32_t len, uint32_t to, struct ct_err *err)
{
	if (from == to)
		return 0;
	if (pt_batch_room(t, b, 1, 0, err) < 0)
		return -1;
	pt_batch_add(b, "moving the vDSO", SYS_mremap, 5, (long)from, (long)len, (long)len,
		     (long)(MREMAP_MAYMOVE | MREMAP_FIXED), (long)to);
	return 0;
}

/* Runs the batch of mappings; a failed mmap is named by its area. */
static int run_maps(struct pt_task *t, struct pt_batch *b, const struct cr_vma **vma_of, int32_t pid, struct ct_err *err)
{
	if (pt_batch_run(t, b, err) == 0) {
		pt_batch_init(b, b->scratch);
		return 0;
	}
	const struct cr_vma *v = b->failed >= 0 ? vma_of[b->failed] : NULL;
	if (v) {
		errno = -(int32_t)b->op[b->failed].ret;
		ct_fail_errno(err, "mapping %#x-%#x %s in process %d", v->start, v->end, v->path, pid);
	}
	return -1;
}

int cr_mem_restore(struct pt_task *t, const struct cr_proc_index *x, const struct cr_map_files *mf,
		   struct pt_batch *b, struct ct_err *err)
{
	struct cr_area *cur;
	uint32_t ncur;
	int32_t pid = x->proc->pid;
	if (cr_mem_read_maps(t->hpid, pid, &cur, &ncur, err) < 0)
		return -1;
	int rc = -1;
	const struct cr_vma **vma_of = calloc(PT_BATCH_OPS, sizeof(*vma_of));
	const struct cr_area *vdso = find_kind(cur, ncur, CR_VMA_VDSO), *vvar = find_kind(cur, ncur, CR_VMA_VVAR);
	const struct cr_vma *svdso = saved_kind(x, CR_VMA_VDSO), *svvar = saved_kind(x, CR_VMA_VVAR);
	if (!vma_of) {
		ct_fail(err, "failed", "out of memory");
		goto out;
	}
	if (!vdso || !svdso || vdso->end - vdso->start != svdso->end - svdso->start ||
	    (!vvar) != (!svvar) || (vvar && vvar->end - vvar->start != svvar->end - svvar->start)) {
		ct_fail(err, "incompatible", "the vDSO of this kernel differs from the image's");
		goto out;
	}
	uint32_t gadget_off;
	if (pt_find_gadget(t, vdso->start, err) < 0)
		goto out;
	gadget_off = t->gadget - vdso->start;
	uint32_t scratch = cr_mem_free_spot(cur, ncur, x, PT_BATCH_SCRATCH);
	if (!scratch) {
		ct_fail(err, "failed", "no room for a scratch area in process %d", pid);
		goto out;
	}
	if (pt_call(t, "mapping a scratch area", err, SYS_mmap2, 6, (long)scratch, (long)PT_BATCH_SCRATCH,
		    (long)(PROT_READ | PROT_WRITE | PROT_EXEC), (long)(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), -1L, 0L) < 0)
		goto out;
	/* From here on one batch: the unmapping of the stub, the vDSO's move, the saved areas. */
	pt_batch_init(b, scratch);
	/* Unmap everything of the stub but the vDSO, vvar and scratch: the gaps between them. */
	uint32_t keep[3][2] = { { vdso->start, vdso->end }, { scratch, scratch + PT_BATCH_SCRATCH }, { 0, 0 } };
	int nkeep = 2;
	if (vvar) {
		keep[2][0] = vvar->start;
		keep[2][1] = vvar->end;
		nkeep = 3;
	}
	for (int i = 0; i < nkeep; i++)   /* sort by start */
		for (int j = i + 1; j < nkeep; j++)
			if (keep[j][0] < keep[i][0]) {
				uint32_t s = keep[i][0], e = keep[i][1];
				keep[i][0] = keep[j][0]; keep[i][1] = keep[j][1];
				keep[j][0] = s; keep[j][1] = e;
			}
	uint32_t at = 0;
	for (int i = 0; i <= nkeep; i++) {
		uint32_t until = i < nkeep ? keep[i][0] : TASK_TOP;
		if (until > at)
			pt_batch_add(b, "unmapping the restorer", SYS_munmap, 2, (long)at, (long)(until - at));
		if (i < nkeep)
			at = keep[i][1];
	}
	/* The vDSO (and its data page) back where the task had them: code returns into it. */
	uint32_t vdso_len = vdso->end - vdso->start, vvar_len = vvar ? vvar->end - vvar->start : 0;
	if (vdso->start != svdso->start || (vvar && vvar->start != svvar->start)) {
		struct cr_area busy[2] = { { .start = scratch, .end = scratch + PT_BATCH_SCRATCH },
					   { .start = vdso->start, .end = vdso->end } };
		uint32_t tmp = cr_mem_free_spot(busy, 2, x, vdso_len + vvar_len + CR_PAGE);
		if (vvar) {
			busy[1].start = vvar->start < vdso->start ? vvar->start : vdso->start;
			busy[1].end = vvar->end > vdso->end ? vvar->end : vdso->end;
			tmp = cr_mem_free_spot(busy, 2, x, vdso_len + vvar_len + CR_PAGE);
		}
		if (!tmp) {
			ct_fail(err, "failed", "no room to move the vDSO of process %d", pid);
			goto out;
		}
		if ((vvar && move_area(t, b, vvar->start, vvar_len, tmp, err) < 0) ||
		    move_area(t, b, vdso->start, vdso_len, tmp + vvar_len, err) < 0 ||
		    (vvar && move_area(t, b, tmp, vvar_len, svvar->start, err) < 0) ||
		    move_area(t, b, tmp + vvar_len, vdso_len, svdso->start, err) < 0)
			goto out;
	}
	/* The saved areas, then their contents (writes through /proc/PID/mem ignore protections). */
	for (uint32_t i = 0; i < x->nvmas; i++) {
		const struct cr_vma *v = x->vmas[i];
		long flags = (v->flags & CR_VMA_SHARED ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
		long fd = -1;
		if (v->kind == CR_VMA_VDSO || v->kind == CR_VMA_VVAR)
			continue;
		if (v->kind == CR_VMA_ANON) {
			flags |= MAP_ANONYMOUS | (v->flags & CR_VMA_GROWSDOWN ? MAP_GROWSDOWN : 0);
		} else {
			for (int k = 0; k < mf->n; k++)
				if (!strcmp(mf->path[k], v->path))
					fd = mf->base + k;
		}
		if (b->n == PT_BATCH_OPS && run_maps(t, b, vma_of, pid, err) < 0)
			goto out;
		vma_of[b->n] = v;
		pt_batch_add(b, "mapping an area", SYS_mmap2, 6, (long)v->start, (long)(v->end - v->start), (long)v->prot,
			     flags, fd, (long)(v->kind == CR_VMA_FILE ? v->pgoff : 0));
	}
	if (run_maps(t, b, vma_of, pid, err) < 0)
		goto out;
	t->gadget = svdso->start + gadget_off;
	for (uint32_t i = 0; i < x->npages; i++) {
		const struct cr_pages *g = x->pages[i];
		if (pt_mem_write(t, g->addr, cr_after(g, sizeof(*g)), (size_t)g->npages * CR_PAGE) < 0) {
			ct_fail_errno(err, "filling memory of process %d at %#x", pid, g->addr);
			goto out;
		}
	}
	rc = 0;
out:
	free(vma_of);
	free(cur);
	return rc;
}
