/* Checks ct's rtnetlink module against the running kernel. Run as root in a throwaway network
 * namespace (netlink_check.sh does `unshare -n`): it plays the host there and forks a child
 * into a second namespace to play the container. The results are read back through ip(8)
 * and netlink, never through /sys/class/net, which shows the namespace sysfs was mounted in. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "netlink.h"

#define BRIDGE "ctbr0"
#define HOST_END "ct-host0"
#define PEER_END "ct-peer0"
#define FAR_ADDR "192.0.2.1"	/* on the host's lo, reachable from the child via the gateway */
#define UDP_PORT 4000

static int passed, failed;

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s - ", ok ? "ok" : "FAIL");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

/* Runs a shell command in the caller's namespace and returns its output, lines joined. */
static const char *run(const char *cmd)
{
	static char out[4096];
	size_t len = 0;
	out[0] = 0;
	FILE *p = popen(cmd, "r");
	if (!p)
		return out;
	while (len + 1 < sizeof(out) && fgets(out + len, sizeof(out) - len, p))
		len += strlen(out + len);
	pclose(p);
	return out;
}

/* Whether `ip -o link` output shows flag among its <...> flags. */
static bool has_flag(const char *out, const char *flag)
{
	char flags[256], *save;
	const char *open = strchr(out, '<');
	if (!open || sscanf(open + 1, "%255[^>]", flags) != 1)
		return false;
	for (char *f = strtok_r(flags, ",", &save); f; f = strtok_r(NULL, ",", &save))
		if (strcmp(f, flag) == 0)
			return true;
	return false;
}

static void expect_in(const char *out, const char *want, const char *what)
{
	check(strstr(out, want) != NULL, "%s", what);
	if (!strstr(out, want))
		printf("    wanted \"%s\" in: %s", want, out);
}

static void expect_up(const char *ifname)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "ip -o link show dev %s 2>&1", ifname);
	const char *out = run(cmd);
	check(has_flag(out, "UP"), "%s is up", ifname);
	if (!has_flag(out, "UP"))
		printf("    %s", out);
}

/* A socket that hears every link the kernel announces in this namespace, to prove that the
 * peer is born in the child's namespace rather than created here and moved. */
static int link_monitor(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

/* Drains the monitor; seen[i] tells whether names[i] was announced. */
static void monitor_drain(int fd, const char *names[2], bool seen[2])
{
	char buf[16384] __attribute__((aligned(4)));
	int n;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != RTM_NEWLINK)
				continue;
			int len = IFLA_PAYLOAD(h);
			for (struct rtattr *a = IFLA_RTA(NLMSG_DATA(h)); RTA_OK(a, len); a = RTA_NEXT(a, len))
				for (int i = 0; i < 2; i++)
					if (a->rta_type == IFLA_IFNAME && strcmp(RTA_DATA(a), names[i]) == 0)
						seen[i] = true;
		}
	}
}

static void send_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		exit(2);
}

static void wait_byte(int fd)
{
	char c;
	if (read(fd, &c, 1) != 1)
		exit(2);
}

/* The container: its own namespace, set up by nl_container_side_setup, checked with ip(8).
 * Reports its counts to the parent, then stays alive (and its namespace with it) until told. */
