/* stp_regs.h - the probed code's registers, per architecture: function arguments by the
 * calling convention (arg(), pointer_arg(), ...), register() and u_register() by name, and
 * print_regs(). Each function runs in any context: it only reads the pt_regs the hit or
 * kprobe handler was given (and, for stack arguments, the stack through a nofault read).
 */
#ifndef STP_REGS_H
#define STP_REGS_H

#if defined(CONFIG_X86_64)

/* Any context. Function argument n (n <= STP_ARG_REGS) at a function's entry, by the x86_64
 * calling convention: rdi, rsi, rdx, rcx, r8, r9; the rest are on the stack above the return
 * address (stp_arg_stack). */
#define STP_ARG_REGS 6
static inline unsigned long stp_arg_reg(struct pt_regs *r, int64_t n)
{
	switch (n) {
	case 1: return r->di;
	case 2: return r->si;
	case 3: return r->dx;
	case 4: return r->cx;
	case 5: return r->r8;
	default: return r->r9;
	}
}
#define stp_arg_stack(r) ((r)->sp + 8)

/* Any context. A register of the probed code by its name ("rdi", "eax", "ip", ...), as
 * SystemTap's register() (signed) and u_register() (unsigned) read it; 32-bit names give
 * the low half. An unknown name is an error. */
static inline int64_t stp_register(struct stp_context *c, const char *name, bool is_signed)
{
	static const struct { const char *n64, *n32; size_t off; } regs[] = {
		{ "rax", "eax", offsetof(struct pt_regs, ax) },
		{ "rbx", "ebx", offsetof(struct pt_regs, bx) },
		{ "rcx", "ecx", offsetof(struct pt_regs, cx) },
		{ "rdx", "edx", offsetof(struct pt_regs, dx) },
		{ "rsi", "esi", offsetof(struct pt_regs, si) },
		{ "rdi", "edi", offsetof(struct pt_regs, di) },
		{ "rbp", "ebp", offsetof(struct pt_regs, bp) },
		{ "rsp", "esp", offsetof(struct pt_regs, sp) },
		{ "rip", "eip", offsetof(struct pt_regs, ip) },
		{ "r8", "r8d", offsetof(struct pt_regs, r8) },
		{ "r9", "r9d", offsetof(struct pt_regs, r9) },
		{ "r10", "r10d", offsetof(struct pt_regs, r10) },
		{ "r11", "r11d", offsetof(struct pt_regs, r11) },
		{ "r12", "r12d", offsetof(struct pt_regs, r12) },
		{ "r13", "r13d", offsetof(struct pt_regs, r13) },
		{ "r14", "r14d", offsetof(struct pt_regs, r14) },
		{ "r15", "r15d", offsetof(struct pt_regs, r15) },
		{ "flags", "eflags", offsetof(struct pt_regs, flags) },
		{ "ax", NULL, offsetof(struct pt_regs, ax) },
		{ "bx", NULL, offsetof(struct pt_regs, bx) },
		{ "cx", NULL, offsetof(struct pt_regs, cx) },
		{ "dx", NULL, offsetof(struct pt_regs, dx) },
		{ "si", NULL, offsetof(struct pt_regs, si) },
		{ "di", NULL, offsetof(struct pt_regs, di) },
		{ "bp", NULL, offsetof(struct pt_regs, bp) },
		{ "sp", NULL, offsetof(struct pt_regs, sp) },
		{ "ip", NULL, offsetof(struct pt_regs, ip) },
	};
	unsigned long v;
	size_t i;

	if (!c->regs) {
		stp_error(c, "no registers available in this context");
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(regs); i++) {
		v = *(unsigned long *)((char *)c->regs + regs[i].off);
		if (strcmp(name, regs[i].n64) == 0)
			return (int64_t)v;
		if (regs[i].n32 && strcmp(name, regs[i].n32) == 0)
			return is_signed ? (int64_t)(int32_t)v : (int64_t)(uint32_t)v;
	}
	stp_error(c, "unknown register %s", name);
	return 0;
}

/* Any context. print_regs(): the probed code's registers, as SystemTap prints them. */
static inline void stp_print_regs(struct stp_context *c)
{
	struct pt_regs *r = c->regs;

	if (!r) {
		stp_error(c, "no registers available in this context");
		return;
	}
	stp_printf(c, "RIP: %016lx\nRSP: %016lx  EFLAGS: %08lx\n", r->ip, r->sp, r->flags);
	stp_printf(c, "RAX: %016lx RBX: %016lx RCX: %016lx\n", r->ax, r->bx, r->cx);
	stp_printf(c, "RDX: %016lx RSI: %016lx RDI: %016lx\n", r->dx, r->si, r->di);
	stp_printf(c, "RBP: %016lx R08: %016lx R09: %016lx\n", r->bp, r->r8, r->r9);
	stp_printf(c, "R10: %016lx R11: %016lx R12: %016lx\n", r->r10, r->r11, r->r12);
	stp_printf(c, "R13: %016lx R14: %016lx R15: %016lx\n", r->r13, r->r14, r->r15);
}

