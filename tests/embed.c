/* embed.c - a program an embedder writes: built against the installed library
 * by tests/install.sh with `pkg-config --cflags --libs examrisk` (shared and
 * static). Scores one shipment given on the command line as header/value
 * pairs and prints "shipment_id,score,lane,reasons" as the CLI does.
 * usage: embed DATADIR COL=VALUE... */
#include <examrisk.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: embed DATADIR COL=VALUE...\n");
		return 2;
	}
	if (strcmp(er_version(), ER_VERSION_STRING) != 0) {
		fprintf(stderr, "embed: header %s, library %s\n", ER_VERSION_STRING, er_version());
		return 1;
	}
	char p[4096], m[4096], r[4096], err[1024];
	snprintf(p, sizeof p, "%s/participants.csv", argv[1]);
	snprintf(m, sizeof m, "%s/mra.csv", argv[1]);
	snprintf(r, sizeof r, "%s/rules.ini", argv[1]);
	er_tables *t = NULL;
	er_rules *rules = NULL;
	if (er_tables_load(p, m, &t, err, sizeof err) != ER_OK ||
	    er_rules_load(r, &rules, err, sizeof err) != ER_OK) {
		fprintf(stderr, "embed: %s\n", err);
		return 1;
	}
	er_row row;
	memset(&row, 0, sizeof row);
	for (int i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		int col = eq ? er_col_lookup(argv[i], (size_t)(eq - argv[i])) : -1;
		if (col < 0) {
			fprintf(stderr, "embed: not COL=VALUE with a known column: %s\n", argv[i]);
			return 2;
		}
		row.f[col].p = eq + 1;
		row.f[col].n = strlen(eq + 1);
	}
	er_result res;
	int rc = 0;
	if (er_score_row(t, rules, &row, &res) != ER_OK) {
		fprintf(stderr, "embed: rejected: %s\n", er_reject_name(res.reject));
		rc = 1;
	} else {
		printf("%.*s,%d,%s,", (int)row.f[ER_COL_SHIPMENT_ID].n, row.f[ER_COL_SHIPMENT_ID].p,
		       res.score, er_lane_name(res.lane));
		const char *sep = "";
		for (int k = 0; k < ER_NREASONS; k++) {
			if (res.fired & (1u << k)) {
				printf("%s%s:%+d", sep, er_reason_name(k), res.points[k]);
				sep = "|";
			}
		}
		printf("\n");
	}
	er_rules_free(rules);
	er_tables_free(t);
	return rc;
}
