/* ctnet: a TCP sender and receiver with large buffers and a checksum, for tests and benchmarks of
 * the virtual network (busybox nc costs 11-16 guest instructions per byte and may drop the tail). */
#ifndef CT_NETBENCH_H
#define CT_NETBENCH_H

int netbench_main(int argc, char **argv);

#endif
