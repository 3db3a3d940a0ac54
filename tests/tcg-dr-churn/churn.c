// SPDX-License-Identifier: GPL-2.0
/* A hand-written module, no stp-hwbp runtime: a kthread on CPU 0 registers and unregisters a
 * wide write watchpoint at `addr` n times (register_wide_hw_breakpoint, as any kernel user
 * would), waking a kthread on CPU 1 between the two. See README.md beside it. */
#include <linux/module.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/delay.h>

static unsigned long addr;
module_param(addr, ulong, 0400);
static int n = 50000;
module_param(n, int, 0400);
static struct task_struct *sleeper, *worker;
static atomic_t wakes;

static void hit(struct perf_event *e, struct perf_sample_data *d, struct pt_regs *r) { }

static int sleeper_fn(void *unused)
{
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		schedule();
		atomic_inc(&wakes);
	}
	return 0;
}

static int worker_fn(void *unused)
{
	struct perf_event_attr attr;
	struct perf_event * __percpu *bp;
	int i;

	for (i = 0; i < n && !kthread_should_stop(); i++) {
		hw_breakpoint_init(&attr);
		attr.bp_addr = addr;
		attr.bp_len = HW_BREAKPOINT_LEN_4;
		attr.bp_type = HW_BREAKPOINT_W;
		bp = register_wide_hw_breakpoint(&attr, hit, NULL);
		if (IS_ERR((void __force *)bp)) {
			pr_info("churn: register failed at %d\n", i);
			break;
		}
		wake_up_process(sleeper);
		unregister_wide_hw_breakpoint(bp);
		wake_up_process(sleeper);
		cond_resched();
	}
	pr_info("churn: done %d wakes %d\n", i, atomic_read(&wakes));
	while (!kthread_should_stop())
		msleep(10);
	return 0;
}

static int __init churn_init(void)
{
	sleeper = kthread_create(sleeper_fn, NULL, "churn_sleeper");
	kthread_bind(sleeper, 1);
	wake_up_process(sleeper);
	worker = kthread_create(worker_fn, NULL, "churn_worker");
	kthread_bind(worker, 0);
	wake_up_process(worker);
	return 0;
}
static void __exit churn_exit(void)
{
	kthread_stop(worker);
	kthread_stop(sleeper);
}
module_init(churn_init);
module_exit(churn_exit);
MODULE_LICENSE("GPL");
