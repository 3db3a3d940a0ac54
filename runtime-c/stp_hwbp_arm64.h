/* stp_hwbp_arm64.h - data watchpoint hits on arm64: how they are seen, counted once, and
 * given the value after the write.
 *
 * An arm64 watchpoint traps before the access. The kernel (do_watchpoint) reports the hit to
 * each matching event and then steps over the access itself, but only for events whose
 * overflow handler is its default one (perf_event_output_forward); with a handler of ours the
 * access would trap again forever, and a module cannot step by itself (6.12.117 carries the
 * reworked arm64 debug exceptions: no step hooks, and the step helpers are not exported). So
 * on arm64 stp_watch_create registers every event with the default handler and keeps the
 * instance in overflow_handler_context (which that handler never reads), and a kprobe on
 * perf_event_output_forward (the "hook") sees each call: for one of our events it runs the
 * generated hit handler with the trapped registers (the third argument), as x86's #DB
 * exception would.
 *
 * Two things differ from x86, and are made good here before the hit handler runs:
 * - The repeat. When the kernel's step is taken into an interrupt, the watchpoints are
 *   re-enabled before the store has run, and the store traps again (seen: 4 hits for 3
 *   writes). A trap of the same instance on the same CPU, by the same task with every
 *   register as at the last reported one and an interrupt handled on this CPU in between, is
 *   that repeat: nothing of the trapped code ran since, and it is not reported again. The
 *   watched bytes are not compared: another CPU may write them while the step is held up
 *   (seen: 626 hits for 600 writes from two CPUs when they were), and a second access of its
 *   own with every register the same stores the same bytes, so they would not tell it apart.
 * - The value. The handler runs before the store, so data_value() and .change would see the
 *   old bytes. The store at the trapped PC is decoded (stp_a64_store.h) and the watched
 *   bytes after it are computed; an instruction that is not decoded leaves the value before
 *   the access, and is counted and reported once at session end.
 *
 * Contexts: the hook's pre-handler runs inside the watchpoint's debug exception, before the
 * access, with interrupts and debug exceptions masked: NMI-like (no locks, no sleeping, no
 * allocation). Getting and dropping the hook: process context.
 */
#ifndef STP_HWBP_ARM64_H
#define STP_HWBP_ARM64_H

#include <linux/kernel_stat.h>
#include "stp_a64_store.h"

/* Instances one trap may report at once: arm64 has at most 16 watchpoint registers. */
#define STP_A64_TRAP_INSTS 16

/* This CPU's last reported trap, and the hit being reported (NMI-like: this CPU's alone,
 * debug exceptions being masked while it is used). */
struct stp_a64_cpu {
	struct task_struct *task;		/* the trapped task */
	struct user_pt_regs uregs;		/* x0-x30, sp, pc, pstate at the trap */
	int n;					/* instances reported at it */
	const struct stp_winst *inst[STP_A64_TRAP_INSTS];
	unsigned long irqs[STP_A64_TRAP_INSTS];	/* this CPU's interrupt count then */
	const struct stp_winst *cur;		/* the instance whose hit runs now, or NULL */
	int64_t after;				/* its watched bytes after the access */
};

static DEFINE_PER_CPU(struct stp_a64_cpu, stp_a64_cpu);
static atomic_t stp_a64_undecoded = ATOMIC_INIT(0);	/* stores data_value() could not see */
static unsigned long stp_a64_undecoded_pc;		/* the last of them */
static atomic_t stp_a64_repeats = ATOMIC_INIT(0);	/* repeated traps not reported */

static int stp_a64_on_output(struct kprobe *p, struct pt_regs *kregs);
static struct kprobe stp_a64_hook;	/* on perf_event_output_forward */
static DEFINE_MUTEX(stp_a64_hook_lock);
static bool stp_a64_hook_on;

/* Process. Registers the hook before the first watchpoint is; every later call is free.
 * 0, or -ENOSYS (what stp_watch_reason says for it) with the kprobe's errno in the log. */
static int stp_a64_hook_get(void)
{
	int err = 0;

	mutex_lock(&stp_a64_hook_lock);
	if (!stp_a64_hook_on) {
		/* A failed registration may have left its address behind. */
		memset(&stp_a64_hook, 0, sizeof(stp_a64_hook));
		stp_a64_hook.symbol_name = "perf_event_output_forward";
		stp_a64_hook.pre_handler = stp_a64_on_output;
		err = register_kprobe(&stp_a64_hook);
		if (err) {
			pr_err("%s: cannot probe perf_event_output_forward (errno %d): arm64 watchpoint hits cannot be seen\n",
			       KBUILD_MODNAME, -err);
			err = -ENOSYS;
		} else {
			stp_a64_hook_on = true;
		}
	}
	mutex_unlock(&stp_a64_hook_lock);
	return err;
}

/* Process (module exit, once no watchpoint is registered). Unregistering waits for a
 * pre-handler running on another CPU, so none runs once this returns. */
static void stp_a64_hook_put(void)
{
	mutex_lock(&stp_a64_hook_lock);
	if (stp_a64_hook_on)
		unregister_kprobe(&stp_a64_hook);
	stp_a64_hook_on = false;
	mutex_unlock(&stp_a64_hook_lock);
}

/* NMI-like. The instance of ours that ctx points at, or NULL: other users' events with the
 * default handler (perf's own, another stp-hwbp module's) never point into our tables. */
