/* ct-init, the init (PID 1) of every container. */
#ifndef CT_INIT_H
#define CT_INIT_H

int init_main(void);

#endif
