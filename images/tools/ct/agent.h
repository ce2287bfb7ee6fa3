/* The agent: JSON lines on a virtio console port, the page's only door into the host. */
#ifndef CT_AGENT_H
#define CT_AGENT_H

int agent_main(const char *port);

#endif
