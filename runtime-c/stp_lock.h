/* stp_lock.h - bounded reader/writer trylocks on one atomic, for script globals.
 *
 * A hit handler runs as NMI and may interrupt code on its own CPU that holds the
 * lock, so nothing here ever waits without a bound: each trylock makes at most
 * STP_MAXTRYLOCK attempts, STP_TRYLOCKDELAY microseconds apart (a busy wait, allowed in
 * NMI), as SystemTap does, and then reports failure; the caller skips the probe run
 * (stp_count_skipped()). The delay matters when the holder is another CPU running a
 * probe body: a bare cpu_relax() loop gives up long before such a body ends, more so
 * in a guest whose vCPUs the host may deschedule. No lockdep, no irq state changes,
 * usable in any context.
 *
 * The value is the number of readers (> 0), 0 when free, or -1 while a writer holds it.
 * Writers may starve under constant reading; the bound turns that into skipped runs.
 */
#ifndef STP_LOCK_H
#define STP_LOCK_H

typedef struct { atomic_t v; } stp_rwlock_t;

#define STP_RWLOCK_INIT { ATOMIC_INIT(0) }

/* Contexts: NMI, IRQ, process. Returns true with the lock held for reading. */
static inline bool stp_read_trylock(stp_rwlock_t *l)
{
	int i, v;

	for (i = 0; i < STP_MAXTRYLOCK; i++) {
		v = atomic_read(&l->v);
		if (v >= 0 && atomic_cmpxchg(&l->v, v, v + 1) == v)
			return true;	/* atomic_cmpxchg is fully ordered */
		udelay(STP_TRYLOCKDELAY);
	}
	return false;
}

/* Contexts: NMI, IRQ, process. Returns true with the lock held for writing. */
static inline bool stp_write_trylock(stp_rwlock_t *l)
{
	int i;

	for (i = 0; i < STP_MAXTRYLOCK; i++) {
		if (atomic_read(&l->v) == 0 && atomic_cmpxchg(&l->v, 0, -1) == 0)
			return true;
		udelay(STP_TRYLOCKDELAY);
	}
	return false;
}

/* Contexts: NMI, IRQ, process. Only after a successful stp_read_trylock. */
static inline void stp_read_unlock(stp_rwlock_t *l)
{
	atomic_dec_return_release(&l->v);
}

/* Contexts: NMI, IRQ, process. Only after a successful stp_write_trylock. */
static inline void stp_write_unlock(stp_rwlock_t *l)
{
	atomic_set_release(&l->v, 0);
}

#endif /* STP_LOCK_H */
