/* stp_regex.h - matching the regular expressions of `=~` and `!~`.
 *
 * Pure logic, compiled in the kernel and in user space (the translator's own tests run it
 * against the Rust regex crate). Each regular expression was compiled by the translator
 * into constant tables (struct stp_re): a DFA, which decides match or no match with one
 * table lookup per byte, and a Thompson NFA, which a Pike VM follows to find the
 * submatches that matched(N) returns. Both run in time linear in the string (at most
 * STP_MAXSTRINGLEN - 1 bytes; the Pike VM also in the NFA's size), allocate nothing, take
 * no lock and do not recurse: any context, NMI included.
 *
 * The Pike VM's thread lists and the last match live in the probe context, sized by the
 * generated module for its largest regular expression: it defines STP_RE_MAXSTATES (NFA
 * states), STP_RE_MAXSLOTS (2 per group, group 0 the whole match) and STP_RE_MAXSTACK
 * (the epsilon-closure stack) when the script calls matched(), and only then.
 */
#ifndef STP_REGEX_H
#define STP_REGEX_H

#define STP_RE_ACCEPT 1		/* DFA state flags */
#define STP_RE_DEAD 2

enum { STP_RE_RANGES, STP_RE_SPLIT, STP_RE_SAVE, STP_RE_LOOK, STP_RE_MATCH, STP_RE_FAIL };
enum { STP_RE_LOOK_START, STP_RE_LOOK_END, STP_RE_LOOK_WORD, STP_RE_LOOK_NOT_WORD };

struct stp_re_range {
	uint8_t lo, hi;		/* a byte in lo..hi moves to next */
	uint16_t next;
};

struct stp_re_op {
	uint8_t op;		/* STP_RE_* */
	uint8_t arg;		/* SAVE: the slot; LOOK: STP_RE_LOOK_* */
	uint16_t next;		/* SAVE, LOOK */
	uint16_t first, count;	/* RANGES: into ranges; SPLIT: into alts, preferred first */
};

struct stp_re {
	const char *pattern;		/* as the script wrote it */
	const uint8_t *classes;		/* [256]: byte -> class */
	uint16_t nclasses;
	const uint16_t *trans;		/* [states * nclasses]; state 0 starts */
	const uint16_t *eoi;		/* [states]: after the end of the string */
	const uint8_t *flags;		/* [states]: STP_RE_ACCEPT, STP_RE_DEAD */
	const struct stp_re_op *ops;	/* the NFA */
	const struct stp_re_range *ranges;
	const uint16_t *alts;
	uint16_t nops, start, groups;
};

/* Any context. Whether re matches somewhere in s (unanchored, as `=~`). */
static inline int stp_re_dfa(const struct stp_re *re, const char *s)
{
	unsigned int st = 0;
	size_t i;

	if (re->flags[0] & STP_RE_ACCEPT)
		return 1;
	for (i = 0; i < STP_MAXSTRINGLEN - 1 && s[i]; i++) {
		st = re->trans[st * re->nclasses + re->classes[(unsigned char)s[i]]];
		if (re->flags[st] & STP_RE_ACCEPT)
			return 1;
		if (re->flags[st] & STP_RE_DEAD)
			return 0;
	}
	return (re->flags[re->eoi[st]] & STP_RE_ACCEPT) != 0;
}

#ifdef STP_RE_MAXSTATES

/* The last match of a probe run, for matched(N). */
struct stp_re_match {
	int result;			/* the last =~ / !~ found a match */
	int groups;			/* of its regular expression */
	int16_t caps[STP_RE_MAXSLOTS];	/* start, end of each group; -1: did not take part */
	char str[STP_MAXSTRINGLEN];	/* the string it searched */
};

/* One Pike VM thread list: a sparse set of NFA states, each with its capture slots. */
struct stp_re_threads {
	unsigned int n;
	uint16_t dense[STP_RE_MAXSTATES];
	uint16_t sparse[STP_RE_MAXSTATES];
	int16_t slots[STP_RE_MAXSTATES][STP_RE_MAXSLOTS];
};

struct stp_re_frame {
	uint16_t sid;		/* a state to explore, or ... */
	int16_t slot;		/* ... >= 0: restore cur[slot] to val */
	int16_t val;
};

struct stp_re_scratch {
	struct stp_re_threads list[2];
	struct stp_re_frame stack[STP_RE_MAXSTACK];
	int16_t cur[STP_RE_MAXSLOTS];
};

/* Any context (pure, NMI included). Whether state sid is in the thread list. */
static inline bool stp_re_has(const struct stp_re_threads *t, unsigned int sid)
{
	unsigned int i = t->sparse[sid];

	return i < t->n && t->dense[i] == sid;
}

