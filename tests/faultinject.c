/* faultinject.c - LD_PRELOAD shim for tests/faultinject.sh (tests only,
 * never linked into examrisk). It makes one call fail, counted from the
 * start of the process:
 *   ER_FI_ALLOC=N  the Nth malloc/calloc/realloc returns NULL (ENOMEM)
 *   ER_FI_IO=N     the Nth write/fsync/rename/link/close fails with errno
 *                  ER_FI_ERRNO (default EIO); writes to stderr are not
 *                  counted, so the failure can still be reported
 *   ER_FI_ONLY=F   with ER_FI_IO: count only calls to F (e.g. write)
 *   ER_FI_KILL=1   with ER_FI_IO: SIGKILL the process there instead (a crash)
 *   ER_FI_COUNT=F  at exit, write "ALLOCS IOS" (calls seen) to file F
 * Allocations go to glibc's __libc_* functions, so the shim itself never
 * allocates through the hooks (dlsym may call calloc). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static long fail_alloc, fail_io, io_errno = EIO;
static int kill_at_io, ready;
static long n_alloc, n_io;
static const char *count_file, *only;

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : dflt;
}

__attribute__((constructor)) static void fi_init(void)
{
	fail_alloc = env_long("ER_FI_ALLOC", 0);
	fail_io = env_long("ER_FI_IO", 0);
	io_errno = env_long("ER_FI_ERRNO", EIO);
	kill_at_io = (int)env_long("ER_FI_KILL", 0);
	count_file = getenv("ER_FI_COUNT");
	only = getenv("ER_FI_ONLY");
	ready = 1;
}

__attribute__((destructor)) static void fi_report(void)
{
	if (!count_file)
		return;
	int fd = open(count_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%ld %ld\n", __atomic_load_n(&n_alloc, __ATOMIC_SEQ_CST),
		        __atomic_load_n(&n_io, __ATOMIC_SEQ_CST));
		syscall(SYS_close, fd);
	}
}

static int alloc_fails(void)
{
	if (!ready)
		return 0;
	long n = __atomic_add_fetch(&n_alloc, 1, __ATOMIC_SEQ_CST);
	return n == fail_alloc;
}

void *malloc(size_t n)
{
	if (alloc_fails()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (alloc_fails()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (alloc_fails()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

/* 1 when this call is the one to fail (errno set), after a kill if asked. */
static int io_fails(const char *fn)
{
	if (!ready || (only && strcmp(only, fn)))
		return 0;
	long n = __atomic_add_fetch(&n_io, 1, __ATOMIC_SEQ_CST);
	if (n != fail_io)
		return 0;
	if (kill_at_io)
		kill(getpid(), SIGKILL);
	errno = (int)io_errno;
	return 1;
}

#define REAL(name) \
	static __typeof__(&name) real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *p, size_t n)
{
	REAL(write);
	if (fd != STDERR_FILENO && io_fails("write"))
		return -1;
	return real_write(fd, p, n);
}

int fsync(int fd)
{
	REAL(fsync);
	if (io_fails("fsync"))
		return -1;
	return real_fsync(fd);
}

int rename(const char *a, const char *b)
{
	REAL(rename);
	if (io_fails("rename"))
		return -1;
	return real_rename(a, b);
}

int link(const char *a, const char *b)
{
	REAL(link);
	if (io_fails("link"))
		return -1;
	return real_link(a, b);
}

int close(int fd)
{
	REAL(close);
	if (io_fails("close")) {
		real_close(fd); /* like EIO from NFS: the descriptor is gone anyway */
		return -1;
	}
	return real_close(fd);
}
