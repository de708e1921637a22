/* SPDX-License-Identifier: MIT */
/* format.h — humane units for durations and ratios, out and in. */
#ifndef FORMAT_H
#define FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "0 ns", "812 ns", "12.3 µs", "5.21 ms", "1.04 s", "12 min 3 s". */
void gt_fmt_duration(char *buf, size_t n, uint64_t ns);
/* "99.4%", "<0.1%", "0%". */
void gt_fmt_percent(char *buf, size_t n, double ratio);
/* Parsing what users type. 0, or -1 if s is not one whole valid value,
 * or one of the codes below for values that are readable but ambiguous:
 * a guess there would make a limit that silently means something else.
 * A duration is a number with its unit (ns, us, µs, ms, s, min, h): "5ms",
 * "0.2s"; a bare "5" is GT_PARSE_NO_UNIT. A ratio is "0.2" or "20%"; a bare
 * number above 1 ("20") is GT_PARSE_ABOVE_ONE: write "20%" or "2000%". */
#define GT_PARSE_NO_UNIT (-2)
#define GT_PARSE_ABOVE_ONE (-3)
int gt_parse_duration(const char *s, double *seconds);
int gt_parse_ratio(const char *s, double *ratio);
/* A size with its unit: "500M", "2G", "1.5GiB" (K, M, G, T and KiB... are
 * powers of 1024; KB, MB... of 1000); a bare number is GT_PARSE_NO_UNIT. */
int gt_parse_size(const char *s, uint64_t *bytes);
int gt_parse_number(const char *s, double *v);
/* Number of terminal columns a UTF-8 string takes (each code point = 1). */
size_t gt_fmt_width(const char *s);
/* 1234567 -> "1.23 M"; bytes -> "24.5 MB" (powers of 1000, as disks are sold). */
void gt_fmt_count(char *buf, size_t n, uint64_t v);
void gt_fmt_bytes(char *buf, size_t n, uint64_t v);
/* s cut to at most width columns ("..." ending a cut one) into buf. */
void gt_fmt_cut(char *buf, size_t n, const char *s, size_t width);

#endif
