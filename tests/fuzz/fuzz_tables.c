/* fuzz_tables.c - libFuzzer target: the participants and MRA table loaders
 * (plain or gzip bytes). The first byte picks the table; a loaded table is
 * looked up by id, name and MRA, and listed like verify does. */
#include <string.h>

#include "examrisk.h"
#include "er_table.h"
#include "er_verify.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char path[64], err[512];
	int mra = data[0] & 1;
	int fd = fuzz_file(data + 1, size - 1, path);
	if (fd < 0)
		return 0;
	er_tables *t = NULL;
	if (er_tables_load(mra ? NULL : path, mra ? path : NULL, &t, err, sizeof err) == ER_OK) {
		for (size_t i = 0; i < er_tables_nparties(t) && i < 8; i++) {
			const er_party *p = er_tables_party(t, i);
			(void)er_tables_find_id(t, p->id, strlen(p->id));
			(void)er_party_cert_on(p, 18000, 1);
			(void)er_party_cert_on(p, 18000, 0);
		}
		for (size_t i = 0; i < er_tables_nmra(t) && i < 8; i++) {
			const er_mra *m = er_tables_mra(t, i);
			(void)er_tables_mra_recognized(t, m->program, m->country, 18000);
		}
		const char *q[] = { "a", "ACME", "1" };
		er_verify_run(t, q, 3, 18000, data[0] & 2, 0, sink, NULL);
	}
	er_tables_free(t);
	close(fd);
	return 0;
}
