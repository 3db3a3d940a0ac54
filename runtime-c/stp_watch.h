/* stp_watch.h - one hardware watchpoint registration, what its failures mean, and the
 * addresses of kernel symbols.
 *
 * Watchpoints are wide: one hw_breakpoint perf event per online CPU, kept whole across CPU
 * hotplug by the arbiter's callbacks. Whether and when one is
 * registered is the arbiter's business (stp_arbiter.h); this file only registers and
 * unregisters, and turns an errno into the reason a script sees in unavailable_reason().
 */
#ifndef STP_WATCH_H
#define STP_WATCH_H

/* Any context. Why a watchpoint could not be armed, as unavailable_reason() says it. The
 * checks stp_watch_check() makes come first; then what register_wide_hw_breakpoint's errno
 * means. Always a static string. */
enum {
	STP_WHY_NULL = 1,	/* address 0 */
	STP_WHY_ALIGN,		/* not aligned to the length */
	STP_WHY_USER,		/* below the kernel half */
	STP_WHY_SYMBOL,		/* the symbol is not in kallsyms */
};

/*
 * A kernel built without CONFIG_KALLSYMS_ALL (Debian's arm64 6.1 kernel, for one) lists only
 * functions in kallsyms: no data symbol can be found there, so the reason says what to do.
 */
#ifdef CONFIG_KALLSYMS_ALL
#define STP_NO_SYMBOL_REASON "symbol not found (ENOENT)"
#else
#define STP_NO_SYMBOL_REASON \
	"symbol not found: this kernel's kallsyms has no data symbols (CONFIG_KALLSYMS_ALL is off); watch its address instead (ENOENT)"
#endif

/* Process. Not inlined: the arbiter asks in five places, all of them off the hit path, and
 * each inlined copy of the two switches was code gcc compiled again. */
static noinline __maybe_unused const char *stp_watch_reason(int err, int why)
{
	switch (why) {
	case STP_WHY_NULL:
		return "null address (EINVAL)";
	case STP_WHY_ALIGN:
#ifdef CONFIG_ARM64
		return "bytes cross an 8-byte boundary (EINVAL)";
#else
		return "address not aligned to the length (EINVAL)";
#endif
	case STP_WHY_USER:
		return "not a kernel address (EINVAL)";
	case STP_WHY_SYMBOL:
		return STP_NO_SYMBOL_REASON;
	}
	switch (err) {
	case -ENOSPC:
#ifdef CONFIG_ARM64
		return "no free watchpoint register (ENOSPC)";
#else
		return "no free debug register (ENOSPC)";
#endif
	case -EINVAL:
		return "address refused (EINVAL)";
	case -ENOMEM:
		return "out of memory (ENOMEM)";
	case -EBUSY:
		return "debug registers busy (EBUSY)";
	case -ENOENT:
		return STP_NO_SYMBOL_REASON;
	case -ENODEV:
		return "hardware breakpoints are not supported here (ENODEV)";
	case -EOPNOTSUPP:
		return "hardware breakpoints are not supported here (EOPNOTSUPP)";
#ifdef CONFIG_ARM64
	case -ENOSYS:	/* stp_a64_hook_get */
		return "hits cannot be seen: no kprobe on perf_event_output_forward (ENOSYS)";
#endif
	case -EACCES:
		return "not permitted (EACCES)";
	case -EPERM:
		return "not permitted (EPERM)";
	default:
		return "registration failed";
	}
}

/* Process (module load: the kernel sets parameters before module init runs). The setter of
 * an address parameter (stp_sym_addr_N: where the loader found a watched symbol): 0 (not
 * given: init looks the symbol up itself) or a kernel address. Anything else fails the
 * load with -EINVAL and says why in the kernel log (the kernel adds "`VALUE' invalid for
 * parameter `NAME'"), so no hand-given value can point a watchpoint at user memory. */
static int stp_param_set_kaddr(const char *val, const struct kernel_param *kp)
{
	unsigned long v;
	int err = kstrtoul(val, 0, &v);

	if (err) {
		pr_err("%s: %s=%s is not an address\n", KBUILD_MODNAME, kp->name, val);
		return err;
	}
	if (v && v < stp_kernel_space_start()) {
		pr_err("%s: %s=0x%lx is not a kernel address (below 0x%lx): refused\n",
		       KBUILD_MODNAME, kp->name, v, stp_kernel_space_start());
		return -EINVAL;
	}
	*(unsigned long *)kp->arg = v;
	return 0;
}

/* `module_param(NAME, stp_kaddr, 0400)`: an unsigned long that only takes a kernel address. */
static const struct kernel_param_ops param_ops_stp_kaddr = {
	.set = stp_param_set_kaddr,
	.get = param_get_ulong,
};
#define param_check_stp_kaddr(name, p) __param_check(name, p, unsigned long)

