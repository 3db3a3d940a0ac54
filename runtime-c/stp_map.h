/* stp_map.h - script associative arrays: fixed-capacity hash maps, all memory
 * allocated by stp_map_new, so that every other operation works from NMI.
 *
 * Pure logic, compiled in the kernel and in user space (tests/runtime-unit).
 * Entries live in one array; a free list and per-bucket chains link them by index, and
 * a doubly linked list keeps them in insertion order, so that a wrap-around map
 * (`global a%`, stp_map_wrap) can drop its oldest entry to make room: as in SystemTap,
 * "oldest" is the key added longest ago; storing to an existing key does not renew it.
 * Keys have 1..STP_MAXKEYS columns, each 'l' (int64_t) or 's' (string, truncated to
 * STP_MAXSTRINGLEN - 1 bytes); the value is 'l' or 's'. Hashing is unseeded FNV-1a,
 * so iteration without sorting (slot order) is deterministic for a given history.
 *
 * Concurrency: none inside. The caller holds the script-level lock of the global:
 * the read lock for get/exists, the write lock for set/delete/clear/sort (sorting
 * writes the map's own index array) and while iterating a sorted map. One exception,
 * for arrays of statistics (stp_stat.h): lookups may run while one other CPU adds an
 * entry (stp_map_lookup_or_add, with that CPU holding the array's insert lock besides the
 * read lock), since an entry is filled in before a release store links it into its chain.
 */
#ifndef STP_MAP_H
#define STP_MAP_H

#define STP_MAP_NIL 0xffffffffu

struct stp_map;

struct stp_map_entry {
	struct stp_map *map;	/* lets the accessors find the column layout */
	uint32_t next;		/* bucket chain, or free list */
	uint32_t hash;
	uint32_t used;
	uint32_t older, newer;	/* insertion order, while used */
	/* columns follow, at map->off[] */
};

struct stp_map {
	unsigned int nkeys;
	char keytypes[STP_MAXKEYS];
	char valtype;
	unsigned int off[STP_MAXKEYS + 1];	/* [0] value, [1..nkeys] keys */
	size_t esize;
	unsigned int maxentries;
	unsigned int nbuckets;			/* power of two */
	unsigned int count;
	unsigned int high;			/* slots [0, high) were taken since the last clear */
	unsigned int nsorted;
	uint32_t free_head;
	uint32_t oldest, newest;		/* ends of the insertion order */
	bool wrap;				/* full: adding drops the oldest */
	bool sized;				/* maxentries is the declared size (`a[N]`) */
	uint32_t *buckets;
	uint32_t *sorted;
	char *entries;
	int sort_column, sort_dir;		/* of the running stp_map_sort */
};

/* A key built on the caller's stack; string columns point at the caller's strings. */
struct stp_key {
	unsigned int n;			/* > STP_MAXKEYS: too many columns, matches nothing */
	char type[STP_MAXKEYS];
	int64_t l[STP_MAXKEYS];
	const char *s[STP_MAXKEYS];
};

/* Any context. */
static inline void stp_key_init(struct stp_key *k)
{
	k->n = 0;
}

/* Any context. Appends an integer column. */
static inline void stp_key_long(struct stp_key *k, int64_t v)
{
	if (k->n >= STP_MAXKEYS) {
		k->n = STP_MAXKEYS + 1;
		return;
	}
	k->type[k->n] = 'l';
	k->l[k->n] = v;
	k->n++;
}

/* Any context. Appends a string column (NULL means ""); s must outlive the key's use. */
static inline void stp_key_str(struct stp_key *k, const char *s)
{
	if (k->n >= STP_MAXKEYS) {
		k->n = STP_MAXKEYS + 1;
		return;
	}
	k->type[k->n] = 's';
	k->s[k->n] = s ? s : "";
	k->n++;
}

static inline struct stp_map_entry *stp_map_slot(const struct stp_map *m, uint32_t i)
{
	return (struct stp_map_entry *)(m->entries + (size_t)i * m->esize);
}

static inline char *stp_map_col(const struct stp_map_entry *e, unsigned int col)
{
	return (char *)e + e->map->off[col];
}

