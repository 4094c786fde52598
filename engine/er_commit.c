/* er_commit.c - locks, journal and the all-or-nothing commit (see er_commit.h). */
#include "er_commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "er_reap.h"

#define JOURNAL_MAGIC "examrisk-journal-1"
#define JOURNAL_MAX (16u << 20)

typedef struct lock_ent {
	char *target, *path;
	int fd;
} lock_ent;

struct er_commit {
	lock_ent *locks;
	int nlocks, cap;
	er_log *log;                 /* the run's messages; NULL = stderr */
	er_reaper *reaper;           /* removes the backups after the commit; NULL: inline */
};

void er_commit_set_reaper(er_commit *c, er_reaper *rp)
{
	if (c)
		c->reaper = rp;
}

/* "/dir/.BASE" + suffix, beside target. */
static char *side(const char *target, const char *suffix)
{
	char *d = strdup(target), *b = strdup(target);
	char *s = NULL;
	if (d && b) {
		const char *dir = dirname(d), *base = basename(b);
		size_t n = strlen(dir) + strlen(base) + strlen(suffix) + 4;
		if ((s = malloc(n)) != NULL)
			snprintf(s, n, "%s/.%s%s", dir, base, suffix);
	}
	free(d);
	free(b);
	return s;
}

static int sync_dir(const char *path_in_dir)
{
	char *copy = strdup(path_in_dir);
	if (!copy)
		return -1;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* ---------------------------------------------------------------- checks */

typedef struct ident {
	const char *name;
	int exists;
	struct stat st;
	char *target; /* when it does not exist yet */
} ident;

static int same_file(const ident *a, const ident *b)
{
	if (a->exists != b->exists)
		return 0;
	if (a->exists)
		return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
	return a->target && b->target && strcmp(a->target, b->target) == 0;
}

er_status er_commit_check(const char *const *outs, int nout, const char *const *ins, int nin,
                          char *err, size_t errlen)
{
	er_status st = ER_OK;
	ident *id = calloc((size_t)nout + 1, sizeof *id);
	if (!id)
		return ER_E_NOMEM;
	for (int i = 0; i < nout && st == ER_OK; i++) {
		if (!outs[i] || !strcmp(outs[i], "-"))
			continue;
		id[i].name = outs[i];
		id[i].exists = stat(outs[i], &id[i].st) == 0;
		if (id[i].exists && S_ISDIR(id[i].st.st_mode)) {
			snprintf(err, errlen, "%s: is a directory, not an output file", outs[i]);
			st = ER_E_USAGE;
		} else if (id[i].exists && S_ISBLK(id[i].st.st_mode)) {
			snprintf(err, errlen, "%s: is a block device; refusing to write to it", outs[i]);
			st = ER_E_USAGE;
		} else if (!id[i].exists) {
			id[i].target = er_out_resolve(outs[i]); /* NULL: the open reports it */
		}
		/* Two names for one file: one output would silently lose. Several
		 * outputs into one character device (/dev/null) lose nothing. */
		for (int j = 0; j < i && st == ER_OK; j++)
			if (id[j].name && same_file(&id[i], &id[j]) &&
			    !(id[i].exists && S_ISCHR(id[i].st.st_mode))) {
				snprintf(err, errlen, "%s and %s are the same file: give each output its own name",
				         id[j].name, outs[i]);
				st = ER_E_USAGE;
			}
	}
	for (int k = 0; k < nin && st == ER_OK; k++) {
		struct stat in;
		if (!strcmp(ins[k], "-") || stat(ins[k], &in) < 0 || S_ISCHR(in.st_mode))
			continue;
		for (int i = 0; i < nout && st == ER_OK; i++)
			if (id[i].name && id[i].exists && id[i].st.st_dev == in.st_dev &&
			    id[i].st.st_ino == in.st_ino) {
				snprintf(err, errlen, "%s is also an input (%s): writing it would destroy the input",
				         outs[i], ins[k]);
				st = ER_E_USAGE;
			}
	}
	for (int i = 0; i < nout; i++)
		free(id[i].target);
	free(id);
	return st;
}

/* ----------------------------------------------------------------- locks */

static int locked(const er_commit *c, const char *target)
{
	for (int i = 0; i < c->nlocks; i++)
		if (!strcmp(c->locks[i].target, target))
			return 1;
	return 0;
}

/* Lock ".NAME.examrisk.lock" beside target. The lock file is removed by its
 * holder at the end, so after getting the lock check that the name still
 * designates the file we locked (else a later run could lock a new file). */
static er_status lock_one(er_commit *c, const char *target, const char *name, int wait,
                          char *err, size_t errlen)
{
	if (locked(c, target))
		return ER_OK;
	if (c->nlocks == c->cap) {
		int cap = c->cap ? 2 * c->cap : 8;
		lock_ent *l = realloc(c->locks, (size_t)cap * sizeof *l);
		if (!l)
			return ER_E_NOMEM;
		c->locks = l;
		c->cap = cap;
	}
	char *path = side(target, ".examrisk.lock");
	char *tcopy = strdup(target);
	if (!path || !tcopy) {
		free(path);
		free(tcopy);
		return ER_E_NOMEM;
	}
	for (;;) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			snprintf(err, errlen, "%s: cannot create lock file %s: %s", name, path, strerror(errno));
			break;
		}
		if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
			int e = errno;
			char pid[32] = "";
			ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			close(fd);
			if (e == EWOULDBLOCK)
				snprintf(err, errlen, "%s: another examrisk run%s%s%s is writing this output "
				         "(lock %s); nothing was touched (--wait-lock waits for it)",
				         name, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "", path);
			else
				snprintf(err, errlen, "%s: cannot lock %s: %s", name, path, strerror(e));
			break;
		}
		struct stat a, b;
		if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
			close(fd); /* removed by the run that held it: take the new one */
			continue;
		}
		char pid[32];
		int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) {
			/* the pid is only a courtesy for the message above */
		}
		c->locks[c->nlocks++] = (lock_ent){.target = tcopy, .path = path, .fd = fd};
		return ER_OK;
	}
	free(path);
	free(tcopy);
	return ER_E_IO;
}

