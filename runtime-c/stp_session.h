/* stp_session.h - the life of one script run, and the only way it ends.
 *
 *   STARTING --(start callback armed everything)--> RUNNING
 *   STARTING/RUNNING --stp_request_exit()--> STOPPING --shutdown work--> STOPPED
 *
 * stp_request_exit() may be called from anything (a hit handler, a timer, the ctl file,
 * the reader going away, module exit); the first call wins and hops NMI -> irq_work ->
 * an ordered workqueue, where the generated shutdown function runs exactly once in
 * process context. The same ordered workqueue runs the start callback (on the first
 * open of the `out` file), so start and shutdown never overlap. After the shutdown
 * function the runtime emits the end-of-session warnings and sets STOPPED, which lets
 * the reader see EOF once it has drained the rings.
 */
#ifndef STP_SESSION_H
#define STP_SESSION_H

enum { STP_STARTING = 0, STP_RUNNING = 1, STP_STOPPING = 2, STP_STOPPED = 3 };

static atomic_t stp_session_state = ATOMIC_INIT(STP_STARTING);
static atomic_t stp_errors = ATOMIC_INIT(0);	/* failed probe runs */
static atomic_t stp_skipped = ATOMIC_INIT(0);	/* probe runs not run (busy context, locks) */
/* The session ends because of errors: end probes are skipped, error probes run instead. */
static atomic_t stp_session_errored = ATOMIC_INIT(0);
static struct workqueue_struct *stp_wq;
static void (*stp_shutdown_fn)(struct work_struct *);
static void (*stp_start_fn)(void);
static bool stp_session_start_ran;

/* Defined in stp_output.h. */
static inline int stp_out_diag(const char *fmt, ...) __printf(1, 2);
static inline void stp_out_session_end(void);
static inline void stp_out_wake_reader(void);

static void stp_exit_irq_work_fn(struct irq_work *iw);
static void stp_shutdown_work_fn(struct work_struct *w);
static void stp_start_work_fn(struct work_struct *w);
static struct irq_work stp_exit_iw = IRQ_WORK_INIT(stp_exit_irq_work_fn);
static DECLARE_WORK(stp_shutdown_work, stp_shutdown_work_fn);
static DECLARE_WORK(stp_start_work, stp_start_work_fn);

/* NMI, IRQ, process. */
static inline int stp_session_get_state(void)
{
	return atomic_read_acquire(&stp_session_state);
}

/* NMI, IRQ, process. True while RUNNING: hit and timer handlers return at once otherwise. */
static inline bool stp_session_running(void)
{
	return atomic_read(&stp_session_state) == STP_RUNNING;
}

/* NMI, IRQ, process. Ends the session: STARTING/RUNNING -> STOPPING, once; the shutdown
 * happens later in process context. Later calls do nothing. */
static inline void stp_request_exit(void)
{
	int s;

	for (;;) {
		s = atomic_read(&stp_session_state);
		if (s != STP_STARTING && s != STP_RUNNING)
			return;
		if (atomic_cmpxchg(&stp_session_state, s, STP_STOPPING) == s)
			break;
	}
	irq_work_queue(&stp_exit_iw);
}

/* NMI, IRQ, process. Ends the session because of errors (more than MAXERRORS failed probe
 * runs, more than MAXSKIPPED skipped ones, probe overload): as SystemTap, the end probes are
 * skipped and the error probes run. Also when exit() came first but the shutdown has not run
 * the end probes yet, and during them (the rest of them are skipped). A now-or-fail enable
 * that fails (stp_arbiter.h) ends the session as exit() does: the end probes run. */
static inline void stp_request_error_exit(void)
{
	atomic_set(&stp_session_errored, 1);
	stp_request_exit();
}

/* NMI, IRQ, process. Whether stp_request_error_exit was called. */
static inline bool stp_session_has_errored(void)
{
	return atomic_read(&stp_session_errored) != 0;
}

/* IRQ (irq_work). */
static void stp_exit_irq_work_fn(struct irq_work *iw)
{
	queue_work(stp_wq ? stp_wq : system_wq, &stp_shutdown_work);
}

/* Process (session workqueue). */
static void stp_shutdown_work_fn(struct work_struct *w)
{
	if (stp_shutdown_fn)
		stp_shutdown_fn(w);
	stp_out_session_end();
	atomic_set_release(&stp_session_state, STP_STOPPED);
	stp_out_wake_reader();	/* now it may see EOF */
}

/* Process (session workqueue). */
static void stp_start_work_fn(struct work_struct *w)
{
	if (atomic_read(&stp_session_state) != STP_STARTING)
		return;
	stp_session_start_ran = true;
	if (stp_start_fn)
		stp_start_fn();
	else
		atomic_cmpxchg(&stp_session_state, STP_STARTING, STP_RUNNING);
}

/* Process. Called by the output code the first time a reader opens `out`. */
static inline void stp_session_attach(void)
{
	queue_work(stp_wq ? stp_wq : system_wq, &stp_start_work);
}

/* Process (the start callback). STARTING -> RUNNING; false if an exit was requested
 * meanwhile (the shutdown function follows on the same workqueue). */
static inline bool stp_session_set_running(void)
{
	return atomic_cmpxchg(&stp_session_state, STP_STARTING, STP_RUNNING) == STP_STARTING;
}

/* Process (shutdown function). True if the start callback was run (begin probes ran). */
static inline bool stp_session_was_started(void)
{
	return stp_session_start_ran;
}

/* Process (module init). shutdown_fn runs once in process context when the session ends;
 * it must disarm watchpoints, cancel timers and may run end probes. 0 or -ENOMEM. */
static inline int stp_session_init(void (*shutdown_fn)(struct work_struct *))
{
	stp_shutdown_fn = shutdown_fn;
	atomic_set(&stp_session_state, STP_STARTING);
	stp_wq = alloc_ordered_workqueue("stp_hwbp_%s", 0, KBUILD_MODNAME);
	return stp_wq ? 0 : -ENOMEM;
}

/* Process (module init). fn runs in process context (the session workqueue) the first
 * time a reader opens /proc/stp_hwbp/<name>/out: it runs begin probes, arms watchpoints
 * and timers, then calls stp_session_set_running(); on failure it calls stp_request_exit().
 * Without a callback the session goes RUNNING at that moment. */
static inline void stp_out_set_on_attach(void (*fn)(void))
{
	stp_start_fn = fn;
}

/* Process (module exit). Ends the session if still going and waits until the shutdown
 * function has run and the state is STOPPED. */
static inline void stp_session_stop(void)
{
	stp_request_exit();
	irq_work_sync(&stp_exit_iw);
	if (stp_wq)
		flush_workqueue(stp_wq);
	flush_work(&stp_shutdown_work);
}

/* Process (module exit, after stp_out_exit so no reader can queue work). */
static inline void stp_session_exit(void)
{
	stp_session_stop();
	if (stp_wq)
		destroy_workqueue(stp_wq);
	stp_wq = NULL;
}

/* NMI, IRQ, process. Counts a probe run that was not run (busy context, lock timeout);
 * more than STP_MAXSKIPPED end the session with an error (the error probes run, not the end
 * ones, as in SystemTap). */
static inline void stp_count_skipped(void)
{
	if (atomic_inc_return(&stp_skipped) == STP_MAXSKIPPED + 1) {
		stp_out_diag("ERROR: Skipped too many probes (%d), exiting\n", STP_MAXSKIPPED + 1);
		stp_request_error_exit();
	}
}

#endif /* STP_SESSION_H */
