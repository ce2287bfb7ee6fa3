/* The agent's operations: one request (already parsed) in, one reply out. */
#ifndef CT_AGENT_OPS_H
#define CT_AGENT_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "err.h"
#include "json.h"

struct agent_op {
	const char *name;
	/* Slow ops run in a forked worker so the agent keeps answering meanwhile. */
	bool forked;
	/* Writes the result object into b and returns 0, or fills err and returns -1. */
	int (*run)(const struct json *args, struct jbuf *b, struct ct_err *err);
};

const struct agent_op *agent_find_op(const char *name);

/* Terminal sessions live in the agent process: these hook them into its poll loop. */
struct tty_session {
	int id;
	int master;
	pid_t helper;
	bool exited;
	int exit_code;
};
#define AGENT_MAX_TTYS 16
extern struct tty_session agent_ttys[AGENT_MAX_TTYS];

#endif
