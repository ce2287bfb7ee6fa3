#include <dirent.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "cr_files.h"
#include "cr_mem.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#define KCMP_FILE 0
#define UNSUPPORTED "unsupported"

struct dump_file {
	struct cr_file f;
	pid_t hpid;        /* one fd that refers to it, for kcmp and pidfd_getfd */
	int fd;
	int32_t ns_pid;
	bool has_reader, has_writer;
	uint32_t ino, peer;   /* unix sockets */
};

struct cr_files_dump {
	unsigned long console_rdev;
	int mounts[256];   /* mount ids of the container's mount namespace */
	int nmounts;
	int diag;          /* a sock_diag netlink socket in the container's network namespace */
	struct dump_file *files;
	uint32_t n, cap;
};

struct cr_files_dump *cr_files_dump_new(unsigned long console_rdev, pid_t init)
{
	struct cr_files_dump *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->console_rdev = console_rdev;
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", init);
	FILE *f = fopen(path, "re");
	while (f && d->nmounts < 256 && fgets(line, sizeof(line), f))
		d->mounts[d->nmounts++] = atoi(line);
	if (f)
		fclose(f);
	/* Socket diagnostics answer for the namespace the netlink socket was made in. */
	d->diag = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", init);
	int theirs = open(path, O_RDONLY | O_CLOEXEC), ours = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (theirs >= 0 && ours >= 0 && setns(theirs, CLONE_NEWNET) == 0) {
		d->diag = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		setns(ours, CLONE_NEWNET);
	}
	if (theirs >= 0)
		close(theirs);
	if (ours >= 0)
		close(ours);
	return d;
}

/* The inode of a unix socket's peer (0 if none), from sock_diag. */
static uint32_t unix_peer(const struct cr_files_dump *d, uint32_t ino)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = ino, .udiag_show = UDIAG_SHOW_PEER,
		       .udiag_cookie = { ~0u, ~0u } },
	};
	if (d->diag < 0 || send(d->diag, &req, sizeof(req), 0) < 0)
		return 0;
	union { struct nlmsghdr nh; char buf[4096]; } reply;
	ssize_t n = recv(d->diag, &reply, sizeof(reply), 0);
	if (n < (ssize_t)(sizeof(struct nlmsghdr) + sizeof(struct unix_diag_msg)) || reply.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return 0;
	struct unix_diag_msg *m = NLMSG_DATA(&reply.nh);
	size_t left = reply.nh.nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	for (struct nlattr *a = (struct nlattr *)(m + 1); left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left;
	     left -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
		if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= sizeof(*a) + 4) {
			uint32_t peer;
			memcpy(&peer, a + 1, 4);
			return peer;
		}
	return 0;
}

static bool in_container(const struct cr_files_dump *d, int mnt_id)
{
	for (int i = 0; i < d->nmounts; i++)
		if (d->mounts[i] == mnt_id)
			return true;
	return false;
}

void cr_files_dump_free(struct cr_files_dump *d)
{
	if (d) {
		free(d->files);
		if (d->diag >= 0)
			close(d->diag);
	}
	free(d);
}

/* A copy of another process's fd, for looking at the object behind it. */
static int grab_fd(pid_t hpid, int fd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, hpid, 0);
	if (pidfd < 0)
		return -1;
	int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	return copy;
}

static int read_fdinfo(pid_t hpid, int fd, uint64_t *pos, uint32_t *flags, int *mnt_id)
{
	char path[64], text[512];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", hpid, fd);
	if (read_file(path, text, sizeof(text)) <= 0)
		return -1;
	const char *p = strstr(text, "pos:"), *f = strstr(text, "flags:");
	if (!p || !f)
		return -1;
	*pos = strtoull(p + 4, NULL, 10);
	*flags = (uint32_t)strtoul(f + 6, NULL, 8);
	const char *m = strstr(text, "mnt_id:");
	*mnt_id = m ? atoi(m + 7) : -1;
	return 0;
}

