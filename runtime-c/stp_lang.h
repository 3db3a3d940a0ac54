/* stp_lang.h - the script language's operations that C does not define the way scripts need
 * them: checked division, defined shifts, backtraces, the watched value. Included by the
 * generated module after stp_runtime.h. Every function here may run in any context (NMI,
 * IRQ, process): none sleeps, allocates or takes a lock. */
#ifndef STP_LANG_H
#define STP_LANG_H

#include <linux/stacktrace.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include "stp_string.h"
#include "stp_time.h"

/* SystemTap's names for embedded C in tapsets and guru-mode scripts. */
#define MAXSTRINGLEN STP_MAXSTRINGLEN
#define CONTEXT c
/* Every generated function names its result `rv` and leaves through `stp_out`; only
 * STAP_RETURN (which copies strings) and STAP_ARG_x are defined per function. */
#define STAP_RETVALUE rv
#define STAP_ERROR(...) do { stp_error(c, __VA_ARGS__); goto stp_out; } while (0)

/* target(): the -c child's or -x process id, set by the loader. */
static long stp_target;

/* Any context. a / b, or a run-time error for b == 0 (never undefined behaviour:
 * INT64_MIN / -1 wraps, as the kernel's -fno-strict-overflow makes negation wrap). */
static inline int64_t stp_div(struct stp_context *c, int64_t a, int64_t b, const char *where)
{
	if (unlikely(b == 0)) {
		stp_error_near(c, where, "division by 0");
		return 0;
	}
	if (unlikely(b == -1))
		return (int64_t)(0 - (uint64_t)a);
	return a / b;
}

/* Any context. a % b, or a run-time error for b == 0. */
static inline int64_t stp_mod(struct stp_context *c, int64_t a, int64_t b, const char *where)
{
	if (unlikely(b == 0)) {
		stp_error_near(c, where, "division by 0");
		return 0;
	}
	if (unlikely(b == -1))
		return 0;
	return a % b;
}

/* Any context. The count is taken modulo 64 (its low six bits), as SystemTap's generated
 * code does: `1 << 64` is 1 and `x >> -1` is `x >> 63`, never C's undefined behaviour. `>>`
 * is arithmetic (it copies the sign). */
static inline int64_t stp_shl(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a << (b & 63));
}

static inline int64_t stp_shr(int64_t a, int64_t b)
{
	return a >> (b & 63);
}

/* Any context. The bytes of the watched range after the access, zero-extended. */
static inline int64_t stp_read_watched(struct stp_context *c)
{
#ifdef CONFIG_ARM64
	int64_t v;

	/* arm64 reports the hit before the access: its hook computed the bytes after it. */
	if (stp_a64_hit_value(c->watch, &v))
		return v;
#endif
	switch (c->watch->decl->len) {
	case 1: case 2: case 4: case 8:
		return stp_read_kernel_int(c, c->watch->addr, c->watch->decl->len, false);
	default:
#ifdef CONFIG_ARM64
		return stp_winst_read(c->watch);	/* 3, 5, 6 or 7 bytes */
#else
		return 0;
#endif
	}
}

/* Any context. symbol_address(): kallsyms_lookup_name through the pointer that module init
 * found (stp_symbol_lookup, process context, registers a kprobe the first time: never from
 * a probe). 0 when the symbol or the lookup function is unknown. */
static inline unsigned long stp_symbol_address(const char *name)
{
	if (!stp_kallsyms_lookup_name_fn)
		return 0;
	return stp_kallsyms_lookup_name_fn(name);
}

/* Any context. The kernel stack at the probe, innermost first, in entries[] (at most
 * STP_MAXBACKTRACE); returns how many. In a probe with registers (a hit, a function probe)
 * the trace is taken from the handler itself: the frames of the #DB/kprobe/perf machinery
 * above the interrupted instruction are skipped (when the unwinder did not list that
 * instruction, it comes first, before the whole trace). */
