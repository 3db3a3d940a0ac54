/* stp_tapset.h - the C behind the tapset library's functions (the tapsets directory) that need more
 * than a line: user memory, quoting, ctime, errno names, indentation, random numbers,
 * stacks, and the requests that go to the loader (warn, system).
 *
 * Every function here may run in any context, NMI included: no sleeping, no locks, no
 * allocation; user memory is read with copy_from_user_nofault (which refuses when an NMI
 * interrupted a switch of address space), loops are bounded by MAXSTRINGLEN.
 */
#ifndef STP_TAPSET_H
#define STP_TAPSET_H

#include <linux/uaccess.h>
#include <linux/time.h>
#include <linux/sched/mm.h>
#include <linux/hash.h>
#include <linux/sched/clock.h>
#include <linux/ctype.h>
#include "stp_quote.h"

/* ---- user memory ---- */

/* NMI, IRQ, process. Copies n bytes of the current task's user memory at addr; 0 or
 * -EFAULT. Fails when there is no user process to read from (a kernel thread, an interrupt
 * of the idle task): its borrowed address space belongs to some other process. */
static inline int stp_user_read(void *dst, unsigned long addr, size_t n)
{
	if (!current->mm || (current->flags & PF_KTHREAD))
		return -EFAULT;
	if (copy_from_user_nofault(dst, (const void __user *)addr, n))
		return -EFAULT;
	return 0;
}

/* NMI, IRQ, process. The NUL-terminated string at user address addr, at most n bytes of it
 * (and at most STP_MAXSTRINGLEN - 1), into dst; 0 or -EFAULT (dst is then ""). Read in
 * chunks that stop at a page boundary, so a string that ends just before an unmapped page
 * reads. */
static inline int stp_user_string(char *dst, unsigned long addr, int64_t n)
{
	size_t want, got = 0, chunk;

	if (n < 0)
		n = 0;
	want = n < STP_MAXSTRINGLEN - 1 ? (size_t)n : STP_MAXSTRINGLEN - 1;
	while (got < want) {
		chunk = PAGE_SIZE - ((addr + got) & (PAGE_SIZE - 1));
		if (chunk > want - got)
			chunk = want - got;
		if (stp_user_read(dst + got, addr + got, chunk)) {
			dst[0] = '\0';
			return -EFAULT;
		}
		if (memchr(dst + got, '\0', chunk))
			return 0;
		got += chunk;
	}
	dst[got] = '\0';
	return 0;
}

/* NMI, IRQ, process. The length of the user string at addr, counting at most max bytes (so
 * max when it is longer); -EFAULT on a fault. Reads 32 bytes at a time into the stack. */
static inline long stp_user_strlen(unsigned long addr, long max)
{
	char buf[32];
	long len = 0, n;
	const char *z;

	while (len < max) {
		n = sizeof(buf) - ((addr + len) & (sizeof(buf) - 1));
		if (n > max - len)
			n = max - len;
		if (stp_user_read(buf, addr + len, n))
			return -EFAULT;
		z = memchr(buf, '\0', n);
		if (z)
			return len + (z - buf);
		len += n;
	}
	return max;
}

/* NMI, IRQ, process. Whether the user bytes at addr equal the n bytes of s. */
static inline bool stp_user_equals(unsigned long addr, const char *s, long n)
{
	char buf[32];
	long off = 0, k;

	while (off < n) {
		k = n - off < (long)sizeof(buf) ? n - off : (long)sizeof(buf);
		if (stp_user_read(buf, addr + off, k) || memcmp(buf, s + off, k))
			return false;
		off += k;
	}
	return true;
}

/* NMI, IRQ, process. Appends n user bytes at addr to dst (which holds *len bytes), as far as
 * STP_MAXSTRINGLEN allows; false on a fault. */
static inline bool stp_user_append(char *dst, size_t *len, unsigned long addr, long n)
{
	if (n > (long)(STP_MAXSTRINGLEN - 1 - *len))
		n = STP_MAXSTRINGLEN - 1 - *len;
	if (n > 0 && stp_user_read(dst + *len, addr, n))
		return false;
	*len += n > 0 ? n : 0;
	dst[*len] = '\0';
	return true;
}

/* NMI, IRQ, process. Arguments n..m (m < 0: all from n) of the current process's command
 * line, separated by delim, an empty one written as ""; "" without a user process. As
 * SystemTap, each argument is read as a string of at most MAXSTRINGLEN - 1 bytes. */
