/* stp_stat.h - statistics aggregates (`x <<< v`, @count/@sum/@min/@max/@avg/@variance,
 * @hist_linear/@hist_log), kept per CPU and merged when read, as SystemTap keeps them.
 *
 * Pure logic, compiled in the kernel and in user space (tests/runtime-unit).
 *
 * Layout: per possible CPU, nslots records (1 for a scalar statistic; one per map entry
 * for an array of statistics, see below), each padded to a cache line, all in one array
 * allocated by stp_stat_new. A record holds only what the script's extractors need
 * (st->ops): the count always; the sum for @sum and @avg; min, max; Welford's running mean
 * and M2 for @variance; the buckets of the one histogram kind the script uses.
 *
 * Concurrency. Writers (stp_stat_add) take no lock: each CPU writes only its own record,
 * and one probe run at a time runs on a CPU (stp_context.h's busy flag makes a hit that
 * interrupts a probe on its CPU skip before it runs any statement), so a record has one
 * writer at any moment; `<<<` therefore never waits and never fails. The writer bumps the
 * record's sequence count to odd before it changes the record and to even after, so that a
 * reader on another CPU copies a consistent record or tries again (bounded: STP_MAXTRYLOCK
 * tries, STP_TRYLOCKDELAY us apart; the writer runs a few dozen instructions with
 * interrupts off, so running out means a stalled CPU, reported as an error).
 * Readers (stp_stat_get) hold the global's read lock only to exclude `delete`; they merge
 * into the reading CPU's own scratch area, so readers on several CPUs do not share one.
 * `delete x` (stp_stat_clear, under the global's write lock) bumps the generation: a
 * record of an older generation counts as empty, and its CPU resets it at its next write,
 * so clearing touches no other CPU's record either.
 */
#ifndef STP_STAT_H
#define STP_STAT_H

/* Which fields a statistic keeps (what its extractors need). */
#define STP_STAT_SUM 1
#define STP_STAT_MIN 2
#define STP_STAT_MAX 4
#define STP_STAT_VARIANCE 8

/* Histogram kinds. */
#define STP_HIST_NONE 0
#define STP_HIST_LINEAR 1
#define STP_HIST_LOG 2

/* Buckets of a log histogram: 0 for the value 0 at STP_HIST_LOG_ZERO, one per power of
 * two above it and one per negative power below it. */
#define STP_HIST_LOG_BUCKETS 128
#define STP_HIST_LOG_ZERO 64
/* Most buckets of a linear histogram, under- and overflow included. */
#define STP_HIST_MAX_BUCKETS 128
/* Bytes of the line buffer a histogram is printed through. */
#define STP_HIST_LINE 256

struct stp_stat_rec {
	unsigned int seq;	/* odd while its CPU writes it */
	unsigned int gen;	/* the statistic's generation it belongs to */
	int64_t count, sum, min, max;
	int64_t avg_s, m2, var_s;	/* Welford, values scaled by 2^shift */
	int64_t hist[];
};

/* A merged view: what the extractors read. */
struct stp_stat_agg {
	int64_t count, sum, min, max;
	int64_t avg_s, var_s, variance;
	int64_t hist[];
};

struct stp_stat {
	unsigned int ops;	/* STP_STAT_* */
	int hist;		/* STP_HIST_* */
	int64_t lo, hi, step;	/* linear histogram */
	int nbuckets;
	int shift;		/* @variance(x, shift) */
	unsigned int gen;	/* bumped by stp_stat_clear, under the global's write lock */
	size_t rsize;		/* bytes of one record, a multiple of 64 */
	size_t ssize;		/* one CPU's scratch: a record copy, an aggregate, a line */
	unsigned int nslots;	/* records per CPU: 1, or an array's MAXMAPENTRIES */
	char *recs;		/* nr_cpu_ids * nslots * rsize, CPU-major */
	char *scratch;		/* nr_cpu_ids * ssize */
};

