/* stp_runtime.h - the hand-written runtime of stp-hwbp generated modules.
 *
 * The generated module is one .c file that defines the limits it wants and then does
 * #include "stp_runtime.h". Everything here is static or static inline: the runtime is
 * compiled into each module, nothing is exported. The contract, with the context each
 * function may run in, is docs/runtime-api.md.
 *
 * Include order matters only inside this file: pure logic first (locks, rings, maps:
 * also compiled in user space by tests/runtime-unit), then the kernel-facing parts.
 */
#ifndef STP_RUNTIME_H
#define STP_RUNTIME_H

#include "stp_limits.h"
#include "stp_kcompat.h"
#include "stp_lock.h"
#include "stp_ring.h"
#include "stp_map.h"
#include "stp_session.h"
#include "stp_regex.h"
#include "stp_context.h"
#include "stp_output.h"
#include "stp_stat.h"
#include "stp_counter.h"
#include "stp_overload.h"
#include "stp_memory.h"
#include "stp_watch.h"
#include "stp_arbiter.h"
#ifdef CONFIG_ARM64
#include "stp_hwbp_arm64.h"
#endif
#include "stp_kprobe.h"

/* Process (module init). Sets up session, output (/proc/stp_hwbp/<name>/{out,ctl}) and
 * per-CPU contexts with frame_size bytes of locals per nesting level. start_fn runs on
 * the first open of `out` (see stp_out_set_on_attach), shutdown_fn when the session ends
 * (see stp_session_init). 0 or a negative errno, with nothing left allocated. */
static inline int stp_runtime_init(const char *name, size_t frame_size, void (*start_fn)(void),
				   void (*shutdown_fn)(struct work_struct *))
{
	int ret = stp_session_init(shutdown_fn);

	if (ret)
		return ret;
	stp_out_set_on_attach(start_fn);
	ret = stp_contexts_alloc(frame_size);
	if (ret)
		goto fail_session;
	ret = stp_out_init(name);
	if (ret)
		goto fail_contexts;
	return 0;
fail_contexts:
	stp_contexts_free();
fail_session:
	stp_session_exit();
	return ret;
}

/* Process (module exit). Ends the session if it still runs (shutdown_fn runs if it has
 * not), removes the proc files, frees everything stp_runtime_init allocated. Maps are
 * the caller's: free them after this. */
static inline void stp_runtime_exit(void)
{
	stp_session_stop();
	stp_arbiter_exit();
	stp_out_exit();
	stp_session_exit();
	stp_contexts_free();
}

#endif /* STP_RUNTIME_H */
