/* stp_kprobe.h - function probes: a kprobe on a function's entry, a kretprobe on its
 * return, without debuginfo.
 *
 * One struct stp_kp per written probe point; it has one instance (struct stp_kp_inst) per
 * function it names: one, or, for a wildcard, one per function the loader found matching
 * in /proc/kallsyms (passed in as a module parameter array, one function a name: a charp
 * parameter holds at most 1024 bytes, fewer than a wildcard's names often take). A wildcard's
 * instance also has its own pp() text, the point with the function it matched in place of
 * the pattern, made at load so that handlers only pass a pointer. Instances are
 * registered at module load in script order; handlers (generated) run with preemption
 * disabled (x86: in the int3 exception with interrupts off, or from ftrace), so they use
 * the per-CPU probe contexts like hit handlers do: a probe firing while another probe body
 * runs on the same CPU is skipped and counted, never nested.
 */
#ifndef STP_KPROBE_H
#define STP_KPROBE_H

struct stp_kp;

struct stp_kp_inst {
	struct kprobe kp;
	struct kretprobe rp;
	struct stp_kp *point;
	const char *func;		/* the function, as probefunc() returns it */
	char *pp;			/* a wildcard's pp(): kmalloc'd at load; NULL otherwise */
	char name[KSYM_NAME_LEN + MODULE_NAME_LEN + 2];	/* "func" or "module:func" */
	bool registered;
	bool enabled;
};

struct stp_kp {
	const char *pp;			/* the probe point's text, for messages */
	const char *module;		/* NULL: the kernel */
	const char *symbol;		/* the function, or a wildcard */
	const char *pp_head;		/* a wildcard's pp() before and after its function
					 * (NULL: its instances have no pp of their own) */
	const char *pp_tail;
	char **list;			/* a wildcard's matches (the loader's parameter array) */
	unsigned int nlist;		/* how many list holds, at most STP_MAXKPROBES + 1 */
	bool ret, optional, sufficient, wildcard;
	int group;			/* the probe whose comma list it is in (for `!`) */
	int maxactive;			/* .return.maxactive(N); 0: the kernel's default */
	kprobe_pre_handler_t entry;	/* generated, for entry probes */
	kretprobe_handler_t exit;	/* generated, for .return */
	struct stp_kp_inst *insts;
	int ninsts;
};

/* NMI-like (a kprobe handler). The instance a kprobe handler was called for. */
static inline struct stp_kp_inst *stp_kp_of(struct kprobe *p)
{
	return container_of(p, struct stp_kp_inst, kp);
}

/* NMI-like (a kretprobe handler). */
static inline struct stp_kp_inst *stp_kp_of_ret(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct stp_kp_inst, rp);
}

/* Any context. What a registration's errno means, as start errors say it. */
static inline const char *stp_kp_reason(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such function (ENOENT; for kprobe.module, is the module loaded?)";
	case -EINVAL:
		return "the kernel refuses to probe it (EINVAL: blacklisted, notrace, or not a function start)";
	case -EILSEQ:
		return "not at an instruction boundary (EILSEQ)";
	case -EBUSY:
		return "busy (EBUSY)";
	case -ENOMEM:
		return "out of memory (ENOMEM)";
	case -ENOSPC:
		return "more than MAXKPROBES (" __stringify(STP_MAXKPROBES)
		       ") functions match (-D MAXKPROBES=N raises it, up to 8192)";
	case -ENOEXEC:
		return "no function matches the pattern (ENOEXEC: wildcards are expanded by the loader)";
	default:
		return "registration failed";
	}
}

/* Process. Makes k's instances: its one function, or each name in k->list (empty names left
 * out), with a wildcard's pp() texts. 0, -ENOMEM, -ENOSPC (more than STP_MAXKPROBES names)
 * or -ENOEXEC (a wildcard without matches). On an error, what was made is freed by
 * stp_kprobes_exit (k->ninsts counts it). */