#elif defined(CONFIG_ARM64)

/* Any context. Function argument n (n <= STP_ARG_REGS) at a function's entry, by the AAPCS64
 * calling convention: x0 to x7; the rest are on the stack from sp upwards (no return address
 * there: it is in x30). */
#define STP_ARG_REGS 8
static inline unsigned long stp_arg_reg(struct pt_regs *r, int64_t n)
{
	return r->regs[n - 1];
}
#define stp_arg_stack(r) ((r)->sp)

/* Any context. A register of the probed code by its name, as SystemTap's register() and
 * u_register() read it on arm64: "x0" to "x30", "fp" (x29), "lr" (x30), "sp", "pc",
 * "pstate", "orig_x0"; "w0" to "w30" give the low 32 bits. An unknown name is an error. */
static inline int64_t stp_register(struct stp_context *c, const char *name, bool is_signed)
{
	struct pt_regs *r = c->regs;
	unsigned long v;
	bool low = false;
	unsigned int n;

	if (!r) {
		stp_error(c, "no registers available in this context");
		return 0;
	}
	if ((name[0] == 'x' || name[0] == 'w') && kstrtouint(name + 1, 10, &n) == 0 && n <= 30 &&
	    name[1] != '+' && !(name[1] == '0' && name[2])) {
		v = r->regs[n];
		low = name[0] == 'w';
	} else if (strcmp(name, "fp") == 0) {
		v = r->regs[29];
	} else if (strcmp(name, "lr") == 0) {
		v = r->regs[30];
	} else if (strcmp(name, "sp") == 0) {
		v = r->sp;
	} else if (strcmp(name, "pc") == 0) {
		v = r->pc;
	} else if (strcmp(name, "pstate") == 0) {
		v = r->pstate;
	} else if (strcmp(name, "orig_x0") == 0) {
		v = r->orig_x0;
	} else {
		stp_error(c, "unknown register %s", name);
		return 0;
	}
	if (low)
		return is_signed ? (int64_t)(int32_t)v : (int64_t)(uint32_t)v;
	return (int64_t)v;
}

/* Any context. print_regs(): pc, lr, sp and pstate, then x29 down to x0, three a line, as
 * the kernel's own register dumps on arm64 lay them out. */
static inline void stp_print_regs(struct stp_context *c)
{
	struct pt_regs *r = c->regs;
	int i;

	if (!r) {
		stp_error(c, "no registers available in this context");
		return;
	}
	stp_printf(c, "pc : %016llx lr : %016llx pstate: %08llx\nsp : %016llx\n",
		   (unsigned long long)r->pc, (unsigned long long)r->regs[30],
		   (unsigned long long)r->pstate, (unsigned long long)r->sp);
	for (i = 29; i >= 0; i--)
		stp_printf(c, "x%-2d: %016llx%s", i, (unsigned long long)r->regs[i],
			   i % 3 == 0 ? "\n" : " ");
}

#else
#error "stp-hwbp supports x86_64 and arm64 kernels"
#endif

/* Any context. Function argument n (1-based) at a function's entry: the first STP_ARG_REGS
 * from registers, the rest from the stack (read fault-safe). Anywhere but a function's entry
 * it is an error (0). */
static inline int64_t stp_arg(struct stp_context *c, int64_t n)
{
	struct pt_regs *r = c->regs;
	unsigned long v = 0;

	if (!r || c->fn_probe != STP_FN_ENTRY) {
		stp_error(c, "cannot access function args in this context");
		return 0;
	}
	if (n < 1) {
		stp_error(c, "argument %lld does not exist (arguments count from 1)", (long long)n);
		return 0;
	}
	if (n <= STP_ARG_REGS)
		return (int64_t)stp_arg_reg(r, n);
	if (n > 64 || copy_from_kernel_nofault(&v, (void *)(stp_arg_stack(r) +
							    8 * (n - STP_ARG_REGS - 1)), sizeof(v)))
		stp_error(c, "cannot read argument %lld from the stack", (long long)n);
	return (int64_t)v;
}

#endif /* STP_REGS_H */
