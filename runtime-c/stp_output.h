/* stp_output.h - the output channel: per-CPU rings (stp_ring.h) read in sequence order
 * through /proc/stp_hwbp/<name>/out, plus /proc/stp_hwbp/<name>/ctl.
 *
 * Producers (any context, NMI included) append whole records and kick an irq_work that
 * wakes the blocked reader; nothing on the producer side sleeps, allocates or waits.
 * The reader side is ordinary process-context file code. The stream is plain text:
 * records are concatenated; a diagnostic record (ERROR:/WARNING:) always starts a line
 * (the reader inserts "\n" before it if the stream is mid-line). See docs/runtime-api.md.
 */
#ifndef STP_OUTPUT_H
#define STP_OUTPUT_H

#include "stp_procdir.h"
#include "stp_format.h"

static struct stp_rings stp_out_rings;
static DECLARE_WAIT_QUEUE_HEAD(stp_out_wq);
static DEFINE_MUTEX(stp_out_mutex);		/* serialises readers of `out` */
static atomic_t stp_out_readers = ATOMIC_INIT(0);	/* `out` is open (exclusive) */
static atomic_t stp_out_attached = ATOMIC_INIT(0);	/* `out` was opened once */
static char *stp_out_stage;		/* STP_RECMAX + 1 bytes: the record being read */
static size_t stp_out_stage_len, stp_out_stage_off;
static bool stp_out_at_line_start = true;
static pid_t stp_loader_pid;		/* stp_pid(): who opened `out` (the loader) */
static struct proc_dir_entry *stp_out_dir;

static void stp_out_irq_work_fn(struct irq_work *iw)
{
	wake_up_interruptible(&stp_out_wq);
}
static struct irq_work stp_out_iw = IRQ_WORK_INIT(stp_out_irq_work_fn);

/* NMI, IRQ, process. Payload bytes dropped so far (full rings, contended rings). */
static inline int64_t stp_lost_bytes(void)
{
	return atomic64_read(&stp_out_rings.lost_bytes);
}

/* NMI, IRQ, process. */
static inline void stp_out_kick(void)
{
	irq_work_queue(&stp_out_iw);
}

/* Process. */
static inline void stp_out_wake_reader(void)
{
	wake_up_interruptible(&stp_out_wq);
}

/* NMI, IRQ, process. Appends len bytes of script output as one record (split if longer
 * than STP_RECMAX). 0, or a negative errno when (part of) it was dropped. */
static inline int stp_out_write(const char *p, size_t len)
{
	int ret;

	if (!len)
		return 0;
	ret = stp_rings_write(&stp_out_rings, raw_smp_processor_id(), p, len, 0, true);
	stp_out_kick();
	return ret;
}

/* NMI, IRQ, process. Appends one diagnostic record; fmt must produce a whole line that
 * starts with "ERROR: " or "WARNING: " and ends with "\n" (at most STP_DIAGLEN - 1 bytes). */
static inline __printf(1, 2) int stp_out_diag(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = stp_rings_vprintf(&stp_out_rings, raw_smp_processor_id(), STP_REC_DIAG, true, fmt, ap);
	va_end(ap);
	stp_out_kick();
	return ret;
}

/* Process. Like stp_out_diag, but waits (up to ~2 s, while a reader is attached) for room
 * instead of dropping the line; failed attempts are not counted as lost. */
static inline __printf(1, 2) int stp_out_diag_wait(const char *fmt, ...)
{
	va_list ap;
	int ret, tries;

	for (tries = 0; tries < 200; tries++) {
		va_start(ap, fmt);
		ret = stp_rings_vprintf(&stp_out_rings, raw_smp_processor_id(), STP_REC_DIAG,
					false, fmt, ap);
		va_end(ap);
		stp_out_wake_reader();
		if (ret != -ENOSPC && ret != -EBUSY)
			return ret;
		if (!atomic_read(&stp_out_readers))
			break;
		msleep(10);
	}
	atomic_inc(&stp_out_rings.lost_records);
	return ret;
}

/* NMI, IRQ, process. Commits c->printbuf as one record and empties it. */
static inline void stp_out_commit(struct stp_context *c)
{
	stp_out_write(c->printbuf, c->printlen);
	c->printlen = 0;
}

