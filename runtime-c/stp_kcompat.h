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

/* Process context only: may sleep. */
#define STP_ZALLOC(size) kvzalloc((size), GFP_KERNEL)
#define STP_FREE(p) kvfree(p)
#endif /* __KERNEL__ */

#endif /* STP_KCOMPAT_H */
