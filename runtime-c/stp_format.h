/* stp_format.h - the formatter of script printf and sprintf, with SystemTap's semantics.
 *
 * Context: any (NMI included). Pure computation on the caller's buffer: no locks, no
 * allocation, no kernel calls.
 *
 * The translator checks a script's format and rewrites it in C syntax with every argument
 * cast: integers as long long (%lld %llu %llx %llX %llo; %p as %#llx), %c as int, %s as a
 * string, `*` widths and precisions as int. The kernel's vsnprintf is not used for these
 * because SystemTap's runtime formats some directives differently from it and from C:
 *  - the 0 flag pads to the width even when a precision is given (`%08.3d` of 5: 00000005);
 *  - `#` always adds its prefix: `%#o` of 0 is 00, `%#x` of 0 is 0x0;
 *  - a precision never hides the digit of 0 (`%.0d` of 0 is 0);
 *  - `%#c` escapes a character that is not printable ASCII, a quote or a backslash, the way
 *    C spells it (\n, \t, ..., else \ooo);
 *  - `%0s` writes a NUL byte after the padded string (which ends a sprintf result there);
 *  - `+` and space apply to %d and %i only, `#` to %o %x %X %c; a negative `*` width
 *    left-justifies, a negative `*` precision is 0.
 * No __printf attribute: `%#c` and `%0s` are not C, and every argument is cast already.
 */
#ifndef STP_FORMAT_H
#define STP_FORMAT_H

enum {
	STP_FMT_ZERO = 1,
	STP_FMT_SIGN = 2,
	STP_FMT_PLUS = 4,
	STP_FMT_SPACE = 8,
	STP_FMT_LEFT = 16,
	STP_FMT_SPECIAL = 32,
	STP_FMT_UPPER = 64,
};

/* Where the text goes: bytes past `end` are counted, not written (end leaves room for the
 * terminating NUL). */
struct stp_fmt_out {
	char *p, *end;
	size_t n;
};

static inline void stp_fmt_put(struct stp_fmt_out *o, char ch)
{
	if (o->p < o->end)
		*o->p++ = ch;
	o->n++;
}

static inline void stp_fmt_pad(struct stp_fmt_out *o, char ch, int k)
{
	while (k-- > 0)
		stp_fmt_put(o, ch);
}

static inline void stp_fmt_number(struct stp_fmt_out *o, unsigned long long num, unsigned int base,
				  int width, int prec, unsigned int flags)
{
	const char *digits = (flags & STP_FMT_UPPER) ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	char sign = 0;
	int i = 0, pad;

	if (flags & STP_FMT_LEFT)
		flags &= ~STP_FMT_ZERO;
	if (flags & STP_FMT_SIGN) {
		if ((long long)num < 0) {
			sign = '-';
			num = -num;
		} else if (flags & STP_FMT_PLUS) {
			sign = '+';
		} else if (flags & STP_FMT_SPACE) {
			sign = ' ';
		}
		if (sign)
			width--;
	}
	if (flags & STP_FMT_SPECIAL)
		width -= base == 16 ? 2 : base == 8 ? 1 : 0;
	do {
		tmp[i++] = digits[num % base];
		num /= base;
	} while (num);
	if (prec < i)
		prec = i;
	pad = width - prec;
	if (!(flags & (STP_FMT_ZERO | STP_FMT_LEFT))) {
		stp_fmt_pad(o, ' ', pad);
		pad = 0;
	}
	if (sign)
		stp_fmt_put(o, sign);
	if ((flags & STP_FMT_SPECIAL) && base != 10) {
		stp_fmt_put(o, '0');
		if (base == 16)
			stp_fmt_put(o, (flags & STP_FMT_UPPER) ? 'X' : 'x');
	}
	if (!(flags & STP_FMT_LEFT)) {
		stp_fmt_pad(o, '0', pad);
		pad = 0;
	}
	stp_fmt_pad(o, '0', prec - i);
	while (i > 0)
		stp_fmt_put(o, tmp[--i]);
	stp_fmt_pad(o, ' ', pad);
}

static inline void stp_fmt_char(struct stp_fmt_out *o, unsigned char ch, int width, unsigned int flags)
{
	char text[4];
	char esc = 0;
	int n = 0, i;

	if ((flags & STP_FMT_SPECIAL) && (ch < 0x20 || ch > 0x7e || ch == '\'' || ch == '\\')) {
		switch (ch) {
		case '\a': esc = 'a'; break;
		case '\b': esc = 'b'; break;
		case '\f': esc = 'f'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		case '\v': esc = 'v'; break;
		case '\'': esc = '\''; break;
		case '\\': esc = '\\'; break;
		}
		text[n++] = '\\';
		if (esc) {
			text[n++] = esc;
		} else {
			text[n++] = '0' + (ch >> 6);
			text[n++] = '0' + ((ch >> 3) & 7);
			text[n++] = '0' + (ch & 7);
		}
	} else {
		text[n++] = ch;
	}
	if (!(flags & STP_FMT_LEFT))
		stp_fmt_pad(o, ' ', width - n);
	for (i = 0; i < n; i++)
		stp_fmt_put(o, text[i]);
	if (flags & STP_FMT_LEFT)
		stp_fmt_pad(o, ' ', width - n);
}

