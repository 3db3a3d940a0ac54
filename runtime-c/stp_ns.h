/* stp_ns.h - ids as a target namespace sees them, for the ns_*() functions of
 * tapsets/context.stp. SystemTap's target namespaces are those of the stap process unless
 * --target-namespaces names another; here they are the loader's (stp_pid()), the process
 * that opened `out`.
 *
 * Any context, NMI included: the loader's task and its namespaces are found under RCU
 * alone (find_pid_ns and pid_task are RCU lookups, the credentials an rcu_dereference), and
 * no reference is taken, so none is dropped: nothing here can free, sleep or spin. The
 * lookup is repeated at each call rather than kept from the start of the session, which
 * would need references held (and put) across the session.
 */
#ifndef STP_NS_H
#define STP_NS_H

#include <linux/pid_namespace.h>
#include <linux/cred.h>
#include <linux/uidgid.h>

/* The numbers tapsets/context.stp passes to __ns_id(). */
enum stp_ns_id {
	STP_NS_PID,	/* the process (tgid) */
	STP_NS_TID,	/* the thread */
	STP_NS_PPID,	/* the real parent's process, as ppid() */
	STP_NS_PGRP,	/* the process group */
	STP_NS_SID,	/* the session */
	STP_NS_UID,	/* the credentials: the objective ones, as SystemTap reads them */
	STP_NS_EUID,
	STP_NS_GID,
	STP_NS_EGID,
};

/* Any context, NMI included; called under rcu_read_lock. The loader's task, NULL before it
 * opened `out` or once it is gone. stp_loader_pid is its number in the initial namespace. */
static inline struct task_struct *stp_ns_loader(void)
{
	return pid_task(find_pid_ns(READ_ONCE(stp_loader_pid), &init_pid_ns), PIDTYPE_PID);
}

/* Any context, NMI included. Id `what` of the current task as the loader's namespaces see
 * it: a pid the loader's pid namespace cannot see (one of an enclosing namespace) is 0, a
 * credential its user namespace does not map is the overflow id (65534); -1 when there is
 * no loader to name the namespaces, or `what` is out of range. */
static inline int64_t stp_ns_id(enum stp_ns_id what)
{
	struct task_struct *loader;
	struct pid_namespace *pns;
	struct user_namespace *uns;
	const struct cred *cred;
	int64_t id = -1;

	rcu_read_lock();
	loader = stp_ns_loader();
	if (!loader)
		goto out;
	pns = task_active_pid_ns(loader);
	uns = __task_cred(loader)->user_ns;
	cred = __task_cred(current);
	switch (what) {
	case STP_NS_PID:
		id = task_tgid_nr_ns(current, pns);
		break;
	case STP_NS_TID:
		id = task_pid_nr_ns(current, pns);
		break;
	case STP_NS_PPID:
		id = task_tgid_nr_ns(rcu_dereference(current->real_parent), pns);
		break;
	case STP_NS_PGRP:
		id = task_pgrp_nr_ns(current, pns);
		break;
	case STP_NS_SID:
		id = task_session_nr_ns(current, pns);
		break;
	case STP_NS_UID:
		id = from_kuid_munged(uns, cred->uid);
		break;
	case STP_NS_EUID:
		id = from_kuid_munged(uns, cred->euid);
		break;
	case STP_NS_GID:
		id = from_kgid_munged(uns, cred->gid);
		break;
	case STP_NS_EGID:
		id = from_kgid_munged(uns, cred->egid);
		break;
	}
out:
	rcu_read_unlock();
	return id;
}

#endif /* STP_NS_H */
