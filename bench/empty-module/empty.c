// SPDX-License-Identifier: GPL-2.0
/* The hand-written reference for pass 4's cost: the smallest module kbuild can build, with
 * one hardware watchpoint registered and unregistered, as a generated module does. */
#include <linux/module.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>

static struct perf_event * __percpu *bp;
static unsigned long addr;
module_param(addr, ulong, 0400);

/* NMI context: counts nothing, returns. */
static void hit(struct perf_event *e, struct perf_sample_data *d, struct pt_regs *r)
{
}

static int __init empty_init(void)
{
	struct perf_event_attr attr;

	if (!addr)
		return 0;
	hw_breakpoint_init(&attr);
	attr.bp_addr = addr;
	attr.bp_len = HW_BREAKPOINT_LEN_4;
	attr.bp_type = HW_BREAKPOINT_W;
	bp = register_wide_hw_breakpoint(&attr, hit, NULL);
	if (IS_ERR((void __force *)bp))
		return PTR_ERR((void __force *)bp);
	return 0;
}

static void __exit empty_exit(void)
{
	if (bp)
		unregister_wide_hw_breakpoint(bp);
}

module_init(empty_init);
module_exit(empty_exit);
MODULE_LICENSE("GPL");