static inline void stp_fmt_str(struct stp_fmt_out *o, const char *s, int width, int prec,
			       unsigned int flags)
{
	int len = prec < 0 ? (int)strlen(s) : (int)strnlen(s, prec);
	int i;

	if (!(flags & STP_FMT_LEFT))
		stp_fmt_pad(o, ' ', width - len);
	for (i = 0; i < len; i++)
		stp_fmt_put(o, s[i]);
	if (flags & STP_FMT_LEFT)
		stp_fmt_pad(o, ' ', width - len);
	if (flags & STP_FMT_ZERO)
		stp_fmt_put(o, '\0');
}

/* As vsnprintf: writes at most size bytes with the terminating NUL, returns the length the
 * whole text has. */
static inline int stp_fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct stp_fmt_out o = { buf, buf + (size ? size - 1 : 0), 0 };

	for (; *fmt; fmt++) {
		unsigned int flags = 0, base = 10;
		int width = -1, prec = -1;
		unsigned long long num;

		if (*fmt != '%') {
			stp_fmt_put(&o, *fmt);
			continue;
		}
		for (;; fmt++) {
			switch (fmt[1]) {
			case '-': flags |= STP_FMT_LEFT; continue;
			case '+': flags |= STP_FMT_PLUS; continue;
			case ' ': flags |= STP_FMT_SPACE; continue;
			case '#': flags |= STP_FMT_SPECIAL; continue;
			case '0': flags |= STP_FMT_ZERO; continue;
			}
			break;
		}
		fmt++;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				width = -width;
				flags |= STP_FMT_LEFT;
			}
			fmt++;
		} else {
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				width = (width < 0 ? 0 : width * 10) + (*fmt - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				if (prec < 0)
					prec = 0;
				fmt++;
			} else {
				for (; *fmt >= '0' && *fmt <= '9'; fmt++)
					prec = prec * 10 + (*fmt - '0');
			}
		}
		while (*fmt == 'l' || *fmt == 'h' || *fmt == 'j' || *fmt == 'z' || *fmt == 't')
			fmt++;
		switch (*fmt) {
		case 'd':
		case 'i':
			flags |= STP_FMT_SIGN;
			break;
		case 'u':
			break;
		case 'X':
			flags |= STP_FMT_UPPER;
			base = 16;
			break;
		case 'x':
			base = 16;
			break;
		case 'o':
			base = 8;
			break;
		case 'c':
			stp_fmt_char(&o, (unsigned char)va_arg(ap, int), width, flags);
			continue;
		case 's':
			stp_fmt_str(&o, va_arg(ap, const char *), width, prec, flags);
			continue;
		case '%':
			stp_fmt_put(&o, '%');
			continue;
		default:
			/* Not written by the translator; SystemTap prints it as it is. */
			stp_fmt_put(&o, '%');
			if (!*fmt)
				fmt--;
			else
				stp_fmt_put(&o, *fmt);
			continue;
		}
		num = va_arg(ap, unsigned long long);
		stp_fmt_number(&o, num, base, width, prec, flags);
	}
	if (size)
		*o.p = '\0';
	return (int)o.n;
}

static inline int stp_fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = stp_fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- A plain printf, piece by piece ----
 * A script printf whose conversions have no flags, width or precision (and print, println,
 * printd, printdln) is written as one append per piece (stp_output.h's stp_put_*) instead of
 * through stp_fmt_vsnprintf, so a module compiles the general formatter only when a format
 * needs it. The text is the same, and so is what happens when it does not fit (below). */

/* Any context. Writes num in base (8, 10 or 16; upper-case hex digits if upper) so that it
 * ends just before end, and returns where it starts: at most 22 bytes. */
static inline char *stp_fmt_digits(char *end, unsigned long long num, unsigned int base,
				   bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		*--end = digits[num % base];
		num /= base;
	} while (num);
	return end;
}

/* Any context. The slow path of appending n bytes to one printf's text, which starts at
 * *mark in buf (cap bytes, *len of them used). It does what stp_out_vformat does with a
 * text that does not fit: what the buffer held before the printf goes out first (commit),
 * and the printf's own text moves to the front; a printf's text longer than cap - 1 bytes is
 * cut there. Returns how many of the n bytes to copy to buf + *len: the rest are lost. */
static inline size_t stp_fmt_room(char *buf, size_t cap, size_t *len, size_t *mark, size_t n,
				  int (*commit)(const char *, size_t))
{
	size_t room;

	if (*mark) {
		size_t mine = *len - *mark;

		commit(buf, *mark);
		memmove(buf, buf + *mark, mine);
		*len = mine;
		*mark = 0;
	}
	room = cap - 1 - *len;
	return n < room ? n : room;
}

#endif /* STP_FORMAT_H */
