/* SPDX-License-Identifier: MIT */
/* format.c — see format.h. */
#include "format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gt_fmt_duration(char *buf, size_t n, uint64_t ns)
{
	double v = (double)ns;
	if (ns < 1000)
		snprintf(buf, n, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, n, v < 1e4 ? "%.2f µs" : v < 1e5 ? "%.1f µs" : "%.0f µs", v / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, n, v < 1e7 ? "%.2f ms" : v < 1e8 ? "%.1f ms" : "%.0f ms", v / 1e6);
	else if (ns < 60000000000ull)
		snprintf(buf, n, v < 1e10 ? "%.2f s" : "%.1f s", v / 1e9);
	else
		snprintf(buf, n, "%llu min %llu s", (unsigned long long)(ns / 60000000000ull),
			 (unsigned long long)(ns / 1000000000ull % 60));
}

void gt_fmt_percent(char *buf, size_t n, double ratio)
{
	double p = ratio * 100.0;
	if (p <= 0)
		snprintf(buf, n, "0%%");
	else if (p < 0.1)
		snprintf(buf, n, "<0.1%%");
	else
		snprintf(buf, n, p < 99.95 ? "%.1f%%" : "%.0f%%", p);
}

size_t gt_fmt_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void scaled(char *buf, size_t n, uint64_t v, const char *unit, const char *sep)
{
	static const char *const prefix[] = {"", "k", "M", "G", "T", "P"};
	double x = (double)v;
	int i = 0;
	while (x >= 999.5 && i < 5) {
		x /= 1000;
		i++;
	}
	if (!i)
		snprintf(buf, n, "%llu%s%s", (unsigned long long)v, *unit ? " " : "", unit);
	else
		snprintf(buf, n, "%.*f%s%s%s", x < 9.995 ? 2 : x < 99.95 ? 1 : 0, x, sep, prefix[i], unit);
}

void gt_fmt_count(char *buf, size_t n, uint64_t v) { scaled(buf, n, v, "", " "); }

void gt_fmt_bytes(char *buf, size_t n, uint64_t v) { scaled(buf, n, v, "B", " "); }

void gt_fmt_cut(char *buf, size_t n, const char *s, size_t width)
{
	if (gt_fmt_width(s) <= width || width < 4) {
		snprintf(buf, n, "%s", s);
		return;
	}
	size_t i = 0, w = 0;
	for (; s[i] && i + 4 < n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++w > width - 3)
			break;
		buf[i] = s[i];
	}
	/* Never end inside a character. */
	while (i && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	snprintf(buf + i, n - i, "...");
}

static int parse_number(const char *s, double *v, const char **rest)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	*v = strtod(s, &end);
	if (end == s || *v != *v || *v > 1e18)
		return -1;
	*rest = end;
	return 0;
}

struct unit {
	const char *name;
	double scale;
};

/* A number followed by one of n units, scaled: 0, -1, or GT_PARSE_NO_UNIT. */
static int parse_with_unit(const char *s, const struct unit *units, size_t n, double *out)
{
	double v;
	const char *rest;
	if (parse_number(s, &v, &rest))
		return -1;
	if (!*rest)
		return GT_PARSE_NO_UNIT;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(rest, units[i].name)) {
			*out = v * units[i].scale;
			return 0;
		}
	}
	return -1;
}

int gt_parse_duration(const char *s, double *seconds)
{
	static const struct unit units[] = {{"s", 1},	 {"ms", 1e-3}, {"us", 1e-6}, {"µs", 1e-6},
					    {"ns", 1e-9}, {"min", 60},	{"h", 3600}};
	return parse_with_unit(s, units, sizeof(units) / sizeof(units[0]), seconds);
}

int gt_parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
		{"B", 1},	 {"k", 1024},	  {"K", 1024},		    {"KiB", 1024},
		{"KB", 1e3},	 {"M", 1 << 20},  {"MiB", 1 << 20},	    {"MB", 1e6},
		{"G", 1 << 30},	 {"GiB", 1 << 30}, {"GB", 1e9},		    {"T", 1099511627776.0},
		{"TiB", 1099511627776.0}, {"TB", 1e12}};
	double v;
	int rc = parse_with_unit(s, units, sizeof(units) / sizeof(units[0]), &v);
	if (rc)
		return rc;
	if (v >= 1.8e19)
		return -1;
	*bytes = (uint64_t)v;
	return 0;
}

int gt_parse_ratio(const char *s, double *ratio)
{
	double v;
	const char *rest;
	if (parse_number(s, &v, &rest))
		return -1;
	if (!strcmp(rest, "%"))
		v /= 100.0;
	else if (*rest)
		return -1;
	else if (v > 1)
		return GT_PARSE_ABOVE_ONE;
	*ratio = v;
	return 0;
}

int gt_parse_number(const char *s, double *v)
{
	const char *rest;
	return parse_number(s, v, &rest) || *rest ? -1 : 0;
}
