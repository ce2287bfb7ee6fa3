/*
 * The checkpoint image: one streamable file of records, read and written only through this module.
 *
 *   header (struct cr_header, fixed size, with its own CRC)
 *   records: struct cr_rec { u32 type; u32 len; } + len bytes of payload + u32 CRC-32 of type,
 *            len and payload
 *   an END record holding the number of records before it, so truncation is always detected.
 *
 * Every payload is a packed fixed-width little-endian struct (or one followed by raw bytes),
 * identical on the i386 guest and on the 64-bit build host, so the parser can be tested on the host with
 * corrupt and truncated input. Addresses are u32: the format is for i386 guests only, and the
 * header says so.
 */
#ifndef CT_CR_IMAGE_H
#define CT_CR_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define CR_MAGIC "CTLABCR"       /* 8 bytes with the NUL */
#define CR_FORMAT_VERSION 1
#define CR_ARCH_I386 386
#define CR_IMAGE_FILE "ct.img"     /* the one file in a checkpoint directory */
#define CR_PAGE 4096u
#define CR_PATH_MAX 256
#define CR_MAX_PROCS 1024
#define CR_MAX_RECORD (64u << 20)   /* no single record is larger (pages are split into runs) */
#define CR_PACKED __attribute__((packed))

struct cr_header {
	char magic[8];
	uint32_t version;
	uint32_t arch;
	char kernel[128];      /* uname release and version: the vDSO and the ABI must match */
	char cpu[64];          /* vendor, family/model/stepping and a hash of the CPU flags */
	uint64_t created_ms;   /* realtime when the container was frozen */
	uint32_t crc;          /* of the bytes before it */
} CR_PACKED;

enum cr_rec_type {
	CR_REC_CONTAINER = 1,
	CR_REC_PROC = 2,
	CR_REC_VMA = 3,
	CR_REC_PAGES = 4,
	CR_REC_FILE = 5,
	CR_REC_FD = 6,
	CR_REC_PIPE_DATA = 7,
	CR_REC_SIGINFO = 8,
	CR_REC_FSENTRY = 9,
	CR_REC_LOG = 10,
	CR_REC_END = 11,
	/* Migration streams only, never in a stored image: "the pages at pid/addr you received during
	 * pre-copy" (a struct cr_pages without data). The receiver turns them into PAGES records. */
	CR_REC_PAGES_REF = 12,
	CR_REC_MAX
} CR_PACKED;

struct cr_rec {
	uint32_t type;
	uint32_t len;
} CR_PACKED;

/* The container: its definition and what lives in its namespaces rather than in a process. */
struct cr_container {
	char name[33];
	char template_name[33];
	char hostname[65];
	uint8_t privileged;
	uint32_t ip;            /* network byte order; 0 = none */
	int32_t prefix;
	int64_t memory, pids, cpu_quota;   /* ct_config conventions: -1 = unlimited */
	int64_t created;
	int64_t mono_ns;        /* the container's CLOCK_MONOTONIC when frozen */
	int64_t boot_ns;        /* its CLOCK_BOOTTIME */
	int32_t console_pgrp;   /* foreground process group of the console, 0 = none */
	uint8_t console_termios[60];   /* struct termios as the i386 kernel has it */
	uint32_t nprocs;
} CR_PACKED;

#define CR_NSIG 64

struct cr_sigaction {
	uint32_t handler, flags, restorer;
	uint64_t mask;
} CR_PACKED;

struct cr_regs {   /* struct user_regs_struct of i386, field for field */
	uint32_t ebx, ecx, edx, esi, edi, ebp, eax;
	uint32_t xds, xes, xfs, xgs, orig_eax, eip, xcs, eflags, esp, xss;
} CR_PACKED;

struct cr_tls {    /* struct user_desc */
	uint32_t entry_number, base_addr, limit, flags;
} CR_PACKED;

#define CR_NRLIMIT 16
#define CR_MAX_GROUPS 32
#define CR_AUXV_MAX 64   /* u32 words */

enum cr_proc_state { CR_PROC_RUNNING = 0, CR_PROC_ZOMBIE = 1 };

