/*
 * Open files: on checkpoint, every fd of every process is matched to its open file description
 * (kcmp, so shared offsets stay shared) and classified; pipes keep their buffered data (read with
 * tee, which leaves it in place). On restore the container's init stub opens every description
 * once, its descendants inherit them across fork, and each stub moves its own into place.
 */
#ifndef CT_CR_FILES_H
#define CT_CR_FILES_H

#include "cr_image.h"

struct cr_files_dump;

/* console_rdev: the device of the container's console, to tell it from other terminals; init:
 * the container's init, whose mounts tell files inside the container from files outside. */
struct cr_files_dump *cr_files_dump_new(unsigned long console_rdev, pid_t init);
/* Classifies the fds of one process and adds FD records to *fds (malloc'd, *nfds long). */
int cr_files_scan(struct cr_files_dump *d, pid_t hpid, int32_t ns_pid, struct cr_fd **fds, uint32_t *nfds,
		  struct ct_err *err);
/* Checks the set is self-contained and writes FILE and PIPE_DATA records. */
int cr_files_write(struct cr_files_dump *d, struct cr_writer *w, struct ct_err *err);
void cr_files_dump_free(struct cr_files_dump *d);

/* Restore, in the init stub: opens every file description at fds staging_base + index. */
int cr_files_open_all(const struct cr_image *img, int staging_base, struct ct_err *err);
/* In each stub, once its children exist: moves its fds into place and closes all others but keep. */
int cr_files_install(const struct cr_image *img, const struct cr_proc_index *x, int staging_base, int keep,
		     struct ct_err *err);
/* The lowest fd above every fd in the image. */
int cr_files_staging_base(const struct cr_image *img);
/* Where a restore's stubs keep their report pipe: above every staging slot and the room a stub
 * maps its files in. Pairs are made above it. Low on purpose: a fork copies the fd table up to
 * the highest fd, and a close_range walks it (fds in the thousands cost a restore ~20%). */
int cr_files_report_fd(const struct cr_image *img, int staging_base);

#endif