static inline void stp_cmdline(char *dst, int64_t n, int64_t m, const char *delim)
{
	struct mm_struct *mm = current->mm;
	unsigned long pos, end;
	size_t len = 0;
	long arg;
	int64_t nr;

	dst[0] = '\0';
	if (!mm || (current->flags & PF_KTHREAD))
		return;
	pos = READ_ONCE(mm->arg_start);
	end = READ_ONCE(mm->arg_end);
	if (!pos || !end)
		return;
	for (nr = 0; pos < end && (m < 0 || nr <= m) && nr < STP_MAXSTRINGLEN; nr++) {
		arg = stp_user_strlen(pos, STP_MAXSTRINGLEN - 1);
		if (arg < 0)
			arg = 0;
		if (nr > n) {
			strlcat(dst, delim, STP_MAXSTRINGLEN);
			if (!arg)
				strlcat(dst, "\"\"", STP_MAXSTRINGLEN);
			len = strlen(dst);
		}
		if (nr >= n && arg && !stp_user_append(dst, &len, pos, arg))
			return;
		pos += arg + 1;
	}
}

/* NMI, IRQ, process. The value of environment variable name in the current process into
 * dst; "" when unset or without a user process. Scans at most 64 KiB of environment. */
static inline void stp_env_var(char *dst, const char *name)
{
	struct mm_struct *mm = current->mm;
	unsigned long pos, end, limit;
	long k = strlen(name), len;
	size_t out = 0;

	dst[0] = '\0';
	if (!mm || (current->flags & PF_KTHREAD) || !k)
		return;
	pos = READ_ONCE(mm->env_start);
	end = READ_ONCE(mm->env_end);
	limit = pos + 65536;
	while (pos < end && pos < limit) {
		len = stp_user_strlen(pos, min(end, limit) - pos);
		if (len < 0)
			return;
		if (len > k && stp_user_equals(pos, name, k) && stp_user_equals(pos + k, "=", 1)) {
			stp_user_append(dst, &out, pos + k + 1, len - k - 1);
			return;
		}
		pos += len + 1;
	}
}

/* NMI, IRQ, process. The user-space read functions' error, as SystemTap words it. */
static inline void stp_user_fault(struct stp_context *c, const char *what, unsigned long addr)
{
	stp_error(c, "user %s copy fault at 0x%lx [man error::fault]", what, addr);
}

/* ---- tasks ---- */

/* NMI, IRQ, process. An integer field (size 4 or 8) at offset off of the task_struct at
 * task; 0 with the run's error when it cannot be read. */
static inline int64_t stp_task_int(struct stp_context *c, int64_t task, size_t off, size_t size)
{
	return stp_read_kernel_int(c, (unsigned long)task + off, size, size < 8);
}

/* NMI, IRQ, process. A kuid_t/kgid_t at offset off of the task's real credentials, as the
 * initial user namespace sees it (both are one u32). */
static inline int64_t stp_task_cred(struct stp_context *c, int64_t task, size_t off)
{
	unsigned long cred = 0;
	u32 v = 0;

	if (stp_read_kernel(c, &cred, (unsigned long)task + offsetof(struct task_struct, real_cred),
			    sizeof(cred)) ||
	    stp_read_kernel(c, &v, cred + off, sizeof(v)))
		return 0;
	return v;
}

/* NMI, IRQ, process. A u64 field (utime, stime) of thread tid, found under RCU and read
 * fault-safe; 0 with the run's error when there is no such thread. */
static inline int64_t stp_task_time(struct stp_context *c, int64_t tid, size_t off)
{
	struct task_struct *t;
	u64 v = 0;

	rcu_read_lock();
	t = pid_task(find_vpid(tid), PIDTYPE_PID);
	if (!t)
		stp_error(c, "no task with tid %lld", (long long)tid);
	else
		stp_read_kernel(c, &v, (unsigned long)t + off, sizeof(v));
	rcu_read_unlock();
	return (int64_t)v;
}

/* ---- strings ---- */

/* NMI, IRQ, process. tokenize(): the next token of input (or, for "", of the string the run
 * gave last), split at any byte of delim, empty tokens skipped; "" when none is left. */