static int classify_socket(struct cr_files_dump *d, struct dump_file *df, pid_t hpid, int fd, int32_t ns_pid,
			   uint32_t ino, struct ct_err *err)
{
	int s CLEANUP_FD = grab_fd(hpid, fd);
	if (s < 0)
		return ct_fail_errno(err, "copying fd %d of process %d", fd, ns_pid);
	int domain = 0, type = 0, listening = 0, reuse = 0;
	socklen_t len = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	len = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len);
	len = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
	len = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, &len);
	if (domain == AF_INET && type == SOCK_STREAM && listening) {
		struct sockaddr_in a;
		len = sizeof(a);
		if (getsockname(s, (struct sockaddr *)&a, &len) < 0)
			return ct_fail_errno(err, "reading the address of fd %d of process %d", fd, ns_pid);
		/* Connections waiting to be accepted are not carried: their clients see a reset, as they
		 * would if the server had restarted (only the listener itself comes back). */
		df->f.kind = CR_FILE_TCP_LISTEN;
		df->f.addr = a.sin_addr.s_addr;
		df->f.port = ntohs(a.sin_port);
		df->f.reuseaddr = reuse != 0;
		df->f.backlog = 64;
		df->f.sock_type = SOCK_STREAM;
		return 0;
	}
	if (domain == AF_INET && type == SOCK_STREAM)
		return ct_fail(err, "busy", "process %d has an established TCP connection (fd %d): the engine cannot "
			       "carry connections yet", ns_pid, fd);
	if (domain == AF_UNIX && (type == SOCK_STREAM || type == SOCK_DGRAM || type == SOCK_SEQPACKET)) {
		struct sockaddr_un self = { 0 };
		len = sizeof(self);
		uint32_t peer = unix_peer(d, ino);
		if (getsockname(s, (struct sockaddr *)&self, &len) < 0 || len > sizeof(sa_family_t) || !peer)
			return ct_fail(err, UNSUPPORTED, "process %d has a unix socket on fd %d that is not one of a "
				       "connected socketpair (named or listening unix sockets are not supported yet)", ns_pid, fd);
		/* Both sides name the pair by the smaller inode; the side says which end this is. */
		df->f.kind = CR_FILE_UNIX_PAIR;
		df->f.sock_type = (uint32_t)type;
		df->f.pipe_id = ino < peer ? ino : peer;
		df->f.side = ino < peer ? 0 : 1;
		df->peer = peer;
		df->ino = ino;
		return 0;
	}
	return ct_fail(err, UNSUPPORTED, "process %d has a socket (domain %d, type %d) on fd %d that the engine "
		       "cannot checkpoint yet", ns_pid, domain, type, fd);
}

/* Works out what an fd is, for a description seen for the first time. */
static int classify(struct cr_files_dump *d, struct dump_file *df, pid_t hpid, int fd, int32_t ns_pid,
		    const char *target, int mnt_id, struct ct_err *err)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", hpid, fd);
	if (stat(path, &st) < 0)
		return ct_fail_errno(err, "examining fd %d of process %d", fd, ns_pid);
	if (!strncmp(target, "pipe:[", 6)) {
		df->f.kind = CR_FILE_PIPE;
		df->f.pipe_id = (uint32_t)st.st_ino;
		return 0;
	}
	if (!strncmp(target, "socket:[", 8))
		return classify_socket(d, df, hpid, fd, ns_pid, (uint32_t)st.st_ino, err);
	if (S_ISCHR(st.st_mode) && st.st_rdev == d->console_rdev) {
		df->f.kind = CR_FILE_CONSOLE;
		return 0;
	}
	if (target[0] == '/' && !in_container(d, mnt_id))
		return ct_fail(err, UNSUPPORTED, "fd %d of process %d is %s, a file outside the container (inherited "
			       "from whoever started it?)", fd, ns_pid, target);
	if (target[0] != '/' || strstr(target, " (deleted)"))
		return ct_fail(err, UNSUPPORTED, "fd %d of process %d is %s, which the engine cannot checkpoint yet",
			       fd, ns_pid, target);
	if (S_ISCHR(st.st_mode)) {
		unsigned maj = major(st.st_rdev);
		if (maj == 5 || (maj >= 136 && maj <= 143))
			return ct_fail(err, UNSUPPORTED, "process %d has a terminal session open (%s on fd %d): "
				       "close it first", ns_pid, target, fd);
		df->f.kind = CR_FILE_DEV;
	} else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		df->f.kind = CR_FILE_REG;
	} else {
		return ct_fail(err, UNSUPPORTED, "fd %d of process %d is %s (a FIFO or special file)", fd, ns_pid, target);
	}
	snprintf(df->f.path, sizeof(df->f.path), "%s", target);
	return 0;
}

