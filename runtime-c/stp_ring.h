/* stp_ring.h - the output transport's data structure: per-CPU single-producer rings
 * whose records carry a global sequence number, merged back in order by one reader.
 *
 * Pure logic, compiled both in the kernel (under stp_output.h) and in user space by
 * tests/runtime-unit. A record is a 16-byte header (seq, len, flags) followed by len
 * bytes padded to 8; head and tail are byte counters that only grow, so free space
 * is STP_BUFSIZE - (head - tail) and records may wrap around the end of the buffer.
 *
 * Producers: a ring is owned through its `writer` flag (cmpxchg 0 -> 1), never waited
 * for. A producer whose preferred (own CPU's) ring is taken, e.g. an NMI that interrupted
 * a writer on its own CPU, tries the other rings once each, then drops the record.
 * The sequence number is taken only after space is reserved, so every number handed out
 * is committed shortly after: a gap the reader sees is a write in flight, not a loss.
 * A record that does not fit is dropped whole and counted in lost_bytes/lost_records.
 *
 * Consumer: a single reader (the caller serialises) owns every tail.
 */
#ifndef STP_RING_H
#define STP_RING_H

#define STP_REC_DIAG 1u		/* record is an ERROR:/WARNING: line */

struct stp_rec_hdr {
	uint64_t seq;
	uint32_t len;
	uint32_t flags;
};

struct stp_ring {
	atomic_t writer;		/* 1 while a producer owns the ring */
	unsigned long head;		/* bytes produced; written by the owner, release */
	unsigned long tail;		/* bytes consumed; written by the reader, release */
	char *data;			/* STP_BUFSIZE bytes */
	char scratch[STP_DIAGLEN];	/* formatting space, used with `writer` held */
};

struct stp_rings {
	unsigned int nr;
	struct stp_ring *ring;		/* nr rings */
	atomic64_t seq;			/* last sequence number handed out */
	atomic64_t lost_bytes;		/* payload bytes of dropped records */
	atomic_t lost_records;
	uint64_t next_seq;		/* reader: the sequence number it expects next */
};

#define STP_RING_MASK ((unsigned long)STP_BUFSIZE - 1)
#define STP_REC_SPACE(len) (sizeof(struct stp_rec_hdr) + (((unsigned long)(len) + 7) & ~7ul))

