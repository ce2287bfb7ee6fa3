/* Container definitions on disk: CT_STATE_DIR/NAME/config, one key=value per line. */
#ifndef CT_CONFIG_H
#define CT_CONFIG_H

#include "ct.h"

void config_defaults(struct ct_config *c, const char *name);
/* Parses a config file's text; every value is checked as strictly as user input. */
int config_parse(struct ct_config *c, const char *text, struct ct_err *err);
/* Formats into buf; returns the length. */
int config_format(const struct ct_config *c, char *buf, size_t size);
int config_load(const char *name, struct ct_config *c, struct ct_err *err);
int config_save(const struct ct_config *c, struct ct_err *err);
bool config_exists(const char *name);
/* 0 if the container is defined, else a "not_found" error naming it. */
int config_require(const char *name, struct ct_err *err);
/* Calls fn for every defined container, in name order; stops at the first non-zero return. */
int config_for_each(int (*fn)(const struct ct_config *c, void *arg), void *arg, struct ct_err *err);
void config_path(const char *name, const char *file, char *buf, size_t size);

#endif