struct cr_proc {
	int32_t pid, ppid, pgid, sid;   /* as seen in the container; 0 = outside it */
	uint32_t state;
	int32_t exit_status;            /* zombies: the raw wait status */
	char comm[16];
	uint32_t uid[4], gid[4];        /* real, effective, saved, fs; as seen in the container */
	uint32_t ngroups;
	uint32_t groups[CR_MAX_GROUPS];
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t no_new_privs, umask, personality, pdeath_sig;
	uint64_t rlim_cur[CR_NRLIMIT], rlim_max[CR_NRLIMIT];
	struct cr_regs regs;
	uint8_t fpx[512];               /* FXSAVE image (PTRACE_GETFPXREGS) */
	struct cr_tls tls[3];           /* GDT entries 6..8 */
	uint64_t sigmask;
	struct cr_sigaction sigactions[CR_NSIG];   /* index sig-1 */
	uint32_t altstack_sp, altstack_flags, altstack_size;
	uint32_t itimer[3][4];          /* real, virtual, prof: interval sec/usec, value sec/usec */
	uint32_t tid_address, robust_list, robust_len;
	uint32_t mm[11];                /* start_code end_code start_data end_data start_brk brk
	                                   start_stack arg_start arg_end env_start env_end */
	uint32_t nauxv;
	uint32_t auxv[CR_AUXV_MAX];
	char exe[CR_PATH_MAX];
	char cwd[CR_PATH_MAX];
	uint32_t nvmas, nfds, nsiginfo;
} CR_PACKED;

enum cr_vma_kind { CR_VMA_ANON = 0, CR_VMA_FILE = 1, CR_VMA_VDSO = 2, CR_VMA_VVAR = 3 };
#define CR_VMA_SHARED 1u
#define CR_VMA_GROWSDOWN 2u

struct cr_vma {
	int32_t pid;
	uint32_t start, end, prot, flags, kind, pgoff;   /* pgoff in pages */
	char path[CR_PATH_MAX];
} CR_PACKED;

/* Followed by npages * 4096 bytes: the contents of [addr, addr + npages pages) of one vma. */
struct cr_pages {
	int32_t pid;
	uint32_t addr, npages;
} CR_PACKED;

enum cr_file_kind {
	CR_FILE_REG = 1,        /* a regular file or directory on the container's root */
	CR_FILE_DEV = 2,        /* /dev/null and friends: reopened by path */
	CR_FILE_CONSOLE = 3,    /* the container console */
	CR_FILE_PIPE = 4,       /* one end of a pipe; ends share pipe_id */
	CR_FILE_TCP_LISTEN = 5,
	CR_FILE_UNIX_PAIR = 6,  /* one socket of a socketpair; the two share pipe_id */
	CR_FILE_KIND_MAX
} CR_PACKED;

/* An open file description, shared by every fd that refers to it. */
struct cr_file {
	uint32_t id;
	uint32_t kind;
	uint32_t flags;         /* open flags as fdinfo shows them, without O_CLOEXEC */
	uint64_t pos;
	uint32_t pipe_id;       /* pipes and socketpairs: the object both ends share */
	uint32_t pipe_size;     /* pipes: capacity in bytes */
	uint32_t sock_type;     /* SOCK_STREAM, SOCK_DGRAM */
	uint32_t addr, port;    /* TCP: bound address (network order) and port (host order) */
	uint32_t reuseaddr, backlog;
	uint32_t side;          /* socketpairs: 0 or 1 */
	char path[CR_PATH_MAX];
} CR_PACKED;

struct cr_fd {
	int32_t pid;
	int32_t fd;
	uint32_t file_id;
	uint32_t cloexec;
} CR_PACKED;

/* Followed by len bytes: what was queued in a pipe (for its reader) or a socketpair side. */
struct cr_pipe_data {
	uint32_t pipe_id;
	uint32_t side;          /* socketpairs: the side that reads it; pipes: 0 */
	uint32_t len;
} CR_PACKED;

/* A pending signal. */
struct cr_siginfo {
	int32_t pid;
	uint32_t shared;        /* 1 = the process's queue, 0 = the thread's */
	uint8_t info[128];      /* siginfo_t */
} CR_PACKED;

enum cr_fs_type { CR_FS_DIR = 1, CR_FS_REG = 2, CR_FS_SYMLINK = 3, CR_FS_WHITEOUT = 4 };
enum cr_fs_root { CR_FS_UPPER = 1, CR_FS_SHM = 2 };