/* Any context (pure). A word character for \b and \B. */
static inline bool stp_re_word(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Any context (pure). Whether the zero-width assertion kind (^, $, \b, \B) holds at byte at. */
static inline bool stp_re_look(int kind, const char *s, int at, int len)
{
	bool before = at > 0 && stp_re_word((unsigned char)s[at - 1]);
	bool after = at < len && stp_re_word((unsigned char)s[at]);

	switch (kind) {
	case STP_RE_LOOK_START:
		return at == 0;
	case STP_RE_LOOK_END:
		return at == len;
	case STP_RE_LOOK_WORD:
		return before != after;
	default:
		return before == after;
	}
}

/* Adds sid and what it reaches without consuming a byte to t, in order of preference,
 * with x->cur as the capture slots (restored before returning). Each state enters t at
 * most once, so the stack holds at most one frame per alternative and per SAVE state:
 * STP_RE_MAXSTACK, which the translator computed. */
static inline void stp_re_add(const struct stp_re *re, struct stp_re_scratch *x,
			      struct stp_re_threads *t, unsigned int sid, const char *s, int at,
			      int len)
{
	unsigned int sp = 0, i;
	const struct stp_re_op *op;

	x->stack[sp++] = (struct stp_re_frame){ .sid = sid, .slot = -1 };
	while (sp > 0) {
		struct stp_re_frame f = x->stack[--sp];

		if (f.slot >= 0) {
			x->cur[f.slot] = f.val;
			continue;
		}
		sid = f.sid;
		for (;;) {
			if (sid >= re->nops || stp_re_has(t, sid))
				break;
			t->sparse[sid] = t->n;
			t->dense[t->n++] = sid;
			op = &re->ops[sid];
			if (op->op == STP_RE_SPLIT) {
				if (op->count == 0)
					break;
				for (i = op->count - 1; i > 0 && sp < STP_RE_MAXSTACK; i--)
					x->stack[sp++] = (struct stp_re_frame){
						.sid = re->alts[op->first + i], .slot = -1 };
				sid = re->alts[op->first];
			} else if (op->op == STP_RE_LOOK) {
				if (!stp_re_look(op->arg, s, at, len))
					break;
				sid = op->next;
			} else if (op->op == STP_RE_SAVE) {
				if (op->arg < STP_RE_MAXSLOTS && sp < STP_RE_MAXSTACK) {
					x->stack[sp++] = (struct stp_re_frame){
						.slot = op->arg, .val = x->cur[op->arg] };
					x->cur[op->arg] = (int16_t)at;
				}
				sid = op->next;
			} else {
				memcpy(t->slots[sid], x->cur, sizeof(x->cur));
				break;
			}
		}
	}
}

/* Any context (O(length * NFA size)). The submatches of the leftmost match of re in s, the
 * one a backtracking matcher would find first (leftmost-first, as Perl and the Rust regex
 * crate), into m; m->result says whether there is a match. */
static inline void stp_re_captures(const struct stp_re *re, const char *s,
				   struct stp_re_match *m, struct stp_re_scratch *x)
{
	struct stp_re_threads *cl = &x->list[0], *nl = &x->list[1], *tmp;
	int len = strnlen(s, STP_MAXSTRINGLEN - 1), at, k;
	unsigned int i, j, sid;
	const struct stp_re_op *op;

	m->result = 0;
	m->groups = re->groups;
	for (k = 0; k < STP_RE_MAXSLOTS; k++)
		m->caps[k] = -1;
	cl->n = 0;
	for (at = 0; at <= len; at++) {
		if (!m->result) {
			/* A new start here, after every thread begun earlier. */
			for (k = 0; k < STP_RE_MAXSLOTS; k++)
				x->cur[k] = -1;
			stp_re_add(re, x, cl, re->start, s, at, len);
		}
		if (cl->n == 0)
			break;
		nl->n = 0;
		for (i = 0; i < cl->n; i++) {
			sid = cl->dense[i];
			op = &re->ops[sid];
			if (op->op == STP_RE_MATCH) {
				/* Threads after this one are less preferred: drop them. */
				memcpy(m->caps, cl->slots[sid], sizeof(m->caps));
				m->result = 1;
				break;
			}
			if (op->op != STP_RE_RANGES || at >= len)
				continue;
			for (j = 0; j < op->count; j++) {
				const struct stp_re_range *r = &re->ranges[op->first + j];
				unsigned char b = s[at];

				if (b >= r->lo && b <= r->hi) {
					memcpy(x->cur, cl->slots[sid], sizeof(x->cur));
					stp_re_add(re, x, nl, r->next, s, at + 1, len);
					break;
				}
			}
		}
		tmp = cl;
		cl = nl;
		nl = tmp;
	}
}

#endif /* STP_RE_MAXSTATES */

#endif /* STP_REGEX_H */