static void child(int from_parent, int to_parent)
{
	struct ct_err err = { "", "" };
	struct in_addr addr, gw;
	const unsigned char mac[6] = { 0x02, 0x00, 0x0a, 0x00, 0x01, 0x05 };

	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET)");
		exit(2);
	}
	send_byte(to_parent, 'R');
	wait_byte(from_parent);

	inet_pton(AF_INET, "10.0.1.5", &addr);
	inet_pton(AF_INET, "10.0.0.1", &gw);
	int rc = nl_container_side_setup(PEER_END, "eth0", addr, 16, &gw, mac, &err);
	check(rc == 0, "container side setup (%s)", rc == 0 ? "no error" : err.msg);

	expect_up("eth0");
	expect_up("lo");
	expect_in(run("ip -o link show dev eth0"), "link/ether 02:00:0a:00:01:05 ", "eth0 has the MAC");
	expect_in(run("ip -o -4 addr show dev eth0"), "inet 10.0.1.5/16 brd 10.0.255.255 ",
		  "eth0 has 10.0.1.5/16 with its broadcast");
	expect_in(run("ip route show default"), "default via 10.0.0.1 dev eth0 ", "default route via 10.0.0.1");
	check(if_nametoindex(PEER_END) == 0, "%s was renamed away", PEER_END);

	/* Traffic: to an address only the host has, so it must take the default route. */
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	inet_pton(AF_INET, FAR_ADDR, &to.sin_addr);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	check(sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) == 5, "send to %s", FAR_ADDR);
	close(s);

	int counts[2] = { passed, failed };
	if (write(to_parent, counts, sizeof(counts)) != sizeof(counts))
		exit(2);
	wait_byte(from_parent);
	exit(0);
}

