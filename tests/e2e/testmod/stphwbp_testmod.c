// SPDX-License-Identifier: GPL-2.0
/*
 * stphwbp_testmod: test helper for stp-hwbp end-to-end tests.
 *
 * Exposes a global, 8-byte-aligned array
 *
 *     u64 stphwbp_testmod_target[4];      (exported, also in /proc/kallsyms)
 *
 * and a control file /proc/stphwbp_testmod:
 *
 *   echo "w OFFSET LEN VALUE" > /proc/stphwbp_testmod
 *        writes LEN bytes (1, 2, 4 or 8) at byte OFFSET of the target with a
 *        single access of exactly that width (WRITE_ONCE on a u8/u16/u32/u64).
 *   echo "r OFFSET LEN" > /proc/stphwbp_testmod
 *        reads LEN bytes at OFFSET the same way (READ_ONCE); the value is
 *        remembered and logged with pr_info.
 *   echo "hold N MS" > /proc/stphwbp_testmod
 *        takes N debug registers (wide write watchpoints on a spare array of
 *        its own, as another user of them would), and gives them back MS
 *        milliseconds later (MS = 0: only on "free" or unload).
 *   echo "t OFFSET" > /proc/stphwbp_testmod
 *        calls stphwbp_testmod_touch(&target[OFFSET / 8]), a function that does
 *        nothing but exists for function probes to see its pointer argument.
 *   echo "free" > /proc/stphwbp_testmod
 *        gives back the registers "hold" took, now.
 *   cat /proc/stphwbp_testmod
 *        prints, without touching the target:
 *            target 0x<address>
 *            size 32
 *            last 0x<value of the last "r">
 *            held <registers held now>
 *
 * OFFSET must be a multiple of LEN and OFFSET + LEN <= 32, otherwise the write
 * fails with EINVAL. Numbers accept 0x (hex), 0 (octal) or decimal.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>

#define STPHWBP_TESTMOD_NAME "stphwbp_testmod"

u64 stphwbp_testmod_target[4] __aligned(8);
EXPORT_SYMBOL_GPL(stphwbp_testmod_target);

static u64 stphwbp_testmod_last;

/* "hold": registers taken from everyone else, on a spare array nobody writes. */
#define STPHWBP_TESTMOD_MAXHOLD 8
static u64 stphwbp_testmod_spare[STPHWBP_TESTMOD_MAXHOLD] __aligned(8);
static struct perf_event * __percpu *stphwbp_testmod_held[STPHWBP_TESTMOD_MAXHOLD];
static unsigned int stphwbp_testmod_nheld;
static DEFINE_MUTEX(stphwbp_testmod_hold_lock);

static void stphwbp_testmod_nop(struct perf_event *bp, struct perf_sample_data *d,
				struct pt_regs *regs)
{
}

/* A function for function probes: its first argument points into the target. */
void stphwbp_testmod_touch(u64 *p);
noinline void stphwbp_testmod_touch(u64 *p)
{
	pr_info(STPHWBP_TESTMOD_NAME ": touch %px\n", p);
	barrier();
}
EXPORT_SYMBOL_GPL(stphwbp_testmod_touch);

/* Process context. Gives back every register "hold" took. */
static void stphwbp_testmod_free(void)
{
	mutex_lock(&stphwbp_testmod_hold_lock);
	while (stphwbp_testmod_nheld > 0)
		unregister_wide_hw_breakpoint(stphwbp_testmod_held[--stphwbp_testmod_nheld]);
	mutex_unlock(&stphwbp_testmod_hold_lock);
	pr_info(STPHWBP_TESTMOD_NAME ": registers freed\n");
}

static void stphwbp_testmod_free_fn(struct work_struct *w)
{
	stphwbp_testmod_free();
}
static DECLARE_DELAYED_WORK(stphwbp_testmod_free_work, stphwbp_testmod_free_fn);

/* Process context. Takes n registers; frees them after ms milliseconds (0: never). */
static int stphwbp_testmod_hold(unsigned int n, unsigned int ms)
{
	struct perf_event_attr attr;
	struct perf_event * __percpu *bp;
	int ret = 0;

	mutex_lock(&stphwbp_testmod_hold_lock);
	while (stphwbp_testmod_nheld < n && stphwbp_testmod_nheld < STPHWBP_TESTMOD_MAXHOLD) {
		hw_breakpoint_init(&attr);
		attr.bp_addr = (unsigned long)&stphwbp_testmod_spare[stphwbp_testmod_nheld];
		attr.bp_len = HW_BREAKPOINT_LEN_8;
		attr.bp_type = HW_BREAKPOINT_W;
		bp = register_wide_hw_breakpoint(&attr, stphwbp_testmod_nop, NULL);
		if (IS_ERR((void __force *)bp)) {
			ret = PTR_ERR((void __force *)bp);
			break;
		}
		stphwbp_testmod_held[stphwbp_testmod_nheld++] = bp;
	}
	pr_info(STPHWBP_TESTMOD_NAME ": holding %u registers\n", stphwbp_testmod_nheld);
	mutex_unlock(&stphwbp_testmod_hold_lock);
	if (ms)
		mod_delayed_work(system_wq, &stphwbp_testmod_free_work, msecs_to_jiffies(ms));
	return ret;
}
static struct proc_dir_entry *stphwbp_testmod_entry;