static inline unsigned int stp_stack_at_probe(struct stp_context *c, unsigned long *entries)
{
	unsigned int n, i;

	n = stack_trace_save(entries, STP_MAXBACKTRACE, 0);
	if (!c->regs)
		return n;
	for (i = 0; i < n; i++) {
		if (entries[i] == instruction_pointer(c->regs)) {
			memmove(entries, entries + i, (n - i) * sizeof(*entries));
			return n - i;
		}
	}
	/* The interrupted frame is not in the trace: it goes first, followed by the whole
	 * trace (the machinery's frames, then its callers). */
	if (n == STP_MAXBACKTRACE)
		n--;
	memmove(entries + 1, entries, n * sizeof(*entries));
	entries[0] = instruction_pointer(c->regs);
	return n + 1;
}

/* Any context. Prints the kernel stack at the probe, innermost first, one symbolized frame
 * per line (stp_stack_at_probe). */
static inline void stp_print_backtrace(struct stp_context *c)
{
	unsigned long entries[STP_MAXBACKTRACE];
	unsigned int n, i;

	n = stp_stack_at_probe(c, entries);
	for (i = 0; i < n; i++)
		stp_printf(c, " 0x%lx : %pS\n", entries[i], (void *)entries[i]);
}

/* Any context. `s =~ re`: 1 when re matches somewhere in s. When the script calls
 * matched(), a match also records its submatches for it (stp_regex.h). */
static inline int64_t stp_regex_match(struct stp_context *c, const struct stp_re *re,
				      const char *s)
{
	int r = stp_re_dfa(re, s);

#ifdef STP_RE_MAXSTATES
	c->last_match.result = 0;
	if (r) {
		stp_strcpy(c->last_match.str, s);
		stp_re_captures(re, c->last_match.str, &c->last_match, &c->re_scratch);
	}
#endif
	return r;
}

#ifdef STP_RE_MAXSTATES
/* Any context. matched(n): group n of the probe run's last successful match (0: the whole
 * match; "" for a group that did not take part), or a run-time error, as in SystemTap. */
static inline void stp_regex_matched(struct stp_context *c, char *rv, int64_t n)
{
	const struct stp_re_match *m = &c->last_match;
	int start, end;

	rv[0] = '\0';
	if (!m->result) {
		stp_error(c, "Attempted to get subexpression %lld from failed match", (long long)n);
		return;
	}
	if (n < 0 || n >= m->groups || 2 * n + 1 >= STP_RE_MAXSLOTS) {
		stp_error(c, "Attempted to get nonexistent subexpression %lld", (long long)n);
		return;
	}
	start = m->caps[2 * n];
	end = m->caps[2 * n + 1];
	if (start < 0 || end < start)
		return;
	memcpy(rv, m->str + start, end - start);
	rv[end - start] = '\0';
}
#endif

/* Process context (begin and end probes, from the session workqueue). Runs one probe body
 * with interrupts off, as hit handlers and timers run theirs. Not counted by the overload
 * check (stp_overload.h): each runs once, as in SystemTap. */
static inline void stp_run_in_process(void (*body)(struct stp_context *), const char *pp,
				      const char *where)
{
	unsigned long flags;
	struct stp_context *c;

	local_irq_save(flags);
	c = stp_context_enter(pp, where, NULL);
	if (c) {
		body(c);
		stp_context_exit(c);
	}
	local_irq_restore(flags);
}

/* NMI, IRQ. The context of one probe run that interrupted regs (NULL for timers), if the
 * session is running and this CPU's context is free (else the run is skipped, counted when
 * the context was busy); the caller runs the body and calls stp_probe_exit. The run's
 * cycles count for the overload check from here. */
static inline struct stp_context *stp_probe_enter(const char *pp, const char *where,
						  struct pt_regs *regs)
{
	struct stp_context *c;
	u64 start;

	if (!stp_session_running())
		return NULL;
	start = stp_overload_now();
	c = stp_context_enter(pp, where, regs);
	if (c)
		c->run_start = start;
	return c;
}

/* NMI, IRQ. Ends a run stp_probe_enter began: its cycles go to the overload check. */
static inline void stp_probe_exit(struct stp_context *c)
{
	stp_overload_account(c, c->run_start);
	stp_context_exit(c);
}