int cr_files_scan(struct cr_files_dump *d, pid_t hpid, int32_t ns_pid, struct cr_fd **fds_out, uint32_t *nfds,
		  struct ct_err *err)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", hpid);
	DIR *dp = opendir(dir);
	if (!dp)
		return ct_fail_errno(err, "listing %s", dir);
	struct cr_fd *fds = NULL;
	uint32_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(dp)) && rc == 0) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		char path[96], target[CR_PATH_MAX] = "";
		snprintf(path, sizeof(path), "%s/%d", dir, fd);
		if (readlink(path, target, sizeof(target) - 1) < 0) {
			rc = ct_fail_errno(err, "reading %s", path);
			break;
		}
		uint64_t pos;
		uint32_t flags;
		int mnt_id;
		if (read_fdinfo(hpid, fd, &pos, &flags, &mnt_id) < 0) {
			rc = ct_fail_errno(err, "reading the fdinfo of fd %d of process %d", fd, ns_pid);
			break;
		}
		/* The same open file description as one already seen? */
		uint32_t i;
		for (i = 0; i < d->n; i++)
			if (syscall(SYS_kcmp, d->files[i].hpid, hpid, KCMP_FILE, d->files[i].fd, fd) == 0)
				break;
		if (i == d->n) {
			if (d->n == d->cap) {
				uint32_t cap2 = d->cap ? d->cap * 2 : 16;
				struct dump_file *b = realloc(d->files, cap2 * sizeof(*b));
				if (!b) {
					rc = ct_fail(err, "failed", "out of memory");
					break;
				}
				d->files = b;
				d->cap = cap2;
			}
			struct dump_file *df = &d->files[d->n];
			memset(df, 0, sizeof(*df));
			df->hpid = hpid;
			df->fd = fd;
			df->ns_pid = ns_pid;
			df->f.id = d->n + 1;
			df->f.flags = flags & ~(uint32_t)O_CLOEXEC;
			df->f.pos = pos;
			if (classify(d, df, hpid, fd, ns_pid, target, mnt_id, err) < 0) {
				rc = -1;
				break;
			}
			d->n++;
		}
		struct dump_file *df = &d->files[i];
		if (df->f.kind == CR_FILE_PIPE) {
			int acc = (int)(df->f.flags & O_ACCMODE);
			df->has_reader |= acc == O_RDONLY || acc == O_RDWR;
			df->has_writer |= acc == O_WRONLY || acc == O_RDWR;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct cr_fd *b = realloc(fds, cap * sizeof(*b));
			if (!b) {
				rc = ct_fail(err, "failed", "out of memory");
				break;
			}
			fds = b;
		}
		fds[n++] = (struct cr_fd){ .pid = ns_pid, .fd = fd, .file_id = df->f.id, .cloexec = (flags & O_CLOEXEC) != 0 };
	}
	closedir(dp);
	if (rc < 0) {
		free(fds);
		return -1;
	}
	*fds_out = fds;
	*nfds = n;
	return 0;
}