void er_commit_end(er_commit *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nlocks; i++) {
		unlink(c->locks[i].path); /* while still holding it: see lock_one */
		close(c->locks[i].fd);
		free(c->locks[i].path);
		free(c->locks[i].target);
	}
	free(c->locks);
	free(c);
}

/* --------------------------------------------------------------- journal */

typedef struct jent {
	char *target, *tmp, *backup; /* backup NULL: the target did not exist */
	unsigned long long dev, ino; /* the temporary's file: what a new target must be to go */
	int renamed;
} jent;

typedef struct journal {
	char *primary; /* the first output's journal: its removal is the commit point */
	jent *e;
	int n;
	er_buf raw;
} journal;

static void journal_free(journal *j)
{
	free(j->e);
	er_buf_free(&j->raw);
	memset(j, 0, sizeof *j);
}

/* Each copy: magic, primary, then target/tmp/backup/"dev:ino" entries, then "end",
 * every field NUL-terminated (names may hold any byte but NUL). A copy
 * without "end" was torn while being written: no rename had started. */
static int journal_parse(journal *j)
{
	char *p = j->raw.p, *end = j->raw.p + j->raw.len;
	char *f[4];
	unsigned long long dev, ino;
	int nf = 0;
	if (!p || end == p || end[-1] != '\0')
		return -1;
	const char *first = p;
	if (strcmp(first, JOURNAL_MAGIC))
		return -1;
	p += strlen(p) + 1;
	if (p >= end)
		return -1;
	j->primary = p;
	p += strlen(p) + 1;
	int cap = 0;
	while (p < end) {
		if (!strcmp(p, "end") && p + 4 == end)
			return nf == 0 ? 0 : -1;
		f[nf++] = p;
		p += strlen(p) + 1;
		if (nf == 4) {
			if (sscanf(f[3], "%llu:%llu", &dev, &ino) != 2)
				return -1;
			if (j->n == cap) {
				cap = cap ? 2 * cap : 8;
				jent *e = realloc(j->e, (size_t)cap * sizeof *e);
				if (!e)
					return -1;
				j->e = e;
			}
			j->e[j->n++] = (jent){.target = f[0], .tmp = f[1], .backup = f[2][0] ? f[2] : NULL,
			                      .dev = dev, .ino = ino};
			nf = 0;
		}
	}
	return -1;
}

