/* stp_a64_store.h - what an arm64 store writes, decoded from its encoding and the registers
 * at the trap.
 *
 * An arm64 watchpoint reports an access before it happens, so the watched bytes still hold
 * the old value when a hit is reported (stp_hwbp_arm64.h). To give data_value() the value
 * after the write, as x86 does, the store instruction at the trapped PC is decoded here:
 * which bytes it writes (its effective address and size) and what it writes there (a source
 * register, a pair, zeroes, or an atomic operation on the old bytes).
 *
 * Decoded (general-purpose registers only; little-endian kernels):
 *   STR/STRB/STRH (unsigned offset, register offset, pre- and post-index), STUR*, STTR*,
 *   STP/STNP (32 and 64 bits), STLR/STLLR, STLUR*, STXR/STLXR, STXP/STLXP,
 *   the LSE atomics LDADD/LDCLR/LDEOR/LDSET/LDSMAX/LDSMIN/LDUMAX/LDUMIN and their ST*
 *   aliases, SWP, CAS and CASP (every ordering variant), and DC ZVA.
 * Not decoded: SIMD&FP stores (STR Qn, ST1, ...: their registers are not in pt_regs), STGP
 * and the MTE tag stores, and anything else; the caller then keeps the value before.
 *
 * Pure logic, any context (NMI included): no kernel calls and no memory access; the caller
 * reads the instruction and the old bytes with copy_from_kernel_nofault. Also built in user
 * space by tests/runtime-unit.
 */
#ifndef STP_A64_STORE_H
#define STP_A64_STORE_H

enum {
	STP_A64_STORE = 1,	/* val: the bytes written, little-endian (val[1]: bytes 8..15) */
	STP_A64_ADD,		/* the LSE atomics: old OP val[0], at the access's width */
	STP_A64_CLR,
	STP_A64_EOR,
	STP_A64_SET,
	STP_A64_SMAX,
	STP_A64_SMIN,
	STP_A64_UMAX,
	STP_A64_UMIN,
	STP_A64_SWP,
	STP_A64_CAS,		/* old == cmp[0] ? val[0] : old */
	STP_A64_CASP,		/* each half of size: both equal cmp[0], cmp[1] ? val : old */
	STP_A64_ZERO,		/* DC ZVA: size bytes of zeroes */
};

/* What stp_a64_decode says about an instruction. */
enum {
	STP_A64_DECODED = 0,	/* a store: *s says what it writes */
	STP_A64_LOAD = 1,	/* a general-purpose load: it writes nothing */
	STP_A64_UNKNOWN = -1,	/* not decoded (SIMD&FP, MTE, ...) */
};

struct stp_a64_store {
	u64 ea;			/* the first byte written */
	unsigned int size;	/* bytes written: 1 to 16 (DC ZVA: the block) */
	int op;			/* STP_A64_* */
	bool exclusive;		/* STXR family: the store fails if the monitor was lost */
	u64 val[2], cmp[2];
};

/* A general-purpose register as a data source: number 31 is XZR. */
static inline u64 stp_a64_reg(const u64 *x, unsigned int n)
{
	return n == 31 ? 0 : x[n];
}

/* A general-purpose register as a base address: number 31 is SP. */
static inline u64 stp_a64_base(const u64 *x, u64 sp, unsigned int n)
{
	return n == 31 ? sp : x[n];
}

/* The low `bytes` bytes of v (1 to 8). */
static inline u64 stp_a64_trunc(u64 v, unsigned int bytes)
{
	return bytes >= 8 ? v : v & ((1ULL << (8 * bytes)) - 1);
}

/* A signed field of insn: `bits` bits from bit `lo`. */
static inline s64 stp_a64_sfield(u32 insn, unsigned int lo, unsigned int bits)
{
	return (s64)((u64)(insn >> lo) << (64 - bits)) >> (64 - bits);
}

/* A pair of registers stored: two doublewords (wide) or two words. */
static inline void stp_a64_pair(struct stp_a64_store *s, const u64 *x, unsigned int rt,
				unsigned int rt2, bool wide)
{
	s->op = STP_A64_STORE;
	if (wide) {
		s->size = 16;
		s->val[0] = stp_a64_reg(x, rt);
		s->val[1] = stp_a64_reg(x, rt2);
	} else {
		s->size = 8;
		s->val[0] = stp_a64_trunc(stp_a64_reg(x, rt), 4) | stp_a64_reg(x, rt2) << 32;
	}
}