static inline void stp_tokenize(struct stp_context *c, char *out, const char *input,
				const char *delim)
{
	char *tok;

	out[0] = '\0';
	if (input[0]) {
		strscpy(c->tok_str, input, STP_MAXSTRINGLEN);
		c->tok_pos = c->tok_str;
	}
	do
		tok = strsep(&c->tok_pos, delim);
	while (tok && !tok[0]);
	if (tok)
		strscpy(out, tok, STP_MAXSTRINGLEN);
}

/* ---- time ---- */

/* NMI, IRQ, process. SystemTap's ctime: "Thu Jan  1 00:00:00 1970" (UTC), for the seconds
 * a signed 32-bit time_t holds; outside them the run's error, as SystemTap. */
static inline void stp_ctime(struct stp_context *c, char *out, int64_t secs)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (secs > S32_MAX) {
		stp_error(c, "Time too far in the future to be converted");
		return;
	}
	if (secs < S32_MIN) {
		stp_error(c, "Time too far in the past to be converted");
		return;
	}
	time64_to_tm(secs, 0, &tm);
	snprintf(out, STP_MAXSTRINGLEN, "%s %s %2d %02d:%02d:%02d %ld", days[tm.tm_wday],
		 months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 tm.tm_year + 1900);
}

/* The loader's time zone (module parameters set at load, as staprun does): seconds west
 * of UTC, and the zone's abbreviation. */
static long stp_tz_gmtoff __maybe_unused;
static char stp_tz_name[16] __maybe_unused = "UTC";

/* ---- errno ---- */

/* NMI, IRQ, process. The symbolic name of errno |e| ("ENOENT" for 2 or -2), "" if none. */
static inline const char *stp_errno_name(int64_t e)
{
	static const char *const names[] = {
	[1] = "EPERM",
	[2] = "ENOENT",
	[3] = "ESRCH",
	[4] = "EINTR",
	[5] = "EIO",
	[6] = "ENXIO",
	[7] = "E2BIG",
	[8] = "ENOEXEC",
	[9] = "EBADF",
	[10] = "ECHILD",
	[11] = "EAGAIN",
	[12] = "ENOMEM",
	[13] = "EACCES",
	[14] = "EFAULT",
	[15] = "ENOTBLK",
	[16] = "EBUSY",
	[17] = "EEXIST",
	[18] = "EXDEV",
	[19] = "ENODEV",
	[20] = "ENOTDIR",
	[21] = "EISDIR",
	[22] = "EINVAL",
	[23] = "ENFILE",
	[24] = "EMFILE",
	[25] = "ENOTTY",
	[26] = "ETXTBSY",
	[27] = "EFBIG",
	[28] = "ENOSPC",
	[29] = "ESPIPE",
	[30] = "EROFS",
	[31] = "EMLINK",
	[32] = "EPIPE",
	[33] = "EDOM",
	[34] = "ERANGE",
	[35] = "EDEADLK",
	[36] = "ENAMETOOLONG",
	[37] = "ENOLCK",
	[38] = "ENOSYS",
	[39] = "ENOTEMPTY",
	[40] = "ELOOP",
	[42] = "ENOMSG",
	[43] = "EIDRM",
	[44] = "ECHRNG",
	[45] = "EL2NSYNC",
	[46] = "EL3HLT",
	[47] = "EL3RST",
	[48] = "ELNRNG",
	[49] = "EUNATCH",
	[50] = "ENOCSI",
	[51] = "EL2HLT",
	[52] = "EBADE",
	[53] = "EBADR",
	[54] = "EXFULL",
	[55] = "ENOANO",
	[56] = "EBADRQC",
	[57] = "EBADSLT",
	[59] = "EBFONT",
	[60] = "ENOSTR",
	[61] = "ENODATA",
	[62] = "ETIME",
	[63] = "ENOSR",
	[64] = "ENONET",
	[65] = "ENOPKG",
	[66] = "EREMOTE",
	[67] = "ENOLINK",
	[68] = "EADV",
	[69] = "ESRMNT",
	[70] = "ECOMM",
	[71] = "EPROTO",
	[72] = "EMULTIHOP",
	[73] = "EDOTDOT",
	[74] = "EBADMSG",
	[75] = "EOVERFLOW",
	[76] = "ENOTUNIQ",
	[77] = "EBADFD",
	[78] = "EREMCHG",
	[79] = "ELIBACC",
	[80] = "ELIBBAD",
	[81] = "ELIBSCN",
	[82] = "ELIBMAX",
	[83] = "ELIBEXEC",
	[84] = "EILSEQ",
	[85] = "ERESTART",
	[86] = "ESTRPIPE",
	[87] = "EUSERS",
	[88] = "ENOTSOCK",
	[89] = "EDESTADDRREQ",
	[90] = "EMSGSIZE",
	[91] = "EPROTOTYPE",
	[92] = "ENOPROTOOPT",
	[93] = "EPROTONOSUPPORT",
	[94] = "ESOCKTNOSUPPORT",
	[95] = "EOPNOTSUPP",
	[96] = "EPFNOSUPPORT",
	[97] = "EAFNOSUPPORT",
	[98] = "EADDRINUSE",
	[99] = "EADDRNOTAVAIL",
	[100] = "ENETDOWN",
	[101] = "ENETUNREACH",
	[102] = "ENETRESET",
	[103] = "ECONNABORTED",
	[104] = "ECONNRESET",
	[105] = "ENOBUFS",
	[106] = "EISCONN",
	[107] = "ENOTCONN",
	[108] = "ESHUTDOWN",
	[109] = "ETOOMANYREFS",
	[110] = "ETIMEDOUT",
	[111] = "ECONNREFUSED",
	[112] = "EHOSTDOWN",
	[113] = "EHOSTUNREACH",
	[114] = "EALREADY",
	[115] = "EINPROGRESS",
	[116] = "ESTALE",
	[117] = "EUCLEAN",
	[118] = "ENOTNAM",
	[119] = "ENAVAIL",
	[120] = "EISNAM",
	[121] = "EREMOTEIO",
	[122] = "EDQUOT",
	[123] = "ENOMEDIUM",
	[124] = "EMEDIUMTYPE",
	[125] = "ECANCELED",
	[126] = "ENOKEY",
	[127] = "EKEYEXPIRED",
	[128] = "EKEYREVOKED",
	[129] = "EKEYREJECTED",
	[130] = "EOWNERDEAD",
	[131] = "ENOTRECOVERABLE",
	};

	if (e < 0)
		e = -e;
	if (e > 0 && e < (int64_t)ARRAY_SIZE(names) && names[e])
		return names[e];
	return "";
}

