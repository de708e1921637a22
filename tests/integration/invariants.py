"""invariants.py — what every giltrace trace must satisfy, asked of Perfetto.

check_trace() loads a trace in Perfetto's trace processor (zero import
problems allowed) and checks, in SQL:
  - every slice is closed (no dur = -1) and nothing goes backwards;
  - the holds of one GIL never overlap, and never even touch;
  - the GIL was held no longer than the traced wall time;
  - every wait ends in an acquire by that thread, or says it ended at exit;
  - every flow goes from the end of a hold to a later hold's start;
  - the waiter counter stays between 0 and the number of threads;
  - a hold during which a drop request was made never ends "voluntary"
    (CPython makes that release a forced switch, or the thread exits);
  - every `waiting for a CPU` slice lies inside a `GIL wait`, and a wait's
    ones never add up to more than its `cpu_wait_ns`.
It returns a dict of facts for the caller's own assertions. A trace may hold
several processes (`giltrace run` writes a run's processes into one): each
image has its own start and end record, and the facts say which pids it has.
"""
from tplib import check, tp_query

Q_SLICES = "SELECT name, count(*) AS n, sum(dur) AS total FROM slice GROUP BY name"
Q_OPEN = "SELECT count(*) AS n FROM slice WHERE dur < 0"
Q_HOLDER_OVERLAP = """
SELECT count(*) AS n FROM (
  SELECT s.ts, LAG(s.ts + s.dur) OVER (PARTITION BY s.track_id ORDER BY s.ts) AS prev_end
  FROM slice s JOIN track t ON s.track_id = t.id
  WHERE t.name LIKE 'GIL holder%' AND s.depth = 0)
WHERE prev_end IS NOT NULL AND ts <= prev_end"""
Q_HELD = """
SELECT t.name || ' #' || t.id AS track, sum(s.dur) AS held, count(*) AS holds
FROM slice s JOIN track t ON s.track_id = t.id
WHERE t.name LIKE 'GIL holder%' AND s.depth = 0 GROUP BY t.id"""
Q_WALL = """
SELECT max(ts) - min(ts) AS wall, sum(name = 'giltrace start') AS starts,
       sum(name = 'giltrace end') AS ends FROM slice
WHERE name IN ('giltrace start', 'giltrace end')"""
Q_WAIT_ENDS = """
SELECT count(*) AS n FROM slice w JOIN thread_track tt ON w.track_id = tt.id
WHERE w.name = 'GIL wait'
  AND NOT EXISTS (SELECT 1 FROM slice h WHERE h.track_id = w.track_id
                  AND h.name = 'GIL hold' AND h.ts = w.ts + w.dur)
  AND NOT EXISTS (SELECT 1 FROM args a WHERE a.arg_set_id = w.arg_set_id
                  AND a.key = 'debug.ended'
                  AND a.string_value IN ('thread exit', 'process exit', 'abandoned'))"""
Q_THREAD_WAITS = """
SELECT t.tid AS tid, t.name AS name, p.pid AS pid,
       sum(s.name = 'GIL wait') AS waits, sum(s.name = 'GIL hold') AS holds,
       sum(CASE WHEN s.name = 'GIL hold' THEN s.dur ELSE 0 END) AS held
FROM slice s JOIN thread_track tt ON s.track_id = tt.id
JOIN thread t USING (utid) LEFT JOIN process p USING (upid)
GROUP BY t.tid"""
Q_ENDED = """
SELECT a.string_value AS ended, count(*) AS n
FROM slice s JOIN args a ON a.arg_set_id = s.arg_set_id
WHERE s.name = 'GIL hold' AND a.key = 'debug.ended' GROUP BY a.string_value"""
Q_FLOWS = """
SELECT count(*) AS n,
       sum(a.name != 'GIL hold' OR b.name != 'GIL hold' OR b.ts < a.ts + a.dur) AS bad
FROM flow f JOIN slice a ON f.slice_out = a.id JOIN slice b ON f.slice_in = b.id"""
Q_WAITERS = """
SELECT count(*) AS n, min(c.value) AS lo, max(c.value) AS hi
FROM counter c JOIN counter_track t ON c.track_id = t.id
WHERE t.name LIKE 'GIL waiters%'"""
# For each drop request, the last hold its holder began before it (a
# thread's holds never overlap or touch): a window over one sorted pass,
# not a search of the holder's track per request, which took minutes on a
# long trace.
Q_DROP_VOLUNTARY = """
WITH ev AS (
  SELECT t.tid AS tid, h.ts AS ts, 0 AS is_drop,
         (ae.string_value = 'voluntary') AS vol, h.ts + h.dur AS hend
  FROM slice h JOIN thread_track tt ON h.track_id = tt.id JOIN thread t USING (utid)
  JOIN args ae ON ae.arg_set_id = h.arg_set_id AND ae.key = 'debug.ended'
  WHERE h.name = 'GIL hold'
  UNION ALL
  SELECT ah.int_value, d.ts, 1, NULL, NULL FROM slice d
  JOIN args ah ON ah.arg_set_id = d.arg_set_id AND ah.key = 'debug.holder_tid'
  WHERE d.name = 'drop request'),
last AS (
  SELECT is_drop, ts, tid,
         MAX(CASE WHEN is_drop = 0 THEN ts END)
           OVER (PARTITION BY tid ORDER BY ts, is_drop ROWS UNBOUNDED PRECEDING) AS hold_ts
  FROM ev)
SELECT count(*) AS n FROM last l JOIN ev h
  ON h.is_drop = 0 AND h.tid = l.tid AND h.ts = l.hold_ts
WHERE l.is_drop = 1 AND l.ts <= h.hend AND h.vol"""
Q_META = """
SELECT s.id AS record, a.key AS key,
       coalesce(a.string_value, cast(a.int_value AS text)) AS value
FROM slice s JOIN args a ON a.arg_set_id = s.arg_set_id
WHERE s.name = 'giltrace end' ORDER BY s.ts, s.id"""


