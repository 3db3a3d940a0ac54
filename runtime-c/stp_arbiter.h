/* stp_arbiter.h - the life of the script's watchpoints: which of them hold a debug
 * register, which wait for one, and the ordered queue through which probes arm and
 * disarm them.
 *
 * A watchpoint declaration (struct stp_wdecl) is a start-up watch (`probe kernel.data(...)`,
 * armed at module load) or a named one (`probe NAME = kernel.data(...)`, armed by `enable`).
 * Each has instances (struct stp_winst): its one fixed instance, or, for a parametric
 * watchpoint (`probe NAME(loc) = kernel.data(loc)...`), one per address, taken from a
 * pool of STP_MAXWATCHINSTANCES.
 *
 * An instance is IDLE (disarmed), WAITING (enabled `later`, or preempted: armed as soon as
 * a slot frees) or ARMED. Registering sleeps, so every change of state happens in process
 * context, on the session's ordered workqueue (the "worker"): probes in any context only
 * append a request to a bounded queue (stp_watch_request), in the order they make them,
 * and kick the worker through irq_work. The worker runs the sub-probes (.begin, .end,
 * .unavailable) one at a time, in request order.
 *
 * Hits are gated per instance by `gate` = (generation << 1) | live: a hit handler reports
 * only while live is set. The worker sets live after the instance's .begin returned, and
 * only if no disable was requested since the enable it is acting on (the generation); a
 * disable request bumps the generation at once, so no hit is reported from the moment
 * `disable` runs, although the unregistration happens later. Live is cleared before a
 * registration is dropped, so no hit is reported once .end started.
 *
 * Locking: stp_arb_lock (a bounded trylock, stp_lock.h) guards the request queue, the
 * pool's `used`/`refs` and `stp_arb_closed`. Everything else is the worker's alone.
 *
 * A module whose watchpoints are all start-up ones without an on-the-fly condition never
 * arms or disarms one after load: nothing is ever queued, nothing waits, nothing is
 * preempted. The translator then defines STP_WATCH_QUEUE to 0 and the queue, the worker
 * and the pool are left out: they were a third of the code gcc compiled for such a module.
 * Likewise STP_WATCH_SUBS 0 when no watchpoint has a sub-probe (.begin, .end, .unavailable).
 */
#ifndef STP_ARBITER_H
#define STP_ARBITER_H

#ifndef STP_WATCH_QUEUE
#define STP_WATCH_QUEUE 1	/* 0: no request is ever made (see above) */
#endif
#ifndef STP_WATCH_SUBS
#define STP_WATCH_SUBS 1	/* 0: no watchpoint has a sub-probe */
#endif
/* Pool instances the loops below look at: none without requests (only enable takes one). */
#define STP_WINST_POOL (STP_WATCH_QUEUE ? STP_MAXWATCHINSTANCES : 0)

enum { STP_W_IDLE = 0, STP_W_WAITING, STP_W_ARMED };
enum { STP_SUB_BEGIN = 0, STP_SUB_END, STP_SUB_UNAVAILABLE };
enum { STP_REQ_ENABLE = 0, STP_REQ_ENABLE_LATER, STP_REQ_DISABLE, STP_REQ_DISABLE_ALL };

struct stp_wdecl;

struct stp_winst {
	struct stp_wdecl *decl;
	unsigned long addr;
	struct perf_event * __percpu *bp;	/* non-NULL while registered */
	atomic_t gate;				/* (generation << 1) | live */
	atomic64_t last;			/* .change: the value after the last write seen */
	/* The worker's alone: */
	int state;				/* STP_W_* */
	unsigned int want_gen;			/* generation of the enable being acted on */
	u64 seq;				/* when armed (ARMED) or when it began waiting */
	char end_reason[80];
	/* Under stp_arb_lock (parametric instances only): */
	int refs;				/* queued requests that name it */
	bool used;				/* pool slot taken */
};

struct stp_wdecl {
	const char *name;		/* NAME, or the point text of a start-up watch */
	unsigned long addr;		/* fixed address (0 for parametric, or a missing symbol) */
	int len, type, priority;
	bool parametric, startup, has_unavailable, change, symbol_missing;
	bool optional;		/* start-up, marked `?`/`!`: left out (a NOTE) if it cannot be armed */
	perf_overflow_handler_t handler;	/* NMI; overflow_handler_context is the instance */
	/* Process. Runs the probes attached to one sub-probe kind, in script order; NULL
	 * when the watchpoint has no sub-probe. */
	void (*sub)(struct stp_winst *w, int kind, const char *reason);
	struct stp_winst fixed;		/* the instance of a watchpoint without parameter */
	int startup_err, startup_why;	/* start-up: why arming at load failed */
	bool held_off;			/* start-up, conditional: its condition was false at load */
};