static int read_all(const char *path, er_buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	for (;;) {
		if (b->len >= JOURNAL_MAX || er_buf_reserve(b, 65536) < 0) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		ssize_t r = read(fd, b->p + b->len, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
	}
	close(fd);
	return 0;
}

/* Remove every copy of the journal, the primary last (it decides). */
static void journal_remove(const journal *j)
{
	for (int i = 0; i < j->n; i++) {
		char *jp = side(j->e[i].target, ".examrisk.journal");
		if (jp && strcmp(jp, j->primary)) {
			unlink(jp);
			sync_dir(jp);
		}
		free(jp);
	}
	unlink(j->primary);
	sync_dir(j->primary);
}

/* Put the previous versions back (entries renamed, or all when unknown). */
static void roll_back(const journal *j, int only_renamed)
{
	for (int i = 0; i < j->n; i++) {
		const jent *e = &j->e[i];
		if (only_renamed && !e->renamed) {
			unlink(e->tmp);
			if (e->backup)
				unlink(e->backup);
			continue;
		}
		if (e->backup) {
			/* If the rename never happened, backup and target are the same
			 * file and this does nothing: the unlink then drops the link. */
			rename(e->backup, e->target);
			unlink(e->backup);
		} else {
			/* It was new: remove it only if it is still the temporary we
			 * renamed (a later run may have written it since). */
			struct stat st;
			if (lstat(e->target, &st) == 0 && (unsigned long long)st.st_dev == e->dev &&
			    (unsigned long long)st.st_ino == e->ino)
				unlink(e->target);
		}
		unlink(e->tmp);
		sync_dir(e->target);
	}
}

static er_status recover(er_commit *c, const char *jpath, const char *name, char *err, size_t errlen)
{
	journal j = {0};
	if (read_all(jpath, &j.raw) < 0) {
		snprintf(err, errlen, "%s: cannot read the journal of an interrupted commit %s: %s", name,
		         jpath, strerror(errno));
		journal_free(&j);
		return ER_E_IO;
	}
	if (journal_parse(&j) < 0) {
		/* Torn while being written: the renames had not started. */
		unlink(jpath);
		sync_dir(jpath);
		journal_free(&j);
		return ER_OK;
	}
	/* The crashed run's other outputs must not be in use by a third run. */
	for (int i = 0; i < j.n; i++) {
		if (lock_one(c, j.e[i].target, name, 0, err, errlen) != ER_OK) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, " (needed to recover the interrupted commit in %s)", jpath);
			journal_free(&j);
			return ER_E_IO;
		}
	}
	int committed = access(j.primary, F_OK) != 0;
	if (committed) {
		for (int i = 0; i < j.n; i++)
			if (j.e[i].backup)
				unlink(j.e[i].backup);
	} else {
		roll_back(&j, 0);
	}
	journal_remove(&j);
	er_log fallback, *L = c->log;
	if (!L)
		er_log_init(L = &fallback, NULL, NULL, 0);
	er_log_msg(L, ER_LOG_WARNING, "%s: %s an interrupted commit (journal %s)", name,
	           committed ? "completed" : "rolled back", jpath);
	if (L == &fallback)
		er_log_destroy(&fallback);
	journal_free(&j);
	return ER_OK;
}

/* ------------------------------------------------------- stale leftovers */

/* ".NAME.examrisk-PID.tmp.XXXXXX" and ".NAME.examrisk-PID.bak" of a pid
 * that no longer runs. (A reused pid keeps its files until it exits.) */
static void clean_stale(const char *target)
{
	char *prefix = side(target, ".examrisk-");
	if (!prefix)
		return;
	char *dcopy = strdup(prefix);
	if (!dcopy) {
		free(prefix);
		return;
	}
	const char *base = strrchr(prefix, '/') + 1;
	size_t plen = strlen(base);
	DIR *d = opendir(dirname(dcopy));
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, plen))
			continue;
		char *end;
		long pid = strtol(de->d_name + plen, &end, 10);
		if (end == de->d_name + plen || pid <= 0 || pid == (long)getpid())
			continue;
		if (strncmp(end, ".tmp.", 5) && strcmp(end, ".bak"))
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	free(dcopy);
	free(prefix);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