/* One entry of the overlay's upper layer (or the container's /dev/shm); followed by size bytes:
 * the file's contents or the symlink's target. Parents come before children. */
struct cr_fsentry {
	uint32_t root;
	uint32_t type;
	uint32_t mode, uid, gid;   /* uid/gid as the host sees them */
	int64_t mtime;
	uint32_t opaque;           /* directories: overlay's "opaque" mark */
	uint32_t size;
	char path[CR_PATH_MAX];    /* relative to the root, no leading slash */
} CR_PACKED;

struct cr_end {
	uint32_t nrecords;
} CR_PACKED;

/* --- writing --------------------------------------------------------------------------------- */

struct cr_writer {
	int fd;
	unsigned char *buf;
	size_t used, cap;
	uint64_t bytes;        /* written so far, for progress and the report */
	uint32_t nrecords;
	uint32_t crc;          /* of the open record */
	uint32_t remaining;    /* payload bytes the open record still expects */
	uint32_t pad;
	int failed_errno;
};

int cr_writer_open(struct cr_writer *w, int fd, const struct cr_header *h, struct ct_err *err);
/* Sends what is buffered now (between records), e.g. so a reader can start on what it has. */
int cr_writer_flush(struct cr_writer *w, struct ct_err *err);
/* A whole record in one call. */
int cr_write_record(struct cr_writer *w, uint32_t type, const void *payload, uint32_t len, struct ct_err *err);
/* A record written in pieces: begin with the total length, then data() until it is complete. */
int cr_record_begin(struct cr_writer *w, uint32_t type, uint32_t len, struct ct_err *err);
int cr_record_data(struct cr_writer *w, const void *data, uint32_t len, struct ct_err *err);
/* Writes END and flushes; frees the buffer whatever happens. */
int cr_writer_finish(struct cr_writer *w, struct ct_err *err);
void cr_writer_abort(struct cr_writer *w);

/* --- reading: an image in memory, checked completely before anything uses it ------------------ */

struct cr_proc_index {
	const struct cr_proc *proc;
	const struct cr_vma **vmas;
	const struct cr_fd **fds;
	const struct cr_siginfo **siginfo;
	const struct cr_pages **pages;   /* each followed by its data */
	uint32_t nvmas, nfds, nsiginfo, npages;
};

struct cr_image {
	const unsigned char *data;
	size_t size;
	struct cr_header header;
	const struct cr_container *container;
	struct cr_proc_index *procs;
	uint32_t nprocs;
	const struct cr_file **files;
	uint32_t nfiles;
	const struct cr_pipe_data **pipe_data;
	uint32_t npipe_data;
	const struct cr_fsentry **fsentries;
	uint32_t nfsentries;
	const unsigned char *log;
	uint32_t log_len;
	uint64_t page_bytes;
};

/* Parses and checks an image held in memory (which must outlive img): header, every checksum,
 * every record's shape and value ranges, and the references between records. On failure nothing
 * is left allocated and err says what is wrong in words. */
int cr_image_parse(struct cr_image *img, const void *data, size_t size, struct ct_err *err);
/* The same without the checksums, for an image this process (or its parent) already checked. */
int cr_image_parse_checked(struct cr_image *img, const void *data, size_t size, struct ct_err *err);
/* The head of an image still arriving: the header and the records a restore needs before any
 * process (container, filesystem, log), up to exactly size; no process, file or end record. */
int cr_image_parse_head(struct cr_image *img, const void *data, size_t size, struct ct_err *err);
/* The record types of an image's head (container, filesystem entries, and the log that closes it). */
bool cr_rec_in_head(uint32_t type);
void cr_image_free(struct cr_image *img);
const struct cr_file *cr_image_file(const struct cr_image *img, uint32_t id);
const struct cr_proc_index *cr_image_proc(const struct cr_image *img, int32_t pid);
/* Data that follows a record's fixed part. */
static inline const unsigned char *cr_after(const void *rec, size_t fixed) { return (const unsigned char *)rec + fixed; }

uint32_t cr_crc32(uint32_t crc, const void *data, size_t len);
const char *cr_rec_name(uint32_t type);

#endif
