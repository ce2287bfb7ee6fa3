#include <arpa/inet.h>
#include <errno.h>
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
int hostnet_announcer_open(struct hostnet_announcer *a, pid_t init, struct in_addr ip, struct ct_err *err)
{
	memset(a->frame, 0xff, 6);
	a->frame[6] = 0x02;
	a->frame[7] = 0x43;
	memcpy(a->frame + 8, &ip.s_addr, 4);
	a->frame[12] = 0x08; a->frame[13] = 0x06;                     /* ARP */
	unsigned char arp[28] = { 0, 1, 0x08, 0x00, 6, 4, 0, 1 };     /* ethernet/IPv4, request */
	memcpy(arp + 8, a->frame + 6, 6);                             /* sender: the container */
	memcpy(arp + 14, &ip.s_addr, 4);
	memcpy(arp + 24, &ip.s_addr, 4);                              /* target: itself */
	memcpy(a->frame + 14, arp, sizeof(arp));
	a->fd = -1;
	/* The socket is made inside the container's namespace and keeps sending there after we step
	 * back into ours: no fork, nothing to do in the frozen window but sendto. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", init);
	int ns CLEANUP_FD = open(path, O_RDONLY | O_CLOEXEC);
	int home CLEANUP_FD = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0 || home < 0)
		return ct_fail_errno(err, "opening the network namespace of the container");
	if (setns(ns, CLONE_NEWNET) < 0)
		return ct_fail_errno(err, "entering the network namespace of the container");
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	a->ifindex = a->fd >= 0 ? (int)if_nametoindex("eth0") : 0;
	int saved = errno;
	if (setns(home, CLONE_NEWNET) < 0)
		return ct_fail_errno(err, "returning to the host's network namespace");
	if (a->fd < 0 || a->ifindex <= 0) {
		errno = saved;
		hostnet_announcer_close(a);
		return ct_fail_errno(err, "opening a packet socket on the container's eth0");
	}
	return 0;
}

int hostnet_announce(struct hostnet_announcer *a)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = a->ifindex, .sll_halen = 6 };
	memset(to.sll_addr, 0xff, 6);
	return sendto(a->fd, a->frame, sizeof(a->frame), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(a->frame) ? 0 : -1;
}

void hostnet_announcer_close(struct hostnet_announcer *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}
