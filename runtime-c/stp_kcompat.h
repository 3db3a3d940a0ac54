/* stp_kcompat.h - the kernel APIs the runtime stands on, in one place.
 *
 * The pure-logic headers (stp_lock.h, stp_ring.h, stp_map.h) are also compiled in
 * user space by tests/runtime-unit, which includes its own shim (kshim.h) instead of
 * this file's kernel half. Keep the list of kernel names those headers use short:
 * atomic_t, atomic64_t, smp_load_acquire/smp_store_release, READ_ONCE/WRITE_ONCE,
 * cpu_relax, local_irq_save/restore, memcpy/memcmp/strlen/memset, vsnprintf,
 * STP_ZALLOC/STP_FREE, errno values, int64_t & co.
 */
#ifndef STP_KCOMPAT_H
#define STP_KCOMPAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/version.h>	/* LINUX_VERSION_CODE: embedded C relies on it, as in SystemTap */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <linux/irqflags.h>
#include <linux/irq_work.h>
#include <linux/workqueue.h>
#include <linux/wait.h>
#include <linux/sched.h>
#include <linux/delay.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/namei.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/stdarg.h>
#include <linux/kprobes.h>
#include <linux/perf_event.h>
#include <linux/hw_breakpoint.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <asm/processor.h>

/* Process context only: may sleep. The size of the last allocation that failed, which
 * stp_alloc_failed reports. */
static size_t stp_zalloc_failed_size;

/* Process context only: may sleep. Zeroed memory, or NULL without the kernel's warning: an
 * array's entries can ask for more than kvmalloc gives at once (INT_MAX bytes), which it
 * refuses with a WARNING and a stack unless told not to; the load reports it instead
 * (stp_alloc_failed). */
static inline void *stp_zalloc(size_t size)
{
	void *p = kvzalloc(size, GFP_KERNEL | __GFP_NOWARN);

	if (!p)
		stp_zalloc_failed_size = size;
	return p;
}
#define STP_ZALLOC(size) stp_zalloc(size)
#define STP_FREE(p) kvfree(p)

/* Process context (module load). True when the global array's allocation p failed, after
 * saying so in the kernel log (which the loader shows): its name, the size asked for, and
 * what to lower. */
static inline bool stp_alloc_failed(const void *p, const char *array)
{
	if (p)
		return false;
	pr_err("%s: cannot allocate array %s: %zu MB at once, %s: lower its declared size, MAXMAPENTRIES or MAXSTRINGLEN\n",
	       KBUILD_MODNAME, array, (stp_zalloc_failed_size + (1 << 20) - 1) >> 20,
	       stp_zalloc_failed_size > INT_MAX ? "over the kernel's limit of 2048 MB" :
	       "more than the kernel could give");
	return true;
}
#endif /* __KERNEL__ */

#endif /* STP_KCOMPAT_H */
