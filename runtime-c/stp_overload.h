/* stp_overload.h - overload protection: a session whose probes take too large a share of a
 * CPU stops, as SystemTap's does.
 *
 * Each CPU adds up the cycles (get_cycles(): the TSC on x86) its probe runs take. When a run
 * ends more than STP_OVERLOAD_INTERVAL cycles after that CPU's window opened, the window
 * closes: if the runs in it took more than STP_OVERLOAD_THRESHOLD cycles, the session ends
 * with "ERROR: probe overhead exceeded threshold" naming the probe whose run closed the
 * window (the error probes run, not the end ones); either way a new window opens. This is
 * SystemTap's check (its runtime's STP_OVERLOAD, with the same defaults: 500M of 1G
 * cycles), per CPU as there.
 *
 * Counted: hit probes (NMI), timer probes (hard IRQ) and watchpoint sub-probes (process
 * context, interrupts off). Not counted: begin and end probes, which run once each (as in
 * SystemTap). MAXACTION bounds one run; this bounds their sum. -D STP_NO_OVERLOAD switches
 * the check off (each run stays bounded by MAXACTION, but together they may take a CPU).
 *
 * The window lives in the CPU's context (stp_context.h), which a run owns through its busy
 * flag: no lock, no atomic, nothing that could wait. get_cycles() is NMI-safe.
 */
#ifndef STP_OVERLOAD_H
#define STP_OVERLOAD_H

#include <linux/timex.h>

#ifndef STP_NO_OVERLOAD

/* Set by the first CPU to find its window over the threshold: one report per session. */
static atomic_t stp_overload_tripped = ATOMIC_INIT(0);

/* NMI, IRQ, process (any context). The cycle count a probe run starts at. */
static inline u64 stp_overload_now(void)
{
	return (u64)get_cycles();
}

/* NMI, IRQ, process: the slow path of stp_overload_account, once a CPU's window is longer
 * than STP_OVERLOAD_INTERVAL (or the counter went back past its start): ends the session
 * when the runs in it took more than STP_OVERLOAD_THRESHOLD cycles, and opens a new one. */
static noinline void stp_overload_close(struct stp_context *c, u64 end)
{
	u64 window = end > c->overload_base ? end - c->overload_base : STP_OVERLOAD_INTERVAL + 1ULL;

	if (unlikely(c->overload_sum > STP_OVERLOAD_THRESHOLD) &&
	    atomic_cmpxchg(&stp_overload_tripped, 0, 1) == 0) {
		stp_out_diag("ERROR: probe overhead exceeded threshold: probes took %llu of the last %llu cycles on CPU %d (STP_OVERLOAD_THRESHOLD %llu per STP_OVERLOAD_INTERVAL %llu) at %s\n",
			     (unsigned long long)c->overload_sum,
			     (unsigned long long)(c->overload_base ? window : c->overload_sum),
			     raw_smp_processor_id(),
			     (unsigned long long)STP_OVERLOAD_THRESHOLD,
			     (unsigned long long)STP_OVERLOAD_INTERVAL,
			     c->probe_where ? c->probe_where : c->probe_point);
		atomic_inc(&stp_errors);
		stp_request_error_exit();
	}
	c->overload_base = end;
	c->overload_sum = 0;
}

/* NMI, IRQ, process: between stp_context_enter and stp_context_exit of the run that
 * started at cycle start, on the same CPU (preemption or interrupts off, as every probe
 * run is). Adds the run to the CPU's window, and closes the window once it is longer than
 * STP_OVERLOAD_INTERVAL. The common case is a subtraction, an add and one compare: this
 * runs on every hit. A counter that went backwards (it should not, on one CPU) adds
 * nothing, and its window closes at once (the unsigned difference is huge). */
static inline void stp_overload_account(struct stp_context *c, u64 start)
{
	u64 end = stp_overload_now();

	if (likely(end > start))
		c->overload_sum += end - start;
	if (unlikely(end - c->overload_base > STP_OVERLOAD_INTERVAL))
		stp_overload_close(c, end);
}

#else /* STP_NO_OVERLOAD */

static inline u64 stp_overload_now(void)
{
	return 0;
}

static inline void stp_overload_account(struct stp_context *c, u64 start)
{
}

#endif /* STP_NO_OVERLOAD */

#endif /* STP_OVERLOAD_H */