er_status er_commit_begin(er_commit **cp, const char *const *outs, int nout, int wait,
                          er_log *log, char *err, size_t errlen)
{
	er_commit *c = calloc(1, sizeof *c);
	*cp = c;
	if (c)
		c->log = log;
	char **t = calloc((size_t)nout + 1, sizeof *t);
	const char **names = calloc((size_t)nout + 1, sizeof *names);
	if (!c || !t || !names) {
		free(t);
		free(names);
		return ER_E_NOMEM;
	}
	er_status st = ER_OK;
	int n = 0;
	for (int i = 0; i < nout; i++) {
		struct stat s;
		if (!outs[i] || !strcmp(outs[i], "-") || (stat(outs[i], &s) == 0 && !S_ISREG(s.st_mode)))
			continue; /* stdout and special files: nothing to lock */
		char *r = er_out_resolve(outs[i]);
		if (!r)
			continue; /* no such directory: the open says so */
		/* target + NUL + the name as given, so sorting keeps the name */
		size_t a = strlen(r), b = strlen(outs[i]);
		char *both = malloc(a + b + 2);
		if (!both) {
			free(r);
			st = ER_E_NOMEM;
			goto out;
		}
		memcpy(both, r, a + 1);
		memcpy(both + a + 1, outs[i], b + 1);
		free(r);
		t[n++] = both;
	}
	/* One global order: two runs waiting for each other's locks cannot deadlock. */
	qsort(t, (size_t)n, sizeof *t, cmp_str);
	for (int i = 0; i < n && st == ER_OK; i++)
		st = lock_one(c, t[i], t[i] + strlen(t[i]) + 1, wait, err, errlen);
	for (int i = 0; i < n && st == ER_OK; i++) {
		char *jp = side(t[i], ".examrisk.journal");
		if (!jp) {
			st = ER_E_NOMEM;
			break;
		}
		struct stat s;
		if (lstat(jp, &s) == 0)
			st = recover(c, jp, t[i] + strlen(t[i]) + 1, err, errlen);
		free(jp);
	}
	for (int i = 0; i < c->nlocks && st == ER_OK; i++)
		clean_stale(c->locks[i].target);
out:
	for (int i = 0; i < n; i++)
		free(t[i]);
	free(t);
	free(names);
	return st;
}

/* ---------------------------------------------------------------- commit */

static er_status write_journal(const char *path, const er_buf *b, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create journal: %s", path, strerror(errno));
		return ER_E_IO;
	}
	size_t done = 0;
	while (done < b->len) {
		ssize_t w = write(fd, b->p + done, b->len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		done += (size_t)w;
	}
	int e = errno;
	if (done < b->len || fsync(fd) < 0) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "%s: cannot write journal: %s", path, strerror(e));
		return ER_E_IO;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "%s: cannot write journal: %s", path, strerror(errno));
		return ER_E_IO;
	}
	return ER_OK;
}

static er_status sync_dirs(const journal *j, char *err, size_t errlen)
{
	for (int i = 0; i < j->n; i++)
		if (sync_dir(j->e[i].target) < 0) {
			snprintf(err, errlen, "%s: fsync of its directory: %s", j->e[i].target, strerror(errno));
			return ER_E_IO;
		}
	return ER_OK;
}

