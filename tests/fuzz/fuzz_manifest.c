/* fuzz_manifest.c - libFuzzer target: manifest bytes (plain or gzip)
 * through the reader, the splitter, the header map, and a worker (parse,
 * score, format score and reject rows, roll-up records), then the roll-up
 * collector and its outputs, and the output dialect recoder. Tables and rules
 * are the golden test set (run from the repository root). */
#include <string.h>

#include "examrisk.h"
#include "er_chunk.h"
#include "er_csvout.h"
#include "er_parse.h"
#include "er_reader.h"
#include "er_rollup.h"
#include "er_split.h"
#include "er_work.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static er_tables *tables;
static er_rules *rules;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[1024];
	if (er_tables_load("tests/golden/basic/participants.csv", "data/mra.csv", &tables, err,
	                   sizeof err) != ER_OK ||
	    er_rules_load("tests/golden/basic/rules.ini", &rules, err, sizeof err) != ER_OK) {
		fprintf(stderr, "fuzz_manifest: %s (run from the repository root)\n", err);
		abort();
	}
	return 0;
}

static int sink(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	int fd = fuzz_file(data, size, path);
	if (fd < 0)
		return 0;
	const char *paths[1] = { "fuzz" };
	/* The first byte picks the input delimiter: the splitter and parser
	 * have delimiter-specific paths. */
	char delim = size && data[0] == ';' ? ';' : size && data[0] == '\t' ? '\t' : ',';
	er_work_cfg cfg = {
		.tables = tables, .rules = rules, .delim = delim,
		.out = { size > 1 && (data[1] & 1) ? ';' : ',', size > 1 && (data[1] & 2) },
		.max_field = 4096, .rollup = 1, .paths = paths,
	};
	er_reader *rd = NULL;
	er_splitter *sp = NULL;
	er_parser *hp = er_parser_new(delim, cfg.max_field);
	er_worker *w = er_worker_new(&cfg);
	er_rollup *ru = er_rollup_new(rules, 1, 1, size > 2 && (data[2] & 1));
	er_chunk c;
	memset(&c, 0, sizeof c);
	er_header hdr;
	if (!hp || !w || !ru || er_reader_open(path, &rd, err, sizeof err) != ER_OK)
		goto out;
	er_rollup_set_budget(ru, 4096); /* spill early: the merge paths too */
	er_rollup_set_threads(ru, 1);
	er_split_opts so = { .delim = delim, .chunk_bytes = 1024, .max_record = 8192, .max_raw = 512 };
	sp = er_splitter_new(er_reader_read_fn, rd, &so);
	if (!sp)
		goto out;
	int first = 1;
	for (;;) {
		int n = er_splitter_next(sp, &c.in);
		if (n <= 0)
			break;
		c.kind = ER_CHUNK_DATA;
		c.skip_first = 0;
		if (first) {
			first = 0;
			const er_rec *h = &c.in.recs[0];
			const er_field *fields;
			int rej = 0;
			int nf = h->reject ? -1
			                   : er_parser_record(hp, c.in.buf + h->off, h->len,
			                                      h->flags & ER_REC_QUOTED, &fields, &rej);
			er_colmap map;
			memset(&map, 0, sizeof map);
			if (nf < 0 || er_header_build(fields, nf, &map, "note,description", &hdr, err,
			                              sizeof err) < 0)
				goto out;
			c.skip_first = 1;
		}
		c.hdr = &hdr;
		er_work_chunk(w, &c);
		if (c.err)
			goto out;
		if (c.roll.len && er_rollup_merge(ru, 0, c.roll.p, c.roll.len) < 0)
			goto out;
	}
	er_rollup_file_done(ru, 1);
	er_rollup_write_consolidations(ru, sink, NULL);
	er_rollup_write_queue(ru, sink, NULL);
out:
	er_recbuf_free(&c.in);
	er_buf_free(&c.out);
	er_buf_free(&c.rej);
	er_buf_free(&c.roll);
	er_rollup_free(ru);
	er_worker_free(w);
	er_parser_free(hp);
	er_splitter_free(sp);
	er_reader_close(rd);
	close(fd);
	return 0;
}