/* Copies what a pipe holds without taking it out: tee into a pipe of our own, then read that. */
static int pipe_contents(struct dump_file *df, unsigned char **data, uint32_t *len, uint32_t *size, struct ct_err *err)
{
	int src CLEANUP_FD = grab_fd(df->hpid, df->fd);
	if (src < 0)
		return ct_fail_errno(err, "copying a pipe of process %d", df->ns_pid);
	int cap = fcntl(src, F_GETPIPE_SZ);
	*size = cap > 0 ? (uint32_t)cap : 65536;
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return ct_fail_errno(err, "pipe");
	fcntl(p[1], F_SETPIPE_SZ, *size);
	*data = malloc(*size);
	ssize_t n = *data ? tee(src, p[1], *size, SPLICE_F_NONBLOCK) : -1;
	if (n < 0 && errno == EAGAIN)
		n = 0;   /* empty */
	ssize_t got = n > 0 ? read_all(p[0], *data, (size_t)n) : 0;
	close(p[0]);
	close(p[1]);
	if (n < 0 || got != n) {
		free(*data);
		*data = NULL;
		return ct_fail_errno(err, "reading the contents of a pipe of process %d", df->ns_pid);
	}
	*len = (uint32_t)n;
	return 0;
}

int cr_files_write(struct cr_files_dump *d, struct cr_writer *w, struct ct_err *err)
{
	for (uint32_t i = 0; i < d->n; i++) {
		struct dump_file *df = &d->files[i];
		if (df->f.kind != CR_FILE_PIPE)
			continue;
		/* Both ends of every pipe: in the same description list under one pipe id. */
		bool reader = false, writer = false;
		for (uint32_t j = 0; j < d->n; j++)
			if (d->files[j].f.kind == CR_FILE_PIPE && d->files[j].f.pipe_id == df->f.pipe_id) {
				reader |= d->files[j].has_reader;
				writer |= d->files[j].has_writer;
			}
		if (!reader || !writer)
			return ct_fail(err, UNSUPPORTED, "process %d has a pipe whose other end is outside the container "
				       "(started by `ct exec` without redirecting its output?)", df->ns_pid);
	}
	for (uint32_t i = 0; i < d->n; i++) {
		struct dump_file *df = &d->files[i];
		if (df->f.kind != CR_FILE_UNIX_PAIR)
			continue;
		bool other = false;
		for (uint32_t j = 0; j < d->n && !other; j++)
			other = d->files[j].f.kind == CR_FILE_UNIX_PAIR && d->files[j].ino == df->peer;
		if (!other)
			return ct_fail(err, UNSUPPORTED, "process %d has a unix socket connected to a process outside the "
				       "container", df->ns_pid);
	}
	for (uint32_t i = 0; i < d->n; i++)
		if (cr_write_record(w, CR_REC_FILE, &d->files[i].f, sizeof(d->files[i].f), err) < 0)
			return -1;
	/* What each socketpair side has queued to read, peeked so it stays there. */
	for (uint32_t i = 0; i < d->n; i++) {
		struct dump_file *df = &d->files[i];
		if (df->f.kind != CR_FILE_UNIX_PAIR)
			continue;
		int s CLEANUP_FD = grab_fd(df->hpid, df->fd);
		int size = 0;
		socklen_t sl = sizeof(size);
		if (s < 0 || getsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, &sl) < 0)
			return ct_fail_errno(err, "copying a socket of process %d", df->ns_pid);
		size = size < 4096 ? 4096 : size > (1 << 20) ? (1 << 20) : size;
		unsigned char *data = malloc((size_t)size);
		ssize_t n = data ? recv(s, data, (size_t)size, MSG_PEEK | MSG_DONTWAIT) : -1;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			n = 0;
		int rc = n < 0 ? ct_fail_errno(err, "reading what a socket of process %d holds", df->ns_pid) : 0;
		if (rc == 0 && n > 0 && df->f.sock_type != SOCK_STREAM)
			rc = ct_fail(err, UNSUPPORTED, "process %d has datagrams queued on a unix socketpair", df->ns_pid);
		struct cr_pipe_data pd = { df->f.pipe_id, df->f.side, (uint32_t)(n > 0 ? n : 0) };
		if (rc == 0 && n > 0 && (cr_record_begin(w, CR_REC_PIPE_DATA, sizeof(pd) + pd.len, err) < 0 ||
					 cr_record_data(w, &pd, sizeof(pd), err) < 0 || cr_record_data(w, data, pd.len, err) < 0))
			rc = -1;
		free(data);
		if (rc < 0)
			return -1;
	}
	/* Buffered data: once per pipe, read through one of its read ends. */
	for (uint32_t i = 0; i < d->n; i++) {
		struct dump_file *df = &d->files[i];
		int acc = (int)(df->f.flags & O_ACCMODE);
		if (df->f.kind != CR_FILE_PIPE || acc == O_WRONLY)
			continue;
		bool first = true;
		for (uint32_t j = 0; j < i; j++)
			first &= !(d->files[j].f.kind == CR_FILE_PIPE && d->files[j].f.pipe_id == df->f.pipe_id &&
				   (d->files[j].f.flags & O_ACCMODE) != O_WRONLY);
		if (!first)
			continue;
		unsigned char *data = NULL;
		uint32_t len = 0, size = 0;
		if (pipe_contents(df, &data, &len, &size, err) < 0)
			return -1;
		struct cr_pipe_data pd = { df->f.pipe_id, 0, len };
		int rc = len ? cr_record_begin(w, CR_REC_PIPE_DATA, sizeof(pd) + len, err) : 0;
		if (rc == 0 && len)
			rc = cr_record_data(w, &pd, sizeof(pd), err);
		if (rc == 0 && len)
			rc = cr_record_data(w, data, len, err);
		free(data);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* --- restore ------------------------------------------------------------------------------------ */

int cr_files_staging_base(const struct cr_image *img)
{
	int top = 2;
	for (uint32_t i = 0; i < img->nprocs; i++)
		for (uint32_t j = 0; j < img->procs[i].nfds; j++)
			if (img->procs[i].fds[j]->fd > top)
				top = img->procs[i].fds[j]->fd;
	return top + 1;
}

int cr_files_report_fd(const struct cr_image *img, int staging_base)
{
	return staging_base + (int)img->nfiles + CR_MAX_MAP_FILES;
}

static int place(int fd, int at, struct ct_err *err)
{
	if (fd < 0)
		return -1;
	if (fd == at)
		return 0;
	int rc = dup2(fd, at);
	close(fd);
	return rc < 0 ? ct_fail_errno(err, "dup2") : 0;
}

/* Which of the two fds of a pipe or socketpair a description is: pipes by their access mode, a
 * socketpair's sockets by the side the checkpoint recorded. */
static int pair_end(const struct cr_file *g)
{
	return g->kind == CR_FILE_PIPE ? (g->flags & O_ACCMODE) == O_WRONLY : (int)g->side;
}

/* A pipe or socketpair: the first description of it creates the pair, refills it (data a side is to
 * read goes in through the other end) and places every description of it at its staging fd. */
static int open_pair(const struct cr_image *img, uint32_t index, int staging_base, struct ct_err *err)
{
	const struct cr_file *f = img->files[index];
	for (uint32_t j = 0; j < index; j++)
		if (img->files[j]->kind == f->kind && img->files[j]->pipe_id == f->pipe_id)
			return 0;
	int p[2];
	if ((f->kind == CR_FILE_PIPE ? pipe2(p, 0) : socketpair(AF_UNIX, (int)f->sock_type, 0, p)) < 0)
		return ct_fail_errno(err, "creating a pipe or socketpair");
	/* Out of the way of the staging slots first: new fds take the lowest free numbers. */
	for (int e = 0; e < 2; e++) {
		int high = fcntl(p[e], F_DUPFD_CLOEXEC, cr_files_report_fd(img, staging_base) + 1);
		close(p[e]);
		p[e] = high;
	}
	int rc = p[0] < 0 || p[1] < 0 ? ct_fail_errno(err, "placing a pipe or socketpair") : 0;
	if (rc == 0 && f->kind == CR_FILE_PIPE && f->pipe_size > 65536)
		fcntl(p[1], F_SETPIPE_SZ, (int)f->pipe_size);
	for (uint32_t j = 0; j < img->npipe_data && rc == 0; j++) {
		const struct cr_pipe_data *pd = img->pipe_data[j];
		if (pd->pipe_id == f->pipe_id && write_all(p[1 - pd->side], cr_after(pd, sizeof(*pd)), pd->len) < 0)
			rc = ct_fail_errno(err, "refilling a pipe or socketpair");
	}
	for (uint32_t j = index; j < img->nfiles && rc == 0; j++) {
		const struct cr_file *g = img->files[j];
		if (g->kind != f->kind || g->pipe_id != f->pipe_id)
			continue;
		int at = staging_base + (int)j;
		if (dup2(p[pair_end(g)], at) < 0 || fcntl(at, F_SETFL, g->flags & O_NONBLOCK) < 0)
			rc = ct_fail_errno(err, "placing a pipe or socketpair");
	}
	for (int e = 0; e < 2; e++)
		if (p[e] >= 0)
			close(p[e]);
	return rc;
}

static int open_listener(const struct cr_file *f, struct ct_err *err)
{
	int s = socket(AF_INET, SOCK_STREAM | (f->flags & O_NONBLOCK ? SOCK_NONBLOCK : 0), 0);
	if (s < 0)
		return ct_fail_errno(err, "creating a socket");
	int one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port), .sin_addr.s_addr = f->addr };
	if ((f->reuseaddr && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, (int)f->backlog) < 0) {
		ct_fail_errno(err, "listening again on TCP port %u", f->port);
		close(s);
		return -1;
	}
	return s;
}

