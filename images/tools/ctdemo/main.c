/*
 * ctdemo: small workloads for watching checkpoint/restore and migration (in every container's
 * template as /usr/bin/ctdemo, and used by the tests):
 *   ctdemo count [MS]        counts in memory, printing each count every MS ms (default 200)
 *   ctdemo produce [MS]      writes numbered records to stdout, one every MS ms (default 20)
 *   ctdemo consume           reads records and checks none is lost or repeated
 *   ctdemo pair [MS]         produce and consume over a unix socketpair (a parent and its child)
 *   ctdemo mem MB [PAGES]    holds MB of memory and rewrites PAGES pages of it every 10 ms
 *                            (default 16), printing a round counter every second
 *   ctdemo write FILE [MS]   keeps FILE open and appends a numbered record every MS ms (default 200),
 *                            checking its own offset each time
 * State lives in memory and registers only, so a restored process that continues its sequence
 * shows its state came back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int put(int fd, const char *text)
{
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static void __attribute__((noreturn)) count(long ms)
{
	char line[64];
	for (unsigned long long i = 1;; i++) {
		snprintf(line, sizeof(line), "count %llu\n", i);
		put(1, line);
		nap(ms);
	}
}

static int produce(long ms)
{
	char line[64];
	for (unsigned long long i = 1;; i++) {
		snprintf(line, sizeof(line), "%llu\n", i);
		if (put(1, line) < 0)
			return 1;
		if (ms > 0)
			nap(ms);
	}
}

static int consume(void)
{
	char buf[4096], line[64];
	size_t used = 0;
	unsigned long long expect = 1, bad = 0;
	for (;;) {
		ssize_t n = read(0, buf + used, sizeof(buf) - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return bad ? 1 : 0;
		used += (size_t)n;
		buf[used] = 0;
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			unsigned long long got = strtoull(start, NULL, 10);
			if (got != expect) {
				bad++;
				snprintf(line, sizeof(line), "consume: expected %llu got %llu\n", expect, got);
				put(1, line);
			}
			expect = got + 1;
			if (got % 50 == 0) {
				snprintf(line, sizeof(line), "consume ok %llu bad %llu\n", got, bad);
				put(1, line);
			}
			start = nl + 1;
		}
		used = strlen(start);
		memmove(buf, start, used);
	}
}

static int pair(long ms)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	pid_t child = fork();
	if (child == 0) {
		close(sv[0]);
		dup2(sv[1], 0);
		close(sv[1]);
		return consume();
	}
	close(sv[1]);
	dup2(sv[0], 1);
	close(sv[0]);
	/* Bursts of records, so some are usually in flight in the socket. */
	char line[64];
	for (unsigned long long i = 1;; i++) {
		snprintf(line, sizeof(line), "%llu\n", i);
		if (put(1, line) < 0)
			return 1;
		if (i % 10 == 0)
			nap(ms);
	}
}

static int mem(long mb, long pages)
{
	size_t size = (size_t)mb << 20, npages = size / 4096;
	unsigned char *p = malloc(size);
	if (!p || npages == 0) {
		fputs("mem: out of memory\n", stderr);
		return 1;
	}
	for (size_t i = 0; i < size; i += 4096)
		memset(p + i, (int)(i / 4096) | 1, 4096);
	char line[64];
	size_t next = 0;
	for (unsigned long long round = 1;; round++) {
		for (long k = 0; k < pages; k++, next = (next + 1) % npages)
			p[next * 4096 + (round % 4096)] = (unsigned char)round;
		if (round % 100 == 0) {
			snprintf(line, sizeof(line), "mem %lld MB round %llu\n", (long long)mb, round / 100);
			put(1, line);
		}
		nap(10);
	}
}

static int writer(const char *path, long ms)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	char line[64];
	off_t expect = 0;
	for (unsigned long long i = 1;; i++) {
		off_t at = lseek(fd, 0, SEEK_CUR);
		if (at != expect) {
			snprintf(line, sizeof(line), "write: offset %lld, expected %lld\n", (long long)at, (long long)expect);
			put(1, line);
		}
		snprintf(line, sizeof(line), "record %llu\n", i);
		if (put(fd, line) < 0)
			return 1;
		expect = at + (off_t)strlen(line);
		nap(ms);
	}
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "count"))
		count(argc > 2 ? atol(argv[2]) : 200);
	if (!strcmp(cmd, "produce"))
		return produce(argc > 2 ? atol(argv[2]) : 20);
	if (!strcmp(cmd, "consume"))
		return consume();
	if (!strcmp(cmd, "mem") && argc > 2)
		return mem(atol(argv[2]), argc > 3 ? atol(argv[3]) : 16);
	if (!strcmp(cmd, "pair"))
		return pair(argc > 2 ? atol(argv[2]) : 100);
	if (!strcmp(cmd, "write") && argc > 2)
		return writer(argv[2], argc > 3 ? atol(argv[3]) : 200);
	fputs("usage: ctdemo count [MS] | produce [MS] | consume | pair [MS] | mem MB [PAGES] | write FILE [MS]\n", stderr);
	return 2;
}
