# result_line.awk - one line of a results CSV of bench.sh and compare.sh:
#   case,threads,rep,rows,bytes_csv,wall_s,rows_per_s,mb_per_s,peak_rss_kb,cpu_s
# awk -f benchmarks/lib/result_line.awk -v c=CASE -v t=THREADS -v r=REP -v n=ROWS
#   -v b=CSV_BYTES -v t0=START -v t1=END -v rss=KIB -v cpu=SECONDS
# Counts go out with %.0f: mawk's %d stops at 2^31 - 1, and 20M rows are
# 5.6 GB of CSV.
BEGIN {
	w = t1 - t0
	if (w <= 0)
		w = 1e-9
	printf "%s,%d,%d,%.0f,%.0f,%.4f,%.0f,%.1f,%.0f,%.2f\n", c, t, r, n, b, w, n / w, b / w / 1e6, rss, cpu
}