struct stp_wreq {
	int op;
	struct stp_wdecl *decl;
	struct stp_winst *inst;		/* NULL for STP_REQ_DISABLE_ALL */
	unsigned int gen;
	const char *where;		/* the script location of the enable/disable */
};

static struct stp_wdecl *stp_wdecls;
static int stp_nwdecls;
static struct stp_winst stp_winst_pool[STP_MAXWATCHINSTANCES];
static bool stp_arb_started;		/* start-up sub-probes ran: sub-probes may run */
static u64 stp_arb_seq;
#if STP_WATCH_QUEUE
static stp_rwlock_t stp_arb_lock = STP_RWLOCK_INIT;
static struct stp_wreq stp_wreqs[STP_MAXWATCHREQUESTS];
static unsigned int stp_wreq_head, stp_wreq_count;
static bool stp_arb_closed;		/* the session is ending: requests are dropped */
static atomic_t stp_cond_dirty = ATOMIC_INIT(0);	/* a condition may have changed */
static void (*stp_arb_conds_fn)(void);	/* generated: re-evaluates and applies them */

static void stp_arb_irq_fn(struct irq_work *iw);
static void stp_arb_work_fn(struct work_struct *work);
static void stp_arb_retry_fn(struct work_struct *work);
static struct irq_work stp_arb_iw = IRQ_WORK_INIT(stp_arb_irq_fn);
static DECLARE_WORK(stp_arb_work, stp_arb_work_fn);
static DECLARE_DELAYED_WORK(stp_arb_retry, stp_arb_retry_fn);
#endif

/* Process (worker). Runs w's sub-probes of one kind, if it has any. */
static inline void stp_arb_sub(struct stp_winst *w, int kind, const char *reason)
{
	if (STP_WATCH_SUBS && w->decl->sub)
		w->decl->sub(w, kind, reason);
}

/* NMI, IRQ, process. The instance a hit handler was called for. */
static inline struct stp_winst *stp_winst_of(struct perf_event *bp)
{
	return bp->overflow_handler_context;
}

/* NMI, IRQ, process. Whether hits of this instance are reported. */
static inline bool stp_winst_live(struct stp_winst *w)
{
	return atomic_read_acquire(&w->gate) & 1;
}

/* NMI (a hit probe's body, once it holds its locks). Whether this is a hit of an instance
 * disabled since its handler checked the gate: by the probe that held those locks before
 * it. False in sub-probes (no regs) and in other probes (no watch). */
static inline bool stp_hit_disabled(const struct stp_context *c)
{
	return c->watch && c->regs && !(atomic_read_acquire(&c->watch->gate) & 1);
}

/* NMI, IRQ, process. The watched bytes now, zero-extended (0 if unreadable). */
static inline int64_t stp_winst_read(const struct stp_winst *w)
{
	u64 v = 0;

	switch (w->decl->len) {
	case 1: { u8 x; if (!copy_from_kernel_nofault(&x, (void *)w->addr, 1)) v = x; break; }
	case 2: { u16 x; if (!copy_from_kernel_nofault(&x, (void *)w->addr, 2)) v = x; break; }
	case 4: { u32 x; if (!copy_from_kernel_nofault(&x, (void *)w->addr, 4)) v = x; break; }
	case 8: { u64 x; if (!copy_from_kernel_nofault(&x, (void *)w->addr, 8)) v = x; break; }
#ifdef CONFIG_ARM64
	default: {	/* 3, 5, 6 or 7 bytes: little-endian, so the low bytes of a u64 */
		u64 x = 0;

		if (!copy_from_kernel_nofault(&x, (void *)w->addr, w->decl->len))
			v = x;
		break;
	}
#endif
	}
	return (int64_t)v;
}

#ifdef CONFIG_ARM64	/* stp_hwbp_arm64.h */
static inline bool stp_a64_hit_value(const struct stp_winst *w, int64_t *v);
static inline void stp_a64_report(void);
static void stp_a64_hook_put(void);
#endif