static inline int stp_kp_instances(struct stp_kp *k)
{
	/* The kernel fills at most the array's STP_MAXKPROBES + 1 entries; bound it anyway. */
	unsigned int nlist = min_t(unsigned int, k->nlist, STP_MAXKPROBES + 1);
	unsigned int i;
	int n = 0;

	if (k->wildcard) {
		for (i = 0; k->list && i < nlist; i++)
			n += k->list[i] && k->list[i][0];
	} else {
		n = 1;
	}
	if (n == 0)
		return -ENOEXEC;
	if (n > STP_MAXKPROBES)
		return -ENOSPC;
	k->insts = kvcalloc(n, sizeof(*k->insts), GFP_KERNEL);
	if (!k->insts)
		return -ENOMEM;
	k->ninsts = n;
	for (i = 0, n = 0; n < k->ninsts; i++) {
		struct stp_kp_inst *in = &k->insts[n];
		const char *f = k->wildcard ? k->list[i] : k->symbol;
		size_t off = 0, len;

		if (!f || !f[0])
			continue;
		n++;
		in->point = k;
		if (k->module)
			off = scnprintf(in->name, sizeof(in->name), "%s:", k->module);
		len = strnlen(f, sizeof(in->name) - off - 1);
		memcpy(in->name + off, f, len);
		in->name[off + len] = '\0';
		in->func = in->name + off;
		if (k->wildcard && k->pp_head) {
			in->pp = kasprintf(GFP_KERNEL, "%s%s%s", k->pp_head, in->func, k->pp_tail);
			if (!in->pp)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Process. Registers one instance (disabled if !enabled). 0 or a negative errno. */
static inline int stp_kp_register(struct stp_kp_inst *in, bool enabled)
{
	struct stp_kp *k = in->point;
	int err;

	if (k->ret) {
		in->rp.kp.symbol_name = in->name;
		in->rp.handler = k->exit;
		in->rp.maxactive = k->maxactive;
		if (!enabled)
			in->rp.kp.flags |= KPROBE_FLAG_DISABLED;
		err = register_kretprobe(&in->rp);
	} else {
		in->kp.symbol_name = in->name;
		in->kp.pre_handler = k->entry;
		if (!enabled)
			in->kp.flags |= KPROBE_FLAG_DISABLED;
		err = register_kprobe(&in->kp);
	}
	in->registered = !err;
	in->enabled = !err && enabled;
	return err;
}

/* Process. Unregisters every registered instance of k[0..n) and frees the instances. */
static inline void stp_kprobes_exit(struct stp_kp *k, int n)
{
	int i, j;

	for (i = n - 1; i >= 0; i--) {
		for (j = 0; j < k[i].ninsts; j++) {
			struct stp_kp_inst *in = &k[i].insts[j];

			if (!in->registered)
				continue;
			/* Hits the kprobes core dropped (a probe hit inside another) count as
			 * skipped, as the context's own reentrancy skips do. */
			if (k[i].ret) {
				unregister_kretprobe(&in->rp);
				atomic_add(in->rp.nmissed + in->rp.kp.nmissed, &stp_skipped);
			} else {
				unregister_kprobe(&in->kp);
				atomic_add(in->kp.nmissed, &stp_skipped);
			}
			in->registered = false;
		}
		for (j = 0; j < k[i].ninsts; j++)
			kfree(k[i].insts[j].pp);
		kvfree(k[i].insts);
		k[i].insts = NULL;
		k[i].ninsts = 0;
	}
}

/* Process (module init). Registers every function probe in order; enabled(i) says whether
 * point i starts armed (a conditional probe whose condition is false does not). A point
 * that cannot be registered fails the load, after unregistering what this call registered
 * (the caller rolls back the rest), unless it is optional (`?`): then it is left out, with
 * a NOTE line the loader shows with -v. Once a sufficient point (`!`) registers, the rest of its
 * probe's points are not tried. For a wildcard, functions the kernel refuses are left out;
 * it fails only if none registers. */
static inline int stp_kprobes_init(struct stp_kp *k, int n, bool (*enabled)(int))
{
	int i, j, err, ok, sat_group = -1;

	for (i = 0; i < n; i++) {
		if (k[i].group == sat_group)
			continue;
		err = stp_kp_instances(&k[i]);
		ok = 0;
		for (j = 0; !err && j < k[i].ninsts; j++) {
			int e = stp_kp_register(&k[i].insts[j], !enabled || enabled(i));

			if (!e)
				ok++;
			else if (!k[i].wildcard)
				err = e;
			else
				stp_out_diag("NOTE: %s: left out %s: %s\n", k[i].pp,
					     k[i].insts[j].name, stp_kp_reason(e));
		}
		if (!err && !ok)
			err = -ENOEXEC;
		if (!err) {
			if (k[i].sufficient)
				sat_group = k[i].group;
			continue;
		}
		if (k[i].optional) {
			stp_out_diag("NOTE: optional probe %s left out: %s\n", k[i].pp,
				     stp_kp_reason(err));
			continue;
		}
		stp_out_diag("ERROR: cannot probe %s: %s\n", k[i].pp, stp_kp_reason(err));
		pr_err("%s: cannot probe %s: %s\n", KBUILD_MODNAME, k[i].pp, stp_kp_reason(err));
		stp_kprobes_exit(k, i + 1);
		return err;
	}
	return 0;
}

/* Process (the arbiter's worker, for conditional probes). Arms or disarms point k's
 * registered instances: enable_kprobe/disable_kprobe keep the registration. */
static inline void stp_kp_set_enabled(struct stp_kp *k, bool on)
{
	int j;

	for (j = 0; j < k->ninsts; j++) {
		struct stp_kp_inst *in = &k->insts[j];
		struct kprobe *p = k->ret ? &in->rp.kp : &in->kp;

		if (!in->registered || in->enabled == on)
			continue;
		if (on ? enable_kprobe(p) : disable_kprobe(p))
			continue;
		in->enabled = on;
	}
}

#endif /* STP_KPROBE_H */
