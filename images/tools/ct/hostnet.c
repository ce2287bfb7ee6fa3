#include <arpa/inet.h>
#include <stdio.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ct.h"
#include "hostnet.h"
#include "netlink.h"
#include "parse.h"
#include "util.h"

#define HOSTNET_STATE CT_RUN_DIR "/host.address"

int parse_mac(const char *s, unsigned char mac[6], struct ct_err *err)
{
	unsigned v[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return ct_fail(err, "invalid_argument", "invalid MAC address \"%.40s\"", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)v[i];
	if (mac[0] & 1)
		return ct_fail(err, "invalid_argument", "invalid MAC address \"%.40s\": multicast", s);
	return 0;
}

/* Removes the address an earlier configure put on the bridge, if it differs from the new one. */
static int drop_previous_address(int fd, struct in_addr addr, int prefix, struct ct_err *err)
{
	char text[32];
	struct in_addr old;
	int old_prefix;
	if (read_file(HOSTNET_STATE, text, sizeof(text)) <= 0)
		return 0;
	text[strcspn(text, "\n")] = 0;
	if (parse_ipv4_cidr(text, &old, &old_prefix, NULL) < 0)
		return 0;
	if (old.s_addr == addr.s_addr && old_prefix == prefix)
		return 1; /* already there */
	return nl_addr_del(fd, CT_BRIDGE, old, old_prefix, err) < 0 ? -1 : 0;
}

int hostnet_configure(const char *hostname, const unsigned char mac[6], struct in_addr addr, int prefix,
		      struct ct_err *err)
{
	if (parse_hostname(hostname, err) < 0)
		return -1;
	if (sethostname(hostname, strlen(hostname)) < 0)
		return ct_fail_errno(err, "setting the hostname");
	if (mkdir_p(CT_RUN_DIR, 0755, err) < 0)
		return -1;
	int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int rc = nl_bridge_ensure(fd, CT_BRIDGE, err);
	/* The bridge keeps the host's MAC, not the lowest of its ports' (which changes as veths come and go). */
	if (rc == 0)
		rc = nl_link_set_mac(fd, CT_UPLINK, mac, err);
	if (rc == 0)
		rc = nl_link_set_mac(fd, CT_BRIDGE, mac, err);
	if (rc == 0)
		rc = nl_link_set_master(fd, CT_UPLINK, CT_BRIDGE, err);
	if (rc == 0)
		rc = nl_link_up(fd, CT_UPLINK, err);
	int have = rc == 0 ? drop_previous_address(fd, addr, prefix, err) : -1;
	if (have == 0)
		rc = nl_addr_add(fd, CT_BRIDGE, addr, prefix, err);
	else if (have < 0)
		rc = -1;
	nl_close(fd);
	if (rc < 0)
		return -1;
	char text[32];
	int n = snprintf(text, sizeof(text), "%s/%d\n", inet_ntoa(addr), prefix);
	return write_file_atomic(HOSTNET_STATE, text, n, err);
}

/* The announcement leaves through the container's own eth0, so every bridge on the way learns the
 * MAC on the port it now comes from (a frame sent by the bridge device itself teaches nothing). */
int hostnet_announce(pid_t init, struct in_addr ip, struct ct_err *err)
{
	unsigned char frame[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x43 };
	memcpy(frame + 8, &ip.s_addr, 4);
	frame[12] = 0x08; frame[13] = 0x06;                           /* ARP */
	unsigned char arp[28] = { 0, 1, 0x08, 0x00, 6, 4, 0, 1 };     /* ethernet/IPv4, request */
	memcpy(arp + 8, frame + 6, 6);                                /* sender: the container */
	memcpy(arp + 14, &ip.s_addr, 4);
	memcpy(arp + 24, &ip.s_addr, 4);                              /* target: itself */
	memcpy(frame + 14, arp, sizeof(arp));
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", init);
	int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return ct_fail_errno(err, "opening the network namespace of the container");
	pid_t child = fork();
	if (child == 0) {
		int s = setns(ns, CLONE_NEWNET) == 0 ? socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0) : -1;
		unsigned idx = s >= 0 ? if_nametoindex("eth0") : 0;
		struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)idx, .sll_halen = 6 };
		memset(to.sll_addr, 0xff, 6);
		int ok = idx > 0;
		for (int i = 0; i < 3 && ok; i++) {
			ok = sendto(s, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(frame);
			usleep(20000);
		}
		_exit(ok ? 0 : 1);
	}
	close(ns);
	int status = 1;
	if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return ct_fail(err, "failed", "could not announce the container's address");
	return 0;
}