/* NMI. The watched bytes after the access being reported: read them (x86 traps after it),
 * or what arm64's hook computed (it traps before). */
static inline int64_t stp_winst_after(struct stp_winst *w)
{
#ifdef CONFIG_ARM64
	int64_t v;

	if (stp_a64_hit_value(w, &v))
		return v;
#endif
	return stp_winst_read(w);
}

/* NMI. For .change: whether the write that trapped changed the value; *old is the value
 * before it. Writes on several CPUs at once each see the value the one before left. */
static inline bool stp_winst_changed(struct stp_winst *w, int64_t *old)
{
	int64_t now = stp_winst_after(w);

	*old = atomic64_xchg(&w->last, now);
	return *old != now;
}

/* NMI, IRQ, process. No hit of w is reported from now on; a later enable is needed. */
static inline void stp_winst_kill(struct stp_winst *w)
{
	int o;

	do {
		o = atomic_read(&w->gate);
	} while (atomic_cmpxchg(&w->gate, o, (o | 1) + 1) != o);
}

/* Process (worker). Every instance in use, for the loops below. */
#define stp_arb_for_each(w, i)							\
	for ((i) = 0; (i) < stp_nwdecls + STP_WINST_POOL; (i)++)	\
		if (((w) = (i) < stp_nwdecls ?					\
			(stp_wdecls[i].parametric ? NULL : &stp_wdecls[i].fixed) :	\
			(stp_winst_pool[(i) - stp_nwdecls].used ?		\
			 &stp_winst_pool[(i) - stp_nwdecls] : NULL)))

/* Process (worker). Drops the registration; no hit is reported from before this. */
static inline void stp_arb_unregister(struct stp_winst *w)
{
	atomic_andnot(1, &w->gate);
	stp_watch_unregister(&w->bp);
}

/* Process (worker). Disarms w (its .end runs with reason) or stops its waiting. True if a
 * slot was freed. */
static inline bool stp_arb_release(struct stp_winst *w, const char *reason)
{
	int was = w->state;

	w->state = STP_W_IDLE;
	if (was != STP_W_ARMED)
		return false;
	stp_arb_unregister(w);
	if (STP_WATCH_SUBS) {
		strscpy(w->end_reason, reason, sizeof(w->end_reason));
		stp_arb_sub(w, STP_SUB_END, w->end_reason);
	}
	return true;
}

#if STP_WATCH_QUEUE

/* Under stp_arb_lock. The pool instance of d at addr, taking a free slot for it if create. */
static inline struct stp_winst *stp_winst_find(struct stp_wdecl *d, unsigned long addr,
					       bool create)
{
	struct stp_winst *free = NULL;
	int i;

	for (i = 0; i < STP_MAXWATCHINSTANCES; i++) {
		struct stp_winst *w = &stp_winst_pool[i];

		if (w->used && w->decl == d && w->addr == addr)
			return w;
		if (!w->used && !free)
			free = w;
	}
	if (!create || !free)
		return NULL;
	free->used = true;
	free->decl = d;
	free->addr = addr;
	free->refs = 0;
	return free;
}

/* Under stp_arb_lock. Whether a request op of w, made since w's last disable, is queued
 * (at most STP_MAXWATCHREQUESTS entries to look at). */
static inline bool stp_wreq_pending(struct stp_winst *w, int op)
{
	unsigned int gen = (unsigned int)atomic_read(&w->gate) >> 1;
	unsigned int i;

	for (i = 0; i < stp_wreq_count; i++) {
		struct stp_wreq *q = &stp_wreqs[(stp_wreq_head + i) % STP_MAXWATCHREQUESTS];

		if (q->inst == w && q->op == op && q->gen == gen)
			return true;
	}
	return false;
}

/* NMI, IRQ, process. Queues `enable` (op STP_REQ_ENABLE or _LATER) or `disable`
 * (STP_REQ_DISABLE, or STP_REQ_DISABLE_ALL for every instance) of d; arg is the address of
 * a parametric watchpoint. A disable takes effect on hits at once. Returns 0, or -1 with
 * the probe's error set when a limit is exceeded. Requests made while the session ends
 * are dropped. */
