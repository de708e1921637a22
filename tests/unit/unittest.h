/* SPDX-License-Identifier: MIT */
/*
 * unittest.h — the smallest test harness that says what failed and where.
 *
 * CHECK* record a failure and go on; a test file's main() returns
 * unittest_result() so ctest sees the failure.
 */
#ifndef UNITTEST_H
#define UNITTEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unittest_failures;
static int unittest_checks;

#define CHECK(cond)                                                                      \
	do {                                                                               \
		unittest_checks++;                                                         \
		if (!(cond)) {                                                             \
			unittest_failures++;                                               \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                          \
	} while (0)

#define CHECK_U64(a, b)                                                                  \
	do {                                                                               \
		unittest_checks++;                                                         \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                           \
		if (a_ != b_) {                                                            \
			unittest_failures++;                                               \
			fprintf(stderr, "%s:%d: %s == %" PRIu64 ", expected %s == %" PRIu64 "\n", \
				__FILE__, __LINE__, #a, a_, #b, b_);                       \
		}                                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                                  \
	do {                                                                               \
		unittest_checks++;                                                         \
		const char *a_ = (a), *b_ = (b);                                           \
		if (!a_ || strcmp(a_, b_)) {                                               \
			unittest_failures++;                                               \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, a_ ? a_ : "(null)", b_);                     \
		}                                                                          \
	} while (0)

static inline int unittest_result(const char *name)
{
	if (unittest_failures)
		fprintf(stderr, "%s: %d of %d checks failed\n", name, unittest_failures,
			unittest_checks);
	else
		printf("%s: %d checks passed\n", name, unittest_checks);
	return unittest_failures ? 1 : 0;
}

#endif
