/* stp_usym.h - addresses as SystemTap names them without debug data (tapsets/symbols.stp):
 * kernel modules by name, user addresses by the file mapped there, and user stacks that end at
 * the user-space PC (no unwind data). SystemTap without a program's symbol and unwind tables
 * prints the same: the address in hex, with the mapped file and the offset in it where the
 * format has a module part.
 */
#ifndef STP_USYM_H
#define STP_USYM_H

#include <linux/mmap_lock.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/mount.h>

/* Path components and mappings walked at most, so every loop is bounded. */
#define STP_UMOD_DEPTH 16
#define STP_UMOD_SPAN 16
/* Stack buffers, fixed whatever MAXSTRINGLEN is (up to 4096), so frames stay small: a path,
 * and one formatted address with its path (cut to a string's length when returned). */
#define STP_USYM_PATH 256
#define STP_USYM_LINE (STP_USYM_PATH + 64)

/* Any context. The kernel module whose symbol contains addr, as kallsyms names it ("kernel"
 * for the kernel itself), into out; -ENOENT when kallsyms knows no symbol there. The lookup
 * is %pS's: lockless (RCU), as the kernel's own backtraces in NMI use it. */
static inline int stp_modname(unsigned long addr, char *out, size_t len)
{
	char buf[KSYM_SYMBOL_LEN];
	const char *b, *e;

	snprintf(buf, sizeof(buf), "%pS", (void *)addr);
	b = strchr(buf, '[');
	if (b) {
		b++;
		e = b + strcspn(b, " ]");
		if (e == b)
			return -ENOENT;
		snprintf(out, len, "%.*s", (int)(e - b), b);
		return 0;
	}
	/* Without a symbol %pS prints the address itself. */
	if (!strncmp(buf, "0x", 2))
		return -ENOENT;
	strscpy(out, "kernel", len);
	return 0;
}

/* Any context but NMI: called with the mmap lock held for reading and under RCU. The path of
 * dentry within its mount, read lock-free (copy_from_kernel_nofault for every name, at most
 * STP_UMOD_DEPTH components), because d_path()'s rename seqlock may spin forever on a
 * writer the probe interrupted. A rename racing the walk may give a stale name, never a
 * fault. The path is exact when the file lives on the root file system; below another mount
 * it is the path inside that mount. */
static inline void stp_dentry_path(struct dentry *d, struct dentry *root, char *out, size_t len)
{
	struct dentry *comp[STP_UMOD_DEPTH];
	int n = 0, i;
	size_t at = 0;

	while (n < STP_UMOD_DEPTH && d && d != root) {
		struct dentry *parent;

		comp[n++] = d;
		if (copy_from_kernel_nofault(&parent, &d->d_parent, sizeof(parent)) || parent == d)
			break;
		d = parent;
	}
	out[0] = '\0';
	for (i = n - 1; i >= 0 && at + 2 < len; i--) {
		const unsigned char *name;
		size_t k;

		if (copy_from_kernel_nofault(&name, &comp[i]->d_name.name, sizeof(name)))
			break;
		out[at++] = '/';
		for (k = 0; at + 1 < len && k < NAME_MAX; k++, at++) {
			char ch;

			if (copy_from_kernel_nofault(&ch, name + k, 1) || !ch)
				break;
			out[at] = ch;
		}
	}
	out[at] = '\0';
}

/* Process, softirq and hard IRQ (timer probes), kprobe handlers; never NMI (a data
 * watchpoint hit: sema refuses the functions that come here there, pragma:mmap, and this
 * checks in_nmi() too). It takes the current process's mmap lock with a trylock, never
 * waiting, but the unlock may wake a waiting writer, which an NMI must not do.
 * The file mapped at user address addr in the current process: its path into path, and the
 * span of that file's contiguous mappings around addr (the ELF segments, at most
 * STP_UMOD_SPAN on each side) in *start, *end, as SystemTap's VMA tracker records it.
 * 0, or -ENOENT: no user process, no mapping there, anonymous memory, or the lock busy. */
static inline int stp_umod_lookup(unsigned long addr, char *path, size_t len,
				  unsigned long *start, unsigned long *end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma, *v;
	struct inode *ino;
	int i, ret = -ENOENT;

	if (!mm || (current->flags & PF_KTHREAD) || in_nmi())
		return -ENOENT;
	if (!mmap_read_trylock(mm))
		return -ENOENT;
	vma = vma_lookup(mm, addr);
	if (!vma || !vma->vm_file)
		goto out;
	ino = file_inode(vma->vm_file);
	*start = vma->vm_start;
	*end = vma->vm_end;
	for (i = 0; i < STP_UMOD_SPAN && *start; i++) {
		v = vma_lookup(mm, *start - 1);
		if (!v || v->vm_end != *start || !v->vm_file || file_inode(v->vm_file) != ino)
			break;
		*start = v->vm_start;
	}
	for (i = 0; i < STP_UMOD_SPAN; i++) {
		v = vma_lookup(mm, *end);
		if (!v || v->vm_start != *end || !v->vm_file || file_inode(v->vm_file) != ino)
			break;
		*end = v->vm_end;
	}
	rcu_read_lock();
	stp_dentry_path(vma->vm_file->f_path.dentry, vma->vm_file->f_path.mnt->mnt_root, path,
			len);
	rcu_read_unlock();
	ret = path[0] ? 0 : -ENOENT;
out:
	mmap_read_unlock(mm);
	return ret;
}

