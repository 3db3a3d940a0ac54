/* stp_target_set.h - the target set behind tapsets/target_set.stp: the process -c or -x names
 * (stp_target) and its live descendants, decided when asked by walking parent links under RCU
 * (pids in the initial namespace, as pid() gives them). */
#ifndef STP_TARGET_SET_H
#define STP_TARGET_SET_H

#define STP_TARGET_SET_DEPTH 64		/* parents walked from a candidate */
#define STP_TARGET_SET_SCAN 65536	/* processes target_set_report() looks at */

/* NMI, IRQ, process; under rcu_read_lock. Whether process t or one of its first
 * STP_TARGET_SET_DEPTH ancestors is the target process. */
static inline bool stp_target_set_task(struct task_struct *t)
{
	int i;

	for (i = 0; t && i < STP_TARGET_SET_DEPTH; i++) {
		if (t->tgid == stp_target)
			return true;
		if (t->tgid <= 1)
			break;
		t = rcu_dereference(t->real_parent);
	}
	return false;
}

/* NMI, IRQ, process. target_set_pid(pid). */
static inline int64_t stp_target_set_has(int64_t pid)
{
	struct task_struct *t;
	bool in = false;

	if (stp_target <= 0 || pid <= 0 || pid > INT_MAX)
		return 0;
	rcu_read_lock();
	t = pid_task(find_pid_ns((int)pid, &init_pid_ns), PIDTYPE_PID);
	if (t)
		in = stp_target_set_task(t);
	rcu_read_unlock();
	return in;
}

/* NMI, IRQ, process. target_set_report(): the members by pid ascending, each after its
 * parent's pid. Bounded: STP_TARGET_SET_SCAN processes at most. */
static inline void stp_target_set_report(struct stp_context *c)
{
	struct pid *p;
	struct task_struct *t;
	int nr = 1, n;

	stp_printf(c, "target set:\n");
	if (stp_target <= 0)
		return;
	rcu_read_lock();
	for (n = 0; n < STP_TARGET_SET_SCAN; n++) {
		p = find_ge_pid(nr, &init_pid_ns);
		if (!p)
			break;
		nr = pid_nr(p) + 1;
		t = pid_task(p, PIDTYPE_TGID);
		if (t && stp_target_set_task(t))
			stp_printf(c, "%d begat %d\n", rcu_dereference(t->real_parent)->tgid, t->tgid);
	}
	rcu_read_unlock();
}

#endif
