/* stp_quote.h - escaping strings for printing, as SystemTap's text_str, text_strn and
 * string_quoted do. Pure logic (also compiled in user space by tests/runtime-unit): any
 * context, NMI included; no allocation, loops bounded by the string's length.
 */
#ifndef STP_QUOTE_H
#define STP_QUOTE_H

/* NMI, IRQ, process. The code point of the UTF-8 sequence (2 to 4 bytes) at s, which has
 * len bytes left, in *cp; its length, or 1 when s does not start a whole sequence (the
 * byte then stands for itself). */
static inline int stp_utf8(const unsigned char *s, int len, int *cp)
{
	int n, i, v;

	if ((s[0] & 0xe0) == 0xc0)
		n = 2, v = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, v = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, v = s[0] & 0x07;
	else
		n = 1, v = s[0];
	if (n > len)
		n = 1, v = s[0];
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = s[0];
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	*cp = v;
	return n;
}

/* NMI, IRQ, process. SystemTap's escaping of a string for printing (text_str, text_strn,
 * string_quoted): printable ASCII stays, \a \b \f \n \r \t \v \" \\ get their short escapes,
 * other bytes become \ooo, UTF-8 sequences \uXXXX or \UXXXXXXXX. At most inlen input bytes
 * (all of it when inlen <= 0) and outlen output bytes (at most MAXSTRINGLEN - 1; all when
 * <= 0). quoted: in double quotes, and a truncated result ends with `"...` instead. */
static inline void stp_text_str(char *out, const char *in, int64_t inlen, int64_t outlen, bool quoted)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	char *o = out, *esc = NULL;
	int64_t left = strnlen(in, STP_MAXSTRINGLEN);
	int esc_len = 0, cp = 0, n, need, i;

	if (inlen > 0 && inlen < left)
		left = inlen;
	if (outlen <= 0 || outlen > STP_MAXSTRINGLEN - 1)
		outlen = STP_MAXSTRINGLEN - 1;
	if (quoted) {
		outlen = (outlen > 5 ? outlen : 5) - 2;
		*o++ = '"';
	}
	while (left > 0 && outlen > 0) {
		n = stp_utf8(s, left, &cp);
		if (n > 1)
			need = cp <= 0xffff ? 6 : 10;
		else if (cp < 0x80 && isprint(cp) && cp != '"' && cp != '\\')
			need = 1;
		else if (strchr("\a\b\f\n\r\t\v\"\\", cp) && cp)
			need = 2;
		else
			need = 4;
		if (need > 1 && !esc && outlen - 3 < need)
			esc = o, esc_len = need;
		if (outlen < need)
			break;
		s += n;
		left -= n;
		outlen -= need;
		if (need == 1) {
			*o++ = cp;
		} else if (need == 2) {
			*o++ = '\\';
			*o++ = "abfnrtv\"\\"[strchr("\a\b\f\n\r\t\v\"\\", cp) - "\a\b\f\n\r\t\v\"\\"];
		} else if (need == 4) {
			*o++ = '\\';
			*o++ = '0' + ((cp >> 6) & 3);
			*o++ = '0' + ((cp >> 3) & 7);
			*o++ = '0' + (cp & 7);
		} else {
			*o++ = '\\';
			*o++ = need == 6 ? 'u' : 'U';
			for (i = need - 3; i >= 0; i--)
				*o++ = hex[(cp >> (i * 4)) & 0xf];
		}
	}
	if (quoted) {
		if (left > 0) {
			char *cut = o - 3 + outlen;

			o = (esc && esc < cut && cut < esc + esc_len) ? esc : cut;
			memcpy(o, "\"...", 4);
			o += 4;
		} else {
			*o++ = '"';
		}
	}
	*o = '\0';
}

#endif /* STP_QUOTE_H */
