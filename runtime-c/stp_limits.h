/* stp_limits.h - compile-time limits of the stp-hwbp runtime.
 *
 * The generated module may override any of these with #define before including
 * stp_runtime.h, or with -D on the kbuild command line. Everything the runtime
 * preallocates is sized from here, so the hit path never allocates.
 */
#ifndef STP_LIMITS_H
#define STP_LIMITS_H

#ifndef STP_MAXSTRINGLEN
#define STP_MAXSTRINGLEN 128	/* bytes of a script string, NUL included */
#endif
#ifndef STP_MAXACTION
#define STP_MAXACTION 1000	/* statements per probe run */
#endif
#ifndef STP_MAXMAPENTRIES
#define STP_MAXMAPENTRIES 2048	/* default capacity of a map */
#endif
#ifndef STP_MAXNESTING
#define STP_MAXNESTING 10	/* function call depth */
#endif
#ifndef STP_MAXTRYLOCK
#define STP_MAXTRYLOCK 100	/* attempts of a trylock before the probe is skipped */
#endif
#ifndef STP_TRYLOCKDELAY
#define STP_TRYLOCKDELAY 10	/* microseconds between two attempts */
#endif
#ifndef STP_MAXSKIPPED
#define STP_MAXSKIPPED 100	/* more skipped probe runs end the session */
#endif
#ifndef STP_MAXERRORS
#define STP_MAXERRORS 0		/* more failed probe runs end the session */
#endif
#ifndef STP_BUFSIZE
#define STP_BUFSIZE 65536	/* bytes of each per-CPU output ring (power of 2) */
#endif
#ifndef STP_PRINTBUF
#define STP_PRINTBUF 8192	/* bytes one probe run accumulates before committing */
#endif
#ifndef STP_MAXKEYS
#define STP_MAXKEYS 9		/* key columns of a map */
#endif
#ifndef STP_DIAGLEN
#define STP_DIAGLEN 512		/* bytes of one runtime diagnostic (ERROR:/WARNING: line) */
#endif

#if (STP_BUFSIZE & (STP_BUFSIZE - 1)) != 0 || STP_BUFSIZE < 4096
#error "STP_BUFSIZE must be a power of two, at least 4096"
#endif
#if STP_PRINTBUF < 64 || STP_PRINTBUF > STP_BUFSIZE / 4
#error "STP_PRINTBUF must be between 64 and STP_BUFSIZE / 4"
#endif
#if STP_MAXSTRINGLEN < 8
#error "STP_MAXSTRINGLEN must be at least 8"
#endif
#if STP_MAXKEYS < 1 || STP_MAXKEYS > 9
#error "STP_MAXKEYS must be between 1 and 9"
#endif

/* Largest record the output channel carries: a printbuf or a diagnostic. */
#define STP_RECMAX (STP_PRINTBUF > STP_DIAGLEN ? STP_PRINTBUF : STP_DIAGLEN)

#endif /* STP_LIMITS_H */
