/* SPDX-License-Identifier: MIT */
/* test_pb.c — the protobuf writer and reader against known encodings. */
#include "gt_pb.h"
#include "unittest.h"

static void varints(void)
{
	static const struct {
		uint64_t v;
		uint8_t bytes[10];
		size_t n;
	} cases[] = {
		{0, {0x00}, 1},
		{1, {0x01}, 1},
		{127, {0x7f}, 1},
		{128, {0x80, 0x01}, 2},
		{300, {0xac, 0x02}, 2},
		{UINT64_MAX, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[16];
		size_t n = gt_pb_put_varint(buf, cases[i].v);
		CHECK_U64(n, cases[i].n);
		CHECK(!memcmp(buf, cases[i].bytes, n));
		CHECK_U64(gt_pb_varint_size(cases[i].v), cases[i].n);
		struct gt_pbr r;
		gt_pbr_init(&r, buf, n);
		CHECK_U64(gt_pbr_varint(&r), cases[i].v);
		CHECK(!r.bad);
	}
}

static void nested_growth(void)
{
	/* A nested message that passes 127 bytes must get a 2-byte length
	 * and keep its body intact. */
	uint8_t buf[512];
	struct gt_pb b;
	gt_pb_init(&b, buf, sizeof(buf));
	size_t m = gt_pb_begin(&b, 5);
	for (int i = 0; i < 50; i++)
		gt_pb_uint(&b, 1, 1000); /* 3 bytes each: 150 bytes */
	gt_pb_end(&b, m);
	CHECK(!b.overflow);
	CHECK_U64(gt_pb_len(&b), 1 + 2 + 150);
	CHECK_U64(buf[0], (5 << 3) | 2);
	CHECK_U64(buf[1], 0x96); /* 150 = 0x96 0x01 */
	CHECK_U64(buf[2], 0x01);
	struct gt_pbr r, in;
	struct gt_pbr_field f, g;
	gt_pbr_init(&r, buf, gt_pb_len(&b));
	CHECK(gt_pbr_next(&r, &f));
	CHECK_U64(f.num, 5);
	CHECK_U64(f.len, 150);
	gt_pbr_init(&in, f.data, f.len);
	int n = 0;
	while (gt_pbr_next(&in, &g)) {
		CHECK_U64(g.v, 1000);
		n++;
	}
	CHECK_U64(n, 50);
	CHECK(!in.bad);
}

static void overflow(void)
{
	uint8_t buf[8];
	struct gt_pb b;
	gt_pb_init(&b, buf, sizeof(buf));
	gt_pb_string(&b, 2, "a string longer than eight bytes");
	CHECK(b.overflow);
	CHECK(gt_pb_len(&b) <= sizeof(buf));
}

static void malformed(void)
{
	struct gt_pbr r;
	struct gt_pbr_field f;
	/* Length past the end. */
	const uint8_t cut[] = {0x0a, 0x05, 0x01, 0x02};
	gt_pbr_init(&r, cut, sizeof(cut));
	CHECK(!gt_pbr_next(&r, &f));
	CHECK(r.bad);
	/* Field number 0. */
	const uint8_t zero[] = {0x00, 0x01};
	gt_pbr_init(&r, zero, sizeof(zero));
	CHECK(!gt_pbr_next(&r, &f));
	CHECK(r.bad);
	/* Wire type 3 (groups) is not supported. */
	const uint8_t group[] = {0x0b};
	gt_pbr_init(&r, group, sizeof(group));
	CHECK(!gt_pbr_next(&r, &f));
	CHECK(r.bad);
	/* An 11-byte varint. */
	const uint8_t longv[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	gt_pbr_init(&r, longv, sizeof(longv));
	CHECK(!gt_pbr_next(&r, &f));
	CHECK(r.bad);
	/* A fixed64 cut short. */
	const uint8_t fixed[] = {0x09, 1, 2, 3};
	gt_pbr_init(&r, fixed, sizeof(fixed));
	CHECK(!gt_pbr_next(&r, &f));
	CHECK(r.bad);
}

int main(void)
{
	varints();
	nested_growth();
	overflow();
	malformed();
	return unittest_result("test_pb");
}
