/* stp_time.h - timer probe periods: N units of unit_ns nanoseconds, as a ktime_t count.
 *
 * Pure logic, compiled in the kernel and in user space (tests/runtime-unit). Any context.
 * The translator bounds periods already; this bounds them again with the target's real
 * unit (TICK_NSEC for timer.jiffies), so that no product can wrap into a period near 0
 * and no period goes below 100 microseconds, whatever the kernel's HZ.
 */
#ifndef STP_TIME_H
#define STP_TIME_H

#define STP_MIN_TIMER_NS 100000ULL			/* as SystemTap */
#define STP_MAX_TIMER_NS (~0ULL >> 1)			/* ktime_t is signed */

/* Any context. n * unit_ns, clamped to [STP_MIN_TIMER_NS, STP_MAX_TIMER_NS]. */
static inline uint64_t stp_timer_period_ns(uint64_t n, uint64_t unit_ns)
{
	uint64_t ns;

	if (unit_ns && n > STP_MAX_TIMER_NS / unit_ns)
		return STP_MAX_TIMER_NS;
	ns = n * unit_ns;
	if (ns < STP_MIN_TIMER_NS)
		return STP_MIN_TIMER_NS;
	return ns > STP_MAX_TIMER_NS ? STP_MAX_TIMER_NS : ns;
}

#endif /* STP_TIME_H */
