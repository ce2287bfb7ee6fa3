#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include "netlink.h"

/* A request under construction. The largest (a veth pair with its nested peer) is under
 * 200 bytes; an append that does not fit sets overflow and nl_request refuses to send. */
struct nl_req {
	union {
		struct nlmsghdr hdr;
		char buf[512];
	};
	int overflow;
};

/* Appends len zeroed bytes, padded to the netlink alignment; NULL if they do not fit. */
static void *req_put(struct nl_req *r, size_t len)
{
	size_t at = NLMSG_ALIGN(r->hdr.nlmsg_len);
	if (r->overflow || at + NLMSG_ALIGN(len) > sizeof(r->buf)) {
		r->overflow = 1;
		return NULL;
	}
	r->hdr.nlmsg_len = at + NLMSG_ALIGN(len);
	memset(r->buf + at, 0, NLMSG_ALIGN(len));
	return r->buf + at;
}

/* Starts a request and returns its zeroed family header (ifinfomsg, ifaddrmsg, rtmsg). */
static void *req_init(struct nl_req *r, uint16_t type, uint16_t flags, size_t family_len)
{
	memset(&r->hdr, 0, sizeof(r->hdr));
	r->overflow = 0;
	r->hdr.nlmsg_len = NLMSG_HDRLEN;
	r->hdr.nlmsg_type = type;
	r->hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return req_put(r, family_len);
}

static struct rtattr *attr_put(struct nl_req *r, uint16_t type, const void *data, size_t len)
{
	struct rtattr *rta = req_put(r, RTA_LENGTH(len));
	if (!rta)
		return NULL;
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	return rta;
}

static void attr_str(struct nl_req *r, uint16_t type, const char *s)
{
	attr_put(r, type, s, strlen(s) + 1);
}

static void attr_u32(struct nl_req *r, uint16_t type, uint32_t v)
{
	attr_put(r, type, &v, sizeof(v));
}

/* A nested attribute: append its members after nest_begin, then close it with nest_end. */
static struct rtattr *nest_begin(struct nl_req *r, uint16_t type)
{
	return attr_put(r, type, NULL, 0);
}

static void nest_end(struct nl_req *r, struct rtattr *nest)
{
	if (nest)
		nest->rta_len = r->buf + r->hdr.nlmsg_len - (char *)nest;
}

/* Sends the request and reads until its ack. If reply is not NULL, the family header of the
 * kernel's answer (for RTM_GETLINK, its ifinfomsg) is copied there. Returns 0, or -1 with
 * errno set to the kernel's error, like a system call. */