/* SystemTap's address formats (its _STP_SYM_* flag sets) that the tapset uses. */
enum stp_usym_fmt {
	STP_USYM_DATA,	 /* usymdata: "0xADDR [PATH+0xOFF/0xSIZE]" */
	STP_USYM_FULL,	 /* print_ubacktrace: " 0xADDR [PATH+0xOFF/0xSIZE]\n" */
	STP_USYM_SIMPLE, /* sprint_ubacktrace: "0xADDR [BASENAME+0xOFF]\n" */
	STP_USYM_BRIEF,	 /* print_ubacktrace_brief: "0xADDR\n" (no symbol, so no module) */
};

/* As stp_umod_lookup; any context for STP_USYM_BRIEF, which looks nothing up. Formats user
 * address addr into out (len bytes) the way SystemTap does with no symbol table for the file
 * mapped there: the address in hex, then the file and the offset (and size) of addr in its
 * mappings; the address alone when nothing is mapped. */
static inline void stp_usym_format(unsigned long addr, enum stp_usym_fmt fmt, char *out,
				   size_t len)
{
	char path[STP_USYM_PATH];
	unsigned long start = 0, end = 0;
	const char *pre = fmt == STP_USYM_FULL ? " " : "";
	const char *post = fmt == STP_USYM_DATA ? "" : "\n";
	const char *name, *slash;

	if (fmt == STP_USYM_BRIEF || stp_umod_lookup(addr, path, sizeof(path), &start, &end)) {
		snprintf(out, len, "%s0x%lx%s", pre, addr, post);
		return;
	}
	if (fmt == STP_USYM_SIMPLE) {
		slash = strrchr(path, '/');
		name = slash ? slash + 1 : path;
		snprintf(out, len, "0x%lx [%s+0x%lx]\n", addr, name, addr - start);
		return;
	}
	snprintf(out, len, "%s0x%lx [%s+0x%lx/0x%lx]%s", pre, addr, path, addr - start,
		 end - start, post);
}

/* Any context. The user-space PC of the current task, where the probe interrupted user
 * code or where the task entered the kernel; 0 when there is no user process (a kernel
 * thread). Without unwind data this is the whole user stack, as in SystemTap. */
static inline unsigned long stp_user_pc(struct stp_context *c)
{
	if (c->regs && user_mode(c->regs))
		return instruction_pointer(c->regs);
	if (current->mm && !(current->flags & PF_KTHREAD))
		return instruction_pointer(task_pt_regs(current));
	return 0;
}

/* As stp_usym_format. The user stack (its one frame) in format fmt, into out; without a
 * user process, SystemTap's "<no user backtrace at PP>" line. */
static inline void stp_ustack_format(struct stp_context *c, enum stp_usym_fmt fmt, char *out,
				     size_t len)
{
	unsigned long pc = stp_user_pc(c);

	if (!pc)
		snprintf(out, len, "<no user backtrace at %s>\n", c->probe_point);
	else
		stp_usym_format(pc, fmt, out, len);
}

/* As stp_umod_lookup. A ubacktrace() string (hex addresses separated by spaces) as
 * " 0xADDR : usymdata(ADDR)" lines: printed when out is NULL, else into out, stopping before
 * the first line that would not fit whole. Each token is parsed as strtol(tok, 16) does. */
static inline void stp_usyms(struct stp_context *c, const char *callers, char *out)
{
	char tok[24], data[STP_USYM_LINE];
	const char *p = callers;
	size_t at = 0, n, k;
	int i;

	if (out)
		out[0] = '\0';
	for (i = 0; i < STP_MAXSTRINGLEN && *p; i++) {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (!n)
			break;
		k = min(n, sizeof(tok) - 1);
		memcpy(tok, p, k);
		tok[k] = '\0';
		stp_usym_format((unsigned long)simple_strtoull(tok, NULL, 16), STP_USYM_DATA, data,
				sizeof(data));
		if (!out) {
			stp_printf(c, " %.*s : %s\n", (int)n, p, data);
		} else {
			k = snprintf(out + at, STP_MAXSTRINGLEN - at, " %.*s : %s\n", (int)n, p, data);
			if (at + k > STP_MAXSTRINGLEN - 1) {
				out[at] = '\0';
				break;
			}
			at += k;
		}
		p += n;
	}
}

#endif /* STP_USYM_H */