/* Process context only (allocates). Returns 0 or -ENOMEM; on failure nothing is left. */
static inline void stp_rings_free(struct stp_rings *rs);
static inline int stp_rings_alloc(struct stp_rings *rs, unsigned int nr)
{
	unsigned int i;

	memset(rs, 0, sizeof(*rs));
	rs->next_seq = 1;
	rs->ring = STP_ZALLOC(sizeof(struct stp_ring) * nr);
	if (!rs->ring)
		return -ENOMEM;
	rs->nr = nr;
	for (i = 0; i < nr; i++) {
		rs->ring[i].data = STP_ZALLOC(STP_BUFSIZE);
		if (!rs->ring[i].data) {
			stp_rings_free(rs);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Process context only. No producer or reader may be active. */
static inline void stp_rings_free(struct stp_rings *rs)
{
	unsigned int i;

	if (rs->ring) {
		for (i = 0; i < rs->nr; i++)
			STP_FREE(rs->ring[i].data);
		STP_FREE(rs->ring);
	}
	rs->ring = NULL;
	rs->nr = 0;
}

/* Any context. Copies n bytes into the ring at byte counter off, wrapping. */
static inline void stp_ring_copy_in(struct stp_ring *r, unsigned long off, const void *src, size_t n)
{
	unsigned long pos = off & STP_RING_MASK;
	size_t first = STP_BUFSIZE - pos;

	if (first > n)
		first = n;
	memcpy(r->data + pos, src, first);
	if (n > first)
		memcpy(r->data, (const char *)src + first, n - first);
}

/* Any context. Copies n bytes out of the ring at byte counter off, wrapping. */
static inline void stp_ring_copy_out(const struct stp_ring *r, unsigned long off, void *dst, size_t n)
{
	unsigned long pos = off & STP_RING_MASK;
	size_t first = STP_BUFSIZE - pos;

	if (first > n)
		first = n;
	memcpy(dst, r->data + pos, first);
	if (n > first)
		memcpy((char *)dst + first, r->data, n - first);
}

/* NMI, IRQ, process. Takes a ring, preferring `pref`; NULL when every ring is owned. */
static inline struct stp_ring *stp_ring_claim(struct stp_rings *rs, unsigned int pref)
{
	unsigned int i;
	struct stp_ring *r;

	for (i = 0; i < rs->nr; i++) {
		r = &rs->ring[(pref + i) % rs->nr];
		if (atomic_read(&r->writer) == 0 && atomic_cmpxchg(&r->writer, 0, 1) == 0)
			return r;
	}
	return NULL;
}

/* NMI, IRQ, process. Gives back a ring taken by stp_ring_claim. */
static inline void stp_ring_unclaim(struct stp_ring *r)
{
	atomic_set_release(&r->writer, 0);
}

static inline void stp_rings_count_lost(struct stp_rings *rs, size_t len)
{
	atomic64_add(len, &rs->lost_bytes);
	atomic_inc(&rs->lost_records);
}

/* NMI, IRQ, process, with r claimed. Appends one record of len (<= STP_RECMAX) bytes.
 * Returns 0, or -ENOSPC when it does not fit (counted as lost if count_lost). */
static inline int stp_ring_put(struct stp_rings *rs, struct stp_ring *r, const char *p,
			       size_t len, uint32_t flags, bool count_lost)
{
	struct stp_rec_hdr h;
	unsigned long head = r->head;
	unsigned long tail = smp_load_acquire(&r->tail);
	unsigned long need = STP_REC_SPACE(len);

	if (len > STP_RECMAX || need > STP_BUFSIZE - (head - tail)) {
		if (count_lost)
			stp_rings_count_lost(rs, len);
		return -ENOSPC;
	}
	h.seq = (uint64_t)atomic64_inc_return(&rs->seq);
	h.len = (uint32_t)len;
	h.flags = flags;
	stp_ring_copy_in(r, head, &h, sizeof(h));
	stp_ring_copy_in(r, head + sizeof(h), p, len);
	smp_store_release(&r->head, head + need);
	return 0;
}

/* NMI, IRQ, process. Writes len bytes as one record (several if len > STP_RECMAX) to
 * ring `pref` or, if that one is owned, another one. Returns 0 or -ENOSPC/-EBUSY;
 * dropped bytes are counted as lost when count_lost. Bounded: no waiting. */
static inline int stp_rings_write(struct stp_rings *rs, unsigned int pref, const char *p,
				  size_t len, uint32_t flags, bool count_lost)
{
	struct stp_ring *r;
	unsigned long irqflags;
	size_t chunk;
	int ret = 0;

	if (!rs->nr)
		return -ENODEV;
	while (len > 0) {
		chunk = len > STP_RECMAX ? STP_RECMAX : len;
		/* Interrupts off so that only an NMI can find our ring taken. */
		local_irq_save(irqflags);
		r = stp_ring_claim(rs, pref);
		if (r) {
			if (stp_ring_put(rs, r, p, chunk, flags, count_lost))
				ret = -ENOSPC;
			stp_ring_unclaim(r);
		} else {
			if (count_lost)
				stp_rings_count_lost(rs, chunk);
			ret = -EBUSY;
		}
		local_irq_restore(irqflags);
		p += chunk;
		len -= chunk;
	}
	return ret;
}

static inline int stp_rings_vprintf(struct stp_rings *rs, unsigned int pref, uint32_t flags,
				    bool count_lost, const char *fmt, va_list ap) __printf(5, 0);

/* NMI, IRQ, process. Formats one diagnostic record (STP_REC_DIAG) in the claimed ring's
 * scratch space, truncated to STP_DIAGLEN - 1 bytes, and appends it. */
static inline int stp_rings_vprintf(struct stp_rings *rs, unsigned int pref, uint32_t flags,
				    bool count_lost, const char *fmt, va_list ap)
{
	struct stp_ring *r;
	unsigned long irqflags;
	int n, ret;

	if (!rs->nr)
		return -ENODEV;
	local_irq_save(irqflags);
	r = stp_ring_claim(rs, pref);
	if (!r) {
		local_irq_restore(irqflags);
		if (count_lost)
			stp_rings_count_lost(rs, 0);
		return -EBUSY;
	}
	n = vsnprintf(r->scratch, sizeof(r->scratch), fmt, ap);
	if (n < 0)
		n = 0;
	if (n >= (int)sizeof(r->scratch)) {
		/* Truncated: keep the line a line. */
		n = sizeof(r->scratch) - 1;
		r->scratch[n - 1] = '\n';
	}
	ret = stp_ring_put(rs, r, r->scratch, n, flags, count_lost);
	stp_ring_unclaim(r);
	local_irq_restore(irqflags);
	return ret;
}

/* Any context. True when no ring holds a record (a snapshot). */
static inline bool stp_rings_empty(struct stp_rings *rs)
{
	unsigned int i;

	for (i = 0; i < rs->nr; i++)
		if (smp_load_acquire(&rs->ring[i].head) != rs->ring[i].tail)
			return false;
	return true;
}

/* Reader only (one at a time; process context in the kernel). Moves the record with the
 * lowest sequence number into dst (cap >= STP_RECMAX) and returns its length, with its
 * flags in *flags. Returns -EAGAIN when every ring is empty, -EINPROGRESS when the next
 * expected number is being written right now (try again shortly). */
static inline int stp_rings_fetch(struct stp_rings *rs, char *dst, size_t cap, uint32_t *flags)
{
	struct stp_rec_hdr h, best_h;
	struct stp_ring *best;
	unsigned int i;
	bool writers_checked = false;

again:
	best = NULL;
	memset(&best_h, 0, sizeof(best_h));
	for (i = 0; i < rs->nr; i++) {
		struct stp_ring *r = &rs->ring[i];

		if (smp_load_acquire(&r->head) == r->tail)
			continue;
		stp_ring_copy_out(r, r->tail, &h, sizeof(h));
		if (!best || h.seq < best_h.seq) {
			best = r;
			best_h = h;
		}
	}
	if (!best)
		return -EAGAIN;
	if (best_h.seq != rs->next_seq && !writers_checked) {
		/* A lower number may be in flight: a writer publishes head before it lets
		 * go of `writer`, so once all are idle one more scan sees every record. */
		for (i = 0; i < rs->nr; i++)
			if (atomic_read_acquire(&rs->ring[i].writer))
				return -EINPROGRESS;
		writers_checked = true;
		goto again;
	}
	if (best_h.len > cap) {
		/* Cannot happen with cap >= STP_RECMAX; drop rather than overflow. */
		stp_rings_count_lost(rs, best_h.len);
		best_h.len = 0;
	}
	stp_ring_copy_out(best, best->tail + sizeof(h), dst, best_h.len);
	smp_store_release(&best->tail, best->tail + STP_REC_SPACE(best_h.len));
	rs->next_seq = best_h.seq + 1;
	*flags = best_h.flags;
	return (int)best_h.len;
}

#endif /* STP_RING_H */