/* Exclusive and ordered stores, CAS and CASP (bits 29:24 = 001000). */
static inline int stp_a64_decode_excl(u32 insn, const u64 *x, u64 sp, struct stp_a64_store *s)
{
	unsigned int size = 1u << (insn >> 30), rt = insn & 31, rn = (insn >> 5) & 31;
	unsigned int rt2 = (insn >> 10) & 31, rs = (insn >> 16) & 31;
	bool o2 = insn >> 23 & 1, l = insn >> 22 & 1, o1 = insn >> 21 & 1;

	s->ea = stp_a64_base(x, sp, rn);
	if (o2 && o1 && rt2 == 31) {		/* CAS, CASA, CASL, CASAL (B, H, W, X) */
		s->op = STP_A64_CAS;
		s->size = size;
		s->cmp[0] = stp_a64_trunc(stp_a64_reg(x, rs), size);
		s->val[0] = stp_a64_trunc(stp_a64_reg(x, rt), size);
		return STP_A64_DECODED;
	}
	if (!o2 && o1 && !(insn >> 31) && rt2 == 31) {	/* CASP (W or X pairs) */
		unsigned int half = insn >> 30 & 1 ? 8 : 4;

		if ((rs | rt) & 1)
			return STP_A64_UNKNOWN;
		s->op = STP_A64_CASP;
		s->size = 2 * half;
		if (half == 8) {
			s->cmp[0] = stp_a64_reg(x, rs);
			s->cmp[1] = stp_a64_reg(x, rs + 1);
			s->val[0] = stp_a64_reg(x, rt);
			s->val[1] = stp_a64_reg(x, rt + 1);
		} else {
			s->cmp[0] = stp_a64_trunc(stp_a64_reg(x, rs), 4);
			s->cmp[1] = stp_a64_trunc(stp_a64_reg(x, rs + 1), 4);
			s->val[0] = stp_a64_trunc(stp_a64_reg(x, rt), 4) |
				    stp_a64_reg(x, rt + 1) << 32;
			s->val[1] = 0;
		}
		return STP_A64_DECODED;
	}
	if (l)
		return STP_A64_LOAD;		/* LDXR, LDAXR, LDAR, LDLAR, LDXP, LDAXP */
	s->op = STP_A64_STORE;
	if (!o2 && !o1) {			/* STXR, STLXR */
		s->exclusive = true;
		s->size = size;
		s->val[0] = stp_a64_trunc(stp_a64_reg(x, rt), size);
		return STP_A64_DECODED;
	}
	if (!o2 && o1) {			/* STXP, STLXP (32- and 64-bit pairs) */
		s->exclusive = true;
		stp_a64_pair(s, x, rt, rt2, insn >> 30 & 1);
		return STP_A64_DECODED;
	}
	if (o2 && !o1) {			/* STLR, STLLR */
		s->size = size;
		s->val[0] = stp_a64_trunc(stp_a64_reg(x, rt), size);
		return STP_A64_DECODED;
	}
	return STP_A64_UNKNOWN;
}

