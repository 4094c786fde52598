/* er_main.c - the examrisk command line: a thin layer over the library. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examrisk.h"
#include "er_ams.h"
#include "er_calibrate.h"
#include "er_datadir.h"
#include "er_pipeline.h"
#include "er_report.h"
#include "er_util.h"
#include "er_csvout.h"
#include "er_verify.h"
#include "er_writer.h"

enum { EXIT_OK = 0, EXIT_FATAL = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3 };

static const char *prog = "examrisk";

static void usage_main(FILE *f)
{
	fprintf(f,
	        "usage: examrisk COMMAND [options] ARGS...\n"
	        "\n"
	        "Scores inbound shipments for customs-exam risk: joins each shipment's parties\n"
	        "against the CTPAT participant and MRA tables as of its arrival date and applies\n"
	        "the rules in rules.ini.\n"
	        "\n"
	        "commands:\n"
	        "  score MANIFEST...     score every shipment (the main job)\n"
	        "  partners MANIFEST...  partner audit: every upstream party, non-compliant first\n"
	        "  verify QUERY...       look a party up by id or name, with its status on a date\n"
	        "  ams DIR...            join a CBP AMS release into canonical manifest rows\n"
	        "  calibrate MANIFEST... fit lane quotas (and, with exam outcomes, the points) to a\n"
	        "                        reference population; writes a tuned rules file\n"
	        "  report SUMMARY.json   the run report: one self-contained HTML page\n"
	        "\n"
	        "  examrisk COMMAND -h, --help   options of a command\n"
	        "  examrisk -V, --version        version and the libraries behind it\n"
	        "\n"
	        "Tables and rules default to participants.csv, mra.csv and rules.ini in\n"
	        "$EXAMRISK_DATA when set, else in the installed data directory\n"
	        "(%s) or the source tree's data/ (see examrisk(1)).\n",
	        er_data_builtin());
}

static const char shared_help[] =
	"shared options:\n"
	"  --participants FILE  participants table (default participants.csv in the data directory)\n"
	"  --mra FILE           MRA table (default mra.csv in the data directory)\n"
	"  --rules FILE         rules file (default rules.ini in the data directory)\n"
	"  -t, --threads N      worker threads (default: the CPUs this process may use;\n"
	"                       1: one thread does it all, one core)\n"
	"  --map CANON=HEADER   read column CANON from input column HEADER (repeatable)\n"
	"  --map-file FILE      CANON=HEADER lines, '#' comments\n"
	"  --delimiter C        input field delimiter (default ,; 'tab' for tab)\n"
	"  --out-delimiter C    delimiter of every CSV output (default , whatever the input's)\n"
	"  --excel              CSV outputs for Excel: UTF-8 BOM first, CRLF line ends\n"
	"  -q, --quiet          no messages on stderr except fatal errors\n"
	"  --progress           progress on stderr (default: on when stderr is a terminal; to a\n"
	"                       file or pipe, one line every few seconds); not with --quiet\n"
	"  -h, --help           this text\n";

static void usage_score(FILE *f)
{
	fprintf(f,
	        "usage: examrisk score [options] MANIFEST...   ('-' = stdin)\n"
	        "\n"
	        "Writes one score row per shipment, in input order:\n"
	        "  shipment_id,score,lane,reasons,importer_status,shipper_status,match,\n"
	        "  fast_eligible,front_of_line[,--keep columns]\n"
	        "Manifests are CSV, plain or gzip (detected from content; multi-member read to the end).\n"
	        "\n"
	        "score options:\n"
	        "  -o, --out FILE         scores (default stdout); FILE ending in .gz is gzip-compressed\n"
	        "  --level N              zlib level 1..9 for a .gz output (default: ISA-L's level 0\n"
	        "                         with codes fitted per 1 MiB member, faster than gzip -1\n"
	        "                         and smaller)\n"
	        "  --rejects FILE         file,line,reason,raw of every record that could not be scored\n"
	        "  --consolidations FILE  per master bill / container: exam probability and its driver\n"
	        "  --queue FILE           exam queue: RED shipments, front-of-line first, then by score\n"
	        "  --resumption           queue every shipment, certified parties first\n"
	        "  --summary FILE         JSON summary (counts per file, lanes, reasons, speed)\n"
	        "  --max-rejects N|N%%     fail the run (commit nothing) above N rejects or N%% of rows\n"
	        "  --keep-going           a file failing its integrity check is skipped, not fatal (exit 3)\n"
	        "  --keep COL,...         copy these input columns into the output\n"
	        "  --chunk-size BYTES     internal chunk size (testing; output does not depend on it)\n"
	        "  --rollup-memory BYTES  memory for consolidations + queue before they spill to\n"
	        "                         sorted runs in $TMPDIR (default 32M; K, M, G = 1024^n)\n"
	        "  --ams                  the arguments are CBP AMS release directories, joined as\n"
	        "                         'examrisk ams' does and scored directly (--period,\n"
	        "                         --schedule-k, --sort-memory as for 'examrisk ams')\n"
	        "  --wait-lock            wait for another run writing the same outputs (default: fail)\n"
	        "  --spool-stdout         stdout to a pipe or terminal: print at the end, not as rows\n"
	        "                         are scored (stdout that is a file is always spooled)\n"
	        "  --sdn DIR              screen importer, shipper, consignee and notify party\n"
	        "                         names against the OFAC SDN list in DIR (sdn.csv,\n"
	        "                         alt.csv, add.csv as OFAC publishes them): SDN_MATCH /\n"
	        "                         SDN_REVIEW and a column sdn = ROLE=ent_num:similarity\n"
	        "                         (ROLE I, S, C or N) after front_of_line\n"
	        "  --consolidations-filter lcl|all\n"
	        "                         lcl (default): only consolidations of two or more house\n"
	        "                         bills; all: single-bill (FCL) ones too\n"
	        "  --top N                only the N riskiest consolidations (the summary counts the\n"
	        "                         ones left out and why)\n"
	        "  --report FILE.html     the run report (see 'examrisk report --help'), written\n"
	        "                         with the other outputs\n"
	        "  --history DIR          add this run's summary to DIR (one file per run, names in\n"
	        "                         run order); the report's trend reads it\n"
	        "  --history-max N        runs of DIR the trend reads, this one included (default 30)\n"
	        "\n%s"
	        "\n"
	        "Outputs are written to temporary files and renamed only when the run succeeds\n"
	        "(all of them or none); a .gz name is gzip-compressed. A device, FIFO or socket is\n"
	        "written straight through; stdout to a pipe or terminal streams as rows are scored.\n"
	        "exit status: 0 every row scored; 3 some rows rejected or (--keep-going) some files\n"
	        "failed; 1 fatal error, nothing committed; 2 usage error; 128+N stopped by signal N\n"
	        "(130 SIGINT, 143 SIGTERM), nothing committed.\n",
	        shared_help);
}

static void usage_partners(FILE *f)
{
	fprintf(f,
	        "usage: examrisk partners [options] MANIFEST...\n"
	        "\n"
	        "Lists every party seen in the manifests (importer, shipper, manufacturer, carrier,\n"
	        "forwarder) with its roles, shipments, first and last arrival, program and status as of\n"
	        "its last shipment, MRA recognition and a compliant flag; non-compliant first.\n"
	        "\n"
	        "partners options:\n"
	        "  -o, --out FILE   CSV output (default stdout)\n"
	        "  --rejects FILE   records that could not be read\n"
	        "  --summary FILE   JSON summary\n"
	        "  --keep-going     skip files that fail their integrity check\n"
	        "  --ams            the arguments are CBP AMS release directories (as score --ams)\n"
	        "  --wait-lock      wait for another run writing the same outputs (default: fail)\n"
	        "  --spool-stdout   print stdout at the end even when it is a pipe or terminal\n"
	        "  --report FILE.html  the run report with the non-compliant partners by volume\n"
	        "\n%s",
	        shared_help);
}

static void usage_ams(FILE *f)
{
	fprintf(f,
	        "usage: examrisk ams [options] DIR...\n"
	        "\n"
	        "Joins a CBP AMS vessel-manifest release (tables ams__TABLE_PERIOD.csv[.gz]: header,\n"
	        "billgen, shipper, consignee, notifyparty (optional), container, cargodesc, tariff)\n"
	        "by identifier into canonical manifest rows, one per bill, in identifier order, with\n"
	        "bounded memory (tables not sorted by identifier go through an external sort in\n"
	        "$TMPDIR). The consignee is the importer name; see README.md for every column.\n"
	        "\n"
	        "ams options:\n"
	        "  -o, --out FILE       canonical CSV (default stdout; .gz = gzip-compressed)\n"
	        "  --rejects FILE       file,line,reason,raw of every table record not joined\n"
	        "  --period GLOB        only files whose PERIOD part matches (e.g. '2020*')\n"
	        "  --schedule-k FILE    Schedule K prefix table (default schedule_k.csv in the data directory)\n"
	        "  --sort-memory BYTES  memory for the sorts (default 256M; K, M, G = 1024^n)\n"
	        "  -q, --quiet          no messages on stderr except fatal errors\n"
	        "\n"
	        "exit status: 0 every record joined; 3 some records rejected; 1 fatal error\n"
	        "(missing table or column, unreadable file), nothing written; 2 usage error.\n");
}

static void usage_verify(FILE *f)
{
	fprintf(f,
	        "usage: examrisk verify [options] QUERY...\n"
	        "\n"
	        "Looks a party up by exact id, or by name (normalized; exact, prefix and substring\n"
	        "matches, best first), and prints its status history and its status, tier, program and\n"
	        "MRA recognition on a date.\n"
	        "\n"
	        "verify options:\n"
	        "  --on DATE        status on this date, YYYY-MM-DD (default today)\n"
	        "  --csv            machine-readable CSV\n"
	        "  --role ROLE      only parties of that role, as a manifest column matches them:\n"
	        "                   importer, exporter, manufacturer, carrier, forwarder, or\n"
	        "                   shipper (exporter or manufacturer); default every role\n"
	        "  -q, --quiet      no message when nothing matches\n"
	        "  --participants FILE, --mra FILE   tables (defaults in the data directory)\n"
	        "\n"
	        "exit status (as grep): 0 a party matched; 1 nothing matched; 2 error (usage, a\n"
	        "missing or bad table, a write error).\n");
}

static void usage_calibrate(FILE *f)
{
	fprintf(f,
	        "usage: examrisk calibrate [options] --out TUNED.ini MANIFEST...\n"
	        "\n"
	        "Reads a reference population (e.g. last month's manifests) with the same pipeline as\n"
	        "score and writes a complete rules file for score --rules TUNED.ini: the starting rules\n"
	        "(--rules) with per-mode lane thresholds in [lanes] and, given exam outcomes, points\n"
	        "learned from them. Same inputs give the same bytes (no clock time in the file).\n"
	        "\n"
	        "calibrate options:\n"
	        "  -o, --out FILE           the tuned rules file (required)\n"
	        "  --target-red MODE=RATE   share of MODE's shipments RED before the random selection,\n"
	        "                           e.g. vessel=0.03 (repeatable; modes vessel, truck, rail,\n"
	        "                           air, unknown)\n"
	        "  --target-yellow MODE=RATE  share of MODE's shipments YELLOW (repeatable)\n"
	        "  --outcomes FILE          exam history, CSV with shipment_id,examined,finding (0/1):\n"
	        "                           learn the points by penalized logistic regression and\n"
	        "                           [exam_probability] from the exam rate per lane; modes with\n"
	        "                           no target keep their current RED / YELLOW volume\n"
	        "  --holdout-from DATE      evaluate on arrivals from DATE on (default: the last 20 %%\n"
	        "                           of the arrival dates); the fit uses the days before\n"
	        "  --report FILE            the fit's figures as JSON (they also go to stderr)\n"
	        "  --chunk-size BYTES, --max-rejects N|N%%   as for score\n"
	        "\n%s",
	        shared_help);
}

static void usage_report(FILE *f)
{
	fprintf(f,
	        "usage: examrisk report [options] SUMMARY.json [CONSOLIDATIONS.csv] [PARTNERS.csv]\n"
	        "\n"
	        "Writes one self-contained HTML page (no script, no external resource; readable on a\n"
	        "phone, printable) about a run: its files and counts, rejects with their first lines,\n"
	        "lanes and reason codes as charts, the trend of the previous runs (--history), the\n"
	        "riskiest LCL consolidations (a consolidations CSV) and the non-compliant partners by\n"
	        "volume (a partner audit CSV). The CSVs are told apart by their header.\n"
	        "\n"
	        "report options:\n"
	        "  -o, --out FILE.html  the page (default stdout)\n"
	        "  --history DIR        folder of previous summaries (score --history DIR): the trend\n"
	        "  --history-max N      runs of DIR the trend reads, this one included (default 30)\n"
	        "  -q, --quiet          no messages except fatal errors\n"
	        "  -h, --help           this help\n");
}

static int parse_long(const char *s, long lo, long hi, long *out);

/* 'examrisk report': separate options, no tables needed. */
static int report_main(int argc, char **argv)
{
	static const struct option ropts[] = {
		{"out", required_argument, NULL, 'o'},
		{"history", required_argument, NULL, 'H'},
		{"history-max", required_argument, NULL, 'N'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *out = NULL;
	er_report_in in = { 0 };
	long v;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "o:qh", ropts, NULL)) != -1) { /* -o -q -h as score has them */
		switch (c) {
		case 'o': out = optarg; break;
		case 'H': in.history_dir = optarg; break;
		case 'N':
			if (parse_long(optarg, 1, 100000, &v) < 0) {
				fprintf(stderr, "%s: --history-max takes a number from 1 to 100000\n", prog);
				goto usage;
			}
			in.history_max = (int)v;
			break;
		case 'q': break;
		case 'h': usage_report(stdout); return EXIT_OK;
		default: goto usage;
		}
	}
	int nargs = argc - optind;
	if (nargs < 1 || nargs > 3) {
		fprintf(stderr, "%s report: %s\n", prog,
		        nargs < 1 ? "no summary given" : "too many arguments (SUMMARY.json and at most two CSVs)");
		goto usage;
	}
	char err[1024] = "";
	int rc = EXIT_FATAL;
	er_buf sum = { 0 };
	er_outfile o;
	memset(&o, 0, sizeof o);
	o.fd = -1;
	const char *spath = argv[optind];
	FILE *f = fopen(spath, "rb");
	if (!f) {
		snprintf(err, sizeof err, "%s: %s", spath, strerror(errno));
		goto fail;
	}
	char buf[65536];
	size_t n;
	int bad = 0;
	while (!bad && (n = fread(buf, 1, sizeof buf, f)) > 0)
		bad = er_buf_append(&sum, buf, n) < 0 || sum.len >= (64u << 20);
	bad |= ferror(f);
	fclose(f);
	if (bad) {
		snprintf(err, sizeof err, "%s: cannot read (or larger than 64 MiB: not a summary)", spath);
		goto fail;
	}
	in.summary = sum.p ? sum.p : "";
	in.summary_len = sum.len;
	in.summary_name = spath;
	for (int i = optind + 1; i < argc; i++) {
		int kind = er_report_csv_kind(argv[i], err, sizeof err);
		if (kind < 0)
			goto fail;
		er_report_top **slot = kind == ER_TOP_CONSOLIDATIONS ? &in.consol : &in.partners;
		if (*slot) {
			snprintf(err, sizeof err, "%s: a second %s CSV", argv[i],
			         kind == ER_TOP_CONSOLIDATIONS ? "consolidations" : "partner audit");
			goto fail;
		}
		if (!(*slot = er_report_top_new(kind, argv[i]))) {
			snprintf(err, sizeof err, "out of memory");
			goto fail;
		}
		if (er_report_top_file(*slot, argv[i], err, sizeof err) < 0)
			goto fail;
	}
	if (er_out_open(&o, out, 0, 0, err, sizeof err) != ER_OK ||
	    er_report_write(&in, er_out_emit, &o, err, sizeof err) < 0 ||
	    er_out_sync(&o, err, sizeof err) != ER_OK || er_out_commit(&o, err, sizeof err) != ER_OK)
		goto fail;
	rc = EXIT_OK;
