/* stp_procmem.h - a process's memory use in pages (tapsets/procmem.stp, SystemTap's
 * proc_mem_* functions): what /proc/PID/statm shows, read from the task's mm_struct.
 *
 * Any context, NMI included: no locks. The task is looked up and read under RCU, so it cannot
 * be freed meanwhile; its mm may be (the task exits), so every field of it is read with
 * copy_from_kernel_nofault: a race gives a stale number, never a fault.
 */
#ifndef STP_PROCMEM_H
#define STP_PROCMEM_H

#include <linux/mm_types.h>
#include <linux/version.h>

enum stp_procmem {
	STP_MEM_SIZE, /* total_vm */
	STP_MEM_RSS,  /* file + anon + shmem pages resident */
	STP_MEM_SHR,  /* file pages resident */
	STP_MEM_TXT,  /* the pages start_code..end_code span */
	STP_MEM_DATA, /* data_vm + stack_vm */
};

/* Any context, NMI included. The word at offset off of mm, read fault-safe (0 on a fault). */
static inline unsigned long stp_mm_read(struct mm_struct *mm, size_t off)
{
	unsigned long v = 0;

	if (copy_from_kernel_nofault(&v, (char *)mm + off, sizeof(v)))
		return 0;
	return v;
}

/* Any context, NMI included (lock-free reads). One of the mm's resident-page counters,
 * never negative (get_mm_counter's value: an atomic_long_t before 6.2, a percpu_counter's
 * shared count since). */
static inline long stp_mm_counter(struct mm_struct *mm, int member)
{
	long v;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	v = (long)stp_mm_read(mm, offsetof(struct mm_struct, rss_stat) +
				      member * sizeof(struct percpu_counter) +
				      offsetof(struct percpu_counter, count));
#else
	v = (long)stp_mm_read(mm, offsetof(struct mm_struct, rss_stat) +
				      member * sizeof(atomic_long_t));
#endif
	return v < 0 ? 0 : v;
}

/* Any context, NMI included; called under rcu_read_lock. Pages of task t (0 for none, a kernel thread or an exiting
 * task, as SystemTap's _stp_valid_task refuses them). */
static inline int64_t stp_task_mem(struct task_struct *t, enum stp_procmem what)
{
	struct mm_struct *mm;
	unsigned int flags;
	unsigned long s, e;

	if (!t || copy_from_kernel_nofault(&flags, &t->flags, sizeof(flags)) ||
	    (flags & (PF_KTHREAD | PF_EXITING)) ||
	    copy_from_kernel_nofault(&mm, &t->mm, sizeof(mm)) || !mm)
		return 0;
	switch (what) {
	case STP_MEM_SIZE:
		return stp_mm_read(mm, offsetof(struct mm_struct, total_vm));
	case STP_MEM_RSS:
		return stp_mm_counter(mm, MM_FILEPAGES) + stp_mm_counter(mm, MM_ANONPAGES) +
		       stp_mm_counter(mm, MM_SHMEMPAGES);
	case STP_MEM_SHR:
		return stp_mm_counter(mm, MM_FILEPAGES);
	case STP_MEM_TXT:
		s = stp_mm_read(mm, offsetof(struct mm_struct, start_code));
		e = stp_mm_read(mm, offsetof(struct mm_struct, end_code));
		return (PAGE_ALIGN(e) - (s & PAGE_MASK)) >> PAGE_SHIFT;
	case STP_MEM_DATA:
		return stp_mm_read(mm, offsetof(struct mm_struct, data_vm)) +
		       stp_mm_read(mm, offsetof(struct mm_struct, stack_vm));
	}
	return 0;
}

/* Any context. Pages of process pid in the current pid namespace, 0 if there is none; of
 * the current task when cur is set. */
static inline int64_t stp_proc_mem(bool cur, int64_t pid, enum stp_procmem what)
{
	int64_t v;

	if (!cur && (pid <= 0 || pid > PID_MAX_LIMIT))
		return 0;
	rcu_read_lock();
	v = stp_task_mem(cur ? current : pid_task(find_vpid(pid), PIDTYPE_PID), what);
	rcu_read_unlock();
	return v;
}

#endif /* STP_PROCMEM_H */