/* Single-register stores and the LSE atomics (bits 29:27 = 111, general-purpose). */
static inline int stp_a64_decode_single(u32 insn, const u64 *x, u64 sp, struct stp_a64_store *s)
{
	unsigned int sz = insn >> 30, size = 1u << sz, rt = insn & 31, rn = (insn >> 5) & 31;
	unsigned int opc = (insn >> 22) & 3;
	u64 base = stp_a64_base(x, sp, rn);

	if ((insn & 0x3f200c00) == 0x38200000) {	/* atomic memory operations */
		static const int ops[8] = {
			STP_A64_ADD, STP_A64_CLR, STP_A64_EOR, STP_A64_SET,
			STP_A64_SMAX, STP_A64_SMIN, STP_A64_UMAX, STP_A64_UMIN,
		};
		unsigned int o3 = insn >> 15 & 1, aop = (insn >> 12) & 7;

		if (o3 && aop)
			return STP_A64_LOAD;		/* LDAPR and other o3 loads */
		s->op = o3 ? STP_A64_SWP : ops[aop];
		s->ea = base;
		s->size = size;
		s->val[0] = stp_a64_trunc(stp_a64_reg(x, (insn >> 16) & 31), size);
		return STP_A64_DECODED;
	}
	if (opc)
		return STP_A64_LOAD;			/* LDR*, LDRS*, PRFM */
	s->op = STP_A64_STORE;
	s->size = size;
	s->val[0] = stp_a64_trunc(stp_a64_reg(x, rt), size);
	if (insn & (1u << 24)) {			/* unsigned offset */
		s->ea = base + ((u64)((insn >> 10) & 0xfff) << sz);
		return STP_A64_DECODED;
	}
	if (!(insn & (1u << 21))) {			/* STUR, post-index, STTR, pre-index */
		s->ea = ((insn >> 10) & 3) == 1 ? base : base + (u64)stp_a64_sfield(insn, 12, 9);
		return STP_A64_DECODED;
	}
	if (((insn >> 10) & 3) == 2) {			/* register offset */
		u64 m = stp_a64_reg(x, (insn >> 16) & 31);
		unsigned int shift = insn >> 12 & 1 ? sz : 0;

		switch ((insn >> 13) & 7) {
		case 2: m = (u32)m; break;			/* UXTW */
		case 3: break;					/* LSL / UXTX */
		case 6: m = (u64)(s64)(s32)(u32)m; break;	/* SXTW */
		case 7: break;					/* SXTX */
		default: return STP_A64_UNKNOWN;
		}
		s->ea = base + (m << shift);
		return STP_A64_DECODED;
	}
	return STP_A64_UNKNOWN;
}

/*
 * Any context. Decodes insn, executed with general-purpose registers x[0..30] and stack
 * pointer sp; zva is DC ZVA's block size in bytes (0 if DC ZVA is not allowed). Returns
 * STP_A64_DECODED with *s filled, STP_A64_LOAD, or STP_A64_UNKNOWN.
 */
static inline int stp_a64_decode(u32 insn, const u64 *x, u64 sp, unsigned int zva,
				 struct stp_a64_store *s)
{
	memset(s, 0, sizeof(*s));
	if ((insn & 0xffffffe0) == 0xd50b7420) {	/* DC ZVA, Xt */
		if (!zva)
			return STP_A64_UNKNOWN;
		s->op = STP_A64_ZERO;
		s->size = zva;
		s->ea = stp_a64_reg(x, insn & 31) & ~(u64)(zva - 1);
		return STP_A64_DECODED;
	}
	if ((insn & 0x3f000000) == 0x08000000)
		return stp_a64_decode_excl(insn, x, sp, s);
	if ((insn & 0x3e000000) == 0x28000000) {	/* pairs, general-purpose */
		unsigned int opc = insn >> 30, idx = (insn >> 23) & 3;
		unsigned int rt = insn & 31, rt2 = (insn >> 10) & 31, rn = (insn >> 5) & 31;
		u64 base = stp_a64_base(x, sp, rn);
		s64 off;

		if (insn & (1u << 22))
			return opc == 3 ? STP_A64_UNKNOWN : STP_A64_LOAD;
		if (opc != 0 && opc != 2)
			return STP_A64_UNKNOWN;		/* STGP, reserved */
		off = stp_a64_sfield(insn, 15, 7) * (opc ? 8 : 4);
		s->ea = idx == 1 ? base : base + (u64)off;
		stp_a64_pair(s, x, rt, rt2, opc);
		return STP_A64_DECODED;
	}
	if ((insn & 0x3f200c00) == 0x19000000) {	/* STLUR*, LDAPUR* (RCpc) */
		if ((insn >> 22) & 3)
			return STP_A64_LOAD;
		s->op = STP_A64_STORE;
		s->size = 1u << (insn >> 30);
		s->val[0] = stp_a64_trunc(stp_a64_reg(x, insn & 31), s->size);
		s->ea = stp_a64_base(x, sp, (insn >> 5) & 31) + (u64)stp_a64_sfield(insn, 12, 9);
		return STP_A64_DECODED;
	}
	if ((insn & 0x3e000000) == 0x38000000)		/* single register, general-purpose */
		return stp_a64_decode_single(insn, x, sp, s);
	return STP_A64_UNKNOWN;
}