static inline int stp_watch_request(struct stp_context *c, struct stp_wdecl *d, int op,
				    int64_t arg, const char *where)
{
	struct stp_winst *w = NULL;
	struct stp_wreq *r;
	int i, err = 0;
	bool kick = false;

	if (!stp_write_trylock(&stp_arb_lock))
		return stp_error_near(c, where, "watchpoint request queue busy");
	if (stp_arb_closed)
		goto out;
	if (stp_wreq_count >= STP_MAXWATCHREQUESTS) {
		err = stp_error_near(c, where, "too many watchpoint requests not yet done (MAXWATCHREQUESTS=%d)",
				     STP_MAXWATCHREQUESTS);
		goto out;
	}
	if (op == STP_REQ_DISABLE_ALL) {
		if (!d->parametric)
			stp_winst_kill(&d->fixed);
		for (i = 0; i < STP_MAXWATCHINSTANCES; i++)
			if (stp_winst_pool[i].used && stp_winst_pool[i].decl == d)
				stp_winst_kill(&stp_winst_pool[i]);
	} else {
		if (!d->parametric) {
			w = &d->fixed;
		} else {
			w = stp_winst_find(d, (unsigned long)arg, op != STP_REQ_DISABLE);
			if (!w && op == STP_REQ_DISABLE)
				goto out;	/* never enabled: nothing to disable */
			if (!w) {
				err = stp_error_near(c, where, "too many watchpoint instances (MAXWATCHINSTANCES=%d) enabling %s(0x%llx)",
						     STP_MAXWATCHINSTANCES, d->name,
						     (unsigned long long)arg);
				goto out;
			}
			w->refs++;
		}
		if (op == STP_REQ_DISABLE) {
			stp_winst_kill(w);
		} else if (stp_wreq_pending(w, op)) {
			/* The same enable of the same instance is queued and no disable came
			 * since: this one would do nothing more. A function probe that enables
			 * w(pointer_arg(1)) on every call while the first enable registers
			 * (tens of milliseconds) would otherwise fill the queue. */
			if (d->parametric)
				w->refs--;
			goto out;
		}
	}
	r = &stp_wreqs[(stp_wreq_head + stp_wreq_count) % STP_MAXWATCHREQUESTS];
	r->op = op;
	r->decl = d;
	r->inst = w;
	r->gen = w ? (unsigned int)atomic_read(&w->gate) >> 1 : 0;
	r->where = where;
	stp_wreq_count++;
	kick = true;
out:
	stp_write_unlock(&stp_arb_lock);
	if (kick)
		irq_work_queue(&stp_arb_iw);
	return err;
}

/* NMI, IRQ, process. A probe wrote a global that an on-the-fly condition reads: the worker
 * re-evaluates the conditions and arms or disarms what they guard. */
static inline void stp_cond_kick(void)
{
	if (!atomic_read(&stp_cond_dirty) && !atomic_xchg(&stp_cond_dirty, 1))
		irq_work_queue(&stp_arb_iw);
}

/* IRQ (irq_work). */
static void stp_arb_irq_fn(struct irq_work *iw)
{
	if (stp_wq)
		queue_work(stp_wq, &stp_arb_work);
}

/* Process. Takes stp_arb_lock with interrupts off: only probes on other CPUs (bounded
 * bodies) or an NMI here (which gives up after its bounded tries) can hold it. */
static inline unsigned long stp_arb_lock_irqsave(void)
{
	unsigned long flags;

	local_irq_save(flags);
	while (!stp_write_trylock(&stp_arb_lock))
		cpu_relax();
	return flags;
}

static inline void stp_arb_unlock_irqrestore(unsigned long flags)
{
	stp_write_unlock(&stp_arb_lock);
	local_irq_restore(flags);
}

/* Process (worker). Whether the worker may still arm anything: not once the session
 * ends (exit() or an error requested it), even before the shutdown function runs. */
static inline bool stp_arb_open(void)
{
	return !stp_arb_closed && stp_session_get_state() < STP_STOPPING;
}

/* Process (worker). A request that is done no longer holds its instance. */
static inline void stp_arb_put(struct stp_winst *w)
{
	unsigned long flags;

	if (!w || !w->decl->parametric)
		return;
	flags = stp_arb_lock_irqsave();
	if (w->refs > 0)
		w->refs--;
	stp_arb_unlock_irqrestore(flags);
}

/* Process (worker). Parametric instances that are idle and named by no queued request go
 * back to the pool. */