static inline struct stp_winst *stp_a64_inst_of(void *ctx)
{
	uintptr_t p = (uintptr_t)ctx, b = (uintptr_t)stp_winst_pool;

	if (!p)
		return NULL;
	if (p >= b && p < b + sizeof(stp_winst_pool) && (p - b) % sizeof(struct stp_winst) == 0)
		return ctx;
	b = (uintptr_t)READ_ONCE(stp_wdecls);
	if (b && p >= b && p < b + stp_nwdecls * sizeof(struct stp_wdecl) &&
	    (p - b) % sizeof(struct stp_wdecl) == offsetof(struct stp_wdecl, fixed))
		return ctx;
	return NULL;
}

/* NMI-like. Whether this trap of w is the repeat of the one reported last on this CPU (see
 * the top of the file); if not, it is recorded as the last one. */
static inline bool stp_a64_repeat(struct stp_a64_cpu *t, const struct stp_winst *w,
				  const struct pt_regs *regs)
{
	unsigned long irqs = kstat_this_cpu->irqs_sum;
	int i;

	if (t->task != current || memcmp(&t->uregs, &regs->user_regs, sizeof(t->uregs))) {
		t->task = current;
		t->uregs = regs->user_regs;
		t->n = 0;
	}
	for (i = 0; i < t->n; i++) {
		if (t->inst[i] != w)
			continue;
		if (t->irqs[i] != irqs)
			return true;
		break;
	}
	if (i == t->n) {
		if (t->n == STP_A64_TRAP_INSTS)
			return false;
		t->n++;
	}
	t->inst[i] = w;
	t->irqs[i] = irqs;
	return false;
}

/* NMI-like. DC ZVA's block size in bytes, 0 when the instruction is prohibited. */
static inline unsigned int stp_a64_zva_bytes(void)
{
	u64 id = read_sysreg(dczid_el0);

	return id & 16 ? 0 : 4u << (id & 15);
}

/* NMI-like. The watched bytes of w after the access that trapped at regs: the store there
 * decoded, or before itself (a load, or a store not decoded: counted). */
static inline int64_t stp_a64_after(const struct stp_winst *w, const struct pt_regs *regs,
				    int64_t before)
{
	struct stp_a64_store s;
	u8 old[16], out[16];
	u32 insn;
	int r;

	if (copy_from_kernel_nofault(&insn, (const void *)regs->pc, sizeof(insn)))
		goto undecoded;
	r = stp_a64_decode(le32_to_cpu(insn), regs->regs, regs->sp, stp_a64_zva_bytes(), &s);
	if (r == STP_A64_LOAD)
		return before;
	if (r != STP_A64_DECODED || IS_ENABLED(CONFIG_CPU_BIG_ENDIAN))
		goto undecoded;
	if (s.op != STP_A64_STORE && s.op != STP_A64_ZERO &&
	    copy_from_kernel_nofault(old, (const void *)(unsigned long)s.ea, s.size))
		goto undecoded;
	stp_a64_apply(&s, old, out);
	return (int64_t)stp_a64_merge(&s, out, w->addr, w->decl->len, (u64)before);
undecoded:
	if (w->decl->type != HW_BREAKPOINT_R) {
		WRITE_ONCE(stp_a64_undecoded_pc, regs->pc);
		atomic_inc(&stp_a64_undecoded);
	}
	return before;
}

/* NMI-like: the hook's pre-handler, at the entry of perf_event_output_forward(event, data,
 * regs), called from the watchpoint's debug exception before the access (or for any other
 * perf event with the default handler: those are left alone). Runs the instance's hit
 * handler once per access, with data_value() giving the bytes after it. */
static int stp_a64_on_output(struct kprobe *p, struct pt_regs *kregs)
{
	struct perf_event *bp = (struct perf_event *)kregs->regs[0];
	struct pt_regs *regs = (struct pt_regs *)kregs->regs[2];
	struct stp_a64_cpu *t;
	struct stp_winst *w;
	int64_t before;

	if (!bp || !regs || bp->attr.type != PERF_TYPE_BREAKPOINT)
		return 0;
	w = stp_a64_inst_of(READ_ONCE(bp->overflow_handler_context));
	if (!w || !stp_winst_live(w))
		return 0;
	t = this_cpu_ptr(&stp_a64_cpu);
	if (stp_a64_repeat(t, w, regs)) {
		atomic_inc(&stp_a64_repeats);
		return 0;
	}
	before = stp_winst_read(w);
	t->after = stp_a64_after(w, regs, before);
	t->cur = w;
	w->decl->handler(bp, (struct perf_sample_data *)kregs->regs[1], regs);
	t->cur = NULL;
	return 0;
}

/* NMI-like (a hit probe). The watched bytes of w after the access being reported on this
 * CPU; false outside a hit of w. */
static inline bool stp_a64_hit_value(const struct stp_winst *w, int64_t *v)
{
	struct stp_a64_cpu *t = this_cpu_ptr(&stp_a64_cpu);

	if (t->cur != w)
		return false;
	*v = t->after;
	return true;
}

/* Process (session end). Says once how many writes data_value() saw only before the access
 * and, as a NOTE (shown with -v), how many repeated traps were not reported twice. */
static inline void stp_a64_report(void)
{
	int n = atomic_read(&stp_a64_undecoded), r = atomic_read(&stp_a64_repeats);

	if (r)
		stp_out_diag("NOTE: %d repeated arm64 watchpoint trap(s) of one access (a step taken into an interrupt) were reported once\n",
			     r);
	if (n)
		stp_out_diag("WARNING: %d watchpoint hit(s) came from instructions stp-hwbp cannot decode on arm64 (the last at %pS): data_value() and .change saw the value before the access there\n",
			     n, (void *)READ_ONCE(stp_a64_undecoded_pc));
}

#endif /* STP_HWBP_ARM64_H */