/* ---- random numbers ---- */

/* NMI, IRQ, process. A number in [0, n) for 0 < n <= 2^20 from a per-CPU xorshift64*
 * generator (its state in the CPU's context) seeded from the clock: not for cryptography,
 * but get_random_* take locks that an NMI may interrupt. */
static inline int64_t stp_randint(struct stp_context *c, int64_t n)
{
	u64 x;

	if (n <= 0 || n > (1 << 20)) {
		stp_error(c, "range too wide");
		return 0;
	}
	x = c->rand_state;
	if (!x)
		x = local_clock() ^ ((u64)smp_processor_id() << 32) ^ 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rand_state = x;
	return (int64_t)(((x * 0x2545f4914f6cdd1dULL) >> 32) % (u64)n);
}

/* ---- indentation ---- */

/* One thread's (or, for indent(), the session's) depth and the time of its first call. */
struct stp_indent_slot {
	atomic_long_t key;	/* 0: free; else the key + 2 (a tid, or -1 for indent()) */
	long depth;
	int64_t base_us;
};

#define STP_INDENT_SLOTS 256
static struct stp_indent_slot stp_indent_slots[STP_INDENT_SLOTS] __maybe_unused;

/* NMI, IRQ, process. SystemTap's thread_indent/indent: "%6d %s:%-*s" of the microseconds
 * since the thread's first call, desc, and the indentation before the change (a positive
 * delta indents what follows). The depths live in a fixed table claimed by compare and
 * exchange (a thread runs on one CPU at a time, and the context's busy flag keeps probes
 * on one CPU from nesting) and freed when the depth is back to 0; when all are taken, no
 * indentation. */
