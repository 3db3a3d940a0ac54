// SPDX-License-Identifier: GPL-2.0
/*
 * arm64_watch_probe.c - the measurement behind the arm64 design note in README.md of this
 * folder: can a module count every write to a watched word on arm64 without hanging?
 *
 * arm64 watchpoints trap before the access. The kernel (6.12's do_watchpoint) steps over the
 * access only when the last matching event has its default overflow handler
 * (perf_event_output_forward); with a module's own handler the access traps forever. So the
 * watchpoints here keep the default handler, and the hits are observed through a kprobe on
 * perf_event_output_forward that recognises this module's events by their pointer (x0).
 *
 * Contexts: the kprobe pre-handler runs inside the watchpoint's debug exception (NMI-like:
 * atomics only). Init and exit run in process context.
 *
 * Parameters: addr (the first watched word, 4 bytes), nwatch (1 to 4 watchpoints on addr,
 * addr+8, ...). At unload the kernel log gets "arm64_watch_probe: hits=H other=O last=V":
 * H hits on these events, O calls for other events, V the word's value seen at the last hit
 * (the value BEFORE that write: the handler runs before the access).
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>

static unsigned long addr;
module_param(addr, ulong, 0400);
static int nwatch = 1;
module_param(nwatch, int, 0400);

static struct perf_event * __percpu *wps[4];
static atomic_t hits = ATOMIC_INIT(0), other = ATOMIC_INIT(0);
static atomic_long_t lastval;

static int on_default_handler(struct kprobe *p, struct pt_regs *regs)
{
	struct perf_event *ev = (struct perf_event *)regs->regs[0];
	int i, cpu = raw_smp_processor_id();

	for (i = 0; i < nwatch; i++) {
		if (wps[i] && per_cpu(*wps[i], cpu) == ev) {
			atomic_inc(&hits);
			atomic_long_set(&lastval, READ_ONCE(*(int *)addr));
			return 0;
		}
	}
	atomic_inc(&other);
	return 0;
}

static struct kprobe kp = {
	.symbol_name = "perf_event_output_forward",
	.pre_handler = on_default_handler,
};

static int __init arm64_watch_probe_init(void)
{
	struct perf_event_attr attr;
	int i, err;

	if (nwatch < 1 || nwatch > 4 || !addr)
		return -EINVAL;
	err = register_kprobe(&kp);
	if (err)
		return err;
	for (i = 0; i < nwatch; i++) {
		hw_breakpoint_init(&attr);
		attr.bp_addr = addr + 8 * i;
		attr.bp_len = HW_BREAKPOINT_LEN_4;
		attr.bp_type = HW_BREAKPOINT_W;
		/* No handler: the event keeps the default one, so the kernel steps. */
		wps[i] = register_wide_hw_breakpoint(&attr, NULL, NULL);
		if (IS_ERR((void __force *)wps[i])) {
			pr_err("arm64_watch_probe: watchpoint %d: %ld\n", i,
			       PTR_ERR((void __force *)wps[i]));
			wps[i] = NULL;
		}
	}
	return 0;
}

static void __exit arm64_watch_probe_exit(void)
{
	int i;

	for (i = 0; i < nwatch; i++)
		if (wps[i])
			unregister_wide_hw_breakpoint(wps[i]);
	unregister_kprobe(&kp);
	pr_info("arm64_watch_probe: hits=%d other=%d last=%ld\n", atomic_read(&hits),
		atomic_read(&other), atomic_long_read(&lastval));
}

module_init(arm64_watch_probe_init);
module_exit(arm64_watch_probe_exit);
MODULE_LICENSE("GPL");