/* NMI, IRQ, process. Appends n bytes to the run's output; a full printbuf is committed
 * early as its own record. Returns 0 or a negative errno if output was dropped. */
static inline int stp_print(struct stp_context *c, const char *s, size_t n)
{
	size_t room;

	if (c->printlen + n <= STP_PRINTBUF) {
		memcpy(c->printbuf + c->printlen, s, n);
		c->printlen += n;
		return 0;
	}
	room = STP_PRINTBUF - c->printlen;	/* fill up, commit, go on */
	memcpy(c->printbuf + c->printlen, s, room);
	c->printlen = STP_PRINTBUF;
	stp_out_commit(c);
	s += room;
	n -= room;
	if (n > STP_PRINTBUF)	/* still more than a buffer: straight out */
		return stp_out_write(s, n);
	memcpy(c->printbuf, s, n);
	c->printlen = n;
	return 0;
}

/* NMI, IRQ, process. Formats with `vfmt` (the kernel's vsnprintf or the script formatter)
 * into the probe run's buffer. One call's text longer than STP_PRINTBUF is truncated to
 * STP_PRINTBUF - 1 bytes (as SystemTap clamps one printf to its buffer); the bytes cut count
 * as lost output, which the session's end reports. */
static inline int stp_out_vformat(struct stp_context *c,
				  int (*vfmt)(char *, size_t, const char *, va_list),
				  const char *fmt, va_list ap)
{
	size_t room = STP_PRINTBUF - c->printlen;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vfmt(c->printbuf + c->printlen, room, fmt, ap);
	if (n < 0 || (size_t)n < room) {
		va_end(again);
		if (n < 0)
			return n;
		c->printlen += n;
		return 0;
	}
	/* Did not fit: commit what was there before, and format again into the empty
	 * buffer (the formatter terminated the partial text, which we drop). */
	stp_out_commit(c);
	n = vfmt(c->printbuf, STP_PRINTBUF, fmt, again);
	va_end(again);
	if (n < 0)
		return n;
	if ((size_t)n < STP_PRINTBUF) {
		c->printlen = n;
		return 0;
	}
	c->printlen = STP_PRINTBUF - 1;
	atomic64_add(n - (STP_PRINTBUF - 1), &stp_out_rings.lost_bytes);
	return -E2BIG;
}

/* NMI, IRQ, process. The runtime's own text: kernel vsnprintf formats. */
static inline __printf(2, 3) int stp_printf(struct stp_context *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = stp_out_vformat(c, vsnprintf, fmt, ap);
	va_end(ap);
	return n;
}

/* NMI, IRQ, process. A script's printf: the translator's rewritten format, formatted as
 * SystemTap does (stp_format.h). */
static inline int stp_fmt_printf(struct stp_context *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = stp_out_vformat(c, stp_fmt_vsnprintf, fmt, ap);
	va_end(ap);
	return n;
}

/* A plain printf, piece by piece (see stp_format.h): stp_put_begin, then one stp_put_* per
 * piece. Nothing else writes to the printbuf in between: the translator evaluates every
 * argument that runs statements before stp_put_begin. */

/* NMI, IRQ, process. Starts one printf's text at the end of the printbuf. */
static inline void stp_put_begin(struct stp_context *c)
{
	c->printmark = c->printlen;
}

/* NMI, IRQ, process. stp_put's slow path: the text does not fit after what is there. Bytes
 * cut (one printf longer than STP_PRINTBUF - 1) count as lost output, as in stp_out_vformat. */
static noinline __maybe_unused void stp_put_slow(struct stp_context *c, const char *s, size_t n)
{
	size_t k = stp_fmt_room(c->printbuf, STP_PRINTBUF, &c->printlen, &c->printmark, n,
				stp_out_write);

	memcpy(c->printbuf + c->printlen, s, k);
	c->printlen += k;
	if (k < n)
		atomic64_add(n - k, &stp_out_rings.lost_bytes);
}

/* NMI, IRQ, process. Appends n bytes of the printf's text. */
static inline void stp_put(struct stp_context *c, const char *s, size_t n)
{
	if (likely(c->printlen + n < STP_PRINTBUF)) {
		memcpy(c->printbuf + c->printlen, s, n);
		c->printlen += n;
		return;
	}
	stp_put_slow(c, s, n);
}

