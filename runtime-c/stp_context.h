/* stp_context.h - per-CPU probe contexts: the state of one probe run.
 *
 * One context per possible CPU, allocated at module init. The busy flag makes a probe
 * that fires while another runs on the same CPU (a hit inside a timer probe, a hit
 * inside a hit) skip instead of clobbering the context; that flag is also what makes
 * each CPU's output ring single-producer in the common case.
 */
#ifndef STP_CONTEXT_H
#define STP_CONTEXT_H

/* What stp_context.fn_probe says: long_arg() and friends read a function's entry,
 * returnval() its return; anywhere else they raise an error, as in SystemTap. */
#define STP_FN_ENTRY 1
#define STP_FN_RETURN 2

struct stp_context {
	atomic_t busy;
	const char *probe_point;	/* pp(): the probe point text */
	const char *probe_where;	/* "file:line:col" of the probe, for errors */
	struct pt_regs *regs;		/* the interrupted code: NULL but in hits, kprobes */
	/* Set only by the runners of watchpoint probes, read only where pass 2 allows, so
	 * other runs leave them stale: */
	const struct stp_winst *watch;	/* the instance hit: data_addr(), data_value(), and
					 * the parameter of a parametric watchpoint */
	int64_t data_old;		/* .change: the value before the write */
	const char *reason;		/* unavailable_reason() / end_reason() */
	/* Set by stp_run_kprobe for its run and put back after it, NULL and 0 otherwise: */
	const char *func;		/* probefunc() of a function probe */
	unsigned long probe_addr;	/* addr() of a function probe */
	unsigned char fn_probe;		/* STP_FN_ENTRY or STP_FN_RETURN while a function probe
					 * runs, else 0: only stp_run_kprobe sets and clears it, so
					 * the other runners (data hits) pay nothing for it */
	int64_t cond_result;		/* what a probe condition evaluated to (stp_cond_eval) */
	u64 run_start;			/* cycle count at stp_probe_enter, for the overload check */
	unsigned long actions;		/* statements run in this probe run */
	/* Zero between runs: calls return to depth 0, exit clears the error and commits the
	 * output, so enter need not reset them. */
	int nesting;			/* function call depth */
	const char *last_error;		/* non-NULL: the probe run failed */
	size_t error_len;		/* bytes of last_error before its " near WHERE" */
	char error_buf[256];
	char *frames;			/* (STP_MAXNESTING + 1) * frame_size bytes, for locals */
	size_t frame_size;
	char printbuf[STP_PRINTBUF];
	size_t printlen;
	size_t printmark;		/* where the printf being written started (stp_put_begin) */
#ifdef STP_RE_MAXSTATES
	struct stp_re_match last_match;	/* matched(N): the run's last =~ / !~ */
	struct stp_re_scratch re_scratch;	/* the Pike VM's threads (stp_regex.h) */
#endif
	/* This CPU's overload window (stp_overload.h): kept across runs, never reset by enter. */
	u64 overload_base;		/* cycle count the window opened at */
	u64 overload_sum;		/* cycles probe runs took in it */
	u64 rand_state;			/* randint()'s generator (stp_tapset.h), kept across runs */
	char *tok_pos;			/* tokenize(): the rest of tok_str, NULL when done */
	char tok_str[STP_MAXSTRINGLEN];
};

/* This CPU's context: NULL before stp_contexts_alloc and after stp_contexts_free. A per-CPU
 * pointer, so that finding it in a hit handler is one load. */
static DEFINE_PER_CPU(struct stp_context *, stp_ctx);

struct stp_winst;

/* Defined in stp_output.h. */
static inline void stp_out_commit(struct stp_context *c);

/* Process, when no probe can run (before arming, after disarming). Frees what
 * stp_contexts_alloc allocated; safe on partial allocation. */
static inline void stp_contexts_free(void)
{
	unsigned int cpu;
	struct stp_context *c;

	for_each_possible_cpu(cpu) {
		c = per_cpu(stp_ctx, cpu);
		per_cpu(stp_ctx, cpu) = NULL;
		if (c) {
			kvfree(c->frames);
			kvfree(c);
		}
	}
}

