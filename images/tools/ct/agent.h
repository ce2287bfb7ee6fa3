/* The agent: JSON lines on a virtio console port, the page's only door into the host. */
#ifndef CT_AGENT_H
#define CT_AGENT_H

int agent_main(const char *port);

struct jbuf;
/* In a forked worker: sends an event line (progress) to the page ahead of the op's reply. The
 * agent forwards each line the worker completes as it arrives. No-op outside a worker. */
void agent_worker_event(struct jbuf *event);
/* In a forked worker: the id of the request it serves (events carry it as "request"). */
long long agent_worker_request(void);

#endif
