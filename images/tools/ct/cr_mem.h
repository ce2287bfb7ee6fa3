/*
 * A process's memory: its areas (from /proc/PID/maps) and the pages worth saving (from
 * /proc/PID/pagemap), and putting both back into a restore stub by injected mmap and writes to
 * /proc/PID/mem.
 */
#ifndef CT_CR_MEM_H
#define CT_CR_MEM_H

#include <stdbool.h>
#include "cr_batch.h"
#include "cr_image.h"
#include "cr_ptrace.h"

struct cr_area {
	uint32_t start, end, prot, flags, kind, pgoff;
	char path[CR_PATH_MAX];
};

/* Reads /proc/hpid/maps; areas of a kind the engine cannot restore give an "unsupported" error. */
int cr_mem_read_maps(pid_t hpid, int32_t ns_pid, struct cr_area **areas, uint32_t *n, struct ct_err *err);
/* Where saved pages go: called for each run of consecutive saved pages of one area. */
struct cr_page_sink {
	int (*run)(void *ctx, struct cr_writer *w, int32_t pid, uint32_t addr, uint32_t npages,
		   const unsigned char *data, bool anon, struct ct_err *err);
	void *ctx;
};

/* Walks the saved pages of a task (seized or running) through mem, an open /proc/PID/mem; w (may
 * be NULL) is handed to the sink. */
int cr_mem_walk(pid_t hpid, int mem, int32_t ns_pid, const struct cr_area *areas, uint32_t n,
		const struct cr_page_sink *sink, struct cr_writer *w, struct ct_err *err);
/* Writes one VMA record per area, then the saved pages through sink (NULL: as PAGES records,
 * all-zero anonymous pages left out, counted in *pages). */
int cr_mem_dump(struct pt_task *t, int32_t ns_pid, const struct cr_area *areas, uint32_t n,
		const struct cr_page_sink *sink, struct cr_writer *w, uint64_t *pages, struct ct_err *err);
/* One PAGES record (with data) or PAGES_REF record (without). */
int cr_write_pages(struct cr_writer *w, uint32_t type, int32_t pid, uint32_t addr, uint32_t npages,
		   const unsigned char *data, struct ct_err *err);
bool cr_page_zero(const unsigned char *page);

/* The files a restore stub must hold open for its mappings and exe link, in a fixed order. */
#define CR_MAX_MAP_FILES 64
struct cr_map_files {
	const char *path[CR_MAX_MAP_FILES];
	int flags[CR_MAX_MAP_FILES];
	int n;
	int base;   /* they sit at fds base, base+1, ... */
};
int cr_map_files(const struct cr_proc_index *x, struct cr_map_files *mf, struct ct_err *err);

/* In a seized stub: map a scratch area free in the saved layout, then in one batch unmap the
 * stub, move the vDSO and map the saved areas; fill them. Leaves b empty, on the scratch area
 * (b->scratch), for the rest of the restore. */
int cr_mem_restore(struct pt_task *t, const struct cr_proc_index *x, const struct cr_map_files *mf,
		   struct pt_batch *b, struct ct_err *err);

/* An address for scratch pages free in both the task's current layout and its saved one. */
uint32_t cr_mem_free_spot(const struct cr_area *a, uint32_t na, const struct cr_proc_index *x, uint32_t len);

#endif
