/* `ct checkpoint` and `ct restore`: a running container to an image and back. */
#ifndef CT_CHECKPOINT_H
#define CT_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include "cr_image.h"
#include "err.h"

struct cr_report {
	uint32_t processes;
	uint64_t pages;          /* memory pages saved */
	uint64_t fs_bytes;       /* bytes of files from the upper layer */
	uint64_t image_bytes;
	long long frozen_ms;     /* checkpoint: from freeze to the image written */
	long long total_ms;
};

/* Progress lines ("freezing", "memory", ...) for the agent; may be NULL. */
typedef void (*cr_progress_fn)(const char *phase, void *arg);

int container_checkpoint(const char *name, const char *dir, bool leave_running, struct cr_report *r,
			 cr_progress_fn progress, void *arg, struct ct_err *err);
int container_restore(const char *name, const char *dir, struct cr_report *r, cr_progress_fn progress, void *arg,
		      struct ct_err *err);

/* The identity a restore must match: kernel build and CPU. */
void cr_host_identity(char kernel[128], char cpu[64]);

#endif