/* Any context. 0 if addr/len can be asked of the kernel, else an STP_WHY_* code. x86 needs
 * the address aligned to the length; an arm64 watchpoint selects bytes of one aligned
 * doubleword (the kernel would silently drop the bytes past it). */
static inline int stp_watch_check(unsigned long addr, int len)
{
	if (!addr)
		return STP_WHY_NULL;
#ifdef CONFIG_ARM64
	if ((addr & 7) + len > 8)
		return STP_WHY_ALIGN;
#else
	if (addr & (len - 1))
		return STP_WHY_ALIGN;
#endif
	if (addr < stp_kernel_space_start())
		return STP_WHY_USER;
	return 0;
}

/* Any context. The perf attributes of a watchpoint on [addr, addr+len); -EINVAL for a
 * length that is not 1, 2, 4 or 8 (on arm64: not 1 to 8). */
static inline int stp_watch_attr(struct perf_event_attr *attr, unsigned long addr, int len,
				 int type)
{
	int blen;

	switch (len) {
	case 1: blen = HW_BREAKPOINT_LEN_1; break;
	case 2: blen = HW_BREAKPOINT_LEN_2; break;
	case 4: blen = HW_BREAKPOINT_LEN_4; break;
	case 8: blen = HW_BREAKPOINT_LEN_8; break;
#ifdef CONFIG_ARM64
	case 3: blen = HW_BREAKPOINT_LEN_3; break;
	case 5: blen = HW_BREAKPOINT_LEN_5; break;
	case 6: blen = HW_BREAKPOINT_LEN_6; break;
	case 7: blen = HW_BREAKPOINT_LEN_7; break;
#endif
	default: return -EINVAL;
	}
	hw_breakpoint_init(attr);
	attr->bp_addr = addr;
	attr->bp_len = blen;
	attr->bp_type = type;
	return 0;
}

#ifdef CONFIG_ARM64
static int stp_a64_hook_get(void);	/* stp_hwbp_arm64.h */
#endif

/* Process (perf's mutexes). One CPU's event of a watchpoint, whose hits call handler with
 * ctx as overflow_handler_context, or an error pointer. On arm64 the event keeps the
 * kernel's default handler, the only one the kernel steps past a hit for, and the hook of
 * stp_hwbp_arm64.h calls handler instead; ctx is stored where that hook finds it. */
static inline struct perf_event *stp_watch_create(struct perf_event_attr *attr, int cpu,
						  perf_overflow_handler_t handler, void *ctx)
{
#ifdef CONFIG_ARM64
	struct perf_event *bp = perf_event_create_kernel_counter(attr, cpu, NULL, NULL, NULL);

	if (!IS_ERR(bp))
		WRITE_ONCE(bp->overflow_handler_context, ctx);
	return bp;
#else
	return perf_event_create_kernel_counter(attr, cpu, NULL, handler, ctx);
#endif
}

/* Process (takes the CPU hotplug lock and perf's mutexes). Registers a wide watchpoint on
 * [addr, addr+len): one event per online CPU, whose hits call handler with ctx as
 * overflow_handler_context, and publishes the per-CPU events in *slot before the hotplug
 * lock is released, so that CPU hotplug callbacks (stp_arbiter.h) always see every
 * registration whole. This is register_wide_hw_breakpoint with the publication inside the
 * lock. Returns 0 or a negative errno, with nothing left registered. */
static inline int stp_watch_register(unsigned long addr, int len, int type,
				     perf_overflow_handler_t handler, void *ctx,
				     struct perf_event * __percpu **slot)
{
	struct perf_event_attr attr;
	struct perf_event * __percpu *events;
	struct perf_event *bp;
	int cpu, err;

	err = stp_watch_attr(&attr, addr, len, type);
	if (err)
		return err;
#ifdef CONFIG_ARM64
	err = stp_a64_hook_get();
	if (err)
		return err;
#endif
	events = alloc_percpu(typeof(*events));
	if (!events)
		return -ENOMEM;
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		bp = stp_watch_create(&attr, cpu, handler, ctx);
		if (IS_ERR(bp)) {
			err = PTR_ERR(bp);
			break;
		}
		per_cpu(*events, cpu) = bp;
	}
	if (!err)
		*slot = events;
	cpus_read_unlock();
	if (err)
		unregister_wide_hw_breakpoint(events);	/* skips the CPUs left NULL */
	return err;
}

/* Process. Unpublishes *slot under the hotplug lock, then unregisters every CPU's event;
 * when it returns no handler of it runs. Nothing to do if *slot is NULL. */
static inline void stp_watch_unregister(struct perf_event * __percpu **slot)
{
	struct perf_event * __percpu *events;

	cpus_read_lock();
	events = *slot;
	*slot = NULL;
	cpus_read_unlock();
	if (events)
		unregister_wide_hw_breakpoint(events);
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
