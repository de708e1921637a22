/* SPDX-License-Identifier: MIT */
/*
 * annotate.c — writes the convoys `report` found back into the trace.
 *
 * A Perfetto trace is a plain sequence of packets, so the episodes go on the
 * end of the file as a packet sequence of their own (see gt_enc_convoys()):
 * the trace as recorded stays byte for byte what it was, and a reader that
 * sees the convoys track knows the file is already annotated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convoy_trace.h"
#include "report.h"

static int append(void *ctx, const void *data, size_t len)
{
	int fd = *(int *)ctx;
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long gt_report_annotate(const char *path, const struct gt_metrics *m, char *err, size_t errlen)
{
	if (m->annotated || !m->nepisodes)
		return 0;
	struct gt_enc_convoy *c = calloc(m->nepisodes, sizeof(*c));
	char (*names)[2][32] = calloc(m->nepisodes, sizeof(*names));
	if (!c || !names) {
		free(c);
		free(names);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < m->nepisodes; i++) {
		const struct gt_convoy_episode *ep = &m->episodes[i];
		c[i] = (struct gt_enc_convoy){
			.victim = ep->victim,
			.culprit = ep->culprit,
			.victim_name = gt_thread_label(m, ep->victim, names[i][0], sizeof(names[i][0])),
			.culprit_name = gt_thread_label(m, ep->culprit, names[i][1], sizeof(names[i][1])),
			.ts = ep->ts,
			.end = ep->end,
			.delayed = ep->delayed,
			.delay_ns = ep->delay_ns,
		};
	}
	long rc = -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot annotate %s: %s", path, strerror(errno));
		goto out;
	}
	struct gt_enc e;
	struct gt_enc_options opt = {.compress_level = 0, .chunk_size = 256 * 1024};
	struct gt_enc_sink sink = {append, &fd};
	if (gt_enc_init(&e, &opt, sink, m->episodes[0].pid)) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		goto out;
	}
	gt_enc_convoys(&e, c, m->nepisodes);
	int werr = gt_enc_flush(&e);
	gt_enc_free(&e);
	if (close(fd) && !werr)
		werr = -errno;
	if (werr) {
		snprintf(err, errlen, "cannot annotate %s: %s", path, strerror(-werr));
		goto out;
	}
	rc = (long)m->nepisodes;
out:
	free(c);
	free(names);
	return rc;
}