/* Any context. Copies at most STP_MAXSTRINGLEN - 1 bytes and always terminates. */
static inline void stp_map_strcpy(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < STP_MAXSTRINGLEN - 1 && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* True when stored (already truncated) equals s truncated the same way. */
static inline bool stp_map_streq(const char *stored, const char *s)
{
	size_t i;

	for (i = 0; i < STP_MAXSTRINGLEN - 1; i++) {
		if (stored[i] != s[i])
			return false;
		if (!s[i])
			return true;
	}
	return true;
}

static inline uint32_t stp_map_hash(const struct stp_key *k)
{
	uint32_t h = 2166136261u;
	unsigned int c;
	size_t i;

	for (c = 0; c < k->n; c++) {
		if (k->type[c] == 'l') {
			uint64_t v = (uint64_t)k->l[c];

			for (i = 0; i < 8; i++, v >>= 8)
				h = (h ^ (uint32_t)(v & 0xff)) * 16777619u;
		} else {
			const char *s = k->s[c];

			for (i = 0; i < STP_MAXSTRINGLEN - 1 && s[i]; i++)
				h = (h ^ (unsigned char)s[i]) * 16777619u;
		}
		h = (h ^ 0xffu) * 16777619u;	/* column separator */
	}
	return h;
}

static inline bool stp_map_key_ok(const struct stp_map *m, const struct stp_key *k)
{
	unsigned int c;

	if (k->n != m->nkeys)
		return false;
	for (c = 0; c < k->n; c++)
		if (k->type[c] != m->keytypes[c])
			return false;
	return true;
}

/* Any context. Whether e equals k in the key columns whose bit is set in mask (bit c for
 * column c; the others are wildcards). */
static inline bool stp_map_key_match(const struct stp_map_entry *e, const struct stp_key *k,
				     unsigned int mask)
{
	unsigned int c;

	for (c = 0; c < k->n; c++) {
		const char *col = stp_map_col(e, c + 1);

		if (!(mask & (1u << c)))
			continue;
		if (k->type[c] == 'l') {
			if (*(const int64_t *)col != k->l[c])
				return false;
		} else if (!stp_map_streq(col, k->s[c])) {
			return false;
		}
	}
	return true;
}

static inline bool stp_map_key_eq(const struct stp_map_entry *e, const struct stp_key *k)
{
	return stp_map_key_match(e, k, ~0u);
}

/* Any context. The entry for k, or NULL; *hashp gets the key's hash. */
static inline struct stp_map_entry *stp_map_find(const struct stp_map *m, const struct stp_key *k,
						 uint32_t *hashp, uint32_t **linkp)
{
	uint32_t h = stp_map_hash(k);
	uint32_t *link = &m->buckets[h & (m->nbuckets - 1)];
	struct stp_map_entry *e;

	*hashp = h;
	while (READ_ONCE(*link) != STP_MAP_NIL) {
		e = stp_map_slot(m, READ_ONCE(*link));
		if (e->hash == h && stp_map_key_eq(e, k)) {
			if (linkp)
				*linkp = link;
			return e;
		}
		link = &e->next;
	}
	return NULL;
}

/* Any context. Empties the map (keeps its memory). O(high): the free list hands out freed
 * slots first, then the never-taken ones in order, so slots at or past the high-water mark
 * were never taken since the last clear, still chain i -> i + 1 to the end, and head no
 * bucket. */
static inline void stp_map_clear(struct stp_map *m)
{
	uint32_t i;

	for (i = 0; i < m->high; i++) {
		struct stp_map_entry *e = stp_map_slot(m, i);

		if (e->used)
			m->buckets[e->hash & (m->nbuckets - 1)] = STP_MAP_NIL;
		e->used = 0;
		e->next = i + 1 < m->maxentries ? i + 1 : STP_MAP_NIL;
	}
	m->free_head = 0;
	m->oldest = m->newest = STP_MAP_NIL;
	m->count = 0;
	m->high = 0;
	m->nsorted = 0;
}

/* Any context. The steps (slots visited) stp_map_clear takes. */
static inline unsigned long stp_map_clear_work(const struct stp_map *m)
{
	return m->high;
}

/* Process context (allocates). keytypes: 1..STP_MAXKEYS of 'l'/'s'; valtype 'l' or 's';
 * maxentries 0 means STP_MAXMAPENTRIES. NULL on bad arguments or no memory. */
static inline struct stp_map *stp_map_new(const char *keytypes, char valtype, unsigned int maxentries)
{
	struct stp_map *m;
	size_t off = (sizeof(struct stp_map_entry) + 7) & ~(size_t)7;
	size_t n = strlen(keytypes);
	unsigned int c;
	uint32_t i;

	if (n < 1 || n > STP_MAXKEYS || (valtype != 'l' && valtype != 's'))
		return NULL;
	bool sized = maxentries != 0;

	if (maxentries == 0)
		maxentries = STP_MAXMAPENTRIES;
	if (maxentries >= 0x40000000u)
		return NULL;
	m = STP_ZALLOC(sizeof(*m));
	if (!m)
		return NULL;
	m->sized = sized;
	m->nkeys = n;
	m->valtype = valtype;
	for (c = 0; c <= n; c++) {
		char t = c == 0 ? valtype : keytypes[c - 1];

		if (t != 'l' && t != 's') {
			STP_FREE(m);
			return NULL;
		}
		if (c > 0)
			m->keytypes[c - 1] = t;
		m->off[c] = off;
		off += t == 'l' ? 8 : ((STP_MAXSTRINGLEN + 7) & ~7);
	}
	m->esize = off;
	m->maxentries = maxentries;
	for (m->nbuckets = 16; m->nbuckets < maxentries; m->nbuckets <<= 1)
		;
	m->entries = STP_ZALLOC(m->esize * maxentries);
	m->buckets = STP_ZALLOC(sizeof(uint32_t) * m->nbuckets);
	m->sorted = STP_ZALLOC(sizeof(uint32_t) * maxentries);
	if (!m->entries || !m->buckets || !m->sorted) {
		STP_FREE(m->entries);
		STP_FREE(m->buckets);
		STP_FREE(m->sorted);
		STP_FREE(m);
		return NULL;
	}
	for (i = 0; i < m->nbuckets; i++)
		m->buckets[i] = STP_MAP_NIL;
	for (i = 0; i < maxentries; i++)
		stp_map_slot(m, i)->map = m;
	m->high = maxentries;	/* the first clear chains every slot */
	stp_map_clear(m);
	return m;
}

/* Process context, before any use. Makes m a wrap-around map: when it is full, adding a
 * key drops the entry added longest ago instead of failing. */
static inline void stp_map_wrap(struct stp_map *m)
{
	m->wrap = true;
}

/* Process context. NULL is allowed. */
static inline void stp_map_free(struct stp_map *m)
{
	if (!m)
		return;
	STP_FREE(m->entries);
	STP_FREE(m->buckets);
	STP_FREE(m->sorted);
	STP_FREE(m);
}

/* Any context. The slot number of an entry (stable while it exists). */
static inline uint32_t stp_map_index(const struct stp_map *m, const struct stp_map_entry *e)
{
	return (uint32_t)(((const char *)e - m->entries) / m->esize);
}

/* Any context. Number of entries. */
static inline unsigned int stp_map_size(const struct stp_map *m)
{
	return m->count;
}

/* Any context. */
static inline bool stp_map_exists(const struct stp_map *m, const struct stp_key *k)
{
	uint32_t h;

	return stp_map_key_ok(m, k) && stp_map_find(m, k, &h, NULL) != NULL;
}

/* Any context. The value for k; 0 when absent (or not an integer map). */
static inline int64_t stp_map_get_long(const struct stp_map *m, const struct stp_key *k)
{
	struct stp_map_entry *e;
	uint32_t h;

	if (m->valtype != 'l' || !stp_map_key_ok(m, k))
		return 0;
	e = stp_map_find(m, k, &h, NULL);
	return e ? *(const int64_t *)stp_map_col(e, 0) : 0;
}

/* Any context. The value for k, "" when absent; points into the map: copy it before
 * letting go of the lock. */
static inline const char *stp_map_get_str(const struct stp_map *m, const struct stp_key *k)
{
	struct stp_map_entry *e;
	uint32_t h;

	if (m->valtype != 's' || !stp_map_key_ok(m, k))
		return "";
	e = stp_map_find(m, k, &h, NULL);
	return e ? stp_map_col(e, 0) : "";
}

/* Any context. Takes slot i (used) out of the insertion order. */
static inline void stp_map_unlink_age(struct stp_map *m, uint32_t i)
{
	struct stp_map_entry *e = stp_map_slot(m, i);

	if (e->older != STP_MAP_NIL)
		stp_map_slot(m, e->older)->newer = e->newer;
	else
		m->oldest = e->newer;
	if (e->newer != STP_MAP_NIL)
		stp_map_slot(m, e->newer)->older = e->older;
	else
		m->newest = e->older;
}

/* Any context. Removes the entry in slot i, whose bucket link (the index that points at
 * it) is *link, and frees its slot. */
static inline void stp_map_remove(struct stp_map *m, uint32_t i, uint32_t *link)
{
	struct stp_map_entry *e = stp_map_slot(m, i);

	*link = e->next;
	stp_map_unlink_age(m, i);
	e->used = 0;
	e->next = m->free_head;
	m->free_head = i;
	m->count--;
}

/* Any context (bounded by the oldest entry's bucket chain). Frees the slot of the entry
 * added longest ago; false when there is none. */
static inline bool stp_map_drop_oldest(struct stp_map *m)
{
	uint32_t i = m->oldest, *link;

	if (i == STP_MAP_NIL)
		return false;
	link = &m->buckets[stp_map_slot(m, i)->hash & (m->nbuckets - 1)];
	while (*link != STP_MAP_NIL && *link != i)
		link = &stp_map_slot(m, *link)->next;
	if (*link != i)
		return false;	/* cannot happen: every used entry is in its bucket */
	stp_map_remove(m, i, link);
	return true;
}

/* Any context. The entry for k, created (value 0 / "") if absent; NULL when full (a
 * wrap-around map is never full: it drops its oldest entry first). */
static inline struct stp_map_entry *stp_map_lookup_or_add(struct stp_map *m, const struct stp_key *k)
{
	struct stp_map_entry *e;
	uint32_t h, i;
	unsigned int c;

	e = stp_map_find(m, k, &h, NULL);
	if (e)
		return e;
	if (m->free_head == STP_MAP_NIL && (!m->wrap || !stp_map_drop_oldest(m)))
		return NULL;
	i = m->free_head;
	e = stp_map_slot(m, i);
	m->free_head = e->next;
	if (i >= m->high)
		m->high = i + 1;
	for (c = 0; c < k->n; c++) {
		char *col = stp_map_col(e, c + 1);

		if (k->type[c] == 'l')
			*(int64_t *)col = k->l[c];
		else
			stp_map_strcpy(col, k->s[c]);
	}
	if (m->valtype == 'l')
		*(int64_t *)stp_map_col(e, 0) = 0;
	else
		stp_map_col(e, 0)[0] = '\0';
	e->hash = h;
	e->used = 1;
	e->next = m->buckets[h & (m->nbuckets - 1)];
	e->older = m->newest;
	e->newer = STP_MAP_NIL;
	if (m->newest != STP_MAP_NIL)
		stp_map_slot(m, m->newest)->newer = i;
	else
		m->oldest = i;
	m->newest = i;
	smp_store_release(&m->buckets[h & (m->nbuckets - 1)], i);	/* publish it whole */
	m->count++;
	return e;
}

/* Any context. 0, -E2BIG when the map is full, -EINVAL on a key/value type mismatch. */
static inline int stp_map_set_long(struct stp_map *m, const struct stp_key *k, int64_t v)
{
	struct stp_map_entry *e;

	if (m->valtype != 'l' || !stp_map_key_ok(m, k))
		return -EINVAL;
	e = stp_map_lookup_or_add(m, k);
	if (!e)
		return -E2BIG;
	*(int64_t *)stp_map_col(e, 0) = v;
	return 0;
}

/* Any context. m[k] += delta; the new value goes to *newval if non-NULL.
 * 0, -E2BIG when the map is full, -EINVAL on a type mismatch. */
static inline int stp_map_add_long(struct stp_map *m, const struct stp_key *k, int64_t delta,
				   int64_t *newval)
{
	struct stp_map_entry *e;
	int64_t *v;

	if (m->valtype != 'l' || !stp_map_key_ok(m, k))
		return -EINVAL;
	e = stp_map_lookup_or_add(m, k);
	if (!e)
		return -E2BIG;
	v = (int64_t *)stp_map_col(e, 0);
	*v = (int64_t)((uint64_t)*v + (uint64_t)delta);	/* wraps like the kernel's s64 math */
	if (newval)
		*newval = *v;
	return 0;
}

/* Any context. Stores s (NULL means "") truncated to STP_MAXSTRINGLEN - 1 bytes.
 * 0, -E2BIG when the map is full, -EINVAL on a type mismatch. */
static inline int stp_map_set_str(struct stp_map *m, const struct stp_key *k, const char *s)
{
	struct stp_map_entry *e;

	if (m->valtype != 's' || !stp_map_key_ok(m, k))
		return -EINVAL;
	e = stp_map_lookup_or_add(m, k);
	if (!e)
		return -E2BIG;
	stp_map_strcpy(stp_map_col(e, 0), s ? s : "");
	return 0;
}

/* Any context. Removes k if present. */
static inline void stp_map_delete(struct stp_map *m, const struct stp_key *k)
{
	struct stp_map_entry *e;
	uint32_t h, *link = NULL, i;

	if (!stp_map_key_ok(m, k))
		return;
	e = stp_map_find(m, k, &h, &link);
	if (!e)
		return;
	i = *link;
	stp_map_remove(m, i, link);
}

/* Any context. `[k, *] in arr`: whether some entry matches k in the columns of mask (see
 * stp_map_key_match). O(high), which the caller charges as stp_map_clear_work. */
static inline bool stp_map_exists_match(const struct stp_map *m, const struct stp_key *k,
					unsigned int mask)
{
	uint32_t i;

	if (!stp_map_key_ok(m, k))
		return false;
	for (i = 0; i < m->high; i++) {
		const struct stp_map_entry *e = stp_map_slot(m, i);

		if (e->used && stp_map_key_match(e, k, mask))
			return true;
	}
	return false;
}

/* Any context. `delete arr[k, *]`: removes every entry matching k in the columns of mask.
 * O(high) slots, each removal walking its bucket chain (at most count entries); the caller
 * charges stp_map_clear_work. A freed slot goes to the free list, below high, so the scan
 * meets each slot once. */
static inline void stp_map_delete_match(struct stp_map *m, const struct stp_key *k,
					unsigned int mask)
{
	uint32_t i, *link;

	if (!stp_map_key_ok(m, k))
		return;
	for (i = 0; i < m->high; i++) {
		struct stp_map_entry *e = stp_map_slot(m, i);

		if (!e->used || !stp_map_key_match(e, k, mask))
			continue;
		link = &m->buckets[e->hash & (m->nbuckets - 1)];
		while (*link != i && *link != STP_MAP_NIL)
			link = &stp_map_slot(m, *link)->next;
		if (*link != i)
			continue;	/* not chained: cannot happen for a used slot */
		*link = e->next;
		e->used = 0;
		e->next = m->free_head;
		m->free_head = i;
		m->count--;
	}
}

static inline int stp_map_cmp_col(const struct stp_map_entry *a, const struct stp_map_entry *b,
				  unsigned int col)
{
	char t = col == 0 ? a->map->valtype : a->map->keytypes[col - 1];
	const char *x = stp_map_col(a, col), *y = stp_map_col(b, col);

	if (t == 'l') {
		int64_t u = *(const int64_t *)x, v = *(const int64_t *)y;

		return u < v ? -1 : u > v;
	}
	return strcmp(x, y);
}

/* Order of the running sort: the chosen column in the chosen direction, then the key
 * columns ascending, so that the result is total and deterministic. */
/* The unit tests count comparisons through this, to hold stp_map_sort_work to its word. */
#ifndef STP_MAP_COUNT_CMP
#define STP_MAP_COUNT_CMP() do { } while (0)
#endif

static inline int stp_map_cmp(const struct stp_map *m, uint32_t ia, uint32_t ib)
{
	const struct stp_map_entry *a = stp_map_slot(m, ia), *b = stp_map_slot(m, ib);
	unsigned int c;
	int r = stp_map_cmp_col(a, b, m->sort_column) * m->sort_dir;

	STP_MAP_COUNT_CMP();
	for (c = 1; r == 0 && c <= m->nkeys; c++)
		r = stp_map_cmp_col(a, b, c);
	return r;
}

static inline void stp_map_sift_down(struct stp_map *m, unsigned int root, unsigned int n)
{
	uint32_t *s = m->sorted, tmp;
	unsigned int child;

	for (;;) {
		child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && stp_map_cmp(m, s[child], s[child + 1]) < 0)
			child++;
		if (stp_map_cmp(m, s[root], s[child]) >= 0)
			return;
		tmp = s[root];
		s[root] = s[child];
		s[child] = tmp;
		root = child;
	}
}

