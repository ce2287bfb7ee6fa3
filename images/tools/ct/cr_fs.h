/*
 * The container's file-system changes: the overlay's upper layer (new and changed files,
 * whiteouts for deleted ones, opaque directories), saved as FSENTRY records and rebuilt into a
 * fresh directory on restore. The template below it is part of the guest build, which the image
 * header pins.
 */
#ifndef CT_CR_FS_H
#define CT_CR_FS_H

#include "cr_image.h"

int cr_fs_dump(const char *upper, struct cr_writer *w, uint64_t *bytes, struct ct_err *err);
/* Builds the saved upper layer in dir, which must not exist yet. */
int cr_fs_restore(const struct cr_image *img, const char *dir, struct ct_err *err);

#endif