static inline void stp_arb_gc(void)
{
	unsigned long flags;
	int i;

	flags = stp_arb_lock_irqsave();
	for (i = 0; i < STP_MAXWATCHINSTANCES; i++) {
		struct stp_winst *w = &stp_winst_pool[i];

		if (w->used && !w->refs && w->state == STP_W_IDLE && !w->bp)
			w->used = false;
	}
	stp_arb_unlock_irqrestore(flags);
}

/* Process (worker). The armed instance to preempt for one of priority prio: the lowest
 * priority below prio, the one armed last among equals; NULL if none. */
static inline struct stp_winst *stp_arb_victim(int prio)
{
	struct stp_winst *w, *best = NULL;
	int i;

	stp_arb_for_each(w, i) {
		if (w->state != STP_W_ARMED || w->decl->priority >= prio)
			continue;
		if (!best || w->decl->priority < best->decl->priority ||
		    (w->decl->priority == best->decl->priority && w->seq > best->seq))
			best = w;
	}
	return best;
}

/* Process (worker). The waiting instance that gets the next free slot: the highest
 * priority, the one waiting longest among equals; NULL if none waits. */
static inline struct stp_winst *stp_arb_next_waiting(void)
{
	struct stp_winst *w, *best = NULL;
	int i;

	stp_arb_for_each(w, i) {
		if (w->state != STP_W_WAITING)
			continue;
		if (!best || w->decl->priority > best->decl->priority ||
		    (w->decl->priority == best->decl->priority && w->seq < best->seq))
			best = w;
	}
	return best;
}

/* Process (worker). Retries waiting instances in STP_WATCHRETRYMS while any waits. */
static inline void stp_arb_kick_retry(void)
{
	if (stp_arb_open() && stp_wq)
		queue_delayed_work(stp_wq, &stp_arb_retry, msecs_to_jiffies(STP_WATCHRETRYMS));
}

/* Process (worker). Preempts v for an instance of watchpoint `by`: v is disarmed, waits
 * again as if enabled `later`, and its .end runs. */
static inline void stp_arb_preempt(struct stp_winst *v, const char *by)
{
	stp_arb_unregister(v);
	v->state = STP_W_WAITING;
	v->seq = ++stp_arb_seq;
	snprintf(v->end_reason, sizeof(v->end_reason), "preempted by %s", by);
	stp_arb_sub(v, STP_SUB_END, v->end_reason);
	stp_arb_kick_retry();
}

/* Process (worker). Tries to arm w now, preempting armed instances of lower priority when
 * no slot is free. On success w is ARMED, its .begin has run and its hits are live (unless
 * a disable came meanwhile). Else a negative errno, with *why an STP_WHY_* or 0. */
static inline int stp_arb_try_arm(struct stp_winst *w, int *why)
{
	struct stp_wdecl *d = w->decl;
	struct stp_winst *v;
	int err;

	*why = d->symbol_missing ? STP_WHY_SYMBOL : stp_watch_check(w->addr, d->len);
	if (*why)
		return *why == STP_WHY_SYMBOL ? -ENOENT : -EINVAL;
	for (;;) {
		err = stp_watch_register(w->addr, d->len, d->type, d->handler, w, &w->bp);
		if (!err)
			break;
		v = err == -ENOSPC ? stp_arb_victim(d->priority) : NULL;
		if (!v)
			return err;
		stp_arb_preempt(v, d->name);
	}
	w->state = STP_W_ARMED;
	w->seq = ++stp_arb_seq;
	if (d->change)
		atomic64_set(&w->last, stp_winst_read(w));
	stp_arb_sub(w, STP_SUB_BEGIN, NULL);
	atomic_cmpxchg_release(&w->gate, w->want_gen << 1, (w->want_gen << 1) | 1);
	return 0;
}

/* Process (worker). w could not be armed, for a reason waiting cannot cure: its
 * .unavailable runs, or without one the session stops with an error. */
static inline void stp_arb_unavailable(struct stp_winst *w, int err, int why, const char *where)
{
	struct stp_wdecl *d = w->decl;
	const char *reason = stp_watch_reason(err, why);

	w->state = STP_W_IDLE;
	if (d->has_unavailable) {
		stp_arb_sub(w, STP_SUB_UNAVAILABLE, reason);
		return;
	}
	if (d->optional) {
		stp_out_diag("NOTE: optional probe %s left out: %s\n", d->name, reason);
		return;
	}
	if (d->parametric)
		stp_out_diag("ERROR: cannot enable %s(0x%lx): %s%s%s\n", d->name, w->addr, reason,
			     where ? " near " : "", where ? where : "");
	else
		stp_out_diag("ERROR: cannot enable %s: %s%s%s\n", d->name, reason,
			     where ? " near " : "", where ? where : "");
	atomic_inc(&stp_errors);
	stp_request_exit();
}

