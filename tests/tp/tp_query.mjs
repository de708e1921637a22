// tp_query.mjs — load a trace into Perfetto's real trace processor (the WASM
// build v55.3 that the Perfetto UI runs) under plain Node, report the import
// problems it recorded, and run SQL queries against the result.
//
// Why: protoc can only check that our bytes are well-formed protobuf. Most of
// the ways a Perfetto trace goes wrong (events dropped for a missing
// incremental-state clear, clock snapshots without a path to the trace clock,
// counters on the wrong track, unknown interned ids...) are only visible to
// Perfetto's own importer, often just as a stats counter. There is no
// trace_processor_shell we can install offline, but the UI's WASM engine runs
// in Node; tools/fetch-trace-processor.sh fetches a pinned copy of it.
//
// Usage: TP_DIR=<dir> node tests/tp/tp_query.mjs TRACE_FILE [SQL ...]
//
// Prints one JSON object on stdout:
//   {"problems": [{name, idx, severity, source, value}, ...],
//    "results":  [[row, ...] for each SQL, in order]}
// problems = every non-zero row of TP's `stats` table except the benign ones
// (see isBenignStat), plus, with source "tp_query" and a "message", a trace
// that TP refused to parse or whose top-level framing is broken (truncated).
// Rows are objects keyed by column name; integers that do not fit a JS number
// are given as decimal strings, blobs as hex strings. A query that fails gets
// null in results and one line on stderr.
// Exit status: 0 = no problems and every query ran; 1 = the trace has
// problems; 2 = usage error, unreadable file, engine failure, timeout (one
// line on stderr says which, nothing on stdout), or a query error on a trace
// that imported fine (the SQL is wrong, not the trace).
//
// The engine code is the Perfetto UI's Web Worker bundle. We run it in this
// context with just enough fake worker globals, and talk to it over a
// MessageChannel exactly as the UI's frontend does.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import v8 from 'node:v8';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { MessageChannel } from 'node:worker_threads';

// Compile the 13 MB engine with V8's baseline compiler only. The optimising
// tier recompiles it in the background on every core for seconds, which the
// traces of the test suite (up to a few hundred thousand slices) never pay
// back: 0.8 s instead of 1.8 s per run here, a quarter of the CPU time, the
// same answers. Must be set before the module is compiled.
v8.setFlagsFromString('--liftoff-only');

// The bundle patches below and the stat names we treat as benign are
// specific to this build, so refuse any other one.
const PINNED_WASM_SHA256 =
  'c1c25c299b74cc9b9651592c94b669c91916434a2990f214f03c8135c848d3fa';
const TIMEOUT_S = Number(process.env.TP_TIMEOUT_S || 120);
// The engine's request buffer is 32 MB; 16 MB chunks stay well inside it.
const CHUNK_BYTES = 16 * 1024 * 1024;

// Non-zero stats that say nothing about the trace's correctness: timings,
// and a clock-conversion cache counter that any multi-clock trace bumps.
const isBenignStat = (name) =>
  name.endsWith('_duration_ns') || name === 'clock_sync_cache_miss';

// Known harmless chatter: from the emscripten runtime, from the UI's
// QueryResult decoder (which predates a field this TP version sends), and
// TP's own progress line.
const NOISE = [
  /unsupported syscall: __syscall_mprotect/,
  /Unexpected QueryResult field 7/,
  /^\r?Loading trace [\d.]+ MB/,
];

function fail(msg) {
  process.stderr.write(`tp_query: ${msg}\n`);
  process.exit(2);
}

// All engine output goes to stderr (stdout carries only our JSON), minus the
// noise. This must happen before the bundle runs: emscripten binds
// console.log/error when the module is created.
for (const level of ['log', 'info', 'debug', 'warn', 'error']) {
  console[level] = (...args) => {
    const line = args.map(String).join(' ');
    if (!NOISE.some((re) => re.test(line))) process.stderr.write(line + '\n');
  };
}
process.on('uncaughtException', (e) => fail(`engine failure: ${e?.message ?? e}`));
process.on('unhandledRejection', (e) => fail(`engine failure: ${e?.message ?? e}`));
// Last resort against a stalled RPC: a lost reply would otherwise keep the
// MessagePorts, and so the process, alive forever. (Every normal path ends in
// process.exit, so this timer never delays a finished run.)
setTimeout(() => fail(`timed out after ${TIMEOUT_S} s`), TIMEOUT_S * 1000);

const [tracePath, ...queries] = process.argv.slice(2);
if (!tracePath) fail('usage: TP_DIR=<dir> node tp_query.mjs TRACE_FILE [SQL ...]');
const tpDir = process.env.TP_DIR;
if (!tpDir) fail('TP_DIR is not set (run tools/fetch-trace-processor.sh DIR, then TP_DIR=DIR)');

