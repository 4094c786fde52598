/* er_version.c - versions at run time: the library's own and its backends'
 * (for `examrisk --version` and for embedders checking what they linked). */
#include "examrisk.h"
#include "er_util.h"

#include <csv.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdio.h>
#include <zlib.h>
#ifdef ER_HAVE_ISAL
#include <isa-l.h>
#endif


const char *er_version(void)
{
	return ER_VERSION_STRING;
}

#ifdef ER_HAVE_ISAL
#define ER_ISAL_TEXT ER_ISAL_NAME " (inflate, gzip output)"
#define ER_LIBDEFLATE_ROLE "gzip output fallback"
#else
#define ER_ISAL_TEXT "ISA-L not built in (inflate by zlib)"
#define ER_LIBDEFLATE_ROLE "gzip output"
#endif

static char backends[256];
static pthread_once_t backends_once = PTHREAD_ONCE_INIT;

/* zlib reports its version at run time; ISA-L, libdeflate and libcsv only in
 * their headers, so theirs are the versions this library was built with. */
static void backends_init(void)
{
	snprintf(backends, sizeof backends,
	         "%s, libdeflate %s (" ER_LIBDEFLATE_ROLE "), zlib %s (inflate fallback, --level output), "
	         "libcsv %d.%d.%d (quoted records)",
	         ER_ISAL_TEXT, LIBDEFLATE_VERSION_STRING, zlibVersion(), CSV_MAJOR, CSV_MINOR,
	         CSV_RELEASE);
}

const char *er_backends(void)
{
	pthread_once(&backends_once, backends_init);
	return backends;
}
