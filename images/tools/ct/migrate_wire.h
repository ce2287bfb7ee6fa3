/*
 * What both ends of a live migration share (migrate.c, the source; migrate_listen.c, the
 * destination): the frames on the wire, the hello, the cluster key, reading and writing frames
 * with timeouts, and the page-hash table. Internal to ct.
 */
#ifndef CT_MIGRATE_WIRE_H
#define CT_MIGRATE_WIRE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ct.h"
#include "err.h"
#include "migrate.h"

#define MIG_MAGIC "CTMIGR1"
#define MIG_VERSION 3   /* 2: the destination builds the container from a description first; 3: ids */
#define MIG_DIR "/var/lib/ct-migrate"
#define ROUND_ENOUGH (64u << 10)      /* a pre-copy round this small: freeze now */
#define CONNECT_TIMEOUT_MS 5000
#define REPLY_TIMEOUT_MS 15000
#define RESTORE_TIMEOUT_MS 60000
#define COMMIT_TIMEOUT_MS 10000    /* the destination, READY sent, waits this long for COMMIT */
#define DONE_TIMEOUT_MS 5000       /* the source, COMMIT sent, waits this long for DONE */
#define RESOLVE_MS 20000           /* then keeps asking the destination this long what became of it */

enum { F_HELLO = 1, F_ACCEPT, F_ERROR, F_PAGES, F_ROUND_END, F_IMAGE, F_READY, F_COMMIT, F_ABORT, F_DONE,
       F_QUERY, F_DECISION, F_PREPARE, F_BUILT, F_FORGET };
/* F_FORGET: the source, DONE in hand, will never ask about this migration: its decision can go.
 * (A source that learned the outcome by asking sends none: it may ask again until it has acted.) */
#define FORGET_WAIT_MS 2000

/* F_DONE's payload: when, on the destination's own clock, the container ran again. The source
 * places that instant on its clock (half the COMMIT -> DONE round trip, less the time the
 * destination held the COMMIT, is the DONE's way back), so the frozen time it reports ends when the
 * container runs there, not when it hears so. The clocks need not agree: only spans travel. */
struct done_timing {
	uint32_t held_us;     /* COMMIT received -> DONE sent */
	uint32_t running_us;  /* thawed -> DONE sent */
};

#define PREPARE_MAX 4096   /* a description: header, container record, empty log */
#define BUILT_TIMEOUT_MS 30000   /* the source, pre-copy done, waits this long for the destination's build */

/* In a container held by a migration in doubt (its config directory): that migration's id, for
 * ct migrate-resolve. */
#define MIGRATION_ID_FILE "migration-id"

/* The destination's answer to F_QUERY: what became of the container it was sent. */
enum { D_ABORTED = 'a', D_COMMITTED = 'c' };

/* Tests only: makes the destination lose the COMMIT ("lose-commit") or the DONE ("lose-done"), the
 * two messages whose loss leaves the source in doubt, or its serving child die with the copy
 * restored and held, before READY ("crash-restored") or past its commit's seal ("crash-committed"). */
#define MIG_FAULT_FILE CT_RUN_DIR "/migrate.fault"

struct frame { uint32_t type, len; };
struct hello {
	char magic[8];
	uint32_t version;
	char name[CT_NAME_MAX + 1];
	char key[65];
	uint64_t memory;   /* the container's memory.current: the destination must have room for it */
	uint64_t id;       /* this migration's (random); F_QUERY: the migration asked about */
};

struct page_table {
	struct slot { uint64_t key, hash; } *slots;
	uint32_t cap, used;
};

/* Set by SIGUSR2 on the source (`ct migrate-abort`): a wait for the peer ends at once. */
extern volatile sig_atomic_t mig_abort_requested;

/* A migration id in a file of its own (hex); read_id: false if there is none. */
int write_id(const char *path, uint64_t id, struct ct_err *err);
bool read_id(const char *path, uint64_t *id);

/* The cluster's key (empty: none) and a constant-time comparison of two. */
void read_key(char key[65]);
bool same_key(const char *a, const char *b);
/* One frame (header, then a and b) in one writev. */
int send_frame(int fd, uint32_t type, const void *a, uint32_t alen, const void *b, uint32_t blen);
/* Exactly len bytes, or -1 after timeout_ms of silence (errno ETIMEDOUT) or when aborted. */
int read_timed(int fd, void *buf, size_t len, int timeout_ms);
/* A small frame: its type, its payload into buf; its length, or -1. */
int recv_reply(int fd, uint32_t *type, void *buf, uint32_t cap, int timeout_ms, struct ct_err *err);
void send_error(int fd, const struct ct_err *err);
/* Send and keepalive timeouts, so a link that drops ends a migration instead of hanging it. */
void timeouts(int fd);

uint64_t page_hash(const unsigned char *p);
uint64_t page_key(int32_t pid, uint32_t addr);
struct slot *table_find(struct page_table *t, uint64_t key, bool insert);

#endif
