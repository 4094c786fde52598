/* er_datadir.c - default data files (see er_datadir.h). */
#include "er_datadir.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ER_DATADIR
#define ER_DATADIR "/usr/local/share/examrisk"
#endif

/* Try dir/name; on failure add the path to looked. Returns 1 when readable. */
static int try_dir(const char *dir, const char *name, char *buf, size_t cap, char *looked,
                   size_t lcap)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);
	if (n > 0 && (size_t)n < cap && access(buf, R_OK) == 0)
		return 1;
	size_t len = strlen(looked);
	if (len < lcap)
		snprintf(looked + len, lcap - len, "%s%s/%s", len ? ", " : "", dir, name);
	return 0;
}

const char *er_data_find(const char *name, char *buf, size_t cap, char *looked, size_t lcap)
{
	looked[0] = '\0';
	const char *env = getenv("EXAMRISK_DATA");
	if (env && *env)
		return try_dir(env, name, buf, cap, looked, lcap) ? buf : NULL;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* parent and grandparent of the binary's directory, spelt without ".." */
		/* (dirname may write into its argument: each result is copied) */
		char up1[PATH_MAX], up2[PATH_MAX], tmp[PATH_MAX], d[PATH_MAX + 32];
		snprintf(up1, sizeof up1, "%s", dirname(dirname(exe)));
		snprintf(tmp, sizeof tmp, "%s", up1);
		snprintf(up2, sizeof up2, "%s", dirname(tmp));
		const char *slash1 = strcmp(up1, "/") ? "/" : "", *slash2 = strcmp(up2, "/") ? "/" : "";
		snprintf(d, sizeof d, "%s%sshare/examrisk", up1, slash1);
		if (try_dir(d, name, buf, cap, looked, lcap))
			return buf;
		snprintf(d, sizeof d, "%s%sdata", up1, slash1);
		if (try_dir(d, name, buf, cap, looked, lcap))
			return buf;
		snprintf(d, sizeof d, "%s%sdata", up2, slash2);
		if (try_dir(d, name, buf, cap, looked, lcap))
			return buf;
	}
	return try_dir(ER_DATADIR, name, buf, cap, looked, lcap) ? buf : NULL;
}

const char *er_data_builtin(void)
{
	return ER_DATADIR;
}
