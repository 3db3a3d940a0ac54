/* stp_memory.h - reading kernel memory from probe code without trusting the address.
 *
 * Everything goes through the *_nofault accessors, which survive a bad address (a
 * fault is fixed up, not fatal) and are usable from NMI.
 */
#ifndef STP_MEMORY_H
#define STP_MEMORY_H

/* The lowest kernel address with 5-level page tables: the most any x86_64 kernel allows. */
#define STP_KERNEL_SPACE_START 0xff00000000000000UL

/* NMI, IRQ, process. The lowest kernel address under the paging this kernel runs with:
 * 0xffff800000000000 with 4-level page tables, 0xff00000000000000 with 5-level ones. Below
 * it lie user space and then the non-canonical hole, where a read raises #GP instead of a
 * page fault. A CPU able to do 5-level paging may run a 4-level kernel (no5lvl): 6.1's
 * copy_from_kernel_nofault then judges canonical addresses by the CPU's 57 bits, lets the
 * read fault, and the kernel WARNs (seen in a guest). So the runtime checks first. */
static inline unsigned long stp_kernel_space_start(void)
{
#ifdef CONFIG_X86_64
	return ~((1UL << __VIRTUAL_MASK_SHIFT) - 1);
#else
	return STP_KERNEL_SPACE_START;
#endif
}

/* NMI, IRQ, process. Whether [addr, addr + n) lies in the kernel half (n >= 1). */
static inline bool stp_kernel_range(unsigned long addr, size_t n)
{
	return addr >= stp_kernel_space_start() && addr + n - 1 >= addr;
}

/* NMI, IRQ, process. Copies n bytes at addr to dst; when addr is not a kernel address or
 * the read faults, sets the run's error ("invalid kernel address 0x...") and returns -1,
 * else 0. */
static inline int stp_read_kernel(struct stp_context *c, void *dst, unsigned long addr, size_t n)
{
	if (!stp_kernel_range(addr, n) || copy_from_kernel_nofault(dst, (const void *)addr, n))
		return stp_error(c, "invalid kernel address 0x%lx (reading %zu bytes)", addr, n);
	return 0;
}

/* NMI, IRQ, process. An integer of size 1, 2, 4 or 8 bytes at addr, sign- or
 * zero-extended; 0 with the error set on a fault or a bad size. */
static inline int64_t stp_read_kernel_int(struct stp_context *c, unsigned long addr, size_t size,
					  bool is_signed)
{
	union { u8 b; u16 h; u32 w; u64 q; } v;

	v.q = 0;
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		stp_error(c, "bad integer size %zu at 0x%lx", size, addr);
		return 0;
	}
	if (stp_read_kernel(c, &v, addr, size))
		return 0;
	switch (size) {
	case 1: return is_signed ? (int64_t)(s8)v.b : (int64_t)v.b;
	case 2: return is_signed ? (int64_t)(s16)v.h : (int64_t)v.h;
	case 4: return is_signed ? (int64_t)(s32)v.w : (int64_t)v.w;
	default: return (int64_t)v.q;
	}
}

/* NMI, IRQ, process. Copies the NUL-terminated string at addr into dst
 * (STP_MAXSTRINGLEN bytes, truncated and terminated); on a fault dst is "" and the
 * error is set (-1), else 0. Byte by byte through copy_from_kernel_nofault:
 * strncpy_from_kernel_nofault is not exported to modules. */
static inline int stp_read_kernel_string(struct stp_context *c, char *dst, unsigned long addr)
{
	int i;

	for (i = 0; i < STP_MAXSTRINGLEN - 1; i++) {
		if (!stp_kernel_range(addr + i, 1) ||
		    copy_from_kernel_nofault(&dst[i], (const void *)(addr + i), 1)) {
			dst[0] = '\0';
			return stp_error(c, "invalid kernel address 0x%lx (reading a string)", addr + i);
		}
		if (!dst[i])
			return 0;
	}
	dst[i] = '\0';
	return 0;
}

#endif /* STP_MEMORY_H */
