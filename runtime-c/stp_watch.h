/* stp_watch.h - arming and disarming the script's hardware watchpoints, and finding
 * the addresses of kernel symbols.
 *
 * Watchpoints are wide (every CPU) hw_breakpoint perf events. Their hit handler is the
 * generated code's, called as NMI (x86 #DB); its overflow_handler_context is the
 * struct stp_watch, so one handler may serve several watchpoints (stp_watch_of()).
 */
#ifndef STP_WATCH_H
#define STP_WATCH_H

struct stp_watch {
	const char *pp;				/* probe point text, for messages */
	unsigned long addr;
	int len;				/* 1, 2, 4 or 8 */
	int type;				/* HW_BREAKPOINT_W, _RW or _X */
	perf_overflow_handler_t handler;
	struct perf_event * __percpu *bp;	/* NULL while disarmed */
};

/* NMI, IRQ, process. The watchpoint a hit handler was called for. */
static inline struct stp_watch *stp_watch_of(struct perf_event *bp)
{
	return bp->overflow_handler_context;
}

/* Any context. What an errno from register_wide_hw_breakpoint means here. */
static inline const char *stp_watch_reason(int err)
{
	switch (err) {
	case -ENOSPC:
		return "no free debug register (x86 has 4 per CPU, shared with gdb/ptrace, kgdb and other watchpoints)";
	case -EINVAL:
		return "address or length refused (it must be aligned to the length, execute needs length 8, and some kernel ranges are protected)";
	case -ENOMEM:
		return "out of memory";
	case -EBUSY:
		return "debug registers busy";
	case -ENODEV:
	case -ENOENT:
	case -EOPNOTSUPP:
		return "hardware breakpoints are not supported here";
	case -EACCES:
	case -EPERM:
		return "not permitted";
	default:
		return "registration failed";
	}
}

static inline const char *stp_watch_type_name(int type)
{
	switch (type) {
	case HW_BREAKPOINT_W: return "write";
	case HW_BREAKPOINT_RW: return "read/write";
	case HW_BREAKPOINT_X: return "execute";
	default: return "?";
	}
}

/* Process. Arms one watchpoint. On failure prints
 * "ERROR: cannot arm <pp>: <reason> (errno <n>, <type> of <len> bytes at 0x<addr>)\n"
 * and returns the negative errno. Arming an armed watchpoint does nothing. */
static inline int stp_watch_arm(struct stp_watch *w)
{
	struct perf_event_attr attr;
	struct perf_event * __percpu *bp;
	const char *why = NULL;
	int err = -EINVAL, blen = 0;

	if (w->bp)
		return 0;
	switch (w->len) {
	case 1: blen = HW_BREAKPOINT_LEN_1; break;
	case 2: blen = HW_BREAKPOINT_LEN_2; break;
	case 4: blen = HW_BREAKPOINT_LEN_4; break;
	case 8: blen = HW_BREAKPOINT_LEN_8; break;
	default: why = "length must be 1, 2, 4 or 8"; break;
	}
	if (!why && !w->addr)
		why = "address is 0 (symbol not found?)";
	else if (!why && (w->addr & (w->len - 1)))
		why = "address is not aligned to the length";
	else if (!why && w->type != HW_BREAKPOINT_W && w->type != HW_BREAKPOINT_RW &&
		 w->type != HW_BREAKPOINT_X)
		why = "type must be write, read/write or execute (read-only does not exist on x86)";
	if (!why) {
		hw_breakpoint_init(&attr);
		attr.bp_addr = w->addr;
		attr.bp_len = blen;
		attr.bp_type = w->type;
		bp = register_wide_hw_breakpoint(&attr, w->handler, w);
		if (!IS_ERR((void __force *)bp)) {
			w->bp = bp;
			return 0;
		}
		err = PTR_ERR((void __force *)bp);
		why = stp_watch_reason(err);
	}
	stp_out_diag("ERROR: cannot arm %s: %s (errno %d, %s of %d bytes at 0x%lx)\n",
		     w->pp ? w->pp : "watchpoint", why, -err, stp_watch_type_name(w->type),
		     w->len, w->addr);
	pr_warn("stp_hwbp: cannot arm %s: %s (errno %d)\n", w->pp ? w->pp : "watchpoint", why, -err);
	return err;
}

/* Process. Disarms one watchpoint; when it returns, no handler of it is running.
 * Disarming a disarmed watchpoint does nothing. */
static inline void stp_watch_disarm(struct stp_watch *w)
{
	if (w->bp)
		unregister_wide_hw_breakpoint(w->bp);
	w->bp = NULL;
}

/* Process. Disarms all n (in reverse order). */
static inline void stp_watch_disarm_all(struct stp_watch *w, int n)
{
	while (n-- > 0)
		stp_watch_disarm(&w[n]);
}

/* Process. Arms all n in order; on the first failure disarms those this call armed,
 * reports the failure (see stp_watch_arm) and returns its negative errno. */
static inline int stp_watch_arm_all(struct stp_watch *w, int n)
{
	int i, err;

	for (i = 0; i < n; i++) {
		err = stp_watch_arm(&w[i]);
		if (err) {
			stp_watch_disarm_all(w, i);
			return err;
		}
	}
	return 0;
}

typedef unsigned long (*stp_kallsyms_lookup_name_t)(const char *name);
static stp_kallsyms_lookup_name_t stp_kallsyms_lookup_name_fn;

/* Process. The address of a kernel symbol (data included, with CONFIG_KALLSYMS_ALL),
 * or 0 when it is unknown or kallsyms_lookup_name cannot be found. The function is
 * not exported since 5.7: a kprobe on it tells us where it is. */
static inline unsigned long stp_symbol_lookup(const char *name)
{
	if (!stp_kallsyms_lookup_name_fn) {
		struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
		unsigned long a;
		u32 insn = 0;

		if (register_kprobe(&kp) < 0)
			return 0;
		a = (unsigned long)kp.addr;
		unregister_kprobe(&kp);
		/* With IBT the probe is placed after the function's ENDBR64, and an indirect
		 * call there would fault: step back over it. */
		if (copy_from_kernel_nofault(&insn, (const void *)(a - 4), 4) == 0 &&
		    insn == 0xfa1e0ff3u)
			a -= 4;
		stp_kallsyms_lookup_name_fn = (stp_kallsyms_lookup_name_t)a;
	}
	return stp_kallsyms_lookup_name_fn(name);
}

#endif /* STP_WATCH_H */