/* Process. One context per possible CPU, each with a frames area of
 * (STP_MAXNESTING + 1) * frame_size bytes (none if frame_size is 0). 0 or -ENOMEM. */
static inline int stp_contexts_alloc(size_t frame_size)
{
	unsigned int cpu;
	struct stp_context *c;

	for_each_possible_cpu(cpu) {
		c = kvzalloc(sizeof(*c), GFP_KERNEL);
		if (!c)
			goto fail;
		c->frame_size = frame_size;
		if (frame_size) {
			c->frames = kvzalloc((STP_MAXNESTING + 1) * frame_size, GFP_KERNEL);
			if (!c->frames) {
				kvfree(c);
				goto fail;
			}
		}
		per_cpu(stp_ctx, cpu) = c;
	}
	return 0;
fail:
	stp_contexts_free();
	return -ENOMEM;
}

/* NMI, IRQ, process - with preemption (process: interrupts) disabled by the caller.
 * The current CPU's context, set up for a new probe run that interrupted regs (NULL if
 * none); NULL when it is busy (the run is counted in stp_skipped) or contexts are not
 * allocated. A run starts with one action counted: a probe body's first statement, which
 * therefore needs no check of its own (BodyGen::prepaid). Only what every run reads is
 * set here; the runners set what their probes read. */
static inline struct stp_context *stp_context_enter(const char *pp, const char *where,
						    struct pt_regs *regs)
{
	struct stp_context *c = this_cpu_read(stp_ctx);

	if (unlikely(!c))
		return NULL;
	if (atomic_cmpxchg(&c->busy, 0, 1) != 0) {
		stp_count_skipped();
		return NULL;
	}
	c->probe_point = pp;
	c->probe_where = where;
	c->regs = regs;
	c->actions = 1;
	c->tok_pos = NULL;
#ifdef STP_RE_MAXSTATES
	c->last_match.result = 0;
#endif
	return c;
}

/* NMI, IRQ, process. The failed run's error, reported once (the slow path of
 * stp_context_exit). */
static noinline void stp_context_report(struct stp_context *c)
{
	if (c->probe_where)
		stp_out_diag("ERROR: %s at %s\n", c->last_error, c->probe_where);
	else
		stp_out_diag("ERROR: %s\n", c->last_error);
	c->last_error = NULL;
	if (atomic_inc_return(&stp_errors) > STP_MAXERRORS)
		stp_request_error_exit();
}

/* NMI, IRQ, process. Commits the run's output as one record, reports its error as
 * "ERROR: <msg> at <where>\n" (more than STP_MAXERRORS failed runs end the session),
 * and frees the context. */
static inline void stp_context_exit(struct stp_context *c)
{
	if (c->printlen)
		stp_out_commit(c);
	if (unlikely(c->last_error))
		stp_context_report(c);
	atomic_set_release(&c->busy, 0);
}

/* NMI, IRQ, process. The current function's frame of locals. */
static inline void *stp_frame(struct stp_context *c)
{
	return c->frames + (size_t)c->nesting * c->frame_size;
}

/* NMI, IRQ, process. Records the run's error, "<message> near <where>" when where is not
 * NULL (the first error wins; later ones are dropped), and returns -1. A `catch` gets the
 * message alone (error_len), as SystemTap's does. */
static inline __printf(3, 0) int stp_verror(struct stp_context *c, const char *where,
					    const char *fmt, va_list ap)
{
	int n;

	if (c->last_error)
		return -1;
	n = vsnprintf(c->error_buf, sizeof(c->error_buf), fmt, ap);
	c->error_len = min_t(size_t, n < 0 ? 0 : n, sizeof(c->error_buf) - 1);
	if (where)
		snprintf(c->error_buf + c->error_len, sizeof(c->error_buf) - c->error_len,
			 " near %s", where);
	c->last_error = c->error_buf;
	return -1;
}

/* NMI, IRQ, process. stp_verror without a location, so that
 * `if (stp_error(c, ...)) goto out;` reads well. */
