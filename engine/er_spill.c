/* er_spill.c - the append-only, unlinked temporary file (see er_spill.h). */
#include "er_spill.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int er_spill_open(er_spill *s)
{
	if (s->fd >= 0)
		return 0;
	const char *dir = s->dir;
	if (!dir) {
		dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
	}
	size_t n = strlen(dir) + sizeof "/examrisk-spill.XXXXXX";
	char *path = malloc(n);
	if (!path)
		return -1;
	snprintf(path, n, "%s/examrisk-spill.XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0 || unlink(path) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		free(path);
		errno = e;
		return -1;
	}
	free(path);
	s->fd = fd;
	s->end = 0;
	return 0;
}

void er_spill_close(er_spill *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int er_spill_pwrite(const er_spill *s, const char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(s->fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int er_spill_pread(const er_spill *s, char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t got = pread(s->fd, p, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0) /* shorter than we wrote it: never expected */
				errno = EIO;
			return -1;
		}
		p += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return 0;
}

/* Append p[0..n) to the spill file; *off receives its offset. */
int er_spill_append(er_spill *s, const char *p, size_t n, uint64_t *off)
{
	if (er_spill_open(s) < 0 || er_spill_pwrite(s, p, n, s->end) < 0)
		return -1;
	if (off)
		*off = s->end;
	s->end += n;
	return 0;
}

