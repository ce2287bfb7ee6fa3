/* Container networking over rtnetlink: bridge, veth pair, address and default route,
 * without exec'ing ip(8).
 *
 * Each call is one synchronous request/ack exchange on a NETLINK_ROUTE socket (two when an
 * interface index must be looked up first). A netlink socket acts on the network namespace
 * it was created in, so open it in the namespace the operation applies to (after setns for
 * the container's side) and reuse it for several operations in a row.
 * Interface names are at most IFNAMSIZ-1 (15) characters. On failure, functions return -1
 * and fill *err with what was being done and the kernel's reason. */
#ifndef CT_NETLINK_H
#define CT_NETLINK_H

#include <netinet/in.h>
#include <sys/types.h>
#include "err.h"

int nl_open(struct ct_err *err);
void nl_close(int fd);

/* Creates the bridge if it does not exist yet, and brings it up. */
int nl_bridge_ensure(int fd, const char *name, struct ct_err *err);
/* Creates a veth pair whose peer is born in the network namespace of peer_netns_pid, so it
 * never appears in fd's namespace. The peer's name must be free in that namespace. */
int nl_veth_create(int fd, const char *host_name, const char *peer_name, pid_t peer_netns_pid,
		   struct ct_err *err);

/* 1 if the interface exists in fd's namespace, 0 if not, -1 on error. */
int nl_link_exists(int fd, const char *ifname, struct ct_err *err);
int nl_link_set_master(int fd, const char *ifname, const char *master, struct ct_err *err);
int nl_link_up(int fd, const char *ifname, struct ct_err *err);
/* The kernel refuses (EBUSY) to rename an interface that is up. */
int nl_link_rename(int fd, const char *ifname, const char *new_name, struct ct_err *err);
int nl_link_set_mac(int fd, const char *ifname, const unsigned char mac[6], struct ct_err *err);
/* 0 when deleted, 1 when it did not exist (err untouched, so cleanup can ignore it), -1 on
 * error. Deleting either end of a veth pair deletes both. */
int nl_link_delete(int fd, const char *ifname, struct ct_err *err);

/* Adds addr/prefix_len with the broadcast address of the subnet (none for /31 and /32). */
int nl_addr_add(int fd, const char *ifname, struct in_addr addr, int prefix_len, struct ct_err *err);
/* 0 when removed, 1 when the interface did not have it. */
int nl_addr_del(int fd, const char *ifname, struct in_addr addr, int prefix_len, struct ct_err *err);
int nl_link_set_mtu(int fd, const char *ifname, unsigned mtu, struct ct_err *err);
/* The gateway must be reachable through an address already on the (up) interface. */
int nl_route_add_default(int fd, struct in_addr gateway, const char *ifname, struct ct_err *err);

/* Run inside the container's network namespace (opens its own socket there): brings lo up,
 * renames peer_name to final_name, sets the MAC if mac is not NULL, adds the address, brings
 * the interface up and adds the default route if gateway is not NULL. */
int nl_container_side_setup(const char *peer_name, const char *final_name, struct in_addr addr,
			    int prefix_len, const struct in_addr *gateway, const unsigned char *mac,
			    struct ct_err *err);

#endif
