/* User-space unit tests of the arm64 store decoder (runtime-c/stp_a64_store.h): real
 * encodings, assembled with aarch64-linux-gnu-as (binutils 2.40) and read back with objdump,
 * each with the bytes it writes and the watched value after it. Built by run.sh.
 */
#include "kshim.h"
#include "stp_a64_store.h"

static int passed, failed;

#define CHECK(cond) do { \
	if (cond) passed++; \
	else { failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define X1 0x1122334455667788ULL
#define X3 0x99aabbccddeeff00ULL
#define SP 0xffff800080007f00ULL
#define BASE 0xffff800081000000ULL

/* The register file every test starts from: x2 is the base, x1 and x3 the data. */
static void regs(u64 *x)
{
	int i;

	for (i = 0; i < 31; i++)
		x[i] = 0x0101010101010101ULL * (u64)i;
	x[1] = X1;
	x[2] = BASE;
	x[3] = X3;
}

/* Decodes insn with the default registers and checks where and what it stores. */
static void store(u32 insn, u64 ea, unsigned int size, u64 v0, u64 v1)
{
	struct stp_a64_store s;
	u64 x[31];

	regs(x);
	CHECK(stp_a64_decode(insn, x, SP, 64, &s) == STP_A64_DECODED);
	CHECK(s.op == STP_A64_STORE);
	CHECK(s.ea == ea);
	CHECK(s.size == size);
	CHECK(s.val[0] == v0);
	CHECK(s.val[1] == v1);
	if (s.ea != ea || s.size != size || s.val[0] != v0)
		fprintf(stderr, "  insn %08x: ea %llx size %u val %llx %llx\n", insn,
			(unsigned long long)s.ea, s.size, (unsigned long long)s.val[0],
			(unsigned long long)s.val[1]);
}

/* The watched [waddr, waddr+wlen) holding wold, after insn runs on memory holding mem. */
static u64 after(u32 insn, const u64 *x, const u8 *mem, u64 waddr, unsigned int wlen, u64 wold)
{
	struct stp_a64_store s;
	u8 out[16];

	if (stp_a64_decode(insn, x, SP, 64, &s) != STP_A64_DECODED)
		return 0xdeadULL;
	stp_a64_apply(&s, mem, out);
	return stp_a64_merge(&s, out, waddr, wlen, wold);
}

static void test_single(void)
{
	store(0xf9000041, BASE, 8, X1, 0);			/* str x1, [x2] */
	store(0xb9000441, BASE + 4, 4, 0x55667788, 0);		/* str w1, [x2, #4] */
	store(0x39000443, BASE + 1, 1, 0x00, 0);		/* strb w3, [x2, #1] */
	store(0x79000c43, BASE + 6, 2, 0xff00, 0);		/* strh w3, [x2, #6] */
	store(0xf9000be1, SP + 16, 8, X1, 0);			/* str x1, [sp, #16] */
	store(0xb81fd041, BASE - 3, 4, 0x55667788, 0);		/* stur w1, [x2, #-3] */
	store(0xf8008441, BASE, 8, X1, 0);			/* str x1, [x2], #8 */
	store(0xf81f8c41, BASE - 8, 8, X1, 0);			/* str x1, [x2, #-8]! */
	store(0xb8002841, BASE + 2, 4, 0x55667788, 0);		/* sttr w1, [x2, #2] */
	store(0xf900005f, BASE, 8, 0, 0);			/* str xzr, [x2] */
	store(0x889ffc41, BASE, 4, 0x55667788, 0);		/* stlr w1, [x2] */
	store(0x089ffc41, BASE, 1, 0x88, 0);			/* stlrb w1, [x2] */
	store(0xc89f7c41, BASE, 8, X1, 0);			/* stllr x1, [x2] */
	store(0xc8047c41, BASE, 8, X1, 0);			/* stxr w4, x1, [x2] */
	store(0x8804fc41, BASE, 4, 0x55667788, 0);		/* stlxr w4, w1, [x2] */
	store(0x991fc041, BASE - 4, 4, 0x55667788, 0);		/* stlur w1, [x2, #-4] */
}

static void test_register_offset(void)
{
	struct stp_a64_store s;
	u64 x[31];

	regs(x);
	x[3] = 3;
	CHECK(stp_a64_decode(0xb8237841, x, SP, 64, &s) == STP_A64_DECODED);	/* str w1, [x2, x3, lsl #2] */
	CHECK(s.ea == BASE + 12 && s.size == 4);
	x[3] = 0x77777777fffffffeULL;					/* w3 = -2 */
	CHECK(stp_a64_decode(0x3823c841, x, SP, 64, &s) == STP_A64_DECODED);	/* strb w1, [x2, w3, sxtw] */
	CHECK(s.ea == BASE - 2 && s.size == 1 && s.val[0] == 0x88);
}

static void test_pairs(void)
{
	struct stp_a64_store s;
	u64 x[31];

	store(0xa9000c41, BASE, 16, X1, X3);			/* stp x1, x3, [x2] */
	store(0x293f0c41, BASE - 8, 8, 0xddeeff0055667788ULL, 0);	/* stp w1, w3, [x2, #-8] */
	store(0xa9bf0fe1, SP - 16, 16, X1, X3);			/* stp x1, x3, [sp, #-16]! */
	store(0xa8010c41, BASE + 16, 16, X1, X3);		/* stnp x1, x3, [x2, #16] */
	store(0xa8810c41, BASE, 16, X1, X3);			/* stp x1, x3, [x2], #16 */
	store(0xc8240c41, BASE, 16, X1, X3);			/* stxp w4, x1, x3, [x2] */
	store(0x88240c41, BASE, 8, 0xddeeff0055667788ULL, 0);	/* stxp w4, w1, w3, [x2] */
	regs(x);
	stp_a64_decode(0xc8240c41, x, SP, 64, &s);
	CHECK(s.exclusive);
	/* The second register of a pair lands on a watch of the upper doubleword. */
	CHECK(after(0xa9000c41, x, NULL, BASE + 8, 8, 0) == X3);
	/* A 4-byte watch straddling the two words of a W pair. */
	CHECK(after(0x29000c41, x, NULL, BASE + 2, 4, 0) == 0xff005566ULL);	/* stp w1, w3, [x2] */
}

static void test_merge(void)
{
	u64 x[31];

	regs(x);
	/* str w1, [x2, #4] on an 8-byte watch at x2: the upper half changes, the lower stays. */
	CHECK(after(0xb9000441, x, NULL, BASE, 8, 0xaaaaaaaabbbbbbbbULL) == 0x55667788bbbbbbbbULL);
	/* strb w3, [x2, #1] on a 4-byte watch: one byte changes. */
	CHECK(after(0x39000443, x, NULL, BASE, 4, 0x11223344) == 0x11220044);
	/* A store that misses the watched bytes (the watch is a read/write one): unchanged. */
	CHECK(after(0xf9000041, x, NULL, BASE + 8, 4, 0x1234) == 0x1234);
	/* stur w1, [x2, #-3]: only its top byte lands on a 2-byte watch at x2. */
	CHECK(after(0xb81fd041, x, NULL, BASE, 2, 0xcccc) == 0xcc55);
	/* A 3-byte watch (arm64 lengths 1 to 8) inside a doubleword store. */
	CHECK(after(0xf9000041, x, NULL, BASE + 5, 3, 0) == 0x112233);
	/* Tagged pointers (TBI): the tag in the base register does not hide the overlap. */
	x[2] = (BASE & 0x00ffffffffffffffULL) | 0xf200000000000000ULL;
	CHECK(after(0xf9000041, x, NULL, BASE, 8, 0) == X1);
}

static void test_atomics(void)
{
	u8 mem[16];
	u64 x[31];
	struct stp_a64_store s;

	regs(x);
	x[1] = 1;
	stp_a64_put(mem, 40000, 4);
	CHECK(after(0xb8210045, x, mem, BASE, 4, 40000) == 40001);	/* ldadd w1, w5, [x2] */
	CHECK(after(0xb821005f, x, mem, BASE, 4, 40000) == 40001);	/* stadd w1, [x2] */
	stp_a64_put(mem, 0xffffffff, 4);
	CHECK(after(0xb8210045, x, mem, BASE, 4, 0xffffffff) == 0);	/* wraps at 32 bits */
	x[1] = 0xf0;
	stp_a64_put(mem, 0xff, 8);
	CHECK(after(0xf8e11045, x, mem, BASE, 8, 0xff) == 0x0f);	/* ldclral x1, x5, [x2] */
	CHECK(after(0xb821205f, x, mem, BASE, 4, 0xff) == 0x0f);	/* steor w1, [x2] */
	stp_a64_put(mem, 0x0f, 8);
	CHECK(after(0x38213045, x, mem, BASE, 1, 0x0f) == 0xff);	/* ldsetb w1, w5, [x2] */
	x[1] = 0xfffffffe;						/* -2 as a W register */
	stp_a64_put(mem, 5, 4);
	CHECK(after(0xb8214045, x, mem, BASE, 4, 5) == 5);		/* ldsmax: 5 > -2 */
	CHECK(after(0xb8215045, x, mem, BASE, 4, 5) == 0xfffffffe);	/* ldsmin */
	CHECK(after(0xb8216045, x, mem, BASE, 4, 5) == 0xfffffffe);	/* ldumax */
	CHECK(after(0xb8217045, x, mem, BASE, 4, 5) == 5);		/* ldumin */
	regs(x);
	CHECK(after(0xf8218045, x, mem, BASE, 8, 5) == X1);		/* swp x1, x5, [x2] */
	/* cas w6, w1, [x2]: stores w1 only if memory holds w6. */
	x[6] = 5;
	CHECK(after(0x88a67c41, x, mem, BASE, 4, 5) == 0x55667788);
	x[6] = 6;
	CHECK(after(0x88a67c41, x, mem, BASE, 4, 5) == 5);
	x[6] = 5;
	CHECK(after(0xc8e6fc41, x, mem, BASE, 8, 5) == X1);		/* casal x6, x1, [x2] */
	/* casp w6, w7, w0, w1, [x2]: two words compared, two stored. */
	x[6] = 5;
	x[7] = 0;
	x[0] = 0xa;
	x[1] = 0xb;
	CHECK(after(0x08267c40, x, mem, BASE, 8, 5) == 0x0000000b0000000aULL);
	x[7] = 1;
	CHECK(after(0x08267c40, x, mem, BASE, 8, 5) == 5);
	/* caspal x6, x7, x0, x1, [x2]: a watch on the second doubleword. */
	stp_a64_put(mem, 5, 8);
	stp_a64_put(mem + 8, 9, 8);
	x[6] = 5;
	x[7] = 9;
	CHECK(after(0x4866fc40, x, mem, BASE + 8, 8, 9) == 0xb);
	CHECK(stp_a64_decode(0x4866fc40, x, SP, 64, &s) == STP_A64_DECODED && s.size == 16);
}

static void test_zva_and_others(void)
{
	struct stp_a64_store s;
	u64 x[31];

	regs(x);
	x[2] = BASE + 0x47;
	CHECK(stp_a64_decode(0xd50b7422, x, SP, 64, &s) == STP_A64_DECODED);	/* dc zva, x2 */
	CHECK(s.op == STP_A64_ZERO && s.ea == BASE + 0x40 && s.size == 64);
	CHECK(after(0xd50b7422, x, NULL, BASE + 0x78, 8, ~0ULL) == 0);
	CHECK(after(0xd50b7422, x, NULL, BASE + 0x80, 8, 7) == 7);
	CHECK(stp_a64_decode(0xd50b7422, x, SP, 0, &s) == STP_A64_UNKNOWN);	/* prohibited */
	/* Loads write nothing; SIMD&FP stores are not decoded. */
	CHECK(stp_a64_decode(0xf9400041, x, SP, 64, &s) == STP_A64_LOAD);	/* ldr x1, [x2] */
	CHECK(stp_a64_decode(0xa9400c41, x, SP, 64, &s) == STP_A64_LOAD);	/* ldp x1, x3, [x2] */
	CHECK(stp_a64_decode(0xc85f7c41, x, SP, 64, &s) == STP_A64_LOAD);	/* ldxr x1, [x2] */
	CHECK(stp_a64_decode(0x88dffc41, x, SP, 64, &s) == STP_A64_LOAD);	/* ldar w1, [x2] */
	CHECK(stp_a64_decode(0xb8bfc041, x, SP, 64, &s) == STP_A64_LOAD);	/* ldapr w1, [x2] */
	CHECK(stp_a64_decode(0xf9800040, x, SP, 64, &s) == STP_A64_LOAD);	/* prfm */
	CHECK(stp_a64_decode(0xb9800041, x, SP, 64, &s) == STP_A64_LOAD);	/* ldrsw x1, [x2] */
	CHECK(stp_a64_decode(0x3d800040, x, SP, 64, &s) == STP_A64_UNKNOWN);	/* str q0, [x2] */
	CHECK(stp_a64_decode(0xd503201f, x, SP, 64, &s) == STP_A64_UNKNOWN);	/* nop */
}

int main(void)
{
	(void)nr_cpu_ids;	/* kshim's, for the per-CPU tests */
	test_single();
	test_register_offset();
	test_pairs();
	test_merge();
	test_atomics();
	test_zva_and_others();
	printf("%d passed, %d failed (arm64 store decoder)\n", passed, failed);
	return failed ? 1 : 0;
}