# CPU waits (docs/metrics.md#cpu-waits): where each one is, and how much.
Q_CPU_WAITS = """
SELECT count(*) AS n, sum(p.id IS NULL OR p.name != 'GIL wait') AS outside
FROM slice c LEFT JOIN slice p ON p.id = c.parent_id
WHERE c.name = 'waiting for a CPU'"""
Q_CPU_WAIT_SUMS = """
WITH kids AS (SELECT parent_id AS id, sum(dur) AS shown FROM slice
              WHERE name = 'waiting for a CPU' GROUP BY parent_id)
SELECT count(*) AS n FROM kids JOIN slice w ON w.id = kids.id
JOIN args a ON a.arg_set_id = w.arg_set_id AND a.key = 'debug.cpu_wait_ns'
WHERE kids.shown > a.int_value"""


def check_trace(trace, max_threads=None, lossy=False):
    """The invariants every giltrace trace keeps. lossy: events were dropped,
    so a hold whose release was lost runs on into the next holder's, and a
    flow or drop request may miss its end: only what each thread's own
    events guarantee is checked."""
    (slices, open_, overlap, held, wall, wait_ends, threads, ended, flows, waiters,
     drop_voluntary, meta, cpu, cpu_sums) = tp_query(
         trace, Q_SLICES, Q_OPEN, Q_HOLDER_OVERLAP, Q_HELD, Q_WALL, Q_WAIT_ENDS,
         Q_THREAD_WAITS, Q_ENDED, Q_FLOWS, Q_WAITERS, Q_DROP_VOLUNTARY, Q_META, Q_CPU_WAITS,
         Q_CPU_WAIT_SUMS)
    check(open_[0]["n"] == 0, "%d slices were never closed" % open_[0]["n"])
    check(lossy or overlap[0]["n"] == 0,
          "%d holds overlap or touch the previous hold" % overlap[0]["n"])
    # One start and one end record per process image (giltrace run puts
    # every process of a run in one trace).
    check(wall[0]["starts"] >= 1 and wall[0]["starts"] == wall[0]["ends"],
          "the trace lacks a start or end record: %s" % wall[0])
    w = wall[0]["wall"]
    for g in held:
        check(g["held"] <= w, "%s: held %d ns > wall %d ns" % (g["track"], g["held"], w))
    check(wait_ends[0]["n"] == 0,
          "%d waits end neither in an acquire nor at exit" % wait_ends[0]["n"])
    check(lossy or not flows[0]["bad"], "%s flows do not go from a hold's end to a later hold"
          % flows[0]["bad"])
    check(lossy or drop_voluntary[0]["n"] == 0,
          "%d holds that got a drop request ended voluntary" % drop_voluntary[0]["n"])
    check(not cpu[0]["outside"], "%s of %s CPU waits lie outside a GIL wait" %
          (cpu[0]["outside"], cpu[0]["n"]))
    check(lossy or cpu_sums[0]["n"] == 0,
          "%d waits show more CPU waits than their cpu_wait_ns" % cpu_sums[0]["n"])
    if waiters[0]["n"]:
        check(waiters[0]["lo"] >= 0, "waiter count below 0")
        if max_threads:
            check(waiters[0]["hi"] <= max_threads, "waiter count %s > threads" % waiters[0]["hi"])
    records = {}
    for r in meta:
        records.setdefault(r["record"], {})[r["key"]] = r["value"]
    metas = list(records.values())
    return {
        "slices": {r["name"]: r for r in slices},
        "held": held,
        "wall": w,
        "threads": threads,
        "ended": {r["ended"]: r["n"] for r in ended},
        "flows": flows[0]["n"],
        "cpu_waits": cpu[0]["n"],
        "waiters": waiters[0],
        "meta": metas[0] if metas else {},  # the first process image's end record
        "metas": metas,
        "images": wall[0]["starts"],  # process images (exec() starts another)
        "pids": sorted({t["pid"] for t in threads if t["pid"] is not None}),
    }
