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
 *   cat /proc/stphwbp_testmod
 *        prints, without touching the target:
 *            target 0x<address>
 *            size 32
 *            last 0x<value of the last "r">
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

#define STPHWBP_TESTMOD_NAME "stphwbp_testmod"

u64 stphwbp_testmod_target[4] __aligned(8);
EXPORT_SYMBOL_GPL(stphwbp_testmod_target);

static u64 stphwbp_testmod_last;
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
}

module_init(stphwbp_testmod_init);
module_exit(stphwbp_testmod_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("stp-hwbp end-to-end test helper: exact-width accesses to a target array");
