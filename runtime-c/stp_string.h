/* stp_string.h - the script's string buffers: copying into and appending to a buffer of
 * STP_MAXSTRINGLEN bytes, truncating, always terminated.
 *
 * Pure logic, compiled in the kernel and in user space (tests/runtime-unit). Any context:
 * nothing here sleeps, allocates or locks. The source may overlap the destination, since
 * scripts can name the same variable on both sides (`s .= s`, `s = s`) and tapset C can
 * pass a pointer into the destination: lengths are taken first, then the bytes moved with
 * memmove, never copied forwards over themselves.
 */
#ifndef STP_STRING_H
#define STP_STRING_H

/* Any context. Copies src into the MAXSTRINGLEN buffer dst, truncating. */
static inline void stp_strcpy(char *dst, const char *src)
{
	size_t n = strnlen(src, STP_MAXSTRINGLEN - 1);

	memmove(dst, src, n);
	dst[n] = '\0';
}

/* Any context. Appends src to the MAXSTRINGLEN buffer dst, truncating. */
static inline void stp_strcat(char *dst, const char *src)
{
	size_t d = strnlen(dst, STP_MAXSTRINGLEN - 1);
	size_t n = strnlen(src, STP_MAXSTRINGLEN - 1 - d);

	memmove(dst + d, src, n);
	dst[d + n] = '\0';
}

#endif /* STP_STRING_H */
