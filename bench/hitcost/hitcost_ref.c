// SPDX-License-Identifier: GPL-2.0
/*
 * hitcost_ref: the hand-written reference of the hit-cost benchmark
 * (bench/hitcost.sh). On load it registers a wide 8-byte write breakpoint on
 * hitcost_bench's bench_var whose handler does nothing but atomic_long_inc;
 * `cat /proc/hitcost_ref` prints "hits N". Unloading unregisters it.
 *
 * Contexts: the handler runs from the #DB exception (NMI-like: it only
 * increments an atomic); init, exit and the proc read run in process context.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <linux/atomic.h>

extern long bench_var;

static atomic_long_t hitcost_ref_hits = ATOMIC_LONG_INIT(0);
static struct perf_event * __percpu *hitcost_ref_bp;
static struct proc_dir_entry *hitcost_ref_entry;

static void hitcost_ref_handler(struct perf_event *bp, struct perf_sample_data *data,
				struct pt_regs *regs)
{
	atomic_long_inc(&hitcost_ref_hits);
}

static int hitcost_ref_show(struct seq_file *m, void *v)
{
	seq_printf(m, "hits %ld\n", atomic_long_read(&hitcost_ref_hits));
	return 0;
}

static int hitcost_ref_open(struct inode *inode, struct file *file)
{
	return single_open(file, hitcost_ref_show, NULL);
}

static const struct proc_ops hitcost_ref_ops = {
	.proc_open = hitcost_ref_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static int __init hitcost_ref_init(void)
{
	struct perf_event_attr attr;

	hw_breakpoint_init(&attr);
	attr.bp_addr = (unsigned long)&bench_var;
	attr.bp_len = HW_BREAKPOINT_LEN_8;
	attr.bp_type = HW_BREAKPOINT_W;
	hitcost_ref_bp = register_wide_hw_breakpoint(&attr, hitcost_ref_handler, NULL);
	if (IS_ERR((void __force *)hitcost_ref_bp))
		return PTR_ERR((void __force *)hitcost_ref_bp);
	hitcost_ref_entry = proc_create("hitcost_ref", 0444, NULL, &hitcost_ref_ops);
	if (!hitcost_ref_entry) {
		unregister_wide_hw_breakpoint(hitcost_ref_bp);
		return -ENOMEM;
	}
	return 0;
}

static void __exit hitcost_ref_exit(void)
{
	proc_remove(hitcost_ref_entry);
	unregister_wide_hw_breakpoint(hitcost_ref_bp);
}

module_init(hitcost_ref_init);
module_exit(hitcost_ref_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("stp-hwbp hit-cost benchmark: a hand-written watchpoint handler");
