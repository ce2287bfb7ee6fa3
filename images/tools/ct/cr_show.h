/* `ct image`: a checkpoint image as text, for debugging and for teaching what a process is made of. */
#ifndef CT_CR_SHOW_H
#define CT_CR_SHOW_H

#include <stdio.h>
#include "cr_image.h"

/* Prints a parsed image. */
void cr_show_image(FILE *out, const struct cr_image *img);
/* Reads, checks and prints DIR/ct.img or FILE; returns the exit status. */
int cr_show(const char *path);

#endif