int main(void)
{
	struct ct_err err = { "", "" };
	int down[2], up[2];
	setvbuf(stdout, NULL, _IOLBF, 0);

	int fd = nl_open(&err);
	if (fd < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (pipe(down) < 0 || pipe(up) < 0)
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		child(down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	wait_byte(up[0]);	/* the child is in its own namespace */

	int rc = nl_bridge_ensure(fd, BRIDGE, &err);
	check(rc == 0, "create bridge %s (%s)", BRIDGE, rc == 0 ? "no error" : err.msg);
	rc = nl_bridge_ensure(fd, BRIDGE, &err);
	check(rc == 0, "ensure existing bridge %s again (%s)", BRIDGE, rc == 0 ? "no error" : err.msg);
	expect_up(BRIDGE);
	check(nl_link_exists(fd, BRIDGE, &err) == 1, "nl_link_exists finds %s", BRIDGE);

	int mon = link_monitor();
	rc = nl_veth_create(fd, HOST_END, PEER_END, pid, &err);
	check(rc == 0, "create veth %s/%s into pid %d's netns (%s)", HOST_END, PEER_END, (int)pid,
	      rc == 0 ? "no error" : err.msg);
	const char *names[2] = { HOST_END, PEER_END };
	bool seen[2] = { false, false };
	if (mon >= 0)
		monitor_drain(mon, names, seen);
	check(seen[0], "the link monitor heard %s being created", HOST_END);
	check(!seen[1], "%s was never announced in the host's netns", PEER_END);
	close(mon);
	check(nl_link_exists(fd, PEER_END, &err) == 0 && if_nametoindex(PEER_END) == 0,
	      "%s does not exist in the host's netns", PEER_END);
	check(nl_link_exists(fd, HOST_END, &err) == 1, "%s exists in the host's netns", HOST_END);

	rc = nl_link_set_master(fd, HOST_END, BRIDGE, &err);
	check(rc == 0, "attach %s to %s (%s)", HOST_END, BRIDGE, rc == 0 ? "no error" : err.msg);
	rc = nl_link_up(fd, HOST_END, &err);
	check(rc == 0, "bring up %s (%s)", HOST_END, rc == 0 ? "no error" : err.msg);
	expect_up(HOST_END);
	expect_in(run("ip -o link show dev " HOST_END), " master " BRIDGE " ", HOST_END " is enslaved to " BRIDGE);

	/* The host's side of the traffic check: the gateway on the bridge, FAR_ADDR on lo. */
	struct in_addr gw, far;
	inet_pton(AF_INET, "10.0.0.1", &gw);
	inet_pton(AF_INET, FAR_ADDR, &far);
	rc = nl_addr_add(fd, BRIDGE, gw, 16, &err);
	check(rc == 0, "give %s 10.0.0.1/16 (%s)", BRIDGE, rc == 0 ? "no error" : err.msg);
	rc = nl_link_up(fd, "lo", &err);
	if (rc == 0)
		rc = nl_addr_add(fd, "lo", far, 32, &err);
	check(rc == 0, "give lo %s/32 (%s)", FAR_ADDR, rc == 0 ? "no error" : err.msg);
	expect_in(run("ip -o -4 addr show dev lo"), "inet " FAR_ADDR "/32 scope", "a /32 gets no broadcast");
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	struct timeval timeout = { .tv_sec = 3 };
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	if (udp < 0 || bind(udp, (struct sockaddr *)&any, sizeof(any)) < 0 ||
	    setsockopt(udp, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0)
		perror("udp socket");

	send_byte(down[1], 'G');
	int counts[2] = { 0, 1 };
	if (read(up[0], counts, sizeof(counts)) != sizeof(counts))
		fprintf(stderr, "the child died before reporting\n");
	passed += counts[0];
	failed += counts[1];
	char got[16] = "";
	struct sockaddr_in from = { 0 };
	socklen_t from_len = sizeof(from);
	recvfrom(udp, got, sizeof(got) - 1, 0, (struct sockaddr *)&from, &from_len);
	check(strcmp(got, "hello") == 0 && from.sin_addr.s_addr == inet_addr("10.0.1.5"),
	      "the host received the child's datagram from 10.0.1.5 (%s)", got[0] ? inet_ntoa(from.sin_addr) : "nothing");
	close(udp);

	/* Failures, while the child's namespace still exists. */
	rc = nl_veth_create(fd, HOST_END, PEER_END, pid, &err);
	check(rc < 0 && strstr(err.msg, HOST_END) && strstr(err.msg, strerror(EEXIST)),
	      "creating %s twice fails: %s", HOST_END, rc < 0 ? err.msg : "it succeeded");
	rc = nl_veth_create(fd, "ct-host1", "eth0", pid, &err);
	check(rc < 0 && strstr(err.msg, "eth0") && strstr(err.msg, strerror(EEXIST)),
	      "a peer name taken in the child's netns fails: %s", rc < 0 ? err.msg : "it succeeded");
	check(nl_link_exists(fd, "ct-host1", &err) == 0, "and leaves no ct-host1 behind");
	rc = nl_link_up(fd, "ct-much-too-long0", &err);
	check(rc < 0 && strcmp(err.code, "invalid_argument") == 0 && strstr(err.msg, "longer than 15"),
	      "an over-long name fails cleanly: %s", rc < 0 ? err.msg : "it succeeded");
	rc = nl_veth_create(fd, HOST_END, "ct-peer-much-too-long", pid, &err);
	check(rc < 0 && strstr(err.msg, "ct-peer-much-too-long"), "an over-long peer name fails: %s",
	      rc < 0 ? err.msg : "it succeeded");
	rc = nl_addr_add(fd, BRIDGE, gw, 33, &err);
	check(rc < 0 && strcmp(err.code, "invalid_argument") == 0, "prefix /33 fails: %s",
	      rc < 0 ? err.msg : "it succeeded");
	rc = nl_link_up(fd, "ct-missing", &err);
	check(rc < 0 && strstr(err.msg, "ct-missing") && strstr(err.msg, strerror(ENODEV)),
	      "bringing up a missing link fails: %s", rc < 0 ? err.msg : "it succeeded");
	rc = nl_link_set_master(fd, HOST_END, "ct-nobridge", &err);
	check(rc < 0 && strstr(err.msg, "ct-nobridge"), "attaching to a missing bridge fails: %s",
	      rc < 0 ? err.msg : "it succeeded");

	snprintf(err.msg, sizeof(err.msg), "untouched");
	rc = nl_link_delete(fd, "ct-missing", &err);
	check(rc == 1 && strcmp(err.msg, "untouched") == 0, "deleting a missing link reports 'did not exist' (%d)", rc);
	rc = nl_link_delete(fd, HOST_END, &err);
	check(rc == 0, "delete %s (%s)", HOST_END, rc == 0 ? "no error" : err.msg);
	check(nl_link_delete(fd, HOST_END, &err) == 1, "deleting it again reports 'did not exist'");

	send_byte(down[1], 'X');
	int status;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exited cleanly");
	nl_close(fd);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
