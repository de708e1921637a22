/* SPDX-License-Identifier: MIT */
/*
 * gt_perfetto_fields.h — the Perfetto protobuf field numbers giltrace uses.
 *
 * Each group names the .proto it comes from (google/perfetto,
 * protos/perfetto/trace/...). tests/proto/perfetto_subset.proto declares the
 * same numbers independently so that `protoc --decode` can check the encoder.
 */
#ifndef GT_PERFETTO_FIELDS_H
#define GT_PERFETTO_FIELDS_H

/* trace.proto: message Trace */
#define PF_TRACE_PACKET 1

/* trace_packet.proto: message TracePacket */
#define PF_PKT_CLOCK_SNAPSHOT 6
#define PF_PKT_TIMESTAMP 8
#define PF_PKT_SEQUENCE_ID 10 /* trusted_packet_sequence_id */
#define PF_PKT_TRACK_EVENT 11
#define PF_PKT_INTERNED_DATA 12
#define PF_PKT_SEQUENCE_FLAGS 13
#define PF_PKT_COMPRESSED_PACKETS 50
#define PF_PKT_TIMESTAMP_CLOCK_ID 58
#define PF_PKT_DEFAULTS 59 /* trace_packet_defaults */
#define PF_PKT_TRACK_DESCRIPTOR 60
#define PF_SEQ_INCREMENTAL_STATE_CLEARED 1
#define PF_SEQ_NEEDS_INCREMENTAL_STATE 2

/* trace_packet_defaults.proto: TracePacketDefaults, TrackEventDefaults */
#define PF_DEFAULTS_CLOCK_ID 58
#define PF_DEFAULTS_TRACK_EVENT 11
#define PF_TE_DEFAULTS_TRACK_UUID 11

/* clock_snapshot.proto, common/builtin_clock.proto */
#define PF_SNAPSHOT_CLOCKS 1
#define PF_SNAPSHOT_PRIMARY_CLOCK 2
#define PF_CLOCK_ID 1
#define PF_CLOCK_TIMESTAMP 2
#define PF_CLOCK_IS_INCREMENTAL 3
#define PF_CLOCK_UNIT_NS 4
#define PF_CLOCK_REALTIME 1
#define PF_CLOCK_MONOTONIC 3
#define PF_CLOCK_BOOTTIME 6
#define PF_CLOCK_SEQ_FIRST 64 /* first sequence-scoped clock id */

/* interned_data.proto: InternedData; EventName/DebugAnnotationName {iid 1,
 * name 2}; InternedString {iid 1, str 2} */
#define PF_INTERN_EVENT_NAMES 2
#define PF_INTERN_ANNOTATION_NAMES 3
#define PF_INTERN_ANNOTATION_STRINGS 29
#define PF_INTERNED_IID 1
#define PF_INTERNED_NAME 2

/* track_descriptor.proto, process_descriptor.proto, thread_descriptor.proto,
 * counter_descriptor.proto */
#define PF_TD_UUID 1
#define PF_TD_NAME 2
#define PF_TD_PROCESS 3
#define PF_TD_THREAD 4
#define PF_TD_PARENT_UUID 5
#define PF_TD_COUNTER 8
#define PF_TD_DESCRIPTION 14
#define PF_PROC_PID 1
#define PF_PROC_CMDLINE 2
#define PF_PROC_NAME 6
#define PF_PROC_LABELS 8
#define PF_THREAD_PID 1
#define PF_THREAD_TID 2
#define PF_THREAD_NAME 5
#define PF_COUNTER_UNIT 3
#define PF_COUNTER_UNIT_COUNT 2

/* track_event.proto: TrackEvent */
#define PF_TE_DEBUG_ANNOTATIONS 4
#define PF_TE_TYPE 9
#define PF_TE_NAME_IID 10
#define PF_TE_TRACK_UUID 11
#define PF_TE_EXTRA_COUNTER_VALUES 12
#define PF_TE_NAME 23
#define PF_TE_COUNTER_VALUE 30
#define PF_TE_EXTRA_COUNTER_UUIDS 31
#define PF_TE_FLOW_IDS 47             /* fixed64 */
#define PF_TE_TERMINATING_FLOW_IDS 48 /* fixed64 */
#define PF_TE_SLICE_BEGIN 1
#define PF_TE_SLICE_END 2
#define PF_TE_INSTANT 3
#define PF_TE_COUNTER 4

/* debug_annotation.proto: DebugAnnotation */
#define PF_DA_NAME_IID 1
#define PF_DA_BOOL 2
#define PF_DA_UINT 3
#define PF_DA_INT 4
#define PF_DA_STRING 6
#define PF_DA_NAME 10
#define PF_DA_STRING_IID 17

#endif