/* Any context (pure). n rounded up for the per-CPU record layout. */
static inline size_t stp_stat_round(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Any context. The number of buckets of a linear histogram (lo..hi by step, plus under-
 * and overflow), or 0 when the parameters make none (the translator checks them first). */
static inline int stp_hist_linear_buckets(int64_t lo, int64_t hi, int64_t step)
{
	int64_t n;

	if (step <= 0 || hi < lo || (uint64_t)hi - (uint64_t)lo > (uint64_t)S64_MAX)
		return 0;
	n = (hi - lo) / step + 3;
	return n <= STP_HIST_MAX_BUCKETS ? (int)n : 0;
}

/* Process context (allocates). nslots records per CPU (1 for a scalar statistic, the
 * array's capacity for an array of statistics, one per map entry). NULL on bad parameters
 * or no memory. */
static inline struct stp_stat *stp_stat_new(unsigned int ops, int hist, int64_t lo, int64_t hi,
					    int64_t step, int shift, unsigned int nslots)
{
	struct stp_stat *st;
	int nb = 0;

	if (hist == STP_HIST_LINEAR)
		nb = stp_hist_linear_buckets(lo, hi, step);
	else if (hist == STP_HIST_LOG)
		nb = STP_HIST_LOG_BUCKETS;
	if ((hist != STP_HIST_NONE && nb == 0) || shift < 0 || shift > 62 || nslots == 0 ||
	    nslots > 0x40000000u)
		return NULL;
	st = STP_ZALLOC(sizeof(*st));
	if (!st)
		return NULL;
	st->ops = ops & STP_STAT_VARIANCE ? ops | STP_STAT_SUM : ops;	/* the merge needs the sum */
	st->hist = hist;
	st->lo = lo;
	st->hi = hi;
	st->step = step;
	st->nbuckets = nb;
	st->shift = shift;
	st->gen = 1;	/* zeroed records (generation 0) are empty */
	st->rsize = stp_stat_round(sizeof(struct stp_stat_rec) + nb * sizeof(int64_t));
	st->ssize = st->rsize + stp_stat_round(sizeof(struct stp_stat_agg) + nb * sizeof(int64_t)) +
		    STP_HIST_LINE;
	st->nslots = nslots;
	st->recs = STP_ZALLOC(st->rsize * nslots * nr_cpu_ids);
	st->scratch = STP_ZALLOC(st->ssize * nr_cpu_ids);
	if (!st->recs || !st->scratch) {
		STP_FREE(st->recs);
		STP_FREE(st->scratch);
		STP_FREE(st);
		return NULL;
	}
	return st;
}

/* Process context. NULL is allowed. */
static inline void stp_stat_free(struct stp_stat *st)
{
	if (!st)
		return;
	STP_FREE(st->recs);
	STP_FREE(st->scratch);
	STP_FREE(st);
}

/* Any context. CPU cpu's record of slot slot. */
static inline struct stp_stat_rec *stp_stat_rec(const struct stp_stat *st, unsigned int cpu,
					       unsigned int slot)
{
	return (struct stp_stat_rec *)(st->recs + ((size_t)cpu * st->nslots + slot) * st->rsize);
}

/* Any context. The log histogram bucket of v. */
static inline int stp_hist_log_bucket(int64_t v)
{
	uint64_t a;
	int bits;

	if (v == 0)
		return STP_HIST_LOG_ZERO;
	a = v < 0 ? -(uint64_t)v : (uint64_t)v;
	bits = 64 - __builtin_clzll(a);
	if (v > 0)
		return STP_HIST_LOG_ZERO + bits;	/* at most 64 + 63 */
	return STP_HIST_LOG_ZERO - bits;		/* at least 0 */
}

/* Any context. The smallest value (by magnitude) of log bucket b. */
static inline int64_t stp_hist_log_value(int b)
{
	if (b == STP_HIST_LOG_ZERO)
		return 0;
	if (b < STP_HIST_LOG_ZERO)
		return S64_MIN >> b;
	return (int64_t)((uint64_t)1 << (b - STP_HIST_LOG_ZERO - 1));
}

/* Any context. The linear histogram bucket of v: 0 underflow, nbuckets - 1 overflow. */
static inline int stp_hist_linear_bucket(const struct stp_stat *st, int64_t v)
{
	uint64_t d;

	if (v < st->lo)
		return 0;
	d = ((uint64_t)v - (uint64_t)st->lo) / (uint64_t)st->step + 1;
	return d >= (uint64_t)st->nbuckets - 1 ? st->nbuckets - 1 : (int)d;
}

/* NMI, IRQ, process, inside a probe run (the CPU's context held, so that no other run
 * writes this CPU's record meanwhile). Adds v on cpu (smp_processor_id()); no lock. */
static inline void stp_stat_add(struct stp_stat *st, unsigned int cpu, unsigned int slot,
				int64_t v)
{
	struct stp_stat_rec *r = stp_stat_rec(st, cpu, slot);
	unsigned int seq = r->seq, gen = READ_ONCE(st->gen);
	int64_t vs = (int64_t)((uint64_t)v << st->shift), delta;
	int b;

	WRITE_ONCE(r->seq, seq + 1);
	smp_wmb();
	if (r->gen != gen || r->count == 0) {
		r->gen = gen;
		r->count = 1;
		r->sum = r->min = r->max = v;
		r->avg_s = vs;
		r->m2 = 0;
		r->var_s = 0;
		for (b = 0; b < st->nbuckets; b++)
			r->hist[b] = 0;
	} else {
		r->count++;
		if (st->ops & STP_STAT_SUM)
			r->sum = (int64_t)((uint64_t)r->sum + (uint64_t)v);
		if ((st->ops & STP_STAT_MIN) && v < r->min)
			r->min = v;
		if ((st->ops & STP_STAT_MAX) && v > r->max)
			r->max = v;
		if (st->ops & STP_STAT_VARIANCE) {
			/* Welford's online update in integers, as SystemTap computes it. */
			delta = (int64_t)((uint64_t)vs - (uint64_t)r->avg_s);
			r->avg_s = (int64_t)((uint64_t)r->avg_s + (uint64_t)(delta / r->count));
			r->m2 = (int64_t)((uint64_t)r->m2 +
					  (uint64_t)delta * ((uint64_t)vs - (uint64_t)r->avg_s));
			r->var_s = r->m2 / (r->count - 1);
		}
	}
	if (st->hist == STP_HIST_LOG)
		r->hist[stp_hist_log_bucket(v)]++;
	else if (st->hist == STP_HIST_LINEAR)
		r->hist[stp_hist_linear_bucket(st, v)]++;
	smp_wmb();
	WRITE_ONCE(r->seq, seq + 2);
}

/* Copies cpu's record into dst when no write was under way; false after the bounded
 * retries ran out. */
static inline bool stp_stat_copy(const struct stp_stat *st, unsigned int cpu, unsigned int slot,
				 struct stp_stat_rec *dst)
{
	const struct stp_stat_rec *r = stp_stat_rec(st, cpu, slot);
	unsigned int s;
	int i;

	for (i = 0; i < STP_MAXTRYLOCK; i++) {
		s = READ_ONCE(r->seq);
		smp_rmb();
		if (!(s & 1)) {
			memcpy(dst, r, st->rsize);
			smp_rmb();
			if (READ_ONCE(r->seq) == s)
				return true;
		}
		udelay(STP_TRYLOCKDELAY);
	}
	return false;
}

/* NMI, IRQ, process, inside a probe run on cpu, with the global's read lock held (which
 * excludes stp_stat_clear). Merges every CPU's record into cpu's scratch aggregate and
 * returns it (valid until this CPU's next stp_stat_get), or NULL when a CPU kept its
 * record busy past the retry bound (*busy_cpu says which). */
static inline const struct stp_stat_agg *stp_stat_get(const struct stp_stat *st, unsigned int cpu,
						      unsigned int slot, unsigned int *busy_cpu)
{
	struct stp_stat_rec *t = (struct stp_stat_rec *)(st->scratch + (size_t)cpu * st->ssize);
	struct stp_stat_agg *a = (struct stp_stat_agg *)((char *)t + st->rsize);
	unsigned int gen = READ_ONCE(st->gen), c;
	/* Total variance over the CPUs (SystemTap's merge), in one pass:
	 * sum n_i (avg_i - A)^2 = P - 2 A Q + A^2 N, exact in wrapping 64-bit arithmetic. */
	uint64_t p = 0, q = 0, s2 = 0, s1, avg;
	int b;

	memset(a, 0, sizeof(*a) + st->nbuckets * sizeof(int64_t));
	for_each_possible_cpu(c) {
		if (!stp_stat_copy(st, c, slot, t)) {
			*busy_cpu = c;
			return NULL;
		}
		if (t->gen != gen || t->count == 0)
			continue;
		if (a->count == 0) {
			a->min = t->min;
			a->max = t->max;
		}
		if (t->min < a->min)
			a->min = t->min;
		if (t->max > a->max)
			a->max = t->max;
		a->count += t->count;
		a->sum = (int64_t)((uint64_t)a->sum + (uint64_t)t->sum);
		for (b = 0; b < st->nbuckets; b++)
			a->hist[b] += t->hist[b];
		p += (uint64_t)t->count * (uint64_t)t->avg_s * (uint64_t)t->avg_s;
		q += (uint64_t)t->count * (uint64_t)t->avg_s;
		s2 += (uint64_t)(t->count - 1) * (uint64_t)t->var_s;
	}
	if (a->count == 0)
		return a;
	a->avg_s = (int64_t)((uint64_t)a->sum << st->shift) / a->count;
	avg = (uint64_t)a->avg_s;
	s1 = p - 2 * avg * q + avg * avg * (uint64_t)a->count;
	a->var_s = a->count > 1 ? (int64_t)(s1 + s2) / (a->count - 1) : 0;
	a->variance = a->var_s >> (2 * st->shift);
	return a;
}

/* Any context. cpu's line buffer (STP_HIST_LINE bytes) for stp_stat_print_hist. */
static inline char *stp_stat_line(const struct stp_stat *st, unsigned int cpu)
{
	return st->scratch + (size_t)(cpu + 1) * st->ssize - STP_HIST_LINE;
}

/* Any context, with the array's write lock (no `<<<` to it runs). Empties one slot on
 * every CPU: `delete a[k]`, before the slot's map entry is freed. */
static inline void stp_stat_clear_slot(struct stp_stat *st, unsigned int slot)
{
	unsigned int c;

	for_each_possible_cpu(c)
		stp_stat_rec(st, c, slot)->count = 0;
}

/* Any context, under the global's write lock. Empties the statistic (`delete x`), or every
 * slot of an array of statistics (`delete a`, with the map cleared too). */
static inline void stp_stat_clear(struct stp_stat *st)
{
	WRITE_ONCE(st->gen, st->gen + 1 ? st->gen + 1 : 1);
}

/* Any context. @avg of a non-empty aggregate. */
static inline int64_t stp_stat_avg(const struct stp_stat_agg *a)
{
	return a->sum / a->count;
}

/* Any context (pure). The digits of v as a histogram row prints it. */
static inline int stp_stat_digits(int64_t v)
{
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	int n = v < 0 ? 1 : 0;

	do {
		n++;
		u /= 10;
	} while (u);
	return n;
}

#define STP_HIST_WIDTH 50

/* The value a printed row stands for, and its prefix ("<" underflow, ">" overflow). */
static inline int64_t stp_hist_row_value(const struct stp_stat *st, int i, const char **prefix)
{
	*prefix = "";
	if (st->hist == STP_HIST_LOG)
		return stp_hist_log_value(i);
	if (i == 0) {
		*prefix = "<";
		return st->lo;
	}
	if (i == st->nbuckets - 1) {
		*prefix = ">";
		return (int64_t)((uint64_t)st->lo + (uint64_t)(i - 2) * (uint64_t)st->step);
	}
	return (int64_t)((uint64_t)st->lo + (uint64_t)(i - 1) * (uint64_t)st->step);
}

/* Any context (bounded: at most STP_HIST_MAX_BUCKETS rows). Writes the histogram of a
 * non-empty aggregate as SystemTap prints it: a header, one row per bucket from two empty
 * buckets before the first used one to two after the last (a log histogram starts at 0
 * unless it has negative values; a linear one shows its under- and overflow rows only
 * when they are used), runs of empty rows with no used bucket within two rows shown as one
 * "~" line, bars of '@' scaled to at most 50, and an empty line at the end. Each line
 * goes to emit(arg, text, len); line is STP_HIST_LINE bytes of scratch. */
static inline void stp_stat_print_hist(const struct stp_stat *st, const struct stp_stat_agg *a,
				       char *line, void (*emit)(void *, const char *, size_t),
				       void *arg)
{
	int low = -1, high = 0, i, j, k, n, last = st->nbuckets - 1;
	int under = 0, over = 0, val_space, cnt_space, eliding = 0;
	int64_t vmax = 0, scale, val;
	const char *prefix;

	if (st->hist == STP_HIST_NONE)
		return;
	for (i = 0; i <= last; i++) {
		if (a->hist[i] > 0) {
			if (low < 0)
				low = i;
			high = i;
		}
		if (a->hist[i] > vmax)
			vmax = a->hist[i];
	}
	if (low < 0)
		low = 0;
	for (i = 0; i < 2; i++) {
		if (st->hist == STP_HIST_LOG) {
			if (low != STP_HIST_LOG_ZERO && low > 0)
				low--;
		} else if (low > 0) {
			low--;
		}
		if (high < last)
			high++;
	}
	if (st->hist == STP_HIST_LINEAR) {
		if (low == 0 && a->hist[0] == 0)
			low++;
		if (high == last && a->hist[last] == 0)
			high--;
		under = low == 0;
		over = high == last;
	}
	scale = vmax <= STP_HIST_WIDTH ? 1 : (vmax + STP_HIST_WIDTH - 1) / STP_HIST_WIDTH;
	cnt_space = stp_stat_digits(vmax);
	if (st->hist == STP_HIST_LINEAR) {
		val_space = stp_stat_digits(st->lo) + under;
		n = stp_stat_digits((int64_t)((uint64_t)st->lo + (uint64_t)st->step * high)) + over;
	} else {
		val_space = stp_stat_digits(stp_hist_log_value(high));
		n = stp_stat_digits(stp_hist_log_value(low));
	}
	if (n > val_space)
		val_space = n;
	if (val_space < 5)
		val_space = 5;

	n = snprintf(line, STP_HIST_LINE, "%*s |", val_space, "value");
	for (j = 0; j < STP_HIST_WIDTH; j++)
		line[n++] = '-';
	n += snprintf(line + n, STP_HIST_LINE - n, " count\n");
	emit(arg, line, n);
	for (i = low; i <= high; i++) {
		int from = i - 2 > low ? i - 2 : low, to = i + 2 < high ? i + 2 : high;
		int64_t bars;

		for (k = from; k <= to && a->hist[k] == 0; k++)
			;
		if (k > to) {
			eliding = 1;
			continue;
		}
		if (eliding) {
			n = snprintf(line, STP_HIST_LINE, "%*s ~\n", val_space, "");
			emit(arg, line, n);
			eliding = 0;
		}
		val = stp_hist_row_value(st, i, &prefix);
		n = snprintf(line, STP_HIST_LINE, "%*s%lld |", val_space - stp_stat_digits(val),
			     prefix, (long long)val);
		bars = a->hist[i] / scale;
		for (j = 0; j < bars && n < STP_HIST_LINE - 1; j++)
			line[n++] = '@';
		n += snprintf(line + n, STP_HIST_LINE - n, "%*lld\n",
			      (int)(STP_HIST_WIDTH - bars + 1 + cnt_space), (long long)a->hist[i]);
		emit(arg, line, n);
	}
	emit(arg, "\n", 1);
}

#ifdef __KERNEL__
/* Probe-side glue: what the generated code calls, with the run's context. */

/* The extractors, for stp_stat_extract. */
enum stp_stat_op {
	STP_STAT_GET_COUNT,
	STP_STAT_GET_SUM,
	STP_STAT_GET_MIN,
	STP_STAT_GET_MAX,
	STP_STAT_GET_AVG,
	STP_STAT_GET_VARIANCE,
};

/* NMI, IRQ, process, in a probe run, with the global's read lock. The merged aggregate
 * of a slot, or NULL with the run's error set: a CPU kept its record busy, or (nonempty) it
 * holds no value, which SystemTap reports as "empty aggregate" for @min, @max, @avg and
 * @variance (@count and @sum of nothing are 0). */
static inline const struct stp_stat_agg *stp_stat_read(struct stp_context *c,
						       const struct stp_stat *st, unsigned int slot,
						       bool nonempty, const char *where)
{
	unsigned int busy = 0;
	const struct stp_stat_agg *a = stp_stat_get(st, smp_processor_id(), slot, &busy);

	if (unlikely(!a)) {
		stp_error_near(c, where, "statistic busy on CPU %u", busy);
		return NULL;
	}
	if (nonempty && a->count == 0) {
		stp_error_near(c, where, "empty aggregate");
		return NULL;
	}
	return a;
}

/* Any context (pure). The value of extractor op from a merged aggregate. */
static inline int64_t stp_stat_value(const struct stp_stat_agg *a, enum stp_stat_op op)
{
	switch (op) {
	case STP_STAT_GET_COUNT:
		return a->count;
	case STP_STAT_GET_SUM:
		return a->sum;
	case STP_STAT_GET_MIN:
		return a->min;
	case STP_STAT_GET_MAX:
		return a->max;
	case STP_STAT_GET_AVG:
		return stp_stat_avg(a);
	case STP_STAT_GET_VARIANCE:
		return a->variance;
	}
	return 0;
}

/* Any context (pure). Whether an extractor needs a value: @count and @sum of nothing are 0,
 * as in SystemTap; the others of nothing are an error. */
static inline bool stp_stat_needs_value(enum stp_stat_op op)
{
	return op != STP_STAT_GET_COUNT && op != STP_STAT_GET_SUM;
}

/* NMI, IRQ, process, in a probe run, with the global's read lock. One extractor's value
 * of a slot; 0 with the run's error set on failure. */
static inline int64_t stp_stat_extract(struct stp_context *c, const struct stp_stat *st,
				       unsigned int slot, enum stp_stat_op op, const char *where)
{
	const struct stp_stat_agg *a = stp_stat_read(c, st, slot, stp_stat_needs_value(op), where);

	return a ? stp_stat_value(a, op) : 0;
}

/* NMI, IRQ, process, in a probe run, with the global's read lock. Bucket i of a slot's
 * histogram (0 when nothing was added); out of range is an error, as in SystemTap. */
static inline int64_t stp_stat_bucket(struct stp_context *c, const struct stp_stat *st,
				      unsigned int slot, int64_t i, const char *where)
{
	const struct stp_stat_agg *a;

	if (i < 0 || i >= st->nbuckets) {
		stp_error_near(c, where, "histogram index %lld out of range (0 to %d)", (long long)i,
			       st->nbuckets - 1);
		return 0;
	}
	a = stp_stat_read(c, st, slot, false, where);
	return a ? a->hist[i] : 0;
}

/* Any context, in a probe run: the output sink histogram printing writes through. */
static inline void stp_stat_emit(void *arg, const char *s, size_t n)
{
	stp_print(arg, s, n);
}

/* NMI, IRQ, process, in a probe run, with the global's read lock. print(@hist_*(x)), and
 * a newline after it for println. 0, or -1 with the run's error set. */
static inline int stp_stat_print(struct stp_context *c, const struct stp_stat *st,
				 unsigned int slot, bool newline, const char *where)
{
	const struct stp_stat_agg *a = stp_stat_read(c, st, slot, true, where);

	if (!a)
		return -1;
	stp_stat_print_hist(st, a, stp_stat_line(st, smp_processor_id()), stp_stat_emit, c);
	if (newline)
		stp_print(c, "\n", 1);
	return 0;
}

/* Arrays of statistics: a map (stp_map.h) holds the keys, and an entry's slot number
 * indexes the per-CPU records. `a[k] <<< v` holds the array's read lock, never its write
 * lock (except for a wrap-around array, `global a%`, whose adding a key may drop the oldest
 * and reuse its records): it finds the key without a lock, and only a key new to the array takes the array's
 * insert lock (bounded) to add an entry, which stp_map publishes whole; the record is then
 * written as a scalar's is. Extractors, `in` and `delete a[k]` find the key the same way;
 * `foreach` sorts with the write lock held, so no `<<<` runs meanwhile. */

/* NMI, IRQ, process, in a probe run, with the array's read lock. The slot of key k, added
 * if absent when add; -1 when absent (not add), -2 with the run's error set. */
static inline int64_t stp_stat_slot(struct stp_context *c, struct stp_map *m, const struct stp_key *k,
				    stp_rwlock_t *ins, bool add, bool *added, const char *name,
				    const char *where)
{
	struct stp_map_entry *e;
	uint32_t h;

	if (!stp_map_key_ok(m, k))
		return -1;
	e = stp_map_find(m, k, &h, NULL);
	if (e || !add)
		return e ? (int64_t)stp_map_index(m, e) : -1;
	if (!stp_write_trylock(ins)) {
		stp_error_near(c, where, "array %s: another CPU kept adding a key", name);
		return -2;
	}
	e = stp_map_lookup_or_add(m, k);
	stp_write_unlock(ins);
	if (!e) {
		stp_map_full(c, m, name, where);
		return -2;
	}
	if (added)
		*added = true;
	return stp_map_index(m, e);
}

/* `a[k] <<< v`. 0, or -1 with the run's error set. */
static inline int stp_stat_add_key(struct stp_context *c, struct stp_map *m, struct stp_stat *st,
				   stp_rwlock_t *ins, const struct stp_key *k, int64_t v,
				   const char *name, const char *where)
{
	bool added = false;
	int64_t slot = stp_stat_slot(c, m, k, ins, true, &added, name, where);

	if (slot < 0)
		return -1;
	/* A wrap-around array (whose `<<<` holds the write lock, so no other CPU adds to it)
	 * may have reused the slot of the key it dropped: the new key starts empty. */
	if (added && m->wrap)
		stp_stat_clear_slot(st, slot);
	stp_stat_add(st, smp_processor_id(), slot, v);
	return 0;
}

/* `@op(a[k])`: @count and @sum of an absent key are 0, anything else of it an error. */
static inline int64_t stp_stat_extract_key(struct stp_context *c, struct stp_map *m,
					   const struct stp_stat *st, const struct stp_key *k,
					   enum stp_stat_op op, const char *where)
{
	int64_t slot = stp_stat_slot(c, m, k, NULL, false, NULL, NULL, where);

	if (slot >= 0)
		return stp_stat_extract(c, st, slot, op, where);
	if (stp_stat_needs_value(op))
		stp_error_near(c, where, "aggregate element not found");
	return 0;
}

/* `@hist_*(a[k])[i]`: 0 for an absent key (after the range check). */
static inline int64_t stp_stat_bucket_key(struct stp_context *c, struct stp_map *m,
					  const struct stp_stat *st, const struct stp_key *k,
					  int64_t i, const char *where)
{
	int64_t slot = stp_stat_slot(c, m, k, NULL, false, NULL, NULL, where);

	if (slot >= 0 || i < 0 || i >= st->nbuckets)
		return stp_stat_bucket(c, st, slot >= 0 ? slot : 0, i, where);
	return 0;
}

/* `print(@hist_*(a[k]))`: an absent key is an error. 0, or -1 with the run's error set. */
static inline int stp_stat_print_key(struct stp_context *c, struct stp_map *m,
				     const struct stp_stat *st, const struct stp_key *k,
				     bool newline, const char *where)
{
	int64_t slot = stp_stat_slot(c, m, k, NULL, false, NULL, NULL, where);

	if (slot >= 0)
		return stp_stat_print(c, st, slot, newline, where);
	stp_error_near(c, where, "aggregate element not found");
	return -1;
}

/* `delete a[k]`, with the array's write lock. */
static inline void stp_stat_delete_key(struct stp_map *m, struct stp_stat *st,
				       const struct stp_key *k)
{
	int64_t slot = stp_stat_slot(NULL, m, k, NULL, false, NULL, NULL, NULL);

	if (slot < 0)
		return;
	stp_stat_clear_slot(st, slot);
	stp_map_delete(m, k);
}

/* `delete a`, with the array's write lock: the caller charges stp_map_clear_work first. */
static inline void stp_stat_delete_all(struct stp_map *m, struct stp_stat *st)
{
	stp_map_clear(m);
	stp_stat_clear(st);
}

/* Steps stp_stat_sort_values takes: every CPU's record of every entry. */
static inline unsigned long stp_stat_sort_work(const struct stp_map *m)
{
	return (unsigned long)m->high * nr_cpu_ids;
}

/* `foreach (k in a @op)`, with the array's write lock (no `<<<` runs): writes each entry's
 * merged op into the map's value column, which stp_map_sort then sorts by. 0, or -1 with
 * the run's error set. */
static inline int stp_stat_sort_values(struct stp_context *c, struct stp_map *m,
				       const struct stp_stat *st, enum stp_stat_op op,
				       const char *where)
{
	const struct stp_stat_agg *a;
	uint32_t i;

	for (i = 0; i < m->high; i++) {
		struct stp_map_entry *e = stp_map_slot(m, i);

		if (!e->used)
			continue;
		a = stp_stat_read(c, st, i, false, where);
		if (!a)
			return -1;
		*(int64_t *)stp_map_col(e, 0) = a->count ? stp_stat_value(a, op) : 0;
	}
	return 0;
}
#endif /* __KERNEL__ */

#endif /* STP_STAT_H */
