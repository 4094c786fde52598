/* fuzz_rules.c - libFuzzer target: the rules.ini loader (libinih, every
 * value check, the statute checks). */
#include "examrisk.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	int fd = fuzz_file(data, size, path);
	if (fd < 0)
		return 0;
	er_rules *r = NULL;
	er_rules_load(path, &r, err, sizeof err);
	er_rules_free(r);
	close(fd);
	return 0;
}
