/* stp_limits.h - compile-time limits of the stp-hwbp runtime.
 *
 * The generated module may override any of these with #define before including
 * stp_runtime.h, or with -D on the kbuild command line. Everything the runtime
 * preallocates is sized from here, so the hit path never allocates.
 *
 * Each limit has a range (the translator's src/limits.rs refuses -D values outside it;
 * the #errors below refuse them again, for modules built by hand): the upper bounds keep
 * the time a probe holds a CPU, the stack it uses in NMI context and what init allocates
 * sane; the lower bounds exclude values that switch a limit off or crash.
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
#ifndef STP_MAXBACKTRACE
#define STP_MAXBACKTRACE 32	/* frames of print_backtrace(), kept on the stack */
#endif
#ifndef STP_MAXWATCHINSTANCES
#define STP_MAXWATCHINSTANCES 16	/* instances of parametric watchpoints at once */
#endif
#ifndef STP_MAXWATCHREQUESTS
#define STP_MAXWATCHREQUESTS 64	/* enable/disable requests made and not yet done */
#endif
#ifndef STP_WATCHRETRYMS
#define STP_WATCHRETRYMS 100	/* ms between tries of waiting watchpoints */
#endif
#ifndef STP_MAXKPROBES
#define STP_MAXKPROBES 512	/* functions one function probe point may match */
#endif
#ifndef STP_OVERLOAD_THRESHOLD
#define STP_OVERLOAD_THRESHOLD 500000000ULL	/* cycles probes may take per interval, per CPU */
#endif
#ifndef STP_OVERLOAD_INTERVAL
#define STP_OVERLOAD_INTERVAL 1000000000ULL	/* cycles of one overload window */
#endif
#ifndef STP_MAXKEYS
#define STP_MAXKEYS 9		/* key columns of a map */
#endif
#ifndef STP_DIAGLEN
#define STP_DIAGLEN 512		/* bytes of one runtime diagnostic (ERROR:/WARNING: line) */
#endif

#if STP_MAXACTION < 1 || STP_MAXACTION > 1000000
#error "STP_MAXACTION must be between 1 and 1000000"
#endif
#if STP_MAXSTRINGLEN < 8 || STP_MAXSTRINGLEN > 4096
#error "STP_MAXSTRINGLEN must be between 8 and 4096"
#endif
#if STP_MAXMAPENTRIES < 1 || STP_MAXMAPENTRIES > 1048576
#error "STP_MAXMAPENTRIES must be between 1 and 1048576"
#endif
#if STP_MAXNESTING < 1 || STP_MAXNESTING > 32
#error "STP_MAXNESTING must be between 1 and 32"
#endif
#if STP_MAXTRYLOCK < 1 || STP_MAXTRYLOCK > 10000
#error "STP_MAXTRYLOCK must be between 1 and 10000"
#endif
#if STP_TRYLOCKDELAY < 0 || STP_TRYLOCKDELAY > 100
#error "STP_TRYLOCKDELAY must be between 0 and 100"
#endif
#if STP_MAXSKIPPED < 0 || STP_MAXSKIPPED > 1000000000
#error "STP_MAXSKIPPED must be between 0 and 1000000000"
#endif
#if STP_MAXERRORS < 0 || STP_MAXERRORS > 1000000000
#error "STP_MAXERRORS must be between 0 and 1000000000"
#endif
#if STP_BUFSIZE < 4096 || STP_BUFSIZE > 67108864
#error "STP_BUFSIZE must be between 4096 and 67108864"
#endif
#if (STP_BUFSIZE & (STP_BUFSIZE - 1)) != 0
#error "STP_BUFSIZE must be a power of two"
#endif
#if STP_PRINTBUF < 64 || STP_PRINTBUF > 16777216
#error "STP_PRINTBUF must be between 64 and 16777216"
#endif
#if STP_PRINTBUF > STP_BUFSIZE / 4
#error "STP_PRINTBUF must be at most STP_BUFSIZE / 4"
#endif
#if STP_MAXBACKTRACE < 1 || STP_MAXBACKTRACE > 64
#error "STP_MAXBACKTRACE must be between 1 and 64"
#endif
#if STP_MAXWATCHINSTANCES < 1 || STP_MAXWATCHINSTANCES > 1024
#error "STP_MAXWATCHINSTANCES must be between 1 and 1024"
#endif
#if STP_MAXWATCHREQUESTS < 1 || STP_MAXWATCHREQUESTS > 65536
#error "STP_MAXWATCHREQUESTS must be between 1 and 65536"
#endif
#if STP_WATCHRETRYMS < 1 || STP_WATCHRETRYMS > 60000
#error "STP_WATCHRETRYMS must be between 1 and 60000"
#endif
#if STP_MAXKPROBES < 1 || STP_MAXKPROBES > 8192
#error "STP_MAXKPROBES must be between 1 and 8192"
#endif
#if STP_OVERLOAD_THRESHOLD < 1 || STP_OVERLOAD_THRESHOLD > 10000000000
#error "STP_OVERLOAD_THRESHOLD must be between 1 and 10000000000"
#endif
#if STP_OVERLOAD_INTERVAL < 1000000 || STP_OVERLOAD_INTERVAL > 10000000000
#error "STP_OVERLOAD_INTERVAL must be between 1000000 and 10000000000"
#endif
#if STP_OVERLOAD_THRESHOLD > STP_OVERLOAD_INTERVAL
#error "STP_OVERLOAD_THRESHOLD must be at most STP_OVERLOAD_INTERVAL"
#endif
#if STP_MAXKEYS < 1 || STP_MAXKEYS > 9
#error "STP_MAXKEYS must be between 1 and 9"
#endif
#if STP_DIAGLEN < 64 || STP_DIAGLEN > 4096
#error "STP_DIAGLEN must be between 64 and 4096"
#endif

/* Largest record the output channel carries: a printbuf or a diagnostic. */
#define STP_RECMAX (STP_PRINTBUF > STP_DIAGLEN ? STP_PRINTBUF : STP_DIAGLEN)

#endif /* STP_LIMITS_H */