/* NMI, IRQ, process. %s. Out of line, as the number writers are: a module compiles each once. */
static noinline __maybe_unused void stp_put_str(struct stp_context *c, const char *s)
{
	stp_put(c, s, strlen(s));
}

/* NMI, IRQ, process. %c: one byte, NUL included. */
static inline void stp_put_chr(struct stp_context *c, int ch)
{
	char b = (char)ch;

	stp_put(c, &b, 1);
}

/* NMI, IRQ, process. %d and %i. */
static noinline __maybe_unused void stp_put_dec(struct stp_context *c, long long v)
{
	char tmp[24], *p;

	p = stp_fmt_digits(tmp + sizeof(tmp), v < 0 ? -(unsigned long long)v : v, 10, false);
	if (v < 0)
		*--p = '-';
	stp_put(c, p, tmp + sizeof(tmp) - p);
}

/* NMI, IRQ, process. %u %o %x %X, and the digits of %p (which the translator writes as
 * "0x" and %x, as %#x writes it). */
static noinline __maybe_unused void stp_put_num(struct stp_context *c, unsigned long long v,
						unsigned int base, bool upper)
{
	char tmp[24], *p;

	p = stp_fmt_digits(tmp + sizeof(tmp), v, base, upper);
	stp_put(c, p, tmp + sizeof(tmp) - p);
}

/* Process (session workqueue, after the shutdown function). End-of-session warnings. */
static inline void stp_out_session_end(void)
{
	int skipped = atomic_read(&stp_skipped);
	int64_t lost = stp_lost_bytes();

	if (skipped)
		stp_out_diag_wait("WARNING: Number of skipped probes: %d\n", skipped);
	if (lost)
		stp_out_diag_wait("WARNING: %lld bytes of output lost\n", (long long)lost);
}

/* Reader side ------------------------------------------------------------------------ */

static int stp_out_open(struct inode *inode, struct file *f)
{
	if (atomic_cmpxchg(&stp_out_readers, 0, 1) != 0)
		return -EBUSY;
	WRITE_ONCE(stp_loader_pid, task_tgid_nr(current));
	stream_open(inode, f);
	if (atomic_xchg(&stp_out_attached, 1) == 0)
		stp_session_attach();
	return 0;
}

static int stp_out_release(struct inode *inode, struct file *f)
{
	int s = stp_session_get_state();

	atomic_set(&stp_out_readers, 0);
	/* The loader went away (or died) while the script runs: end it. */
	if (s == STP_STARTING || s == STP_RUNNING)
		stp_request_exit();
	return 0;
}

static bool stp_out_readable(void)
{
	return !stp_rings_empty(&stp_out_rings) || stp_session_get_state() == STP_STOPPED;
}

/* Moves the next record to the stage; 1 if one was staged, else the fetch's errno. */
static int stp_out_stage_next(void)
{
	uint32_t flags = 0;
	int n = stp_rings_fetch(&stp_out_rings, stp_out_stage + 1, STP_RECMAX, &flags);

	if (n < 0)
		return n;
	stp_out_stage_off = 1;
	stp_out_stage_len = 1 + n;
	if ((flags & STP_REC_DIAG) && !stp_out_at_line_start && n > 0) {
		stp_out_stage[0] = '\n';
		stp_out_stage_off = 0;
	}
	if (n > 0)
		stp_out_at_line_start = stp_out_stage[n] == '\n';
	return 1;
}

static ssize_t stp_out_read(struct file *f, char __user *buf, size_t count, loff_t *ppos)
{
	ssize_t done = 0;
	size_t k;
	int n;

	if (mutex_lock_interruptible(&stp_out_mutex))
		return -ERESTARTSYS;
	while ((size_t)done < count) {
		if (stp_out_stage_off < stp_out_stage_len) {
			k = min(count - (size_t)done, stp_out_stage_len - stp_out_stage_off);
			if (copy_to_user(buf + done, stp_out_stage + stp_out_stage_off, k)) {
				if (!done)
					done = -EFAULT;
				break;
			}
			done += k;
			stp_out_stage_off += k;
			continue;
		}
		n = stp_out_stage_next();
		if (n > 0)
			continue;
		if (done)
			break;	/* hand out what we have rather than wait */
		if (n == -EINPROGRESS) {
			/* The next record is being written on another CPU right now. */
			schedule_timeout_interruptible(1);
			if (signal_pending(current)) {
				done = -ERESTARTSYS;
				break;
			}
			continue;
		}
		/* -EAGAIN: nothing queued. After STOPPED nothing more comes: EOF. Read the
		 * state first; STOPPED is published after the last record. */
		if (stp_session_get_state() == STP_STOPPED) {
			if (stp_rings_empty(&stp_out_rings))
				break;
			continue;
		}
		if (f->f_flags & O_NONBLOCK) {
			done = -EAGAIN;
			break;
		}
		if (wait_event_interruptible(stp_out_wq, stp_out_readable())) {
			done = -ERESTARTSYS;
			break;
		}
	}
	mutex_unlock(&stp_out_mutex);
	return done;
}

