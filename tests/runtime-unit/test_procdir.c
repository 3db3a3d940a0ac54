/* User-space test of stp_procdir.h: modules loading and unloading at the same time share
 * /proc/stp_hwbp without a kernel WARN (proc_mkdir of a name that exists, or under a
 * missing parent), and the last one out removes it. The kernel APIs it uses are modelled
 * below: a proc tree of one shared directory and its subdirectories, the file system type
 * registry, and path lookups slow enough that an unlocked check-then-create would race.
 * Built by run.sh with gcc -Wall -Werror; each thread is one module.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#define pr_err(...) fprintf(stderr, __VA_ARGS__)
#define msleep(ms) usleep((ms) * 1000)
#define THIS_MODULE NULL
#define LOOKUP_DIRECTORY 1
#define STATX_NLINK 4
#define AT_STATX_SYNC_AS_STAT 0

struct fs_context;
struct module;
struct file_system_type {
	struct module *owner;
	const char *name;
	int (*init_fs_context)(struct fs_context *);
};
struct path { int unused; };
struct kstat { unsigned int nlink; };
struct proc_dir_entry { char name[64]; bool used; };

#define MODULES 8
static pthread_mutex_t kernel = PTHREAD_MUTEX_INITIALIZER;	/* the kernel's own locks */
static const char *fs_types[MODULES];	/* registered type names */
static bool shared_exists;
static struct proc_dir_entry subdirs[MODULES];
static int warnings;			/* what would have been a kernel WARN */

static int register_filesystem(struct file_system_type *fs)
{
	int i, free = -1, ret = 0;

	pthread_mutex_lock(&kernel);
	for (i = 0; i < MODULES; i++) {
		if (fs_types[i] && strcmp(fs_types[i], fs->name) == 0)
			ret = -EBUSY;
		else if (!fs_types[i])
			free = i;
	}
	if (!ret)
		fs_types[free] = fs->name;
	pthread_mutex_unlock(&kernel);
	return ret;
}

static int unregister_filesystem(struct file_system_type *fs)
{
	int i;

	pthread_mutex_lock(&kernel);
	for (i = 0; i < MODULES; i++)
		if (fs_types[i] && strcmp(fs_types[i], fs->name) == 0)
			fs_types[i] = NULL;
	pthread_mutex_unlock(&kernel);
	return 0;
}

static int subdir_count(void)
{
	int i, n = 0;

	for (i = 0; i < MODULES; i++)
		n += subdirs[i].used;
	return n;
}

/* A lookup takes a while, as a slow path lookup does: long enough for another module to
 * run between this check and the creation that follows it, were they not locked. */
static int kern_path(const char *name, unsigned int flags, struct path *p)
{
	bool exists;

	pthread_mutex_lock(&kernel);
	exists = strcmp(name, "/proc/stp_hwbp") == 0 && shared_exists;
	pthread_mutex_unlock(&kernel);
	usleep(200);
	return exists ? 0 : -ENOENT;
}

static void path_put(struct path *p) { }

static int vfs_getattr(const struct path *p, struct kstat *st, unsigned int mask, unsigned int f)
{
	pthread_mutex_lock(&kernel);
	st->nlink = 2 + subdir_count();
	pthread_mutex_unlock(&kernel);
	return 0;
}

static struct proc_dir_entry shared_entry;

static struct proc_dir_entry *proc_mkdir(const char *name, struct proc_dir_entry *parent)
{
	struct proc_dir_entry *ret = NULL;
	int i;

	pthread_mutex_lock(&kernel);
	if (strcmp(name, "stp_hwbp") == 0) {
		if (shared_exists)
			warnings++;	/* "proc_dir_entry 'stp_hwbp' already registered" */
		else
			ret = &shared_entry;
		shared_exists = true;
	} else if (!shared_exists) {
		warnings++;		/* "name 'stp_hwbp/...'": no parent */
	} else {
		for (i = 0; i < MODULES; i++) {
			if (!subdirs[i].used) {
				subdirs[i].used = true;
				snprintf(subdirs[i].name, sizeof(subdirs[i].name), "%s", name);
				ret = &subdirs[i];
				break;
			}
		}
	}
	pthread_mutex_unlock(&kernel);
	return ret;
}

static void proc_remove(struct proc_dir_entry *de)
{
	pthread_mutex_lock(&kernel);
	de->used = false;
	pthread_mutex_unlock(&kernel);
}

static int remove_proc_subtree(const char *name, struct proc_dir_entry *parent)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&kernel);
	if (shared_exists) {
		if (subdir_count())
			warnings++;	/* another module's files taken away under it */
		shared_exists = false;
		ret = 0;
	}
	pthread_mutex_unlock(&kernel);
	return ret;
}

#include "stp_procdir.h"

static int failures;

static void *module(void *arg)
{
	char name[16];
	int round;

	for (round = 0; round < 20; round++) {
		struct proc_dir_entry *d;

		snprintf(name, sizeof(name), "m%ld", (long)(size_t)arg);
		d = stp_procdir_create(name);
		if (!d) {
			__atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		usleep(100 + rand() % 300);
		stp_procdir_remove(d);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[MODULES];
	long i;
	int passed = 0, failed = 0;

	for (i = 0; i < MODULES; i++)
		pthread_create(&t[i], NULL, module, (void *)i);
	for (i = 0; i < MODULES; i++)
		pthread_join(t[i], NULL);
#define CHECK(c) do { if (c) passed++; else { failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)
	CHECK(warnings == 0);
	CHECK(failures == 0);
	CHECK(!shared_exists);		/* the last one out removed it */
	CHECK(subdir_count() == 0);
	printf("%d passed, %d failed (stp_procdir.h, %d modules)\n", passed, failed, MODULES);
	return failed ? 1 : 0;
}