int cr_files_open_all(const struct cr_image *img, int staging_base, struct ct_err *err)
{
	for (uint32_t i = 0; i < img->nfiles; i++) {
		const struct cr_file *f = img->files[i];
		int at = staging_base + (int)i, fd = -1;
		int flags = (int)(f->flags & ~(uint32_t)(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY;
		switch (f->kind) {
		case CR_FILE_PIPE:
		case CR_FILE_UNIX_PAIR:
			if (open_pair(img, i, staging_base, err) < 0)
				return -1;
			continue;
		case CR_FILE_REG:
		case CR_FILE_DEV:
			fd = open(f->path, flags);
			if (fd < 0)
				return ct_fail_errno(err, "reopening %s", f->path);
			if (f->kind == CR_FILE_REG && lseek(fd, (off_t)f->pos, SEEK_SET) < 0 && errno != ESPIPE) {
				close(fd);
				return ct_fail_errno(err, "seeking in %s", f->path);
			}
			break;
		case CR_FILE_CONSOLE:
			fd = open("/dev/console", flags);
			if (fd < 0)
				return ct_fail_errno(err, "reopening the console");
			break;
		case CR_FILE_TCP_LISTEN:
			fd = open_listener(f, err);
			if (fd < 0)
				return -1;
			break;
		default:
			return ct_fail(err, "unsupported", "file %u is of a kind this ct cannot restore", f->id);
		}
		if (place(fd, at, err) < 0)
			return -1;
	}
	return 0;
}

static uint32_t file_index(const struct cr_image *img, uint32_t id)
{
	for (uint32_t i = 0; i < img->nfiles; i++)
		if (img->files[i]->id == id)
			return i;
	return 0;
}

int cr_files_install(const struct cr_image *img, const struct cr_proc_index *x, int staging_base, int keep,
		     struct ct_err *err)
{
	/* Every target fd is below staging_base, so no dup2 here can hit a staging fd. */
	for (uint32_t j = 0; j < x->nfds; j++) {
		const struct cr_fd *d = x->fds[j];
		int from = staging_base + (int)file_index(img, d->file_id);
		if (dup2(from, d->fd) < 0 || fcntl(d->fd, F_SETFD, d->cloexec ? FD_CLOEXEC : 0) < 0)
			return ct_fail_errno(err, "installing fd %d of process %d", d->fd, x->proc->pid);
	}
	/* Close the rest: everything from staging_base up except keep, and unused fds below it. */
	for (int fd = 0; fd < staging_base; fd++) {
		bool used = false;
		for (uint32_t j = 0; j < x->nfds && !used; j++)
			used = x->fds[j]->fd == fd;
		if (!used)
			close(fd);
	}
	if (keep > staging_base)
		syscall(SYS_close_range, staging_base, keep - 1, 0);
	syscall(SYS_close_range, keep + 1, ~0u, 0);
	return 0;
}
