#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "cr_batch.h"
#include "util.h"

#define CODE_MAX 64
#define TABLE 256
#define DATA 4096

/* The executor: EDI points at the table (ESP just below it). Each entry is nr, six arguments and
 * the result; nr -1 ends the table. A result in [-4095, -1] is an error and ends the run, so the
 * tracer knows which op failed and that none after it ran. */
__asm__(".pushsection .rodata\n"
	".globl pt_batch_code\n"
	".globl pt_batch_code_end\n"
	"pt_batch_code:\n"
	"1:	movl (%edi), %eax\n"
	"	cmpl $-1, %eax\n"
	"	je 2f\n"
	"	pushl %edi\n"
	"	movl 4(%edi), %ebx\n"
	"	movl 8(%edi), %ecx\n"
	"	movl 12(%edi), %edx\n"
	"	movl 16(%edi), %esi\n"
	"	movl 24(%edi), %ebp\n"
	"	movl 20(%edi), %edi\n"
	"	int $0x80\n"
	"	popl %edi\n"
	"	movl %eax, 28(%edi)\n"
	"	cmpl $-4095, %eax\n"
	"	jae 2f\n"
	"	addl $32, %edi\n"
	"	jmp 1b\n"
	"2:	int3\n"
	"pt_batch_code_end:\n"
	".popsection\n");
extern const unsigned char pt_batch_code[], pt_batch_code_end[];

void pt_batch_init(struct pt_batch *b, uint32_t scratch)
{
	b->scratch = scratch;
	b->n = 0;
	b->failed = -1;
	b->used = 0;
}

uint32_t pt_batch_data(struct pt_batch *b, const void *src, uint32_t len)
{
	uint32_t at = (b->used + 3) & ~3u;
	if (at + len > PT_BATCH_DATA)
		return 0;
	if (src)
		memcpy(b->data + at, src, len);
	else
		memset(b->data + at, 0, len);
	b->used = at + len;
	return b->scratch + DATA + at;
}

void *pt_batch_at(struct pt_batch *b, uint32_t addr)
{
	return b->data + (addr - b->scratch - DATA);
}

int pt_batch_add(struct pt_batch *b, const char *what, long nr, int nargs, ...)
{
	if (b->n == PT_BATCH_OPS)
		return -1;
	struct pt_batch_op *op = &b->op[b->n];
	memset(op, 0, sizeof(*op));
	op->nr = (uint32_t)nr;
	va_list ap;
	va_start(ap, nargs);
	for (int i = 0; i < nargs && i < 6; i++)
		op->a[i] = (uint32_t)va_arg(ap, long);
	va_end(ap);
	b->what[b->n] = what;
	return b->n++;
}

int pt_batch_room(struct pt_task *t, struct pt_batch *b, int ops, uint32_t bytes, struct ct_err *err)
{
	if (b->n + ops <= PT_BATCH_OPS && ((b->used + 3) & ~3u) + bytes <= PT_BATCH_DATA)
		return 0;
	if (pt_batch_run(t, b, err) < 0)
		return -1;
	pt_batch_init(b, b->scratch);
	return 0;
}

int pt_batch_run(struct pt_task *t, struct pt_batch *b, struct ct_err *err)
{
	size_t code_len = (size_t)(pt_batch_code_end - pt_batch_code);
	if (b->n == 0)
		return 0;
	if (code_len > CODE_MAX)
		return ct_fail(err, "failed", "the syscall executor outgrew its place");
	static unsigned char area[DATA + PT_BATCH_DATA];
	size_t len = DATA + b->used;
	memset(area, 0, DATA);
	memcpy(area, pt_batch_code, code_len);
	b->op[b->n] = (struct pt_batch_op){ .nr = (uint32_t)-1 };
	memcpy(area + TABLE, b->op, (size_t)(b->n + 1) * sizeof(b->op[0]));
	memcpy(area + DATA, b->data, b->used);
	if (pt_mem_write(t, b->scratch, area, len) < 0)
		return ct_fail_errno(err, "writing syscalls into process %d", t->hpid);
	struct cr_regs r = t->regs;
	r.eip = b->scratch;
	r.edi = r.esp = b->scratch + TABLE;
	r.orig_eax = (uint32_t)-1;   /* no syscall-restart logic may rewrite these registers */
	if (pt_run_to_trap(t, &r, b->scratch + (uint32_t)code_len, err) < 0)
		return -1;
	if (pt_mem_read(t, b->scratch + TABLE, area + TABLE, len - TABLE) < 0)
		return ct_fail_errno(err, "reading syscall results of process %d", t->hpid);
	memcpy(b->op, area + TABLE, (size_t)b->n * sizeof(b->op[0]));
	memcpy(b->data, area + DATA, b->used);
	cr_trace("%lld %d: batch of %d syscalls ran\n", now_ms(), t->hpid, b->n);
	for (int i = 0; i < b->n; i++) {
		if (b->op[i].ret >= (uint32_t)-4095) {
			b->failed = i;
			errno = -(int32_t)b->op[i].ret;
			return ct_fail_errno(err, "%s in process %d", b->what[i], t->hpid);
		}
	}
	return 0;
}