/* Process (worker). Gives free slots to waiting instances, best first. */
static inline void stp_arb_fill(void)
{
	struct stp_winst *w;
	int err, why;

	while (stp_arb_open() && (w = stp_arb_next_waiting())) {
		err = stp_arb_try_arm(w, &why);
		if (err == -ENOSPC)
			break;
		if (err)
			stp_arb_unavailable(w, err, why, NULL);
	}
	stp_arb_gc();
	if (stp_arb_next_waiting())
		stp_arb_kick_retry();
}

/* Process (worker). Does one request. */
static inline void stp_arb_do(struct stp_wreq *r)
{
	struct stp_winst *w = r->inst;
	int i, err, why;
	bool freed = false;

	switch (r->op) {
	case STP_REQ_ENABLE:
	case STP_REQ_ENABLE_LATER:
		if (w->state == STP_W_ARMED)
			break;
		w->want_gen = r->gen;
		if (w->state == STP_W_WAITING && r->op == STP_REQ_ENABLE_LATER)
			break;
		err = stp_arb_try_arm(w, &why);
		if (!err)
			break;
		if (err == -ENOSPC && (r->op == STP_REQ_ENABLE_LATER || w->state == STP_W_WAITING)) {
			if (w->state != STP_W_WAITING) {
				w->state = STP_W_WAITING;
				w->seq = ++stp_arb_seq;
			}
			stp_arb_kick_retry();
			break;
		}
		stp_arb_unavailable(w, err, why, r->where);
		break;
	case STP_REQ_DISABLE:
		freed = stp_arb_release(w, "disabled");
		break;
	case STP_REQ_DISABLE_ALL:
		stp_arb_for_each(w, i)
			if (w->decl == r->decl)
				freed |= stp_arb_release(w, "disabled");
		break;
	}
	if (freed)
		stp_arb_fill();
}

/* Process (worker). A conditional start-up watchpoint's condition says whether it should
 * be armed: when it turns true it is armed as if enabled `later` (its .begin runs when it
 * is), when it turns false it is disarmed (its .end runs, "disabled") or stops waiting, and
 * its debug register is free for others meanwhile. */
static inline void stp_arb_want(struct stp_wdecl *d, bool on)
{
	struct stp_winst *w = &d->fixed;
	int err, why;

	if (!stp_arb_open())
		return;
	if (on && w->state == STP_W_IDLE) {
		w->want_gen = (unsigned int)atomic_read(&w->gate) >> 1;
		err = stp_arb_try_arm(w, &why);
		if (err == -ENOSPC) {
			w->state = STP_W_WAITING;
			w->seq = ++stp_arb_seq;
			stp_arb_kick_retry();
		} else if (err) {
			stp_arb_unavailable(w, err, why, NULL);
		}
	} else if (!on && w->state != STP_W_IDLE) {
		stp_winst_kill(w);
		if (stp_arb_release(w, "disabled"))
			stp_arb_fill();
	}
}

/* Process (worker; may sleep). Does every queued request, in order; requests made meanwhile
 * (by the sub-probes it runs, or by probes elsewhere) are done in the same call, which ends
 * when none is left or the session is ending. */
static inline void stp_arbiter_drain(void)
{
	struct stp_wreq r;
	unsigned long flags;

	for (;;) {
		if (atomic_read(&stp_cond_dirty) && stp_arb_conds_fn && stp_arb_open()) {
			atomic_set(&stp_cond_dirty, 0);
			stp_arb_conds_fn();
		}
		flags = stp_arb_lock_irqsave();
		if (!stp_wreq_count || !stp_arb_open()) {
			stp_arb_unlock_irqrestore(flags);
			stp_arb_gc();
			return;
		}
		r = stp_wreqs[stp_wreq_head];
		stp_wreq_head = (stp_wreq_head + 1) % STP_MAXWATCHREQUESTS;
		stp_wreq_count--;
		stp_arb_unlock_irqrestore(flags);
		if (stp_arb_started)
			stp_arb_do(&r);
		stp_arb_put(r.inst);
		/* Sub-probes may queue requests without end (a .begin that disables and
		 * enables its own watchpoint): each one gives way, so that this CPU's other
		 * tasks run and RCU sees a quiescent state (perf frees a released event after
		 * a grace period) even on a kernel without preemption. */
		cond_resched();
	}
}

