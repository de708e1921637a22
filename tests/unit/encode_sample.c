/* SPDX-License-Identifier: MIT */
/* encode_sample.c — writes the sample scenario (sample_trace.c) to a file,
 * uncompressed, for the protoc golden test. Usage: encode_sample OUT */
#include <stdio.h>
#include <stdlib.h>

#include "sample_trace.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: encode_sample OUT\n");
		return 2;
	}
	size_t len;
	uint8_t *t = sample_trace(0, &len);
	FILE *f = fopen(argv[1], "wb");
	if (!t || !f || fwrite(t, 1, len, f) != len || fclose(f)) {
		perror(argv[1]);
		return 1;
	}
	free(t);
	return 0;
}