/* Little-endian load and store of n (up to 8) bytes. */
static inline u64 stp_a64_get(const u8 *p, unsigned int n)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < n && i < 8; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

static inline void stp_a64_put(u8 *p, u64 v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n && i < 8; i++)
		p[i] = v >> (8 * i);
}

/* v of `bytes` bytes, sign-extended. */
static inline s64 stp_a64_sext(u64 v, unsigned int bytes)
{
	return bytes >= 8 ? (s64)v : (s64)(v << (64 - 8 * bytes)) >> (64 - 8 * bytes);
}

/*
 * Any context. The bytes s writes at [s->ea, s->ea + s->size) into out (16 bytes), given
 * the bytes there before it in old (s->size bytes; not read for STP_A64_STORE and _ZERO).
 * For DC ZVA only out[0..15] are set (all zero): stp_a64_merge knows the rest are too.
 */
static inline void stp_a64_apply(const struct stp_a64_store *s, const u8 *old, u8 *out)
{
	unsigned int n = s->size;
	u64 o, v = s->val[0], r;

	memset(out, 0, 16);
	switch (s->op) {
	case STP_A64_STORE:
		stp_a64_put(out, s->val[0], n);
		if (n > 8)
			stp_a64_put(out + 8, s->val[1], n - 8);
		return;
	case STP_A64_ZERO:
		return;
	case STP_A64_CASP: {
		unsigned int h = n / 2;
		bool eq = stp_a64_get(old, h) == s->cmp[0] && stp_a64_get(old + h, h) == s->cmp[1];

		if (!eq) {
			memcpy(out, old, n);
		} else if (h == 8) {
			stp_a64_put(out, s->val[0], 8);
			stp_a64_put(out + 8, s->val[1], 8);
		} else {
			stp_a64_put(out, s->val[0], 8);
		}
		return;
	}
	}
	o = stp_a64_get(old, n);
	switch (s->op) {
	case STP_A64_ADD: r = o + v; break;
	case STP_A64_CLR: r = o & ~v; break;
	case STP_A64_EOR: r = o ^ v; break;
	case STP_A64_SET: r = o | v; break;
	case STP_A64_SMAX: r = stp_a64_sext(o, n) >= stp_a64_sext(v, n) ? o : v; break;
	case STP_A64_SMIN: r = stp_a64_sext(o, n) <= stp_a64_sext(v, n) ? o : v; break;
	case STP_A64_UMAX: r = o >= v ? o : v; break;
	case STP_A64_UMIN: r = o <= v ? o : v; break;
	case STP_A64_SWP: r = v; break;
	case STP_A64_CAS: r = o == s->cmp[0] ? v : o; break;
	default: r = o; break;
	}
	stp_a64_put(out, r, n);
}

/* An address with its top byte taken from bit 55 (what TBI ignores: pointer tags). */
static inline u64 stp_a64_untag(u64 a)
{
	return (u64)((s64)(a << 8) >> 8);
}

/*
 * Any context. The watched bytes [waddr, waddr + wlen) (wlen 1 to 8) after s ran, as a
 * little-endian value zero-extended: the bytes s wrote (out, from stp_a64_apply) where it
 * overlaps them, the bytes before (wold) elsewhere.
 */
static inline u64 stp_a64_merge(const struct stp_a64_store *s, const u8 *out, u64 waddr,
				unsigned int wlen, u64 wold)
{
	u64 ea = stp_a64_untag(s->ea), a, v = 0;
	unsigned int i;
	u8 b;

	waddr = stp_a64_untag(waddr);
	for (i = 0; i < wlen && i < 8; i++) {
		a = waddr + i;
		b = wold >> (8 * i);
		if (a - ea < s->size)		/* unsigned: a >= ea && a < ea + size */
			b = s->op == STP_A64_ZERO ? 0 : out[a - ea];
		v |= (u64)b << (8 * i);
	}
	return v;
}

#endif /* STP_A64_STORE_H */
