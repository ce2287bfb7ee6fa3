/*
 * The container's file-system changes: the overlay's upper layer (new and changed files,
 * whiteouts for deleted ones, opaque directories) and its /dev/shm tmpfs, saved as FSENTRY records and rebuilt into a
 * fresh directory on restore. The template below it is part of the guest build, which the image
 * header pins.
 */
#ifndef CT_CR_FS_H
#define CT_CR_FS_H

#include "cr_image.h"

/* Saves the tree under dir as entries of the given root (CR_FS_UPPER, CR_FS_SHM). */
int cr_fs_dump(uint32_t root, const char *dir, struct cr_writer *w, uint64_t *bytes, struct ct_err *err);
/* Rebuilds the saved tree `which` in dir: the upper layer into a new directory (it must not exist
 * yet), /dev/shm into the existing tmpfs. Owners are stored as the host sees them; id_shift maps
 * them into the user namespace the restore runs in. */
int cr_fs_restore(const struct cr_image *img, uint32_t which, const char *dir, uint32_t id_shift, struct ct_err *err);

/* Makes the tree under dir — a mounted overlay, seen from the host — show the saved upper layer
 * `which` on top of what its lower layer shows: each entry written through the overlay, deleted
 * files removed (the overlay records the whiteouts itself). For a container built before its
 * files arrived (a migration's destination); owners as the host sees them. */
int cr_fs_apply(const struct cr_image *img, uint32_t which, const char *dir, struct ct_err *err);

#endif