/* IRQ (timers). Runs one probe body if the session is running. */
static inline void stp_run_probe(void (*body)(struct stp_context *), const char *pp,
				 const char *where)
{
	struct stp_context *c = stp_probe_enter(pp, where, NULL);

	if (!c)
		return;
	body(c);
	stp_probe_exit(c);
}

/* NMI (hit handlers). Runs one hit probe of watchpoint instance w if the session is
 * running, its cycles counted by the overload check. change says whether the probe is a
 * .change one, whose data_old() is old (a constant in each caller, so the others pay
 * nothing for it). */
static inline void stp_run_hit(void (*body)(struct stp_context *), const char *pp,
			       const char *where, struct pt_regs *regs, struct stp_winst *w,
			       bool change, int64_t old)
{
	struct stp_context *c = stp_probe_enter(pp, where, regs);

	if (!c)
		return;
	c->watch = w;
	if (change)
		c->data_old = old;
	body(c);
	stp_probe_exit(c);
}

/* NMI-like (kprobe and kretprobe handlers, preemption disabled). Runs one function probe
 * if the session is running; func and addr are what probefunc() and addr() return. */
static inline void stp_run_kprobe(void (*body)(struct stp_context *), const char *pp,
				  const char *where, struct pt_regs *regs, const char *func,
				  unsigned long addr, unsigned char fn_probe)
{
	struct stp_context *c = stp_probe_enter(pp, where, regs);

	if (!c)
		return;
	c->func = func;
	c->probe_addr = addr;
	c->fn_probe = fn_probe;
	body(c);
	c->fn_probe = 0;
	c->func = NULL;
	c->probe_addr = 0;
	stp_probe_exit(c);
}

/* stp_arg(), stp_register(), stp_print_regs(): per architecture. */
#include "stp_regs.h"

/* Any context. backtrace(): the kernel stack at the probe (stp_stack_at_probe, the frames
 * print_backtrace() prints) as hex addresses separated by spaces, innermost first, cut to
 * fit MAXSTRINGLEN. */
static inline void stp_backtrace_str(struct stp_context *c, char *out)
{
	unsigned long entries[STP_MAXBACKTRACE];
	unsigned int n, i;
	size_t len = 0;

	out[0] = '\0';
	n = stp_stack_at_probe(c, entries);
	for (i = 0; i < n && len < STP_MAXSTRINGLEN - 1; i++)
		len += scnprintf(out + len, STP_MAXSTRINGLEN - len, "%s0x%lx", i ? " " : "",
				 entries[i]);
}

/* Process (module init, the arbiter's worker). Evaluates one probe condition (a generated
 * function that reads globals under their read locks and sets c->cond_result). A condition
 * that cannot be evaluated (a busy context, a lock not taken, an error) counts as true: the
 * probe stays armed and its body still checks the condition on every run. */
static inline bool stp_cond_eval(void (*fn)(struct stp_context *), const char *pp,
				 const char *where)
{
	unsigned long flags;
	struct stp_context *c;
	bool v = true;

	local_irq_save(flags);
	c = stp_context_enter(pp, where, NULL);
	if (c) {
		c->cond_result = 1;
		fn(c);
		v = c->cond_result != 0 || c->last_error;
		stp_context_exit(c);
	}
	local_irq_restore(flags);
	return v;
}

/* Process (the arbiter's worker). Runs one sub-probe (.begin, .end, .unavailable) of
 * watchpoint instance w with interrupts off, its cycles counted by the overload check
 * (enable/disable from a timer can make them frequent); reason is what
 * end_reason()/unavailable_reason() return. */
static inline void stp_run_sub(void (*body)(struct stp_context *), const char *pp,
			       const char *where, struct stp_winst *w, const char *reason)
{
	unsigned long flags;
	struct stp_context *c;
	u64 start;

	local_irq_save(flags);
	start = stp_overload_now();
	c = stp_context_enter(pp, where, NULL);
	if (c) {
		c->watch = w;
		c->reason = reason ? reason : "";
		body(c);
		stp_overload_account(c, start);
		stp_context_exit(c);
	}
	local_irq_restore(flags);
}

#include "stp_tapset.h"
#include "stp_target_set.h"
#include "stp_usym.h"
#include "stp_procmem.h"
#include "stp_ns.h"

#endif /* STP_LANG_H */