function readTpFile(name) {
  try {
    return fs.readFileSync(path.join(tpDir, name));
  } catch (e) {
    fail(`cannot read ${path.join(tpDir, name)}: ${e.message} (run tools/fetch-trace-processor.sh)`);
  }
}

let traceFd;
try {
  traceFd = fs.openSync(tracePath, 'r');
  if (!fs.fstatSync(traceFd).isFile()) throw new Error('not a regular file');
} catch (e) {
  fail(`cannot read trace ${tracePath}: ${e.message}`);
}

const wasm = readTpFile('trace_processor.wasm');
const wasmHash = createHash('sha256').update(wasm).digest('hex');
if (wasmHash !== PINNED_WASM_SHA256) {
  fail(`trace_processor.wasm in ${tpDir} has SHA-256 ${wasmHash}, expected the pinned v55.3 build`);
}

// --- Start the engine -------------------------------------------------------

// Each anchor must occur exactly once, so a different bundle fails loudly
// instead of half-working.
const BUNDLE_PATCHES = [
  // The shipped wasm is the memory32 build, but the bundle picks the memory64
  // glue whenever the JS engine supports memory64 (newer Node does).
  ['this.useMemory64 = hasMemory64Support();', 'this.useMemory64 = false;'],
  // A worker would fetch the wasm by URL; hand emscripten the bytes instead.
  ['locateFile: (s) => s,', 'locateFile: (s) => s, wasmBinary: globalThis.__giltraceTpWasm,'],
  // The bridge is private to the bundle; we need it to know when the runtime
  // is up and to give it our end of the MessageChannel.
  ['const wasmBridge = new wasm_bridge_1.WasmBridge();',
   'const wasmBridge = new wasm_bridge_1.WasmBridge(); globalThis.__giltraceTpBridge = wasmBridge;'],
];

let bundle = readTpFile('engine_bundle.node.js').toString('utf8');
for (const [anchor, replacement] of BUNDLE_PATCHES) {
  const n = bundle.split(anchor).length - 1;
  if (n !== 1) fail(`engine_bundle.node.js: expected 1 occurrence of "${anchor}", found ${n}`);
  bundle = bundle.replace(anchor, () => replacement);
}

// Just enough of a Web Worker for emscripten's environment detection.
const bundleUrl = pathToFileURL(path.join(tpDir, 'engine_bundle.node.js')).href;
globalThis.WorkerGlobalScope = class WorkerGlobalScope {};
globalThis.location = { href: bundleUrl };
globalThis.self = { location: globalThis.location, postMessage() {} };
globalThis.__giltraceTpWasm = wasm;

vm.runInThisContext(bundle, { filename: bundleUrl });
const bridge = globalThis.__giltraceTpBridge;
if (!bridge) fail('engine_bundle.node.js did not create the WasmBridge');

// The runtime initialises asynchronously; a request sent before
// trace_processor_rpc_init has returned would be written to address 0.
while (bridge.reqBufferAddr === 0) {
  if (bridge.aborted) fail('trace processor runtime aborted during start-up');
  await new Promise((r) => setTimeout(r, 5));
}

const { EngineBase } = await import(pathToFileURL(path.join(tpDir, 'engine.mjs')).href);

class NodeWasmEngine extends EngineBase {
  id = 'giltrace-tp';
  mode = 'WASM';

  constructor(port) {
    super();
    this.port = port;
    port.onmessage = (e) => this.onRpcResponseBytes(e.data);
  }

  // Copy rather than transfer: protobufjs may hand us a view into a buffer
  // that it keeps using.
  rpcSendRequestBytes(data) {
    this.port.postMessage(data);
  }

  close() {
    this.port.close();
  }
}

const channel = new MessageChannel();
bridge.initialize(channel.port1);
const engine = new NodeWasmEngine(channel.port2);

// --- Top-level framing check ------------------------------------------------

// TP v55.3 silently ignores a trace whose last record is cut short (no stat,
// no error), and a truncated file is exactly what a crashed or killed writer
// leaves behind. So walk the Trace message's (tag, length) framing ourselves as
// the bytes stream past. Unknown top-level fields are legal (writers pad with
// them), so any wire type except the deprecated groups is accepted.
class FramingCheck {
  offset = 0;      // file offset of the first byte not yet consumed
  skip = 0;        // payload bytes of the current record still to come
  carry = null;    // a record header split across two chunks
  recordStart = 0; // file offset of the record being skipped
  error = null;