static __poll_t stp_out_poll(struct file *f, struct poll_table_struct *pt)
{
	poll_wait(f, &stp_out_wq, pt);
	return stp_out_readable() ? (EPOLLIN | EPOLLRDNORM) : 0;
}

static const struct proc_ops stp_out_ops = {
	.proc_open = stp_out_open,
	.proc_read = stp_out_read,
	.proc_poll = stp_out_poll,
	.proc_release = stp_out_release,
};

static const char *const stp_state_names[] = { "starting", "running", "stopping", "stopped" };

/* `ctl` read: one status line. */
static ssize_t stp_ctl_read(struct file *f, char __user *buf, size_t count, loff_t *ppos)
{
	char line[160];
	int s = stp_session_get_state();
	int n = scnprintf(line, sizeof(line),
			  "state=%s lost_bytes=%lld lost_records=%d skipped=%d errors=%d\n",
			  stp_state_names[s & 3], (long long)stp_lost_bytes(),
			  atomic_read(&stp_out_rings.lost_records), atomic_read(&stp_skipped),
			  atomic_read(&stp_errors));

	return simple_read_from_buffer(buf, count, ppos, line, n);
}

/* `ctl` write: "exit" (a trailing newline is fine) ends the session. */
static ssize_t stp_ctl_write(struct file *f, const char __user *buf, size_t count, loff_t *ppos)
{
	char cmd[16];
	size_t n = min(count, sizeof(cmd) - 1);

	if (copy_from_user(cmd, buf, n))
		return -EFAULT;
	cmd[n] = '\0';
	while (n > 0 && (cmd[n - 1] == '\n' || cmd[n - 1] == ' '))
		cmd[--n] = '\0';
	if (strcmp(cmd, "exit") != 0)
		return -EINVAL;
	stp_request_exit();
	return count;
}

static const struct proc_ops stp_ctl_ops = {
	.proc_read = stp_ctl_read,
	.proc_write = stp_ctl_write,
	.proc_lseek = default_llseek,
};

/* Process (module init). Rings for every possible CPU and the proc files. 0 or -errno. */
static inline void stp_out_exit(void);
static inline int stp_out_init(const char *name)
{
	int ret = stp_rings_alloc(&stp_out_rings, nr_cpu_ids);

	if (ret)
		return ret;
	stp_out_stage = kmalloc(STP_RECMAX + 1, GFP_KERNEL);
	if (!stp_out_stage)
		goto nomem;
	stp_out_dir = stp_procdir_create(name);
	if (!stp_out_dir) {
		pr_err("%s: cannot create /proc/stp_hwbp/%s\n", name, name);
		stp_out_exit();
		return -EEXIST;
	}
	if (!proc_create("out", 0400, stp_out_dir, &stp_out_ops) ||
	    !proc_create("ctl", 0600, stp_out_dir, &stp_ctl_ops))
		goto nomem;
	return 0;
nomem:
	stp_out_exit();
	return -ENOMEM;
}

/* Process (module exit, after stp_session_stop). Removes the proc files (waiting for
 * readers inside read() and releasing open files) and, if no other module uses it,
 * /proc/stp_hwbp; then frees the rings. */
static inline void stp_out_exit(void)
{
	stp_procdir_remove(stp_out_dir);
	stp_out_dir = NULL;
	irq_work_sync(&stp_out_iw);
	stp_rings_free(&stp_out_rings);
	kfree(stp_out_stage);
	stp_out_stage = NULL;
}

#endif /* STP_OUTPUT_H */
