/* SPDX-License-Identifier: MIT */
/*
 * fuzz_reader.c — libFuzzer target: any bytes through the trace reader, the
 * metrics, the convoy detector and every report format.
 *
 * Built with clang (-fsanitize=fuzzer,address,undefined) and run for a
 * bounded time by `make test` (tests/CMakeLists.txt), starting from real
 * traces in tests/fuzz/corpus. A crash, a sanitizer report or a leak fails
 * it; an error message is the expected answer to most inputs.
 */
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"
#include "report.h"
#include "summary.h"
#include "trace_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	if (!null)
		null = fopen("/dev/null", "w");
	struct gt_metrics m;
	struct gt_rd_summary sum;
	char err[256];
	gt_metrics_init(&m);
	m.keep_episodes = 1;
	struct gt_rd_callbacks cb = gt_metrics_callbacks(&m);
	if (!gt_read_trace_mem(data, size, &cb, &sum, err, sizeof(err))) {
		gt_metrics_finish(&m, &sum);
		struct gt_summary s;
		if (!gt_summarize(&m, &s)) {
			struct gt_report_opts o = {.trace_path = "fuzz", .top = 0};
			gt_report_text(null, &m, &s, &o);
			gt_report_json(null, &m, &s, &o);
			gt_report_markdown(null, &m, &s, &o);
			gt_summary_free(&s);
		}
	}
	gt_metrics_free(&m);
	return 0;
}
