/*
 * er_bench.c - micro-benchmarks for the benchmark script (benchmarks/bench.sh).
 *
 *   er_bench inflate [--zlib|--isal] FILE...
 *
 * Reads each FILE through the engine's own reader stage (er_reader_open_ex
 * with the chosen inflate backend, every gzip check on) into a 1 MiB buffer
 * and throws the bytes away: the decompression floor of `examrisk score`
 * measured with exactly the code the engine runs. Prints one line per file
 * on stdout:
 *
 *   backend=isal file=F bytes=N seconds=S mb_per_s=M
 *
 * (bytes = decompressed bytes, MB = 10^6 bytes) and exits 0, or names the
 * file and the problem on stderr and exits 1 (2 for a usage error).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "er_reader.h"

#define BENCH_BUF (1u << 20)

static void usage(FILE *f)
{
	fputs("usage: er_bench inflate [--zlib|--isal] FILE...\n"
	      "Inflate each FILE with the engine's reader (1 MiB reads, output discarded)\n"
	      "and print: backend=B file=F bytes=N seconds=S mb_per_s=M\n"
	      "  --zlib   zlib inflate (the portable path)\n"
	      "  --isal   ISA-L inflate (default when built with ISA-L)\n"
	      "  --threads=N  inflate BGZF (bgzip) input on N threads, as score --threads N\n",
	      f);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Inflate one file into buf and discard it. Returns 0 or -1 (message printed). */
static int inflate_file(const char *path, enum er_inflate backend, int threads, char *buf)
{
	char err[512];
	er_reader *rd = NULL;
	double t0 = now_s();
	er_status st = er_reader_open_ex(path, backend, &rd, err, sizeof err);
	if (st != ER_OK) {
		fprintf(stderr, "er_bench: %s\n", err[0] ? err : er_status_str(st));
		return -1;
	}
	er_reader_set_threads(rd, threads);
	unsigned long long total = 0;
	ssize_t n;
	while ((n = er_reader_read(rd, buf, BENCH_BUF)) > 0)
		total += (unsigned long long)n;
	double secs = now_s() - t0;
	int rc = 0;
	if (n < 0) {
		const char *m = er_reader_error(rd);
		fprintf(stderr, "er_bench: %s\n", m && *m ? m : "read failed");
		rc = -1;
	} else {
		printf("backend=%s file=%s bytes=%llu seconds=%.6f mb_per_s=%.1f\n",
		       er_reader_backend(rd) == ER_INFLATE_ISAL ? "isal" : "zlib", path, total,
		       secs, secs > 0 ? (double)total / secs / 1e6 : 0.0);
	}
	er_reader_close(rd);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "inflate") != 0) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
#ifdef ER_HAVE_ISAL
	enum er_inflate backend = ER_INFLATE_ISAL;
#else
	enum er_inflate backend = ER_INFLATE_ZLIB;
#endif
	int i = 2, threads = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strncmp(argv[i], "--threads=", 10) && atoi(argv[i] + 10) >= 1) {
			threads = atoi(argv[i] + 10);
		} else if (!strcmp(argv[i], "--zlib")) {
			backend = ER_INFLATE_ZLIB;
		} else if (!strcmp(argv[i], "--isal")) {
			backend = ER_INFLATE_ISAL;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "er_bench: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	char *buf = malloc(BENCH_BUF);
	if (!buf) {
		fputs("er_bench: out of memory\n", stderr);
		return 1;
	}
	int rc = 0;
	for (; i < argc; i++)
		if (inflate_file(argv[i], backend, threads, buf) < 0)
			rc = 1;
	free(buf);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("er_bench: write error on stdout\n", stderr);
		rc = 1;
	}
	return rc;
}