/* Process (session workqueue). */
static void stp_arb_work_fn(struct work_struct *work)
{
	/* Requests made before the session started wait for stp_arbiter_start's drain. */
	if (stp_arb_started)
		stp_arbiter_drain();
}

/* Process (session workqueue). */
static void stp_arb_retry_fn(struct work_struct *work)
{
	stp_arb_fill();
}
#else
/* Nothing is queued: nothing to do. */
static inline void stp_arbiter_drain(void)
{
}
#endif /* STP_WATCH_QUEUE */

static int stp_arb_cpuhp = -1;		/* our dynamic CPU hotplug state */

/* Every instance that may hold a registration (NULL entries skipped by the callers). */
static inline struct stp_winst *stp_arb_nth(int i)
{
	if (i < stp_nwdecls)
		return &stp_wdecls[i].fixed;
	return &stp_winst_pool[i - stp_nwdecls];
}

/* Process (the CPU hotplug thread, with the hotplug lock held for writing, so no
 * registration is published or withdrawn meanwhile). A CPU came online: give it every
 * armed watchpoint. One that cannot be armed there is reported, never dropped in silence. */
static int stp_arb_cpu_online(unsigned int cpu)
{
	struct perf_event_attr attr;
	struct perf_event *ev;
	struct stp_winst *w;
	int i;

	for (i = 0; i < stp_nwdecls + STP_WINST_POOL; i++) {
		w = stp_arb_nth(i);
		if (!w->bp || per_cpu(*w->bp, cpu))
			continue;
		if (stp_watch_attr(&attr, w->addr, w->decl->len, w->decl->type))
			continue;
		ev = stp_watch_create(&attr, cpu, w->decl->handler, w);
		if (IS_ERR(ev)) {
			stp_out_diag("WARNING: %s is not armed on CPU %u, which came online: %s; accesses on that CPU are not reported\n",
				     w->decl->name, cpu, stp_watch_reason(PTR_ERR(ev), 0));
			continue;
		}
		per_cpu(*w->bp, cpu) = ev;
	}
	return 0;
}

/* Process (the CPU hotplug thread, hotplug lock held for writing). A CPU goes offline: its
 * events are released, so no debug register stays taken for a CPU that is gone. */
static int stp_arb_cpu_offline(unsigned int cpu)
{
	struct perf_event *ev;
	struct stp_winst *w;
	int i;

	for (i = 0; i < stp_nwdecls + STP_WINST_POOL; i++) {
		w = stp_arb_nth(i);
		if (!w->bp)
			continue;
		ev = per_cpu(*w->bp, cpu);
		per_cpu(*w->bp, cpu) = NULL;
		if (ev)
			unregister_hw_breakpoint(ev);
	}
	return 0;
}

/* Process (module init). Links the declarations and arms the start-up watchpoints in
 * order. One that cannot be armed and has no .unavailable fails the load: every one armed
 * here is disarmed again, the error is printed and its negative errno returned. */
static inline int stp_arbiter_init(struct stp_wdecl *decls, int n)
{
	struct stp_wdecl *d;
	int i, j, err, why;

	stp_wdecls = decls;
	stp_nwdecls = n;
	for (i = 0; i < n; i++) {
		decls[i].fixed.decl = &decls[i];
		decls[i].fixed.addr = decls[i].addr;
	}
	err = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "stp_hwbp:watch",
					stp_arb_cpu_online, stp_arb_cpu_offline);
	if (err < 0) {
		stp_out_diag("ERROR: cannot follow CPU hotplug (errno %d)\n", -err);
		pr_err("%s: cannot register CPU hotplug callbacks (errno %d)\n", KBUILD_MODNAME, -err);
		return err;
	}
	stp_arb_cpuhp = err;
	for (i = 0; i < n; i++) {
		d = &decls[i];
		if (!d->startup || d->held_off)
			continue;
		why = d->symbol_missing ? STP_WHY_SYMBOL : stp_watch_check(d->addr, d->len);
		err = why == STP_WHY_SYMBOL ? -ENOENT : -EINVAL;
		if (!why) {
			err = stp_watch_register(d->addr, d->len, d->type, d->handler, &d->fixed,
						 &d->fixed.bp);
			if (!err) {
				d->fixed.state = STP_W_ARMED;
				d->fixed.seq = ++stp_arb_seq;
				if (d->change)
					atomic64_set(&d->fixed.last, stp_winst_read(&d->fixed));
				continue;
			}
		}
		d->startup_err = err;
		d->startup_why = why;
		if (d->has_unavailable || d->optional)
			continue;
		stp_out_diag("ERROR: cannot arm %s: %s\n", d->name, stp_watch_reason(err, why));
		pr_err("%s: cannot arm %s: %s\n", KBUILD_MODNAME, d->name,
		       stp_watch_reason(err, why));
		for (j = 0; j < i; j++) {
			stp_arb_unregister(&decls[j].fixed);
			decls[j].fixed.state = STP_W_IDLE;
		}
		return err;
	}
	return 0;
}

