/*
 * Many syscalls in a held task for one resume. Each injected syscall costs the tracer a register
 * load and two trips through the scheduler and ptrace stops; a dump asks a task for ~10 things and
 * a restore sets ~20, and in the emulator those round trips are most of a task's share of the
 * frozen time. A batch is a table of syscalls written into the task's scratch area with a few
 * bytes of code that runs them in order, stops at the first error and ends on an int3; the tracer
 * resumes the task once and reads every result back with one read.
 *
 * The scratch area (PT_BATCH_SCRATCH bytes, mapped read-write-execute in the task) holds:
 *   [0, 64) the executor  [64, 256) its stack  [256, 4096) the table  [4096, 8192) data
 */
#ifndef CT_CR_BATCH_H
#define CT_CR_BATCH_H

#include <stdint.h>
#include "cr_ptrace.h"

#define PT_BATCH_SCRATCH 8192
#define PT_BATCH_OPS 119   /* and the end mark: (4096 - 256) / 32 entries */
#define PT_BATCH_DATA 4096

struct pt_batch_op {   /* as the executor reads it: 32 bytes */
	uint32_t nr, a[6], ret;
};

struct pt_batch {
	uint32_t scratch;                       /* the area's address in the task */
	int n;
	int failed;                             /* after a failed run: the op that failed */
	struct pt_batch_op op[PT_BATCH_OPS + 1];
	const char *what[PT_BATCH_OPS];         /* for the error of a failing op */
	uint32_t used;                          /* bytes of data taken */
	unsigned char data[PT_BATCH_DATA];      /* copied in before the run, back after it */
};

void pt_batch_init(struct pt_batch *b, uint32_t scratch);
/* Reserves len bytes of data (filled from src unless NULL) and returns their address in the task,
 * or 0 when the data area is full. */
uint32_t pt_batch_data(struct pt_batch *b, const void *src, uint32_t len);
/* The local copy of the data at a task address pt_batch_data returned. */
void *pt_batch_at(struct pt_batch *b, uint32_t addr);
/* Adds a syscall; returns its index, or -1 when the table is full (a failure to report). */
int pt_batch_add(struct pt_batch *b, const char *what, long nr, int nargs, ...);
/* Makes room for ops syscalls and bytes of data, running (and emptying) the batch if need be:
 * for callers that need no result of what ran. */
int pt_batch_room(struct pt_task *t, struct pt_batch *b, int ops, uint32_t bytes, struct ct_err *err);
/* Runs the table. A failing syscall stops the run: an error naming its `what`, and the ops after
 * it did not run (b->failed says which). The task's registers are left as the executor left them (callers restore
 * them, as after any injected syscall). */
int pt_batch_run(struct pt_task *t, struct pt_batch *b, struct ct_err *err);

#endif
