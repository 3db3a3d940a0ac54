/* stp_procdir.h - /proc/stp_hwbp, the directory every stp-hwbp module puts its own
 * directory (/proc/stp_hwbp/<name>) in: the first module in creates it, the last one out
 * removes it. Process context only (module init and exit).
 *
 * Checking for the directory and creating it must not interleave with another module
 * doing the same: proc_mkdir() of a name that exists, or under a parent that does not, is
 * a kernel WARN (a panic with panic_on_warn), so "create, and look again on failure" is
 * not an option. Modules share no memory, hence no lock of their own: the lock is a name
 * in a kernel-wide registry whose registration is atomic and silent on a clash, the list
 * of file system types. A module holds it while its type "stp_hwbp_lock" (which cannot be
 * mounted) is registered; the others retry every 10 ms, for at most 5 s.
 *
 * Whether the directory exists, and whether it holds any module's directory, is read
 * through the VFS at /proc (the loader reads the files there too): a proc directory's link
 * count is 2 plus its subdirectories, and only stp-hwbp modules create entries in it, all
 * of them directories.
 */
#ifndef STP_PROCDIR_H
#define STP_PROCDIR_H

#define STP_PROCDIR "stp_hwbp"

static int stp_procdir_lock_fc(struct fs_context *fc)
{
	return -EOPNOTSUPP;	/* the type is a lock, not a file system */
}

static struct file_system_type stp_procdir_lock_fs = {
	.owner = THIS_MODULE,
	.name = "stp_hwbp_lock",
	.init_fs_context = stp_procdir_lock_fc,
};

/* Process. True with the lock held; false after 5 s of another module holding it. */
static inline bool stp_procdir_lock(void)
{
	int tries;

	for (tries = 0; tries < 500; tries++) {
		if (register_filesystem(&stp_procdir_lock_fs) == 0)
			return true;
		msleep(10);
	}
	return false;
}

/* Process. Only after stp_procdir_lock() returned true. */
static inline void stp_procdir_unlock(void)
{
	unregister_filesystem(&stp_procdir_lock_fs);
}

/* Process, lock held. The link count of /proc/stp_hwbp (2 + the modules' directories in
 * it), or 0 when it does not exist. */
static inline unsigned int stp_procdir_links(void)
{
	struct path p;
	struct kstat st;
	unsigned int n;

	if (kern_path("/proc/" STP_PROCDIR, LOOKUP_DIRECTORY, &p))
		return 0;
	/* When the count cannot be read, say "not empty": never remove what may be in use. */
	n = vfs_getattr(&p, &st, STATX_NLINK, AT_STATX_SYNC_AS_STAT) == 0 ? st.nlink : 3;
	path_put(&p);
	return n;
}

/* Process, lock held. Removes /proc/stp_hwbp if no module has a directory in it. */
static inline void stp_procdir_remove_if_empty(void)
{
	if (stp_procdir_links() == 2)
		remove_proc_subtree(STP_PROCDIR, NULL);
}

/* Process (module init). Creates /proc/stp_hwbp/<name> (and /proc/stp_hwbp first, if this
 * is the only module). The new directory, or NULL (logged). */
static inline struct proc_dir_entry *stp_procdir_create(const char *name)
{
	struct proc_dir_entry *dir = NULL;
	char path[96];

	snprintf(path, sizeof(path), STP_PROCDIR "/%s", name);
	if (!stp_procdir_lock()) {
		pr_err("%s: another stp-hwbp module held /proc/" STP_PROCDIR " for 5 s\n", name);
		return NULL;
	}
	if (stp_procdir_links() || proc_mkdir(STP_PROCDIR, NULL))
		dir = proc_mkdir(path, NULL);
	if (!dir)
		stp_procdir_remove_if_empty();
	stp_procdir_unlock();
	return dir;
}

/* Process (module exit). Removes this module's directory (waiting for readers inside its
 * files, as proc_remove does), then /proc/stp_hwbp if it was the last one. */
static inline void stp_procdir_remove(struct proc_dir_entry *dir)
{
	if (!dir)
		return;
	proc_remove(dir);
	if (!stp_procdir_lock())
		return;	/* another module is busy with it: it stays, empty or not */
	stp_procdir_remove_if_empty();
	stp_procdir_unlock();
}

#endif /* STP_PROCDIR_H */
