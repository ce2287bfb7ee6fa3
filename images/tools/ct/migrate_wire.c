/* What both ends of a live migration share: see migrate_wire.h. */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "migrate_wire.h"
#include "util.h"

/* The cluster's migration key (hex), if the page gave this host one: a listener that has a key
 * accepts only peers that send the same, so a container on the network cannot push one in. */
#define MIG_KEY_FILE CT_RUN_DIR "/migrate.key"

void read_key(char key[65])
{
	memset(key, 0, 65);
	if (read_file(MIG_KEY_FILE, key, 65) > 0)
		key[strcspn(key, "\n")] = 0;
}

int migrate_set_key(const char *key, struct ct_err *err)
{
	size_t n = strlen(key);
	if (n > 64 || strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return ct_fail(err, "invalid_argument", "a migration key is 1-64 of A-Z a-z 0-9 _ -");
	if (n == 0) {
		if (unlink(MIG_KEY_FILE) < 0 && errno != ENOENT)
			return ct_fail_errno(err, "removing %s", MIG_KEY_FILE);
		return 0;
	}
	if (mkdir_p(CT_RUN_DIR, 0755, err) < 0)
		return -1;
	mode_t old = umask(077);
	int rc = write_file_atomic(MIG_KEY_FILE, key, n, err);
	umask(old);
	return rc;
}

bool same_key(const char *a, const char *b)
{
	unsigned char diff = 0;   /* constant time: the comparison says nothing about where they differ */
	for (int i = 0; i < 64; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* --- framing ----------------------------------------------------------------------------------- */

int send_frame(int fd, uint32_t type, const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	/* One writev: with TCP_NODELAY, a header written alone would leave as a packet of its own. */
	struct frame f = { type, alen + blen };
	struct iovec v[3] = { { &f, sizeof(f) }, { (void *)a, alen }, { (void *)b, blen } };
	size_t left = sizeof(f) + alen + blen;
	int i = 0;
	while (left > 0) {
		ssize_t n = writev(fd, v + i, 3 - i);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= (size_t)n;
		for (; i < 3 && (size_t)n >= v[i].iov_len; i++)
			n -= (ssize_t)v[i].iov_len;
		if (i < 3) {
			v[i].iov_base = (char *)v[i].iov_base + n;
			v[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Set by SIGUSR2 (`ct migrate-abort`, agent op migrate_abort): the source gives up at the next
 * step before COMMIT; after it, the migration completes (there is nothing left to abort). */
volatile sig_atomic_t mig_abort_requested;

/* Reads exactly len bytes, giving up after timeout_ms of silence (or at once when aborted). */
int read_timed(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR && mig_abort_requested) {
			errno = ECANCELED;
			return -1;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n == 0 ? ECONNRESET : errno;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* A small frame (replies): its payload into buf. */
int recv_reply(int fd, uint32_t *type, void *buf, uint32_t cap, int timeout_ms, struct ct_err *err)
{
	struct frame f;
	if (read_timed(fd, &f, sizeof(f), timeout_ms) < 0)
		return ct_fail_errno(err, "the migration peer did not answer");
	if (f.len > cap)
		return ct_fail(err, "failed", "the migration peer sent a malformed reply");
	if (f.len && read_timed(fd, buf, f.len, timeout_ms) < 0)
		return ct_fail_errno(err, "the migration peer did not answer");
	*type = f.type;
	return (int)f.len;
}

void send_error(int fd, const struct ct_err *err)
{
	send_frame(fd, F_ERROR, err, sizeof(*err), NULL, 0);
}

/* --- page hashes: what the destination already holds --------------------------------------------- */


uint64_t page_hash(const unsigned char *p)
{
	/* A 64-bit state, one 32x32->64 multiply per word (the 64-bit FNV-1a this replaces took ~3
	 * multiplies and twice the instructions on i386). Each step is a bijection of the state for
	 * a given word (lo ^ w times an odd constant is one-to-one in its low half, which becomes
	 * hi; the old hi is recovered from the new lo), so pages differing in one word always hash
	 * differently. */
	uint32_t lo = 0x84222325u, hi = 0xcbf29ce4u;
	for (size_t i = 0; i < CR_PAGE; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		uint64_t t = (uint64_t)(lo ^ w) * 0x9e3779b1u;
		lo = hi + (uint32_t)(t >> 32);
		hi = (uint32_t)t;
	}
	return ((uint64_t)hi << 32 | lo) | 1;   /* never 0: 0 marks an empty slot's hash */
}

uint64_t page_key(int32_t pid, uint32_t addr)
{
	return ((uint64_t)(uint32_t)pid << 32) | addr;
}

struct slot *table_find(struct page_table *t, uint64_t key, bool insert)
{
	if (insert && (t->used + 1) * 2 > t->cap) {
		struct page_table bigger = { calloc(t->cap ? t->cap * 2 : 4096, sizeof(struct slot)), t->cap ? t->cap * 2 : 4096, 0 };
		if (!bigger.slots)
			return NULL;
		for (uint32_t i = 0; i < t->cap; i++)
			if (t->slots[i].hash) {
				struct slot *s = table_find(&bigger, t->slots[i].key, true);
				*s = t->slots[i];
			}
		free(t->slots);
		*t = bigger;
	}
	if (!t->cap)
		return NULL;
	for (uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ULL) >> 40) % t->cap;; i = (i + 1) % t->cap) {
		if (t->slots[i].hash && t->slots[i].key == key)
			return &t->slots[i];
		if (!t->slots[i].hash) {
			if (!insert)
				return NULL;
			t->slots[i].key = key;
			t->used++;
			return &t->slots[i];
		}
	}
}

/* A link that drops must end the migration, not hang it: TCP would retry for many minutes. */
void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 10 };
	unsigned user_timeout = 10000;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
	/* A peer that vanishes while we wait for it (its tab closed) is noticed in ~5 s, not at the
	 * end of a long reply timeout: keepalive probes every second after 2 s of silence. */
	int on = 1, idle = 2, intvl = 1, cnt = 3;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int write_id(const char *path, uint64_t id, struct ct_err *err)
{
	char text[32];
	snprintf(text, sizeof(text), "%016llx\n", (unsigned long long)id);
	return write_file_atomic(path, text, strlen(text), err);
}

bool read_id(const char *path, uint64_t *id)
{
	char text[32] = "";
	unsigned long long v;
	if (read_file(path, text, sizeof(text)) <= 0 || sscanf(text, "%16llx", &v) != 1)
		return false;
	*id = v;
	return true;
}