static inline void stp_indent(char *out, long key, const char *desc, int64_t delta)
{
	unsigned long h = hash_long((unsigned long)key + 2, 8);
	struct stp_indent_slot *s = NULL;
	int64_t now = ktime_get_real_fast_ns() / 1000;
	long x;
	int i;

	for (i = 0; i < STP_INDENT_SLOTS; i++) {
		struct stp_indent_slot *t = &stp_indent_slots[(h + i) % STP_INDENT_SLOTS];
		long k = atomic_long_read(&t->key);

		if (k == key + 2) {
			s = t;
			break;
		}
		if (k == 0 && atomic_long_cmpxchg(&t->key, 0, key + 2) == 0) {
			s = t;
			s->depth = 0;
			break;
		}
	}
	if (!s) {
		snprintf(out, STP_MAXSTRINGLEN, "%6d %s:", 0, desc);
		return;
	}
	if (s->depth <= 0)
		s->base_us = now;
	x = s->depth + (delta > 0 ? delta : 0);
	s->depth += delta;
	x = x > 0 ? x - 1 : 0;
	if (x > STP_MAXSTRINGLEN)
		x = STP_MAXSTRINGLEN;
	snprintf(out, STP_MAXSTRINGLEN, "%6lld %s:%-*s", (long long)(now - s->base_us), desc,
		 (int)x, "");
	if (s->depth <= 0)	/* back at the left margin: the slot is free again */
		atomic_long_set_release(&s->key, 0);
}

/* ---- stacks ---- */

/* NMI, IRQ, process. print_stack/sprint_stack: each hex address of stk (as backtrace()
 * returns them, separated by spaces) on a line " 0xADDR : symbol+off/size [module]", the
 * kernel's own symbols marked [kernel]. out == NULL: printed; else the text, truncated. */
static inline void stp_stack_str(struct stp_context *c, const char *stk, char *out)
{
	/* Small: this may run on a 4 KiB exception stack. Long names are cut. */
	char line[192], sym[128];
	const char *p = stk;
	size_t len = 0, n;
	int i;

	if (out)
		out[0] = '\0';
	for (i = 0; i < STP_MAXSTRINGLEN && *p; i++) {
		unsigned long a;
		char *end;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		a = simple_strtoul(p, &end, 16);
		if (end == p)
			break;
		p = end;
		snprintf(sym, sizeof(sym), "%pS", (void *)a);
		snprintf(line, sizeof(line), " 0x%lx : %s%s\n", a, sym,
			 strchr(sym, '[') ? "" : " [kernel]");
		if (!out) {
			stp_print(c, line, strlen(line));
			continue;
		}
		n = strlen(line);
		if (len + n > STP_MAXSTRINGLEN - 1)
			n = STP_MAXSTRINGLEN - 1 - len;
		memcpy(out + len, line, n);
		len += n;
		out[len] = '\0';
	}
}

/* ---- requests to the loader ---- */

/* NMI, IRQ, process. warn(): "WARNING: msg" on the loader's stderr, after what the run
 * printed so far. */
static inline void stp_warn(struct stp_context *c, const char *msg)
{
	if (c->printlen)
		stp_out_commit(c);
	stp_out_diag("WARNING: %s\n", msg);
}

/* system()'s key, set at load by a loader that cannot see the NUL byte that starts a request
 * (the busybox shell loader of arm64 guests): 16 hex digits it made up, written into every
 * request ("SYSTEM KEY: cmd") so that printed data, which cannot know them, cannot forge one.
 * Empty for the Rust loader. Read-only once loaded. */
static char stp_system_key[17];
module_param_string(stp_system_key, stp_system_key, sizeof(stp_system_key), 0400);

/* NMI, IRQ, process. system(): the loader runs cmd with /bin/sh -c once it has written
 * everything the stream held before it (what this run printed so far included), and waits
 * for it. The request is a record that starts with a NUL byte, which script output cannot
 * forge with a string (strings end at NUL), and carries stp_system_key when it is set. The
 * request is one line of a diagnostic record: a command with a newline, or too long for the
 * record, is refused (an error) rather than cut (a cut command could do something else). */
static inline void stp_system(struct stp_context *c, const char *cmd)
{
	size_t n = strlen(cmd), room = STP_DIAGLEN - sizeof("_SYSTEM : \n") - 16;

	if (strchr(cmd, '\n')) {
		stp_error(c, "system(): the command contains a newline");
		return;
	}
	if (n > room) {
		stp_error(c, "system(): the command is longer than %zu bytes", room);
		return;
	}
	if (c->printlen)
		stp_out_commit(c);
	if (stp_system_key[0])
		stp_out_diag("%cSYSTEM %s: %s\n", 0, stp_system_key, cmd);
	else
		stp_out_diag("%cSYSTEM: %s\n", 0, cmd);
}

#endif /* STP_TAPSET_H */
