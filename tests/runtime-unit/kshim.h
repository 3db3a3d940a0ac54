/* kshim.h - the few kernel APIs that runtime-c's pure-logic headers (stp_lock.h,
 * stp_ring.h, stp_map.h, stp_stat.h) use, implemented for user space with GCC atomics, so that
 * the same headers can be unit-tested with gcc. Include before the runtime headers.
 */
#ifndef KSHIM_H
#define KSHIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;
#define S64_MAX INT64_MAX
#define S64_MIN INT64_MIN

typedef struct { int counter; } atomic_t;
typedef struct { long long counter; } atomic64_t;
#define ATOMIC_INIT(i) { (i) }

#define SEQ __ATOMIC_SEQ_CST
static inline int atomic_read(const atomic_t *v) { return __atomic_load_n(&v->counter, __ATOMIC_RELAXED); }
static inline int atomic_read_acquire(const atomic_t *v) { return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE); }
static inline void atomic_set(atomic_t *v, int i) { __atomic_store_n(&v->counter, i, __ATOMIC_RELAXED); }
static inline void atomic_set_release(atomic_t *v, int i) { __atomic_store_n(&v->counter, i, __ATOMIC_RELEASE); }
static inline int atomic_cmpxchg(atomic_t *v, int old, int new_)
{
	__atomic_compare_exchange_n(&v->counter, &old, new_, false, SEQ, SEQ);
	return old;
}
static inline void atomic_inc(atomic_t *v) { __atomic_add_fetch(&v->counter, 1, SEQ); }
static inline int atomic_inc_return(atomic_t *v) { return __atomic_add_fetch(&v->counter, 1, SEQ); }
static inline int atomic_dec_return_release(atomic_t *v) { return __atomic_sub_fetch(&v->counter, 1, __ATOMIC_RELEASE); }
static inline long long atomic64_read(const atomic64_t *v) { return __atomic_load_n(&v->counter, __ATOMIC_RELAXED); }
static inline void atomic64_add(long long i, atomic64_t *v) { __atomic_add_fetch(&v->counter, i, SEQ); }
static inline long long atomic64_inc_return(atomic64_t *v) { return __atomic_add_fetch(&v->counter, 1, SEQ); }

#define smp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define cpu_relax() do { } while (0)
#define udelay(us) do { (void)(us); } while (0)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define local_irq_save(f) do { (f) = 0; } while (0)
#define local_irq_restore(f) do { (void)(f); } while (0)
#define __printf(a, b) __attribute__((format(printf, a, b)))

#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
/* Per-CPU data (stp_stat.h): the tests play four CPUs, one thread each. */
static unsigned int nr_cpu_ids = 4;
#define for_each_possible_cpu(c) for ((c) = 0; (c) < nr_cpu_ids; (c)++)

#define STP_ZALLOC(size) calloc(1, (size))
#define STP_FREE(p) free(p)

#endif /* KSHIM_H */