/* Any context. An upper bound of the steps stp_map_sort(m, .., dir) takes (slots visited
 * and comparisons), which a probe charges against MAXACTION before it sorts: a heap sort
 * of n entries compares at most 2n while building the heap and 2 log2(n) per entry while
 * taking it apart. */
static inline unsigned long stp_map_sort_work(const struct stp_map *m, int dir)
{
	unsigned long n = m->count, levels = 0;

	if (dir == 0 || n < 2)
		return m->high;
	while ((1UL << levels) < n)
		levels++;
	return m->high + 2 * n * (levels + 1);
}

/* Any context (bounded: O(high + n log n), no recursion: stp_map_sort_work). Fills the
 * map's index array with its entries, sorted by column (0 = value, 1..nkeys = key column)
 * in direction dir (1 ascending, -1 descending, 0 slot order), and returns the count;
 * -EINVAL for a bad column. Read them with stp_map_entry(m, 0 .. count-1). */
static inline int stp_map_sort(struct stp_map *m, int column, int dir)
{
	unsigned int n = 0, i;
	uint32_t tmp;

	if (column < 0 || (unsigned int)column > m->nkeys)
		return -EINVAL;
	for (i = 0; i < m->high && n < m->count; i++)
		if (stp_map_slot(m, i)->used)
			m->sorted[n++] = i;
	m->nsorted = n;
	if (dir == 0 || n < 2)
		return (int)n;
	m->sort_column = column;
	m->sort_dir = dir > 0 ? 1 : -1;
	for (i = n / 2; i-- > 0;)
		stp_map_sift_down(m, i, n);
	for (i = n - 1; i > 0; i--) {
		tmp = m->sorted[0];
		m->sorted[0] = m->sorted[i];
		m->sorted[i] = tmp;
		stp_map_sift_down(m, 0, i);
	}
	return (int)n;
}