/* Process (the start callback, on the session workqueue, before the begin probes). Runs
 * each start-up watchpoint's .begin (armed; its hits are live after it) or .unavailable,
 * in script order. */
static inline void stp_arbiter_start(void)
{
	struct stp_wdecl *d;
	int i;

	stp_arb_started = true;
	for (i = 0; i < stp_nwdecls; i++) {
		d = &stp_wdecls[i];
		if (!d->startup)
			continue;
		if (d->fixed.state == STP_W_ARMED) {
			stp_arb_sub(&d->fixed, STP_SUB_BEGIN, NULL);
			atomic_cmpxchg_release(&d->fixed.gate, 0, 1);
		} else if (d->startup_err) {
			const char *reason = stp_watch_reason(d->startup_err, d->startup_why);

			if (d->optional && !d->has_unavailable)
				stp_out_diag("NOTE: optional probe %s left out: %s\n", d->name, reason);
			stp_arb_sub(&d->fixed, STP_SUB_UNAVAILABLE, reason);
		}
	}
	stp_arbiter_drain();	/* what those sub-probes asked for */
}

/* Process (the shutdown function, on the session workqueue). Drops queued requests and
 * waiting instances first (nothing is armed while the session ends), then disarms the
 * armed ones in the order they were armed, running each .end ("session end") if the
 * session had started. */
static inline void stp_arbiter_shutdown(void)
{
	struct stp_winst *w, *first;
	int i;
#if STP_WATCH_QUEUE
	unsigned long flags;

	flags = stp_arb_lock_irqsave();
	stp_arb_closed = true;
	while (stp_wreq_count) {
		struct stp_winst *q = stp_wreqs[stp_wreq_head].inst;

		if (q && q->decl->parametric && q->refs > 0)
			q->refs--;
		stp_wreq_head = (stp_wreq_head + 1) % STP_MAXWATCHREQUESTS;
		stp_wreq_count--;
	}
	stp_arb_unlock_irqrestore(flags);
	cancel_delayed_work(&stp_arb_retry);
	stp_arb_for_each(w, i)
		if (w->state == STP_W_WAITING)
			w->state = STP_W_IDLE;
#endif
	for (;;) {
		first = NULL;
		stp_arb_for_each(w, i)
			if (w->state == STP_W_ARMED && (!first || w->seq < first->seq))
				first = w;
		if (!first)
			break;
		if (stp_arb_started) {
			stp_arb_release(first, "session end");
		} else {
			first->state = STP_W_IDLE;
			stp_arb_unregister(first);
		}
	}
#if STP_WATCH_QUEUE
	stp_arb_gc();
#endif
#ifdef CONFIG_ARM64
	stp_a64_report();
#endif
}

/* Process (module exit, after the session stopped, before its workqueue is destroyed).
 * Waits for queued work and drops any registration left. */
static inline void stp_arbiter_exit(void)
{
	struct stp_winst *w;
	int i;

#if STP_WATCH_QUEUE
	stp_arb_closed = true;
	irq_work_sync(&stp_arb_iw);
	cancel_work_sync(&stp_arb_work);
	cancel_delayed_work_sync(&stp_arb_retry);
#endif
	if (stp_arb_cpuhp >= 0)
		cpuhp_remove_state_nocalls(stp_arb_cpuhp);
	stp_arb_cpuhp = -1;
	stp_arb_for_each(w, i)
		stp_arb_unregister(w);
#ifdef CONFIG_ARM64
	stp_a64_hook_put();	/* after the last watchpoint: no hit can need it any more */
#endif
}

#endif /* STP_ARBITER_H */