static int stphwbp_testmod_access(char op, unsigned int off, unsigned int len,
				  u64 val)
{
	u8 *base = (u8 *)stphwbp_testmod_target;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (off % len != 0 || off + len > sizeof(stphwbp_testmod_target))
		return -EINVAL;

	if (op == 'w') {
		switch (len) {
		case 1:
			WRITE_ONCE(*(u8 *)(base + off), (u8)val);
			break;
		case 2:
			WRITE_ONCE(*(u16 *)(base + off), (u16)val);
			break;
		case 4:
			WRITE_ONCE(*(u32 *)(base + off), (u32)val);
			break;
		default:
			WRITE_ONCE(*(u64 *)(base + off), val);
			break;
		}
		return 0;
	}

	switch (len) {
	case 1:
		val = READ_ONCE(*(u8 *)(base + off));
		break;
	case 2:
		val = READ_ONCE(*(u16 *)(base + off));
		break;
	case 4:
		val = READ_ONCE(*(u32 *)(base + off));
		break;
	default:
		val = READ_ONCE(*(u64 *)(base + off));
		break;
	}
	stphwbp_testmod_last = val;
	pr_info(STPHWBP_TESTMOD_NAME ": r %u %u = 0x%llx\n", off, len,
		(unsigned long long)val);
	return 0;
}

static ssize_t stphwbp_testmod_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	char buf[96];
	char *p = buf, *tok;
	char op;
	unsigned int off, len;
	u64 val = 0;
	int ret;

	if (count == 0 || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';

	tok = strsep(&p, " \t\n");
	if (tok && strcmp(tok, "free") == 0) {
		cancel_delayed_work_sync(&stphwbp_testmod_free_work);
		stphwbp_testmod_free();
		return count;
	}
	if (tok && strcmp(tok, "t") == 0) {
		unsigned int o;

		if (sscanf(p ? p : "", "%u", &o) != 1 || o % 8 || o >= sizeof(stphwbp_testmod_target))
			return -EINVAL;
		stphwbp_testmod_touch(&stphwbp_testmod_target[o / 8]);
		return count;
	}
	if (tok && strcmp(tok, "hold") == 0) {
		unsigned int n, ms;

		if (sscanf(p ? p : "", "%u %u", &n, &ms) != 2)
			return -EINVAL;
		ret = stphwbp_testmod_hold(n, ms);
		return ret ? ret : count;
	}
	if (!tok || (strcmp(tok, "w") != 0 && strcmp(tok, "r") != 0))
		return -EINVAL;
	op = tok[0];

	do {
		tok = strsep(&p, " \t\n");
	} while (tok && *tok == '\0');
	if (!tok || kstrtouint(tok, 0, &off))
		return -EINVAL;

	do {
		tok = strsep(&p, " \t\n");
	} while (tok && *tok == '\0');
	if (!tok || kstrtouint(tok, 0, &len))
		return -EINVAL;

	if (op == 'w') {
		do {
			tok = strsep(&p, " \t\n");
		} while (tok && *tok == '\0');
		if (!tok || kstrtou64(tok, 0, &val))
			return -EINVAL;
	}

	ret = stphwbp_testmod_access(op, off, len, val);
	if (ret)
		return ret;
	return count;
}

static int stphwbp_testmod_show(struct seq_file *m, void *v)
{
	seq_printf(m, "target 0x%lx\n", (unsigned long)stphwbp_testmod_target);
	seq_printf(m, "size %zu\n", sizeof(stphwbp_testmod_target));
	seq_printf(m, "last 0x%llx\n", (unsigned long long)stphwbp_testmod_last);
	seq_printf(m, "held %u\n", stphwbp_testmod_nheld);
	return 0;
}

static int stphwbp_testmod_open(struct inode *inode, struct file *file)
{
	return single_open(file, stphwbp_testmod_show, NULL);
}

static const struct proc_ops stphwbp_testmod_ops = {
	.proc_open = stphwbp_testmod_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = stphwbp_testmod_write,
};

static int __init stphwbp_testmod_init(void)
{
	stphwbp_testmod_entry = proc_create(STPHWBP_TESTMOD_NAME, 0600, NULL,
					    &stphwbp_testmod_ops);
	if (!stphwbp_testmod_entry)
		return -ENOMEM;
	pr_info(STPHWBP_TESTMOD_NAME ": target at 0x%lx\n",
		(unsigned long)stphwbp_testmod_target);
	return 0;
}

static void __exit stphwbp_testmod_exit(void)
{
	proc_remove(stphwbp_testmod_entry);
	cancel_delayed_work_sync(&stphwbp_testmod_free_work);
	stphwbp_testmod_free();
}

module_init(stphwbp_testmod_init);
module_exit(stphwbp_testmod_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("stp-hwbp end-to-end test helper: exact-width accesses to a target array");