/* Any context. The i-th entry of the last stp_map_sort, or NULL when i is out of range
 * or the entry was deleted since. */
static inline const struct stp_map_entry *stp_map_entry(const struct stp_map *m, unsigned int i)
{
	const struct stp_map_entry *e;

	if (i >= m->nsorted)
		return NULL;
	e = stp_map_slot(m, m->sorted[i]);
	return e->used ? e : NULL;
}

/* Any context. Key column col (1-based, as in stp_map_sort); 0 / "" on a type mismatch. */
static inline int64_t stp_entry_key_long(const struct stp_map_entry *e, unsigned int col)
{
	if (col < 1 || col > e->map->nkeys || e->map->keytypes[col - 1] != 'l')
		return 0;
	return *(const int64_t *)stp_map_col(e, col);
}

/* Any context. Key column col (1-based); points into the map. */
static inline const char *stp_entry_key_str(const struct stp_map_entry *e, unsigned int col)
{
	if (col < 1 || col > e->map->nkeys || e->map->keytypes[col - 1] != 's')
		return "";
	return stp_map_col(e, col);
}

/* Any context. */
static inline int64_t stp_entry_val_long(const struct stp_map_entry *e)
{
	return e->map->valtype == 'l' ? *(const int64_t *)stp_map_col(e, 0) : 0;
}

/* Any context. Points into the map. */
static inline const char *stp_entry_val_str(const struct stp_map_entry *e)
{
	return e->map->valtype == 's' ? stp_map_col(e, 0) : "";
}

#endif /* STP_MAP_H */
