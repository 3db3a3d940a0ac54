// SPDX-License-Identifier: GPL-2.0
/*
 * hitcost_bench: the target of the hit-cost benchmark (bench/hitcost.sh).
 *
 * Exports `long bench_var` (also in /proc/kallsyms) and a control file:
 *
 *   echo N > /proc/hitcost_bench
 *        writes bench_var N times in a tight loop (one volatile 8-byte store
 *        each, the values 0 .. N-1), timed with ktime_get_ns();
 *   cat /proc/hitcost_bench
 *        prints "writes N ns T last V" for the last run.
 *
 * Under QEMU with -icount shift=0 one virtual nanosecond is one guest
 * instruction, so T / N is the instructions one write costs, a watchpoint's
 * hit included. Context: process context only (the proc write); the loop
 * runs with preemption and interrupts as they are, as a real writer would.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/ktime.h>
#include <linux/mutex.h>

long bench_var __aligned(8);
EXPORT_SYMBOL_GPL(bench_var);

/* A bound on one run, so that a typo cannot keep the CPU for minutes. */
#define HITCOST_MAX_WRITES 100000000UL

static DEFINE_MUTEX(hitcost_lock);
static unsigned long hitcost_writes;
static u64 hitcost_ns;

static ssize_t hitcost_write(struct file *f, const char __user *buf, size_t len, loff_t *off)
{
	unsigned long n, i;
	u64 t0, t1;
	int ret;

	ret = kstrtoul_from_user(buf, len, 0, &n);
	if (ret)
		return ret;
	if (n == 0 || n > HITCOST_MAX_WRITES)
		return -EINVAL;
	mutex_lock(&hitcost_lock);
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		WRITE_ONCE(bench_var, (long)i);
	t1 = ktime_get_ns();
	hitcost_writes = n;
	hitcost_ns = t1 - t0;
	mutex_unlock(&hitcost_lock);
	return len;
}

static int hitcost_show(struct seq_file *m, void *v)
{
	mutex_lock(&hitcost_lock);
	seq_printf(m, "writes %lu ns %llu last %ld\n", hitcost_writes,
		   (unsigned long long)hitcost_ns, READ_ONCE(bench_var));
	mutex_unlock(&hitcost_lock);
	return 0;
}

static int hitcost_open(struct inode *inode, struct file *file)
{
	return single_open(file, hitcost_show, NULL);
}

static const struct proc_ops hitcost_ops = {
	.proc_open = hitcost_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = hitcost_write,
};

static struct proc_dir_entry *hitcost_entry;

static int __init hitcost_init(void)
{
	hitcost_entry = proc_create("hitcost_bench", 0644, NULL, &hitcost_ops);
	return hitcost_entry ? 0 : -ENOMEM;
}

static void __exit hitcost_exit(void)
{
	proc_remove(hitcost_entry);
}

module_init(hitcost_init);
module_exit(hitcost_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("stp-hwbp hit-cost benchmark: a variable written N times on request");
