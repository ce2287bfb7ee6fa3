#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cr_show.h"

static const char *file_kind(uint32_t k)
{
	static const char *const names[] = { "?", "file", "device", "console", "pipe", "tcp-listen", "unix-pair" };
	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static const char *vma_kind(uint32_t k)
{
	static const char *const names[] = { "anon", "file", "vdso", "vvar" };
	return k < 4 ? names[k] : "?";
}

void cr_show_image(FILE *out, const struct cr_image *img)
{
	const struct cr_header *h = &img->header;
	const struct cr_container *c = img->container;
	unsigned char a[4];
	memcpy(a, &c->ip, 4);
	fprintf(out, "image: ctlab checkpoint format %u, arch i386, %zu bytes\n", h->version, img->size);
	fprintf(out, "kernel: %s\ncpu: %s\ncreated: %llu ms since the epoch\n", h->kernel, h->cpu,
		(unsigned long long)h->created_ms);
	fprintf(out, "container %s (template %s, hostname %s, %s)\n", c->name, c->template_name, c->hostname,
		c->privileged ? "privileged" : "user namespace");
	if (c->ip)
		fprintf(out, "  ip %u.%u.%u.%u/%d\n", a[0], a[1], a[2], a[3], c->prefix);
	fprintf(out, "  limits: memory %lld, pids %lld, cpu quota %lld us per 100 ms (-1 = unlimited)\n",
		(long long)c->memory, (long long)c->pids, (long long)c->cpu_quota);
	fprintf(out, "  clocks: monotonic %lld.%09lld s, boottime %lld.%09lld s\n", (long long)(c->mono_ns / 1000000000),
		(long long)(c->mono_ns % 1000000000), (long long)(c->boot_ns / 1000000000),
		(long long)(c->boot_ns % 1000000000));
	fprintf(out, "files: %u\n", img->nfiles);
	for (uint32_t i = 0; i < img->nfiles; i++) {
		const struct cr_file *f = img->files[i];
		fprintf(out, "  file %u: %s flags %#o", f->id, file_kind(f->kind), f->flags);
		if (f->kind == CR_FILE_REG || f->kind == CR_FILE_DEV)
			fprintf(out, " pos %llu %s", (unsigned long long)f->pos, f->path);
		if (f->kind == CR_FILE_PIPE)
			fprintf(out, " pipe %u", f->pipe_id);
		if (f->kind == CR_FILE_TCP_LISTEN)
			fprintf(out, " port %u", f->port);
		fputc('\n', out);
	}
	for (uint32_t i = 0; i < img->npipe_data; i++)
		fprintf(out, "  pipe %u holds %u bytes\n", img->pipe_data[i]->pipe_id, img->pipe_data[i]->len);
	fprintf(out, "processes: %u, %llu bytes of memory pages\n", img->nprocs, (unsigned long long)img->page_bytes);
	for (uint32_t i = 0; i < img->nprocs; i++) {
		const struct cr_proc_index *x = &img->procs[i];
		const struct cr_proc *p = x->proc;
		fprintf(out, "process %d (%s) parent %d pgid %d sid %d%s\n", p->pid, p->comm, p->ppid, p->pgid, p->sid,
			p->state == CR_PROC_ZOMBIE ? " zombie" : "");
		if (p->state == CR_PROC_ZOMBIE) {
			fprintf(out, "  exit status %#x\n", p->exit_status);
			continue;
		}
		fprintf(out, "  exe %s cwd %s uid %u gid %u umask %03o\n", p->exe, p->cwd, p->uid[0], p->gid[0], p->umask);
		const struct cr_regs *r = &p->regs;
		fprintf(out, "  eip %08x esp %08x eax %08x orig_eax %d ebx %08x ecx %08x edx %08x gs %04x\n", r->eip,
			r->esp, r->eax, (int32_t)r->orig_eax, r->ebx, r->ecx, r->edx, r->xgs);
		fprintf(out, "  brk %08x-%08x stack %08x sigmask %016llx\n", p->mm[4], p->mm[5], p->mm[6],
			(unsigned long long)p->sigmask);
		for (int s = 0; s < CR_NSIG; s++)
			if (p->sigactions[s].handler > 1)
				fprintf(out, "  signal %d: handler %08x flags %08x\n", s + 1, p->sigactions[s].handler,
					p->sigactions[s].flags);
		for (uint32_t j = 0; j < x->nvmas; j++) {
			const struct cr_vma *v = x->vmas[j];
			uint64_t saved = 0;
			for (uint32_t k = 0; k < x->npages; k++)
				if (x->pages[k]->addr >= v->start && x->pages[k]->addr < v->end)
					saved += x->pages[k]->npages;
			fprintf(out, "  %08x-%08x %c%c%c%c %-4s %5llu pages saved %s\n", v->start, v->end,
				v->prot & 1 ? 'r' : '-', v->prot & 2 ? 'w' : '-', v->prot & 4 ? 'x' : '-',
				v->flags & CR_VMA_SHARED ? 's' : 'p', vma_kind(v->kind), (unsigned long long)saved, v->path);
		}
		for (uint32_t j = 0; j < x->nfds; j++)
			fprintf(out, "  fd %d -> file %u%s\n", x->fds[j]->fd, x->fds[j]->file_id, x->fds[j]->cloexec ? " cloexec" : "");
		for (uint32_t j = 0; j < x->nsiginfo; j++) {
			int32_t signo;
			memcpy(&signo, x->siginfo[j]->info, 4);
			fprintf(out, "  pending signal %d (%s)\n", signo, x->siginfo[j]->shared ? "process" : "thread");
		}
	}
	uint64_t fsbytes = 0;
	for (uint32_t i = 0; i < img->nfsentries; i++)
		fsbytes += img->fsentries[i]->size;
	fprintf(out, "upper layer: %u entries, %llu bytes\n", img->nfsentries, (unsigned long long)fsbytes);
	for (uint32_t i = 0; i < img->nfsentries && i < 200; i++) {
		const struct cr_fsentry *e = img->fsentries[i];
		static const char types[] = "?drlw";
		fprintf(out, "  %c %04o %6u /%s\n", types[e->type < 5 ? e->type : 0], e->mode, e->size, e->path);
	}
	fprintf(out, "console log: %u bytes\n", img->log_len);
}

int cr_show(const char *path)
{
	char file[512];
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(file, sizeof(file), "%s/" CR_IMAGE_FILE, path);
	else
		snprintf(file, sizeof(file), "%s", path);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "ct: %s: %s\n", file, strerror(errno));
		return 1;
	}
	unsigned char *data = malloc(st.st_size ? (size_t)st.st_size : 1);
	ssize_t got = 0;
	while (data && got < st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)(st.st_size - got));
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	struct cr_image img;
	struct ct_err err;
	if (!data || cr_image_parse(&img, data, (size_t)got, &err) < 0) {
		fprintf(stderr, "ct: %s: %s\n", file, data ? err.msg : "out of memory");
		free(data);
		return 1;
	}
	cr_show_image(stdout, &img);
	cr_image_free(&img);
	free(data);
	return 0;
}