static int nl_request(int fd, struct nl_req *r, void *reply, size_t reply_len)
{
	static uint32_t last_seq;
	union {
		struct nlmsghdr hdr;
		char buf[16384];	/* an RTM_GETLINK answer for a bridge is about 2 KiB */
	} in;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (r->overflow) {
		errno = EMSGSIZE;
		return -1;
	}
	r->hdr.nlmsg_seq = ++last_seq;
	if (sendto(fd, r->buf, r->hdr.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t from_len = sizeof(from);
		/* MSG_TRUNC makes netlink return the full length, so a cut answer is noticed. */
		ssize_t n = recvfrom(fd, in.buf, sizeof(in.buf), MSG_TRUNC, (struct sockaddr *)&from, &from_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if ((size_t)n > sizeof(in.buf)) {
			errno = EMSGSIZE;
			return -1;
		}
		if (from.nl_pid != 0)	/* only the kernel may answer */
			continue;
		int len = n;
		for (struct nlmsghdr *h = &in.hdr; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			/* Anything else is a late answer to an earlier request that failed midway. */
			if (h->nlmsg_seq != r->hdr.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
					errno = EPROTO;
					return -1;
				}
				if (e->error) {
					errno = -e->error;
					return -1;
				}
				if (reply) {	/* acked, but the answer never came */
					errno = EPROTO;
					return -1;
				}
				return 0;
			}
			if (reply && h->nlmsg_len >= NLMSG_LENGTH(reply_len)) {
				memcpy(reply, NLMSG_DATA(h), reply_len);
				reply = NULL;
			}
		}
	}
}

static int check_ifname(const char *name, struct ct_err *err)
{
	if (!name || !*name)
		return ct_fail(err, "invalid_argument", "empty interface name");
	if (strlen(name) >= IFNAMSIZ)
		return ct_fail(err, "invalid_argument", "interface name longer than %d characters: %s",
			       IFNAMSIZ - 1, name);
	return 0;
}

/* Resolves a name in fd's namespace; if_nametoindex would look in the caller's current one.
 * Returns the index, or -1 with errno set (ENODEV if there is no such interface). */
static int link_index(int fd, const char *ifname)
{
	struct nl_req r;
	struct ifinfomsg answer;
	req_init(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
	attr_str(&r, IFLA_IFNAME, ifname);
	if (nl_request(fd, &r, &answer, sizeof(answer)) < 0)
		return -1;
	return answer.ifi_index;
}

/* Starts an RTM_NEWLINK that changes an existing interface: by index if it is known, else
 * by name (IFLA_IFNAME then cannot carry a new name). */
static struct ifinfomsg *link_change(struct nl_req *r, int ifindex, const char *ifname)
{
	struct ifinfomsg *ifi = req_init(r, RTM_NEWLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (!ifindex)
		attr_str(r, IFLA_IFNAME, ifname);
	return ifi;
}

int nl_open(struct ct_err *err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return ct_fail_errno(err, "opening an rtnetlink socket");
	return fd;
}

void nl_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

int nl_bridge_ensure(int fd, const char *name, struct ct_err *err)
{
	struct nl_req r;
	if (check_ifname(name, err) < 0)
		return -1;
	/* Created up in one go; an existing one (ct ran before) only needs bringing up. */
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	attr_str(&r, IFLA_IFNAME, name);
	struct rtattr *info = nest_begin(&r, IFLA_LINKINFO);
	attr_str(&r, IFLA_INFO_KIND, "bridge");
	nest_end(&r, info);
	if (nl_request(fd, &r, NULL, 0) == 0)
		return 0;
	if (errno != EEXIST)
		return ct_fail_errno(err, "creating bridge %s", name);
	return nl_link_up(fd, name, err);
}

int nl_veth_create(int fd, const char *host_name, const char *peer_name, pid_t peer_netns_pid,
		   struct ct_err *err)
{
	struct nl_req r;
	if (check_ifname(host_name, err) < 0 || check_ifname(peer_name, err) < 0)
		return -1;
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	attr_str(&r, IFLA_IFNAME, host_name);
	struct rtattr *info = nest_begin(&r, IFLA_LINKINFO);
	attr_str(&r, IFLA_INFO_KIND, "veth");
	struct rtattr *data = nest_begin(&r, IFLA_INFO_DATA);
	/* The peer is described like a link of its own: an ifinfomsg, then its attributes. */
	struct rtattr *peer = nest_begin(&r, VETH_INFO_PEER);
	struct ifinfomsg *peer_ifi = req_put(&r, sizeof(*peer_ifi));
	if (peer_ifi)
		peer_ifi->ifi_family = AF_UNSPEC;
	attr_str(&r, IFLA_IFNAME, peer_name);
	attr_u32(&r, IFLA_NET_NS_PID, peer_netns_pid);
	nest_end(&r, peer);
	nest_end(&r, data);
	nest_end(&r, info);
	if (nl_request(fd, &r, NULL, 0) < 0)
		return ct_fail_errno(err, "creating veth pair %s/%s (peer in the netns of pid %d)",
				     host_name, peer_name, (int)peer_netns_pid);
	return 0;
}

int nl_link_exists(int fd, const char *ifname, struct ct_err *err)
{
	if (check_ifname(ifname, err) < 0)
		return -1;
	if (link_index(fd, ifname) > 0)
		return 1;
	if (errno == ENODEV)
		return 0;
	return ct_fail_errno(err, "looking up interface %s", ifname);
}

int nl_link_set_master(int fd, const char *ifname, const char *master, struct ct_err *err)
{
	struct nl_req r;
	if (check_ifname(ifname, err) < 0 || check_ifname(master, err) < 0)
		return -1;
	int master_index = link_index(fd, master);
	if (master_index < 0)
		return ct_fail_errno(err, "attaching %s to %s: looking up %s", ifname, master, master);
	link_change(&r, 0, ifname);
	attr_u32(&r, IFLA_MASTER, master_index);
	if (nl_request(fd, &r, NULL, 0) < 0)
		return ct_fail_errno(err, "attaching %s to %s", ifname, master);
	return 0;
}

int nl_link_up(int fd, const char *ifname, struct ct_err *err)
{
	struct nl_req r;
	if (check_ifname(ifname, err) < 0)
		return -1;
	struct ifinfomsg *ifi = link_change(&r, 0, ifname);
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	if (nl_request(fd, &r, NULL, 0) < 0)
		return ct_fail_errno(err, "bringing up %s", ifname);
	return 0;
}

int nl_link_rename(int fd, const char *ifname, const char *new_name, struct ct_err *err)
{
	struct nl_req r;
	if (check_ifname(ifname, err) < 0 || check_ifname(new_name, err) < 0)
		return -1;
	int index = link_index(fd, ifname);
	if (index < 0)
		goto fail;
	link_change(&r, index, ifname);
	attr_str(&r, IFLA_IFNAME, new_name);
	if (nl_request(fd, &r, NULL, 0) == 0)
		return 0;
fail:
	return ct_fail_errno(err, "renaming %s to %s", ifname, new_name);
}

int nl_link_set_mac(int fd, const char *ifname, const unsigned char mac[6], struct ct_err *err)
{
	struct nl_req r;
	if (check_ifname(ifname, err) < 0)
		return -1;
	link_change(&r, 0, ifname);
	attr_put(&r, IFLA_ADDRESS, mac, 6);
	if (nl_request(fd, &r, NULL, 0) < 0)
		return ct_fail_errno(err, "setting MAC address %02x:%02x:%02x:%02x:%02x:%02x on %s",
				     mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], ifname);
	return 0;
}

int nl_link_delete(int fd, const char *ifname, struct ct_err *err)
{
	struct nl_req r;
	if (check_ifname(ifname, err) < 0)
		return -1;
	struct ifinfomsg *ifi = req_init(&r, RTM_DELLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	attr_str(&r, IFLA_IFNAME, ifname);
	if (nl_request(fd, &r, NULL, 0) == 0)
		return 0;
	if (errno == ENODEV)
		return 1;
	return ct_fail_errno(err, "deleting %s", ifname);
}

int nl_addr_add(int fd, const char *ifname, struct in_addr addr, int prefix_len, struct ct_err *err)
{
	struct nl_req r;
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, text, sizeof(text));
	if (check_ifname(ifname, err) < 0)
		return -1;
	if (prefix_len < 0 || prefix_len > 32)
		return ct_fail(err, "invalid_argument", "adding %s/%d to %s: prefix length not in 0..32",
			       text, prefix_len, ifname);
	int index = link_index(fd, ifname);
	if (index < 0)
		goto fail;
	struct ifaddrmsg *ifa = req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix_len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = index;
	/* IFA_LOCAL is the interface's own address, IFA_ADDRESS the one the prefix applies to;
	 * they differ only on point-to-point links. */
	attr_put(&r, IFA_LOCAL, &addr, sizeof(addr));
	attr_put(&r, IFA_ADDRESS, &addr, sizeof(addr));
	if (prefix_len < 31) {
		uint32_t host_bits = prefix_len ? 0xffffffffu >> prefix_len : 0xffffffffu;
		struct in_addr brd = { addr.s_addr | htonl(host_bits) };
		attr_put(&r, IFA_BROADCAST, &brd, sizeof(brd));
	}
	if (nl_request(fd, &r, NULL, 0) == 0)
		return 0;
fail:
	return ct_fail_errno(err, "adding address %s/%d to %s", text, prefix_len, ifname);
}

int nl_addr_del(int fd, const char *ifname, struct in_addr addr, int prefix_len, struct ct_err *err)
{
	struct nl_req r;
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, text, sizeof(text));
	if (check_ifname(ifname, err) < 0)
		return -1;
	int index = link_index(fd, ifname);
	if (index < 0)
		return ct_fail_errno(err, "removing address %s/%d from %s", text, prefix_len, ifname);
	struct ifaddrmsg *ifa = req_init(&r, RTM_DELADDR, 0, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix_len;
	ifa->ifa_index = index;
	attr_put(&r, IFA_LOCAL, &addr, sizeof(addr));
	if (nl_request(fd, &r, NULL, 0) == 0)
		return 0;
	/* Already gone is what we wanted. */
	if (errno == EADDRNOTAVAIL)
		return 1;
	return ct_fail_errno(err, "removing address %s/%d from %s", text, prefix_len, ifname);
}

int nl_link_set_mtu(int fd, const char *ifname, unsigned mtu, struct ct_err *err)
{
	struct nl_req r;
	if (check_ifname(ifname, err) < 0)
		return -1;
	link_change(&r, 0, ifname);
	attr_u32(&r, IFLA_MTU, mtu);
	if (nl_request(fd, &r, NULL, 0) == 0)
		return 0;
	return ct_fail_errno(err, "setting the MTU of %s to %u", ifname, mtu);
}

int nl_route_add_default(int fd, struct in_addr gateway, const char *ifname, struct ct_err *err)
{
	struct nl_req r;
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &gateway, text, sizeof(text));
	if (check_ifname(ifname, err) < 0)
		return -1;
	int index = link_index(fd, ifname);
	if (index < 0)
		goto fail;
	/* What `ip route add default via GW dev IF` sends. */
	struct rtmsg *rtm = req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	attr_put(&r, RTA_GATEWAY, &gateway, sizeof(gateway));
	attr_u32(&r, RTA_OIF, index);
	if (nl_request(fd, &r, NULL, 0) == 0)
		return 0;
fail:
	return ct_fail_errno(err, "adding default route via %s dev %s", text, ifname);
}

static int container_side(int fd, const char *peer_name, const char *final_name, struct in_addr addr,
			  int prefix_len, const struct in_addr *gateway, const unsigned char *mac,
			  struct ct_err *err)
{
	if (nl_link_up(fd, "lo", err) < 0)
		return -1;
	/* Rename and MAC before up: the kernel refuses to rename a running interface. */
	if (nl_link_rename(fd, peer_name, final_name, err) < 0)
		return -1;
	if (mac && nl_link_set_mac(fd, final_name, mac, err) < 0)
		return -1;
	if (nl_addr_add(fd, final_name, addr, prefix_len, err) < 0)
		return -1;
	/* Up after the address, so the subnet's route exists when the gateway is checked. */
	if (nl_link_up(fd, final_name, err) < 0)
		return -1;
	if (gateway && nl_route_add_default(fd, *gateway, final_name, err) < 0)
		return -1;
	return 0;
}

int nl_container_side_setup(const char *peer_name, const char *final_name, struct in_addr addr,
			    int prefix_len, const struct in_addr *gateway, const unsigned char *mac,
			    struct ct_err *err)
{
	int fd = nl_open(err);
	if (fd < 0)
		return -1;
	int rc = container_side(fd, peer_name, final_name, addr, prefix_len, gateway, mac, err);
	nl_close(fd);
	return rc;
}
