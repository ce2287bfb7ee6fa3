/*
 * Live migration: `ct migrate NAME DEST` streams a running container to the migration listener of
 * another host over TCP. Pre-copy rounds send the container's memory while it runs (i386 has no
 * soft-dirty bits: a page is resent when its 64-bit hash changed); then a short freeze sends the
 * checkpoint with references to the pages the destination already holds. The destination restores
 * the container frozen and says READY; the source says COMMIT; the destination thaws it, announces
 * its address (gratuitous ARP) and says DONE; only then does the source end its copy. Anything
 * else on the way thaws the source's copy and makes the destination drop its own.
 */
#ifndef CT_MIGRATE_H
#define CT_MIGRATE_H

#include <stdint.h>
#include "checkpoint.h"

#define CT_MIGRATE_PORT 7070
#define MIG_MAX_ROUNDS 6

struct migrate_report {
	uint32_t rounds;                      /* pre-copy rounds, the frozen one not counted */
	uint64_t round_bytes[MIG_MAX_ROUNDS];
	uint64_t final_bytes;                 /* the frozen round: the image with page references */
	uint64_t pages_referenced;            /* pages the final image did not have to carry */
	long long frozen_ms;                  /* from freeze to the destination running it */
	long long confirmed_ms;               /* from freeze to the destination's DONE reaching us */
	long long dump_ms;                    /* of which: freeze to the image sent */
	long long ready_ms;                   /* image sent to the destination's READY */
	long long restore_ms;                 /* the destination's restore, as it measured it */
	long long total_ms;
	struct cr_report dump;
};

/* DEST: a host name (from /etc/hosts) or an IPv4 address, optionally with ":PORT". */
int container_migrate(const char *name, const char *dest, struct migrate_report *r, cr_progress_fn progress,
		      void *arg, struct ct_err *err);
/* Asks the migration of NAME under way here to stop: it does at its next step before COMMIT (and
 * fails with code "aborted", the container running here); past COMMIT it completes. */
int container_migrate_abort(const char *name, struct ct_err *err);
/* Settles a migration left in doubt (the COMMIT or DONE lost; the container held frozen here): asks
 * DEST what became of it; 1: it runs there, ours is destroyed; 0: it does not, ours runs again.
 * resume: DEST is gone for good, ours runs again without asking. */
int container_migrate_resolve(const char *name, const char *dest, bool resume, struct ct_err *err);
/* Sets the key a peer must present to push a container here (and that we present to others): 1-64
 * of A-Z a-z 0-9 _ -; "" removes it (then any peer on the network may). */
int migrate_set_key(const char *key, struct ct_err *err);
/* Serves migrations on a port until killed: one forked child per incoming container. */
int migrate_listen(int port);

#endif