  feed(chunk) {
    if (this.error) return;
    let buf = chunk;
    let base = this.offset;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      base -= this.carry.length;
      this.carry = null;
    }
    let i = 0;
    while (i < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const start = i;
      const tag = readVarint(buf, i);
      if (tag === null) break;
      i = tag.end;
      const wire = tag.value % 8;
      if (tag.value < 8 || wire === 3 || wire === 4 || wire > 5) {
        this.error = `invalid top-level record header at byte ${base + start}`;
        return;
      }
      if (wire === 0) {
        const v = readVarint(buf, i);
        if (v === null) { i = start; break; }
        i = v.end;
      } else if (wire === 2) {
        const len = readVarint(buf, i);
        if (len === null) { i = start; break; }
        i = len.end;
        this.skip = len.value;
        this.recordStart = base + start;
      } else {
        this.skip = wire === 1 ? 8 : 4;
        this.recordStart = base + start;
      }
    }
    if (i < buf.length) this.carry = Buffer.from(buf.subarray(i));
    this.offset += chunk.length;
  }

  // Called at end of file: null if the file ends exactly on a record boundary.
  finish() {
    if (this.error) return this.error;
    if (this.skip > 0) {
      return `file ends ${this.skip} bytes short of the end of the record at byte ${this.recordStart}`;
    }
    if (this.carry) return `file ends inside a record header at byte ${this.offset - this.carry.length}`;
    return null;
  }
}

// Returns {value, end}, or null if buf ends before the varint does. Values
// above 2^53 lose precision, which is fine for a length that is then checked
// against the file size.
function readVarint(buf, pos) {
  let value = 0;
  for (let shift = 0, i = pos; i < buf.length && shift < 70; i++, shift += 7) {
    value += (buf[i] & 0x7f) * 2 ** shift;
    if (buf[i] < 0x80) return { value, end: i + 1 };
  }
  return null;
}

// --- Load the trace ---------------------------------------------------------

// A trace that the importer rejects, or whose framing is broken, has a
// problem of its own, not one of this tool: report it next to the stats, in
// the same shape plus a message, with source "tp_query".
const problems = [];
const driverProblem = (name, message) =>
  problems.push({ name, idx: null, severity: 'error', source: 'tp_query', value: 1,
                  message: String(message?.message ?? message) });

const framing = new FramingCheck();
let importFailed = false;
try {
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  for (;;) {
    const n = fs.readSync(traceFd, buf, 0, CHUNK_BYTES, null);
    if (n === 0) break;
    framing.feed(buf.subarray(0, n));
    // parse() encodes the request synchronously, so reusing buf is safe.
    await engine.parse(buf.subarray(0, n));
  }
  // Only meaningful if we saw the whole file.
  const framingError = framing.finish();
  if (framingError) driverProblem('trace_framing_error', framingError);
} catch (e) {
  if (e instanceof Error && e.code) fail(`cannot read trace ${tracePath}: ${e.message}`);
  // TP rejects the rest of the stream after its first error: stop feeding it.
  driverProblem('trace_processor_parse_error', e);
  importFailed = true;
}
fs.closeSync(traceFd);
try {
  await engine.notifyEof();
} catch (e) {
  // After a parse error this only says "Unrecoverable parsing error already
  // occurred"; report the first failure only.
  if (!importFailed) driverProblem('trace_processor_finalize_error', e);
  importFailed = true;
}

// --- Query ------------------------------------------------------------------

function cellToJson(v) {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

// Returns the rows, or null after printing why the query failed.
async function runQuery(sql) {
  let res;
  try {
    res = await engine.query(sql);
  } catch (e) {
    // TP reports SQL errors as a multi-line traceback; its last line is the
    // reason, and "line L col C" points into the statement.
    const msg = String(e?.message ?? e).trim();
    const where = msg.match(/line \d+ col \d+/);
    process.stderr.write(`tp_query: query failed: ${msg.split('\n').pop()}` +
                         `${where ? ` (${where[0]})` : ''} -- SQL: ${sql.replace(/\s+/g, ' ')}\n`);
    return null;
  }
  // query() resolves to the engine's QueryResultImpl, with every row
  // already received.
  const cols = res.columns();
  // res.iter() stores each row's cells as properties of the iterator object
  // itself, so columns named "next", "valid", "get" or "_impl" would collide
  // with its methods. Run the same row decoder (the class behind
  // res.iter()._impl) against a plain object of our own instead.
  const RowIterator = res.iter({})._impl.constructor;
  const cells = Object.create(null);
  const it = new RowIterator({}, cells, res);
  const rows = [];
  for (; it.valid(); it.next()) {
    const row = {};
    for (const c of cols) row[c] = cellToJson(cells[c]);
    rows.push(row);
  }
  return rows;
}

const stats = await runQuery(
  'SELECT name, idx, severity, source, value FROM stats WHERE value > 0 ORDER BY name, idx');
if (stats === null) fail('cannot read the stats table');
for (const s of stats) if (!isBenignStat(s.name)) problems.push(s);

const results = [];
for (const sql of queries) results.push(await runQuery(sql));

engine.close();
// A query error is a usage error (exit 2), except after the importer
// rejected the trace: tables such as `slice` then do not exist at all, and the
// caller needs to hear about the broken trace (exit 1, null results).
let code = problems.length > 0 ? 1 : 0;
if (results.includes(null) && !importFailed) code = 2;
process.stdout.write(JSON.stringify({ problems, results }) + '\n', () => process.exit(code));
