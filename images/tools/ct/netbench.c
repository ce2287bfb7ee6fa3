#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "netbench.h"
#include "util.h"

#define BUF_SIZE (1 << 20)

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void report(const char *what, uint64_t bytes, uint64_t sum, const struct timespec *t0)
{
	double s = seconds_since(t0);
	printf("%s bytes %llu fnv1a %016llx seconds %.3f MB/s %.2f\n", what, (unsigned long long)bytes,
	       (unsigned long long)sum, s, s > 0 ? bytes / s / 1e6 : 0);
}

static void big_buffers(int fd)
{
	int size = 1 << 20, one = 1;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int recv_main(int port, const char *path)
{
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	big_buffers(ls);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0) {
		fprintf(stderr, "ctnet: listening on %d: %s\n", port, strerror(errno));
		return 1;
	}
	printf("listening %d\n", port);
	fflush(stdout);
	int fd = accept(ls, NULL, NULL);
	if (fd < 0) {
		fprintf(stderr, "ctnet: accept: %s\n", strerror(errno));
		return 1;
	}
	int out = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	if (path && out < 0) {
		fprintf(stderr, "ctnet: %s: %s\n", path, strerror(errno));
		return 1;
	}
	unsigned char *buf = malloc(BUF_SIZE);
	uint64_t bytes = 0, sum = 0xcbf29ce484222325ULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ssize_t n;
	while ((n = read(fd, buf, BUF_SIZE)) > 0) {
		sum = fnv1a(sum, buf, n);
		bytes += n;
		if (out >= 0 && write_all(out, buf, n) < 0) {
			fprintf(stderr, "ctnet: writing %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	if (out >= 0 && close(out) < 0) {
		fprintf(stderr, "ctnet: writing %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (n < 0) {
		fprintf(stderr, "ctnet: reading: %s\n", strerror(errno));
		return 1;
	}
	report("received", bytes, sum, &t0);
	close(fd); /* only now: the sender waits for this to know everything arrived */
	return 0;
}

static int send_main(const char *host, int port, uint64_t total, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "ctnet: invalid address %s\n", host);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	big_buffers(fd);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "ctnet: connecting to %s:%d: %s\n", host, port, strerror(errno));
		return 1;
	}
	int in = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (path && in < 0) {
		fprintf(stderr, "ctnet: %s: %s\n", path, strerror(errno));
		return 1;
	}
	unsigned char *buf = malloc(BUF_SIZE);
	uint32_t x = 2463534242u; /* xorshift32: data that does not compress, the same every run */
	for (size_t i = 0; i < BUF_SIZE; i += 4) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		memcpy(buf + i, &x, 4);
	}
	uint64_t sent = 0, sum = 0xcbf29ce484222325ULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (sent < total) {
		size_t chunk = total - sent < BUF_SIZE ? total - sent : BUF_SIZE;
		if (in >= 0) {
			ssize_t n = read(in, buf, BUF_SIZE);
			if (n < 0) {
				fprintf(stderr, "ctnet: reading %s: %s\n", path, strerror(errno));
				return 1;
			}
			if (n == 0)
				break;
			chunk = (size_t)n;
		} else {
			/* Vary the data per chunk so a lost or repeated chunk changes the checksum. */
			buf[0] = (unsigned char)(sent / BUF_SIZE);
		}
		if (write_all(fd, buf, chunk) < 0) {
			fprintf(stderr, "ctnet: sending: %s\n", strerror(errno));
			return 1;
		}
		sum = fnv1a(sum, buf, chunk);
		sent += chunk;
	}
	shutdown(fd, SHUT_WR);
	char c;
	while (read(fd, &c, 1) > 0) /* the receiver closes once it has read everything */
		;
	report("sent", sent, sum, &t0);
	return 0;
}

int netbench_main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "recv"))
		return recv_main(atoi(argv[2]), argc == 4 ? argv[3] : NULL);
	if (argc == 5 && !strcmp(argv[1], "send"))
		return send_main(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10), NULL);
	if (argc == 5 && !strcmp(argv[1], "sendfile"))
		return send_main(argv[2], atoi(argv[3]), UINT64_MAX, argv[4]);
	fprintf(stderr, "usage: ctnet recv PORT [FILE] | ctnet send ADDRESS PORT BYTES | "
		"ctnet sendfile ADDRESS PORT FILE\n");
	return 2;
}