er_status er_commit_run(er_commit *c, er_outfile *const *outs, int n, char *err, size_t errlen)
{
	/* the locks are held; the commit needs only the reaper from c */
	journal j = {0};
	er_outfile **fo = calloc((size_t)n + 1, sizeof *fo);
	char **jpaths = calloc((size_t)n + 1, sizeof *jpaths);
	er_status st = ER_OK;
	int journal_written = 0, backups_made = 0, renamed_all = 0;
	j.e = calloc((size_t)n + 1, sizeof *j.e);
	if (!fo || !jpaths || !j.e) {
		st = ER_E_NOMEM;
		goto out;
	}
	/* 1. Every write error, every fsync of a temporary. */
	for (int i = 0; i < n && st == ER_OK; i++)
		if (outs[i]->kind != ER_OUT_NONE)
			st = er_out_sync(outs[i], err, errlen);
	/* 2. Targets still what they were; temporaries on their filesystem; close. */
	for (int i = 0; i < n && st == ER_OK; i++) {
		er_outfile *o = outs[i];
		if (o->kind == ER_OUT_FILE) {
			struct stat ts, fs, ds;
			int exists = lstat(o->target, &ts) == 0;
			char *d = strdup(o->target);
			int dok = d && stat(dirname(d), &ds) == 0;
			free(d);
			if (exists && !S_ISREG(ts.st_mode)) {
				snprintf(err, errlen, "%s: is no longer a regular file; nothing replaced", er_out_name(o));
				st = ER_E_IO;
			} else if (!dok || fstat(o->fd, &fs) < 0 || fs.st_dev != ds.st_dev) {
				snprintf(err, errlen, "%s: its temporary is not on the target's filesystem", er_out_name(o));
				st = ER_E_IO;
			} else {
				fo[j.n] = o;
				j.e[j.n++] = (jent){.target = o->target, .tmp = o->tmp,
				                    .dev = (unsigned long long)fs.st_dev,
				                    .ino = (unsigned long long)fs.st_ino};
			}
		}
		if (st == ER_OK && o->opened && o->kind != ER_OUT_SPOOL) {
			o->opened = 0;
			int rc = close(o->fd);
			o->fd = -1;
			if (rc < 0) {
				o->err = errno;
				er_out_errmsg(o, "close", err, errlen);
				st = ER_E_IO;
			}
		}
	}
	/* 3. Keep every previous version until the last rename has succeeded. */
	for (int i = 0; i < j.n && st == ER_OK; i++) {
		struct stat s;
		if (lstat(j.e[i].target, &s) < 0)
			continue;
		char suffix[48];
		snprintf(suffix, sizeof suffix, ".examrisk-%ld.bak", (long)getpid());
		if (!(j.e[i].backup = side(j.e[i].target, suffix))) {
			st = ER_E_NOMEM;
			break;
		}
		unlink(j.e[i].backup);
		if (link(j.e[i].target, j.e[i].backup) < 0) {
			snprintf(err, errlen, "%s: cannot keep the previous version as %s: %s",
			         er_out_name(fo[i]), j.e[i].backup, strerror(errno));
			free(j.e[i].backup);
			j.e[i].backup = NULL;
			st = ER_E_IO;
		}
		backups_made = 1;
	}
	/* 4. The journal, beside every output; its first copy decides. */
	if (st == ER_OK && j.n) {
		er_buf *b = &j.raw;
		for (int i = 0; i < j.n; i++)
			if (!(jpaths[i] = side(j.e[i].target, ".examrisk.journal")))
				st = ER_E_NOMEM;
		if (st == ER_OK) {
			j.primary = jpaths[0];
			if (er_buf_append(b, JOURNAL_MAGIC, sizeof JOURNAL_MAGIC) < 0 ||
			    er_buf_append(b, j.primary, strlen(j.primary) + 1) < 0)
				st = ER_E_NOMEM;
			for (int i = 0; i < j.n && st == ER_OK; i++) {
				const char *bk = j.e[i].backup ? j.e[i].backup : "";
				char id[48];
				int idn = snprintf(id, sizeof id, "%llu:%llu", j.e[i].dev, j.e[i].ino);
				if (er_buf_append(b, j.e[i].target, strlen(j.e[i].target) + 1) < 0 ||
				    er_buf_append(b, j.e[i].tmp, strlen(j.e[i].tmp) + 1) < 0 ||
				    er_buf_append(b, bk, strlen(bk) + 1) < 0 || er_buf_append(b, id, (size_t)idn + 1) < 0)
					st = ER_E_NOMEM;
			}
			if (st == ER_OK && er_buf_append(b, "end", 4) < 0)
				st = ER_E_NOMEM;
		}
		for (int i = 0; i < j.n && st == ER_OK; i++) {
			journal_written = 1;
			st = write_journal(jpaths[i], b, err, errlen);
		}
		/* Temporaries, backups and journals durable before the first rename. */
		if (st == ER_OK)
			st = sync_dirs(&j, err, errlen);
	}
	/* 5. The renames. */
	for (int i = 0; i < j.n && st == ER_OK; i++) {
		if (rename(j.e[i].tmp, j.e[i].target) < 0) {
			fo[i]->err = errno;
			er_out_errmsg(fo[i], "rename", err, errlen);
			st = ER_E_IO;
			break;
		}
		j.e[i].renamed = 1;
	}
	if (st == ER_OK)
		st = sync_dirs(&j, err, errlen);
	/* 6. Standard output, then the commit point. */
	for (int i = 0; i < n && st == ER_OK; i++)
		st = er_out_copy_spool(outs[i], err, errlen);
	if (st == ER_OK && j.n) {
		if (unlink(j.primary) < 0 || sync_dir(j.primary) < 0) {
			snprintf(err, errlen, "%s: cannot remove journal: %s", j.primary, strerror(errno));
			st = ER_E_IO;
		}
	}
	if (st == ER_OK) {
		renamed_all = 1;
		/* Past the commit point a backup is only litter (one a crash leaves
		 * is removed by the next run: clean_stale), so its unlink, which
		 * frees the old version's page cache and is the longest step here,
		 * goes to the reaper's threads and needs no fsync of its own (the
		 * directory fsync below is for the journal copies). */
		for (int i = 0; i < j.n; i++) {
			if (j.e[i].backup)
				er_reaper_unlink(c ? c->reaper : NULL, j.e[i].backup);
			if (i)
				unlink(jpaths[i]);
			sync_dir(j.e[i].target);
			free(fo[i]->tmp);
			fo[i]->tmp = NULL;
		}
	}
out:
	if (!renamed_all && (backups_made || journal_written)) {
		roll_back(&j, 1);
		if (journal_written)
			journal_remove(&j);
	}
	for (int i = 0; i < j.n; i++) {
		free(j.e[i].backup);
		free(jpaths[i]);
	}
	free(jpaths);
	free(fo);
	free(j.e);
	er_buf_free(&j.raw);
	return st;
}
