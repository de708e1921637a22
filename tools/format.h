/* SPDX-License-Identifier: MIT */
/* format.h — humane units for durations and ratios in giltrace's output. */
#ifndef FORMAT_H
#define FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "0 ns", "812 ns", "12.3 µs", "5.21 ms", "1.04 s", "12 min 3 s". */
void gt_fmt_duration(char *buf, size_t n, uint64_t ns);
/* "99.4%", "<0.1%", "0%". */
void gt_fmt_percent(char *buf, size_t n, double ratio);
/* Number of terminal columns a UTF-8 string takes (each code point = 1). */
size_t gt_fmt_width(const char *s);

#endif
