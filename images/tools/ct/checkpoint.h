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

struct cr_page_sink;

#define CR_DECIDE_HOLD (-2)

/* A checkpoint written to any fd (a file, a migration socket). */
struct cr_dump_opts {
	int fd;
	bool leave_running;
	/* Called once the image is complete, the tasks still held: -1 gives them back running (and
	 * fails the dump), 0 lets the dump end the container unless leave_running, CR_DECIDE_HOLD
	 * fails the dump but leaves the container frozen (nobody knows yet whether it runs elsewhere). */
	int (*decide)(void *arg, struct ct_err *err);
	const struct cr_page_sink *sink;   /* NULL: plain PAGES records */
	cr_progress_fn progress;
	void *arg;                         /* for decide and progress */
};
int container_dump(const char *name, const struct cr_dump_opts *o, struct cr_report *r, struct ct_err *err);
/* A frozen container (a migration in doubt, or one arriving and not yet committed) is refused. */
int container_refuse_frozen(const char *name, struct ct_err *err);

int container_checkpoint(const char *name, const char *dir, bool leave_running, struct cr_report *r,
			 cr_progress_fn progress, void *arg, struct ct_err *err);
int container_restore(const char *name, const char *dir, struct cr_report *r, cr_progress_fn progress, void *arg,
		      struct ct_err *err);

/* The head of an image without files or processes — the container record (settings, hostname,
 * clocks, console) and an empty log — written to fd: what a migration's destination builds the
 * container from while the pre-copy runs. */
int container_describe(const char *name, int fd, struct ct_err *err);
/* A migration's restore, its processes left frozen (cgroup.freeze) until the caller thaws them, begun
 * before its image: the container is built at once from a description
 * (container_describe: prepare_size bytes at prepare_fd), and built_fd gets one byte ('b') once it
 * stands, its first process waiting (closed without: it failed). Then complete_fd gives 'h' and the head's
 * size (a uint64_t) once the image's head is in image_fd: its files are put in place through the
 * overlay, its container record must agree with the description; then 'y' once the image is whole
 * (every record's checksum checked by the caller) and its processes are restored from it (anything
 * else, at any step: the restore fails leaving nothing behind). */
int container_restore_prepared(const char *name, int prepare_fd, size_t prepare_size, int image_fd, int complete_fd,
			       int built_fd, struct cr_report *r, struct ct_err *err);

/* The identity a restore must match: kernel build and CPU. */
void cr_host_identity(char kernel[128], char cpu[64]);

#endif
