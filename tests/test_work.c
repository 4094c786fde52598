/* test_work.c - the worker's score row formatter (engine/er_work.c): the
 * fast er_format_score_row against er_format_score_row_ref, its plain
 * field-by-field oracle, byte for byte, on generated rows (every reason,
 * match kind, lane, quoting case, --keep columns, sdn column, any
 * delimiter), each appended after a buffer of every length up to a few
 * growth steps so that every reservation boundary is crossed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_work.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* A field of n bytes drawn from an alphabet with every byte that decides
 * quoting: delimiters, quotes, CR, LF, blanks at either end. */
static void rand_field(char *p, size_t n)
{
	static const char alpha[] = "ABCXYZ0189-_/.:;|=,\"\r\n\t ";
	int plain = next() % 4 != 0; /* most fields need no quotes */
	for (size_t i = 0; i < n; i++)
		p[i] = plain ? alpha[next() % 16] : alpha[next() % (sizeof alpha - 1)];
}

static void rand_status(char *s, size_t cap)
{
	size_t n = next() % cap; /* 0 .. cap - 1 bytes, NUL-terminated */
	rand_field(s, n);
	for (size_t i = 0; i < n; i++)
		if (!s[i])
			s[i] = 'x';
	s[n] = '\0';
}

static void test_fast_equals_ref(void **state)
{
	(void)state;
	static char store[64][512];
	static const char delims[] = { ',', ';', '\t', '|' };
	er_buf a = { 0 }, b = { 0 };
	for (int iter = 0; iter < 20000; iter++) {
		er_row row;
		memset(&row, 0, sizeof row);
		for (int k = 0; k < ER_NCOLS; k++)
			row.f[k].p = "", row.f[k].n = 0;
		size_t sn = next() % 3 == 0 ? next() % 300 : next() % 24;
		rand_field(store[0], sn);
		row.f[ER_COL_SHIPMENT_ID].p = store[0];
		row.f[ER_COL_SHIPMENT_ID].n = sn;
		er_result res;
		memset(&res, 0, sizeof res);
		res.score = (int)(next() % 3 == 0 ? next() : next() % 200);
		res.lane = (int)(next() % 8 == 0 ? 7 : next() % ER_NLANES); /* 7: out of range */
		res.fired = next() | next() << 16;
		for (int r = 0; r < ER_NREASONS; r++)
			res.points[r] = (int16_t)((int)(next() % 65536) - 32768);
		for (int r = 0; r < ER_NROLES; r++)
			res.match[r] = (uint8_t)(next() % (ER_NMATCH + 1)); /* one past: "?" */
		res.fast_eligible = (int)(next() & 1);
		res.front_of_line = (int)(next() & 1);
		rand_status(res.importer_status, sizeof res.importer_status);
		rand_status(res.shipper_status, sizeof res.shipper_status);
		res.sdn_screened = (uint8_t)(next() & 1);
		for (int k = 0; k < ER_SDN_NROLES; k++) {
			res.sdn_ent[k] = next() % 2 ? (int32_t)(next() % 100000) : 0;
			res.sdn_sim[k] = (uint16_t)(next() % 1001);
		}
		er_header hdr;
		memset(&hdr, 0, sizeof hdr);
		er_field fields[16];
		hdr.nkeep = (int)(next() % 5);
		for (int k = 0; k < hdr.nkeep; k++)
			hdr.keep_idx[k] = next() % 5 == 0 ? -1 : k;
		for (int k = 0; k < 16; k++) {
			size_t n = next() % 6 == 0 ? next() % 500 : next() % 20;
			rand_field(store[1 + k], n);
			fields[k].p = store[1 + k];
			fields[k].n = n;
		}
		char delim = delims[next() % sizeof delims];
		/* what is there already: up to a few growth steps of the buffer */
		size_t pre = next() % 5000;
		a.len = b.len = 0;
		for (size_t i = 0; i < pre; i++) {
			assert_int_equal(er_buf_putc(&a, 'p'), 0);
			assert_int_equal(er_buf_putc(&b, 'p'), 0);
		}
		if (iter % 7 == 0) { /* a buffer with no room to spare */
			er_buf_free(&a);
			a.len = 0;
		}
		assert_int_equal(er_format_score_row(&a, &row, &res, &hdr, fields, delim), 0);
		assert_int_equal(er_format_score_row_ref(&b, &row, &res, &hdr, fields, delim), 0);
		if (iter % 7 == 0) {
			assert_int_equal(b.len - pre, a.len);
			assert_memory_equal(a.p, b.p + pre, a.len);
		} else {
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.p, b.p, a.len);
		}
	}
	er_buf_free(&a);
	er_buf_free(&b);
}

/* A known row, so the oracle itself is pinned too. */
static void test_known_row(void **state)
{
	(void)state;
	er_row row;
	memset(&row, 0, sizeof row);
	for (int k = 0; k < ER_NCOLS; k++)
		row.f[k].p = "", row.f[k].n = 0;
	row.f[ER_COL_SHIPMENT_ID].p = "S,1";
	row.f[ER_COL_SHIPMENT_ID].n = 3;
	er_result res;
	memset(&res, 0, sizeof res);
	res.score = 42;
	res.lane = ER_LANE_RED;
	res.fired = 1u << 0 | 1u << 13;
	res.points[0] = -5;
	res.points[13] = 12;
	res.match[0] = ER_MATCH_ID;
	res.fast_eligible = 1;
	strcpy(res.importer_status, "CTPAT:validated:T1");
	strcpy(res.shipper_status, "say \"x\"");
	er_header hdr;
	memset(&hdr, 0, sizeof hdr);
	hdr.nkeep = 1;
	hdr.keep_idx[0] = 0;
	er_field f[1] = { { " pad", 4 } };
	for (int fast = 0; fast < 2; fast++) {
		er_buf b = { 0 };
		assert_int_equal((fast ? er_format_score_row : er_format_score_row_ref)(&b, &row, &res, &hdr, f, ','), 0);
		assert_int_equal(er_buf_putc(&b, '\0'), 0);
		char want[256];
		snprintf(want, sizeof want,
		         "\"S,1\",42,RED,%s:-5|%s:+12,CTPAT:validated:T1,\"say \"\"x\"\"\","
		         "I=%s;S=%s;M=%s;C=%s;F=%s,1,0,\" pad\"\n",
		         er_reason_name(0), er_reason_name(13), er_match_name(ER_MATCH_ID),
		         er_match_name(0), er_match_name(0), er_match_name(0), er_match_name(0));
		assert_string_equal(b.p, want);
		er_buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_row),
		cmocka_unit_test(test_fast_equals_ref),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
