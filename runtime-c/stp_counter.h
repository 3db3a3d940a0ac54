/* stp_counter.h - counter globals: a long scalar that bodies only add to, each add a
 * statement of its own (`n++`, `n--`, `n += x`, `n -= x`), and that no probe both adds to
 * and reads (the translator decides: `counters` in src/backend/c/mod.rs).
 *
 * Such a global is its base value (the initial value or `-G`, set at load) plus one share
 * per CPU. A run adds to its own CPU's share with this_cpu_add(): one instruction on x86,
 * no lock, so no run is ever skipped because another CPU holds the global. A read sums
 * the base and every CPU's share. No run can tell this from a locked global: a run that
 * adds never reads the value, and a read sees every add that finished before it, as it
 * would under the lock; an add still in flight on another CPU is one the lock would have
 * ordered after the read.
 */
#ifndef STP_COUNTER_H
#define STP_COUNTER_H

#include <linux/percpu.h>
#include <linux/cpumask.h>

/* NMI, IRQ, process (any context): a counter's value. Each share is an aligned 64-bit
 * word another CPU writes whole, so READ_ONCE gets one value or the next. The sum wraps as
 * the script's arithmetic does. */
static inline int64_t stp_counter_read(const int64_t *base, const int64_t __percpu *shares)
{
	uint64_t v = (uint64_t)READ_ONCE(*base);
	int cpu;

	for_each_possible_cpu(cpu)
		v += (uint64_t)READ_ONCE(*per_cpu_ptr(shares, cpu));
	return (int64_t)v;
}

#endif /* STP_COUNTER_H */