fail:
	if (rc != EXIT_OK)
		fprintf(stderr, "%s: error: %s\n", prog, err[0] ? err : "cannot write the report");
	er_out_abort(&o);
	er_report_top_free(in.consol);
	er_report_top_free(in.partners);
	er_buf_free(&sum);
	return rc;
usage:
	fprintf(stderr, "Try 'examrisk report --help'.\n");
	return EXIT_USAGE;
}

/* A default data file (er_data_find); NULL after printing where it looked. */
static const char *default_data(const char *name, const char *option, char *buf, size_t cap)
{
	char looked[4 * PATH_MAX];
	if (er_data_find(name, buf, cap, looked, sizeof looked))
		return buf;
	fprintf(stderr, "%s: error: %s not found; looked in: %s (give %s FILE, or set EXAMRISK_DATA "
	        "to its directory)\n", prog, name, looked, option);
	return NULL;
}

/* The run's cancel flag (er_run_opts.cancel): the signal number. */
static volatile int cancel_sig;

static void on_signal(int sig)
{
	/* an atomic store (lock-free, so async-signal-safe): threads read it atomically */
	__atomic_store_n(&cancel_sig, sig, __ATOMIC_RELAXED);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second signal kills at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A byte count: digits, optionally followed by K, M or G (powers of 1024;
 * "KiB", "MiB", "GiB" and lower case are accepted too). */
static int parse_size(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case '\0': break;
	default: return -1;
	}
	if (shift) {
		end++;
		if ((end[0] == 'i' || end[0] == 'I') && (end[1] == 'b' || end[1] == 'B'))
			end += 2;
		if (*end || v > (hi >> shift))
			return -1;
		v <<= shift;
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

enum {
	O_PARTICIPANTS = 256, O_MRA, O_RULES, O_THREADS, O_MAP, O_MAP_FILE, O_DELIM, O_QUIET,
	O_PROGRESS, O_OUT, O_LEVEL, O_REJECTS, O_CONSOL, O_QUEUE, O_RESUMPTION, O_SUMMARY,
	O_MAX_REJECTS, O_KEEP_GOING, O_KEEP, O_CHUNK, O_ROLLUP_MEM, O_WAIT_LOCK, O_SPOOL_STDOUT,
	O_ON, O_CSV, O_ROLE, O_HELP, O_AMS, O_PERIOD, O_SCHEDULE_K, O_SORT_MEM,
	O_TARGET_RED, O_TARGET_YELLOW, O_OUTCOMES, O_HOLDOUT_FROM, O_REPORT,
	O_HISTORY, O_HISTORY_MAX, O_CONSOL_FILTER, O_TOP, O_SDN, O_OUT_DELIM, O_EXCEL
};

static const struct option long_opts[] = {
	{"participants", required_argument, NULL, O_PARTICIPANTS},
	{"mra", required_argument, NULL, O_MRA},
	{"rules", required_argument, NULL, O_RULES},
	{"threads", required_argument, NULL, O_THREADS},
	{"map", required_argument, NULL, O_MAP},
	{"map-file", required_argument, NULL, O_MAP_FILE},
	{"delimiter", required_argument, NULL, O_DELIM},
	{"quiet", no_argument, NULL, O_QUIET},
	{"progress", no_argument, NULL, O_PROGRESS},
	{"out", required_argument, NULL, O_OUT},
	{"level", required_argument, NULL, O_LEVEL},
	{"rejects", required_argument, NULL, O_REJECTS},
	{"consolidations", required_argument, NULL, O_CONSOL},
	{"queue", required_argument, NULL, O_QUEUE},
	{"resumption", no_argument, NULL, O_RESUMPTION},
	{"summary", required_argument, NULL, O_SUMMARY},
	{"max-rejects", required_argument, NULL, O_MAX_REJECTS},
	{"keep-going", no_argument, NULL, O_KEEP_GOING},
	{"keep", required_argument, NULL, O_KEEP},
	{"chunk-size", required_argument, NULL, O_CHUNK},
	{"rollup-memory", required_argument, NULL, O_ROLLUP_MEM},
	{"wait-lock", no_argument, NULL, O_WAIT_LOCK},
	{"spool-stdout", no_argument, NULL, O_SPOOL_STDOUT},
	{"sdn", required_argument, NULL, O_SDN},
	{"on", required_argument, NULL, O_ON},
	{"csv", no_argument, NULL, O_CSV},
	{"role", required_argument, NULL, O_ROLE},
	{"help", no_argument, NULL, O_HELP},
	{"ams", no_argument, NULL, O_AMS},
	{"period", required_argument, NULL, O_PERIOD},
	{"schedule-k", required_argument, NULL, O_SCHEDULE_K},
	{"sort-memory", required_argument, NULL, O_SORT_MEM},
	{"target-red", required_argument, NULL, O_TARGET_RED},
	{"target-yellow", required_argument, NULL, O_TARGET_YELLOW},
	{"outcomes", required_argument, NULL, O_OUTCOMES},
	{"holdout-from", required_argument, NULL, O_HOLDOUT_FROM},
	{"report", required_argument, NULL, O_REPORT},
	{"out-delimiter", required_argument, NULL, O_OUT_DELIM},
	{"excel", no_argument, NULL, O_EXCEL},
	{"history", required_argument, NULL, O_HISTORY},
	{"history-max", required_argument, NULL, O_HISTORY_MAX},
	{"consolidations-filter", required_argument, NULL, O_CONSOL_FILTER},
	{"top", required_argument, NULL, O_TOP},
	{NULL, 0, NULL, 0}
};

/* Which options each command takes. */
static int allowed(const char *cmd, int opt)
{
	int shared = opt >= O_PARTICIPANTS && opt <= O_PROGRESS;
	if (opt == O_HELP)
		return 1;
	int ams_opt = opt == O_PERIOD || opt == O_SCHEDULE_K || opt == O_SORT_MEM;
	if (!strcmp(cmd, "ams"))
		return ams_opt || opt == O_OUT || opt == O_REJECTS || opt == O_QUIET ||
		       opt == O_WAIT_LOCK;
	if (opt == O_OUT_DELIM || opt == O_EXCEL)
		return 1; /* score, partners and verify write CSV */
	if (!strcmp(cmd, "score"))
		return shared || (opt >= O_OUT && opt <= O_SPOOL_STDOUT) || opt == O_AMS || ams_opt ||
		       opt == O_SDN || (opt >= O_REPORT && opt <= O_TOP);
	if (!strcmp(cmd, "calibrate"))
		return shared || opt == O_OUT || opt == O_CHUNK || opt == O_MAX_REJECTS ||
		       (opt >= O_TARGET_RED && opt <= O_REPORT);
	if (!strcmp(cmd, "partners"))
		return shared || opt == O_OUT || opt == O_REJECTS || opt == O_SUMMARY ||
		       opt == O_KEEP_GOING || opt == O_CHUNK || opt == O_MAX_REJECTS || opt == O_AMS ||
		       ams_opt || opt == O_WAIT_LOCK || opt == O_SPOOL_STDOUT || opt == O_REPORT;
	return opt == O_PARTICIPANTS || opt == O_MRA || opt == O_ON || opt == O_CSV ||
	       opt == O_ROLE || opt == O_QUIET;
}

/* One delimiter character, or 'tab'; never a quote or a line break. */
static int parse_delim(const char *s, char *out)
{
	if (!strcmp(s, "tab") || !strcmp(s, "\\t"))
		*out = '\t';
	else if (strlen(s) == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r')
		*out = s[0];
	else
		return -1;
	return 0;
}

static int stdout_emit(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

/* One stderr line about an AMS join. */
static void ams_summary(const er_ams_stats *as, const char *verb, const char *rejects_path)
{
	fprintf(stderr, "%s: %llu bills %s, %llu record(s) rejected%s; %d table(s) read in order, %d "
	        "sorted externally (%.1f MB spilled)", prog, (unsigned long long)as->bills, verb,
	        (unsigned long long)as->rejects,
	        as->rejects && !rejects_path ? " (use --rejects FILE)" : "", as->sorted_tables,
	        as->sorted_externally, (double)as->spilled_bytes / 1e6);
	if (as->unknown_lading)
		fprintf(stderr, "; %llu lading port(s) not in the Schedule K table (origin_country empty)",
		        (unsigned long long)as->unknown_lading);
	fputc('\n', stderr);
}

/* score --ams: the AMS join as the pipeline's input. */
static long ams_read(void *ctx, char *buf, size_t cap)
{
	return (long)er_ams_read(ctx, buf, cap);
}

static const char *ams_error(void *ctx)
{
	return er_ams_error(ctx);
}

static int ams_rejects(void *ctx, int (*emit)(void *, const char *, size_t), void *ectx)
{
	return er_ams_write_rejects(ctx, emit, ectx);
}

static uint64_t ams_count_rejects(void *ctx)
{
	er_ams_stats s;
	er_ams_get_stats(ctx, &s);
	return s.rejects;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	/* A reader that closes stdout early must give EPIPE (a failed run with
	 * a message, nothing committed), not a silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* getopt prints argv[0] first: the command's name, not the path it was run by */
	argv[0] = (char *)prog;
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("examrisk %s\n%s\n", er_version(), er_backends());
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage_main(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "report"))
		return report_main(argc, argv);
	void (*usage)(FILE *) = !strcmp(cmd, "score")      ? usage_score
	                        : !strcmp(cmd, "partners") ? usage_partners
	                        : !strcmp(cmd, "verify")   ? usage_verify
	                        : !strcmp(cmd, "ams")      ? usage_ams
	                        : !strcmp(cmd, "calibrate") ? usage_calibrate
	                                                   : NULL;
	if (!usage) {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
		usage_main(stderr);
		return EXIT_USAGE;
	}

	char pbuf[PATH_MAX + 32], mbuf[PATH_MAX + 32], rbuf[PATH_MAX + 32];
	const char *participants = NULL, *mra = NULL, *rules_path = NULL;
	const char *on = NULL, *sdn_dir = NULL;
	er_sdn *sdn = NULL;
	int csv = 0;
	unsigned roles = 0;
	er_ams_opts ao = {0};
	char kbuf[PATH_MAX + 32];
	int use_ams = 0;
	er_ams *ams = NULL;
	er_source src;
	char *ams_label = NULL;
	er_calib_opts co;
	er_calib_opts_init(&co);
	er_run_opts o;
	er_run_opts_init(&o);
	const char **maps = calloc((size_t)argc, sizeof *maps);
	if (!maps) {
		fprintf(stderr, "%s: error: out of memory\n", prog);
		return EXIT_FATAL;
	}
	int rc = EXIT_USAGE;
	er_tables *t = NULL;
	er_rules *r = NULL;

	optind = 2;
	int c;
	long v;
	int li;
	while ((li = -1, c = getopt_long(argc, argv, "o:qt:h", long_opts, &li)) != -1) {
		if (c == '?')
			goto usage_err;
		/* short forms, as examrisk-gen has them */
		int short_opt = li < 0 ? c : 0;
		c = c == 'o' ? O_OUT : c == 'q' ? O_QUIET : c == 't' ? O_THREADS : c == 'h' ? O_HELP : c;
		if (!allowed(cmd, c)) {
			if (li >= 0)
				fprintf(stderr, "%s %s: option '--%s' does not apply to this command\n", prog,
				        cmd, long_opts[li].name);
			else
				fprintf(stderr, "%s %s: option '-%c' does not apply to this command\n", prog,
				        cmd, short_opt);
			goto usage_err;
		}
		switch (c) {
		case O_HELP: usage(stdout); rc = EXIT_OK; goto out;
		case O_PARTICIPANTS: participants = optarg; break;
		case O_MRA: mra = optarg; break;
		case O_RULES: rules_path = optarg; break;
		case O_THREADS:
			if (parse_long(optarg, 1, 1024, &v) < 0) {
				fprintf(stderr, "%s: --threads takes a number from 1 to 1024\n", prog);
				goto usage_err;
			}
			o.threads = (int)v;
			break;
		case O_MAP: maps[o.nmap++] = optarg; break;
		case O_MAP_FILE: o.map_file = optarg; break;
		case O_DELIM:
			if (parse_delim(optarg, &o.delimiter) < 0) {
				fprintf(stderr, "%s: --delimiter takes one character (or 'tab')\n", prog);
				goto usage_err;
			}
			break;
		case O_OUT_DELIM:
			if (parse_delim(optarg, &o.out_delimiter) < 0) {
				fprintf(stderr, "%s: --out-delimiter takes one character (or 'tab'), not a quote "
				        "or line break\n", prog);
				goto usage_err;
			}
			break;
		case O_EXCEL: o.excel = 1; break;
		case O_QUIET: o.quiet = 1; break;
		case O_PROGRESS: o.progress = 1; break;
		case O_OUT: o.out_path = optarg; break;
		case O_LEVEL:
			if (parse_long(optarg, 1, 9, &v) < 0) {
				fprintf(stderr, "%s: --level takes 1..9\n", prog);
				goto usage_err;
			}
			o.out_level = (int)v;
			break;
		case O_REJECTS: o.rejects_path = optarg; break;
		case O_CONSOL: o.consolidations_path = optarg; break;
		case O_QUEUE: o.queue_path = optarg; break;
		case O_RESUMPTION: o.resumption = 1; break;
		case O_SUMMARY: o.summary_path = optarg; break;
		case O_MAX_REJECTS: {
			size_t len = strlen(optarg);
			char *end;
			errno = 0;
			if (len && optarg[len - 1] == '%') {
				/* plain decimal only: strtod would take nan, inf, hex, exponents */
				double pct = -1;
				if (er_parse_number(optarg, len - 1, &pct) < 0 || !(pct >= 0 && pct <= 100)) {
					fprintf(stderr, "%s: --max-rejects takes N or N%% (0-100)\n", prog);
					goto usage_err;
				}
				o.max_rejects_pct = pct;
			} else {
				long long n = strtoll(optarg, &end, 10);
				if (errno || end == optarg || *end || n < 0) {
					fprintf(stderr, "%s: --max-rejects takes N or N%%\n", prog);
					goto usage_err;
				}
				o.max_rejects = n;
			}
			break;
		}
		case O_KEEP_GOING: o.keep_going = 1; break;
		case O_KEEP: o.keep = optarg; break;
		case O_CHUNK:
			if (parse_size(optarg, 1, 1L << 30, &v) < 0) {
				fprintf(stderr, "%s: --chunk-size takes 1..2^30 bytes (K, M, G suffixes allowed)\n",
				        prog);
				goto usage_err;
			}
			o.chunk_bytes = (size_t)v;
			break;
		case O_ROLLUP_MEM:
			if (parse_size(optarg, 1024, 1L << 40, &v) < 0) {
				fprintf(stderr, "%s: --rollup-memory takes 1024..2^40 bytes (K, M, G suffixes allowed, "
				        "e.g. 64M)\n", prog);
				goto usage_err;
			}
			o.rollup_memory = (size_t)v;
			break;
		case O_WAIT_LOCK: o.wait_lock = ao.wait_lock = 1; break;
		case O_SPOOL_STDOUT: o.spool_stdout = 1; break;
		case O_SDN: sdn_dir = optarg; break;
		case O_ON: on = optarg; break;
		case O_AMS: use_ams = 1; break;
		case O_PERIOD: ao.period = optarg; break;
		case O_SCHEDULE_K: ao.schedule_k = optarg; break;
		case O_SORT_MEM:
			if (parse_size(optarg, 1L << 20, 1L << 40, &v) < 0) {
				fprintf(stderr, "%s: --sort-memory takes 1M..2^40 bytes (K, M, G suffixes allowed)\n", prog);
				goto usage_err;
			}
			ao.memory = (size_t)v;
			break;
		case O_CSV: csv = 1; break;
		case O_ROLE:
			/* a table role, or "shipper": what a shipper column matches */
			roles = !strcmp(optarg, "shipper") ? er_role_fits(ER_ROLE_SHIPPER)
			                                   : er_table_role_parse(optarg, strlen(optarg));
			if (!roles) {
				fprintf(stderr, "%s verify: --role takes importer, exporter, manufacturer, "
				        "carrier, forwarder or shipper (exporter or manufacturer)\n", prog);
				goto usage_err;
			}
			break;
		case O_TARGET_RED:
		case O_TARGET_YELLOW: {
			char msg[200];
			if (er_calib_parse_target(optarg, c == O_TARGET_RED ? co.target_red : co.target_yellow,
			                          msg, sizeof msg) < 0) {
				/* the option's name: argv[optind - 1] is its value when given apart */
				fprintf(stderr, "%s calibrate: %s: %s\n", prog,
				        c == O_TARGET_RED ? "--target-red" : "--target-yellow", msg);
				goto usage_err;
			}
			break;
		}
		case O_OUTCOMES: co.outcomes_path = optarg; break;
		case O_HOLDOUT_FROM:
			if (er_parse_date(optarg, strlen(optarg), &co.holdout_from) < 0) {
				fprintf(stderr, "%s calibrate: --holdout-from takes a date YYYY-MM-DD, not '%s'\n",
				        prog, optarg);
				goto usage_err;
			}
			co.have_holdout_from = 1;
			break;
		case O_REPORT: /* calibrate: the fit's figures; score, partners: the run report */
			if (!strcmp(cmd, "calibrate")) {
				co.report_path = optarg;
				break;
			}
			if (!strcmp(optarg, "-")) { /* stdout carries the rows already */
				fprintf(stderr, "%s: --report takes a file name ('examrisk report' writes to stdout)\n",
				        prog);
				goto usage_err;
			}
			o.report_path = optarg;
			break;
		case O_HISTORY: o.history_dir = optarg; break;
		case O_HISTORY_MAX:
			if (parse_long(optarg, 1, 100000, &v) < 0) {
				fprintf(stderr, "%s: --history-max takes a number from 1 to 100000\n", prog);
				goto usage_err;
			}
			o.history_max = (int)v;
			break;
		case O_CONSOL_FILTER:
			if (strcmp(optarg, "lcl") && strcmp(optarg, "all")) {
				fprintf(stderr, "%s: --consolidations-filter takes lcl or all, not '%s'\n", prog, optarg);
				goto usage_err;
			}
			o.consolidations_all = !strcmp(optarg, "all");
			break;
		case O_TOP: {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || n == 0 || optarg[0] == '-') {
				fprintf(stderr, "%s: --top takes a number of consolidations, 1 or more\n", prog);
				goto usage_err;
			}
			o.consolidations_top = n;
			break;
		}
		default: goto usage_err;
		}
	}
	o.map = maps;
	if (o.quiet && o.progress > 0) {
		fprintf(stderr, "%s %s: --quiet and --progress contradict each other\n", prog, cmd);
		goto usage_err;
	}
	int nargs = argc - optind;
	if (nargs < 1) {
		fprintf(stderr, "%s %s: %s\n", prog, cmd,
		        !strcmp(cmd, "verify") ? "no query given"
		        : use_ams || !strcmp(cmd, "ams") ? "no AMS release directory given"
		                                         : "no manifest given ('-' reads stdin)");
		goto usage_err;
	}
	if ((ao.period || ao.schedule_k || ao.memory) && !use_ams && strcmp(cmd, "ams")) {
		fprintf(stderr, "%s %s: --period, --schedule-k and --sort-memory need --ams\n", prog, cmd);
		goto usage_err;
	}
	ao.dirs = (const char *const *)(argv + optind);
	ao.ndirs = nargs;
	ao.quiet = o.quiet;
	ao.cancel = &cancel_sig;
	/* verify exits as grep does: 2 for any error, 1 only for "no match" */
	int is_verify = !strcmp(cmd, "verify");
	rc = is_verify ? EXIT_USAGE : EXIT_FATAL;
	if (!ao.schedule_k && (use_ams || !strcmp(cmd, "ams")) &&
	    !(ao.schedule_k = default_data("schedule_k.csv", "--schedule-k", kbuf, sizeof kbuf)))
		goto out;
	if (!strcmp(cmd, "ams")) {
		char aerr[1024];
		er_ams_stats as;
		install_signals();
		er_status ast = er_ams_write(&ao, o.out_path, o.rejects_path, &as, aerr, sizeof aerr);
		if (ast != ER_OK) {
			fprintf(stderr, "%s: error: %s\n", prog, aerr);
			rc = ast == ER_E_USAGE ? EXIT_USAGE : EXIT_FATAL;
			goto out;
		}
		if (!o.quiet)
			ams_summary(&as, "written", o.rejects_path);
		rc = as.rejects ? EXIT_PARTIAL : EXIT_OK;
		goto out;
	}
	if ((!participants &&
	     !(participants = default_data("participants.csv", "--participants", pbuf, sizeof pbuf))) ||
	    (!mra && !(mra = default_data("mra.csv", "--mra", mbuf, sizeof mbuf))) ||
	    (!is_verify && !rules_path &&
	     !(rules_path = default_data("rules.ini", "--rules", rbuf, sizeof rbuf))))
		goto out;

	char err[1024];
	er_status st;
	/* Rules first (small, read whole under a size limit), then the handlers:
	 * from here on a signal cancels, and the table load and the run check it. */
	if (strcmp(cmd, "verify") != 0) {
		st = er_rules_load(rules_path, &r, err, sizeof err);
		if (st != ER_OK) {
			fprintf(stderr, "%s: error: %s\n", prog, err);
			rc = EXIT_FATAL;
			goto out;
		}
	}
	install_signals();
	st = er_tables_load_ex(participants, mra, &cancel_sig, &t, err, sizeof err);
	if (st != ER_OK) {
		fprintf(stderr, "%s: error: %s\n", prog, err);
		if (st == ER_E_CANCELLED)
			rc = 128 + cancel_sig;
		goto out;
	}

	if (is_verify) {
		int32_t day = er_today();
		if (on && er_parse_date(on, strlen(on), &day) < 0) {
			fprintf(stderr, "%s verify: --on takes a date YYYY-MM-DD, not '%s'\n", prog, on);
			goto usage_err;
		}
		er_csv_dialect d = { o.out_delimiter ? o.out_delimiter : ',', o.excel };
		er_csv_sink sink;
		er_csv_sink_init(&sink, &d, stdout_emit, NULL);
		if (csv && o.excel)
			fputs(ER_CSV_BOM, stdout);
		int n = er_verify_run(t, (const char *const *)(argv + optind), nargs, day, csv, roles,
		                      csv ? er_csv_sink_emit : stdout_emit, csv ? (void *)&sink : NULL);
		er_csv_sink_free(&sink);
		if (fflush(stdout) != 0 || n < 0) {
			fprintf(stderr, "%s: error: writing output: %s\n", prog, strerror(errno ? errno : EIO));
			rc = EXIT_USAGE;
		} else {
			if (n == 0 && !o.quiet)
				fprintf(stderr, "%s: no party matches\n", prog);
			rc = n > 0 ? EXIT_OK : EXIT_FATAL; /* 1 = not found, as grep */
		}
		goto out;
	}

	if (sdn_dir) {
		st = er_sdn_load(sdn_dir, &sdn, err, sizeof err);
		if (st != ER_OK) {
			fprintf(stderr, "%s: error: %s\n", prog, err);
			rc = EXIT_FATAL;
			goto out;
		}
		o.sdn = sdn;
	}
	o.inputs = (const char *const *)(argv + optind);
	o.ninputs = nargs;
	if (use_ams) {
		/* the release is joined in-process and read as one manifest */
		st = er_ams_open(&ao, &ams, err, sizeof err);
		if (st != ER_OK) {
			fprintf(stderr, "%s: error: %s\n", prog, err);
			rc = st == ER_E_USAGE ? EXIT_USAGE : EXIT_FATAL;
			goto out;
		}
		size_t ln = strlen(ao.dirs[0]) + 16;
		if (!(ams_label = malloc(ln))) {
			rc = EXIT_FATAL;
			goto out;
		}
		snprintf(ams_label, ln, "%s%s", ao.dirs[0], nargs > 1 ? " ..." : "");
		src = (er_source){ .read = ams_read, .error = ams_error, .rejects = ams_rejects,
		                   .count_rejects = ams_count_rejects, .ctx = ams };
		o.source = &src;
		o.inputs = (const char *const *)&ams_label;
		o.ninputs = 1;
	}
	o.cancel = &cancel_sig;
	o.argv = (const char *const *)argv;
	o.argc = argc;
	o.participants_path = participants;
	o.mra_path = mra;
	o.rules_path = rules_path;
	if (!strcmp(cmd, "calibrate")) {
		if (!o.out_path) {
			fprintf(stderr, "%s calibrate: --out TUNED.ini is required\n", prog);
			goto usage_err;
		}
		co.out_path = o.out_path;
		o.out_path = NULL;
		co.run = o;
		st = er_calibrate_run(t, r, &co);
		rc = st == ER_OK ? EXIT_OK : st == ER_E_USAGE ? EXIT_USAGE : EXIT_FATAL;
		goto out;
	}
	er_run_stats stats;
	st = er_pipeline_run(t, r, &o, !strcmp(cmd, "score") ? ER_MODE_SCORE : ER_MODE_PARTNERS, &stats);
	if (ams && st == ER_OK && !o.quiet) {
		er_ams_stats as;
		er_ams_get_stats(ams, &as);
		ams_summary(&as, "joined", o.rejects_path);
	}
	if (st == ER_E_CANCELLED)
		rc = 128 + cancel_sig; /* as a shell reports a signal: 130 SIGINT, 143 SIGTERM */
	else if (st == ER_E_USAGE)
		rc = EXIT_USAGE;
	else if (st != ER_OK)
		rc = EXIT_FATAL;
	else
		rc = (stats.rows_rejected || stats.files_failed) ? EXIT_PARTIAL : EXIT_OK;
	goto out;

usage_err:
	fprintf(stderr, "Try 'examrisk %s --help'.\n", cmd);
	rc = EXIT_USAGE;
out:
	er_sdn_free(sdn);
	er_rules_free(r);
	er_tables_free(t);
	er_ams_free(ams);
	free(ams_label);
	free(maps);
	return rc;
}
