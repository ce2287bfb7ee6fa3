/* The host's own place on the backplane: its name, its NIC inside the containers' bridge, and its
 * address, so containers on every host share one L2 segment and keep their IPs when they move. */
#ifndef CT_HOSTNET_H
#define CT_HOSTNET_H

#include <netinet/in.h>
#include <sys/types.h>
#include "err.h"

#define CT_UPLINK "eth0"

/* Sets the hostname, gives eth0 and ctbr0 the MAC, enslaves eth0 to ctbr0 and moves the host's
 * address to ctbr0 (replacing the one a previous call set). Safe to repeat, e.g. after a host
 * was restored from a saved state and needs an identity of its own. */
int hostnet_configure(const char *hostname, const unsigned char mac[6], struct in_addr addr, int prefix,
		      struct ct_err *err);
/* Parses "02:43:0a:00:00:01". */
int parse_mac(const char *s, unsigned char mac[6], struct ct_err *err);

/* Tells the network a container's address now lives here: a gratuitous ARP from its MAC (02:43 +
 * its address) out of its eth0, so bridges, the switch and neighbours update at once after a move.
 * Opened ahead (a packet socket in the container's namespace), sent when the container resumes. */
struct hostnet_announcer {
	int fd;
	int ifindex;
	unsigned char frame[42];
};
int hostnet_announcer_open(struct hostnet_announcer *a, pid_t init, struct in_addr ip, struct ct_err *err);
int hostnet_announce(struct hostnet_announcer *a);
void hostnet_announcer_close(struct hostnet_announcer *a);

#endif
