/* SPDX-License-Identifier: MIT */
/*
 * test_format.c — what users type and read (analysis/format.h): durations
 * and ratios parsed exactly, ambiguous values refused with their own code
 * (a bare "5" as a duration, a bare "20" as a ratio), and the printed forms.
 */
#include <math.h>

#include "format.h"
#include "unittest.h"

static int near(double a, double b) { return fabs(a - b) <= 1e-12 * (fabs(b) + 1); }

int main(void)
{
	double v = -1;
	CHECK(gt_parse_duration("5ms", &v) == 0 && near(v, 0.005));
	CHECK(gt_parse_duration("200us", &v) == 0 && near(v, 200e-6));
	CHECK(gt_parse_duration("200µs", &v) == 0 && near(v, 200e-6));
	CHECK(gt_parse_duration("1.5s", &v) == 0 && near(v, 1.5));
	CHECK(gt_parse_duration("2min", &v) == 0 && near(v, 120));
	CHECK(gt_parse_duration("10ns", &v) == 0 && near(v, 10e-9));
	CHECK(gt_parse_duration("5", &v) == GT_PARSE_NO_UNIT);
	CHECK(gt_parse_duration("0", &v) == GT_PARSE_NO_UNIT);
	CHECK(gt_parse_duration("5 ms", &v) == -1);
	CHECK(gt_parse_duration("2h", &v) == 0 && near(v, 7200));
	CHECK(gt_parse_duration("5m", &v) == -1); /* 5 ms or 5 minutes? neither */
	CHECK(gt_parse_duration("5d", &v) == -1);
	CHECK(gt_parse_duration("soon", &v) == -1);
	CHECK(gt_parse_duration("", &v) == -1);

	CHECK(gt_parse_ratio("0.2", &v) == 0 && near(v, 0.2));
	CHECK(gt_parse_ratio("1", &v) == 0 && near(v, 1));
	CHECK(gt_parse_ratio("20%", &v) == 0 && near(v, 0.2));
	CHECK(gt_parse_ratio("150%", &v) == 0 && near(v, 1.5));
	CHECK(gt_parse_ratio("20", &v) == GT_PARSE_ABOVE_ONE);
	CHECK(gt_parse_ratio("1.01", &v) == GT_PARSE_ABOVE_ONE);
	CHECK(gt_parse_ratio("20 %", &v) == -1);
	CHECK(gt_parse_ratio("x", &v) == -1);

	uint64_t bytes = 0;
	CHECK(gt_parse_size("500M", &bytes) == 0 && bytes == 500ull << 20);
	CHECK(gt_parse_size("1.5GiB", &bytes) == 0 && bytes == 3ull << 29);
	CHECK(gt_parse_size("2GB", &bytes) == 0 && bytes == 2000000000ull);
	CHECK(gt_parse_size("64K", &bytes) == 0 && bytes == 65536);
	CHECK(gt_parse_size("100B", &bytes) == 0 && bytes == 100);
	CHECK(gt_parse_size("500", &bytes) == GT_PARSE_NO_UNIT);
	CHECK(gt_parse_size("500 M", &bytes) == -1);
	CHECK(gt_parse_size("-5M", &bytes) == -1);
	CHECK(gt_parse_size("1e30G", &bytes) == -1);
	CHECK(gt_parse_size("big", &bytes) == -1);

	char buf[32];
	gt_fmt_duration(buf, sizeof(buf), 5210000);
	CHECK_STR(buf, "5.21 ms");
	gt_fmt_duration(buf, sizeof(buf), 812);
	CHECK_STR(buf, "812 ns");
	gt_fmt_percent(buf, sizeof(buf), 0.994);
	CHECK_STR(buf, "99.4%");
	return unittest_result("test_format");
}