static inline __printf(2, 3) int stp_error(struct stp_context *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	stp_verror(c, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

/* NMI, IRQ, process. stp_verror with the script location the error happened near. */
static inline __printf(3, 4) int stp_error_near(struct stp_context *c, const char *where,
						const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	stp_verror(c, where, fmt, ap);
	va_end(ap);
	return -1;
}

/* NMI, IRQ, process. After a call whose error belongs to its caller (error(), marked
 * pragma:near): places a pending error that has no place yet near where, the call. Whether
 * an error is pending. */
static inline bool stp_failed_near(struct stp_context *c, const char *where)
{
	size_t n;

	if (likely(!c->last_error))
		return false;
	n = strnlen(c->error_buf, sizeof(c->error_buf));
	if (c->last_error == c->error_buf && n == c->error_len)
		snprintf(c->error_buf + n, sizeof(c->error_buf) - n, " near %s", where);
	return true;
}

/* NMI, IRQ, process. Reports a full array (a map or a statistics array), naming the limit
 * it reached (its declared size, or MAXMAPENTRIES); returns 1 so that generated code reads
 * `if (stp_map_set_long(m, ...) && stp_map_full(c, m, "arr", "f.stp:3:5")) goto stp_out;`. */
static inline int stp_map_full(struct stp_context *c, const struct stp_map *m, const char *array,
			       const char *where)
{
	if (m->sized)
		stp_error_near(c, where, "array %s is full (its declared size, %u)", array,
			       m->maxentries);
	else
		stp_error_near(c, where, "array %s is full (MAXMAPENTRIES=%u)", array, m->maxentries);
	return 1;
}

/* NMI, IRQ, process. The end of a `try` block reached through stp_out: 1 when an error is
 * pending and catchable (its message, without location and cut to a script string, goes to
 * msg unless msg is NULL; the error is cleared, so it neither prints nor counts toward
 * MAXERRORS), 0 otherwise: no error (`next`, `return`) or MAXACTION exceeded, which
 * SystemTap does not let a `try` catch either (the run has no actions left to handle it). */
static inline int stp_catch(struct stp_context *c, char *msg)
{
	size_t n;

	if (!c->last_error || c->actions > STP_MAXACTION)
		return 0;
	if (msg) {
		n = min_t(size_t, c->error_len, STP_MAXSTRINGLEN - 1);
		memcpy(msg, c->last_error, n);
		msg[n] = '\0';
	}
	c->last_error = NULL;
	return 1;
}

/* NMI, IRQ, process. Counts n statements; past STP_MAXACTION it sets the error and
 * returns -1 (the caller leaves the probe run), else 0. */
static inline int stp_count_actions(struct stp_context *c, unsigned long n)
{
	c->actions += n;
	if (unlikely(c->actions > STP_MAXACTION))
		return stp_error(c, "MAXACTION exceeded (more than %d statements in one probe run)",
				 STP_MAXACTION);
	return 0;
}

/* What one action stands for in the runtime's own loops (sorting, clearing an array):
 * this many steps (slots visited, comparisons), about the time of a statement. */
#define STP_WORK_PER_ACTION 16

/* NMI, IRQ, process. Charges the work a runtime loop is about to do (steps, an upper
 * bound), one action per STP_WORK_PER_ACTION steps; past STP_MAXACTION it sets the error
 * (naming what, a C string) and returns -1, and the caller leaves before the loop runs:
 * so a probe's time stays bounded by MAXACTION however large its arrays. */
static inline int stp_count_work(struct stp_context *c, unsigned long steps, const char *what)
{
	unsigned long n = steps / STP_WORK_PER_ACTION + (steps % STP_WORK_PER_ACTION != 0);

	c->actions += n;
	if (unlikely(c->actions > STP_MAXACTION))
		return stp_error(c, "MAXACTION exceeded (%s: %lu steps, more than the %d actions of one probe run allow)",
				 what, steps, STP_MAXACTION);
	return 0;
}

#endif /* STP_CONTEXT_H */
