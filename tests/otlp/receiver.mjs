// A strict OTLP/HTTP trace receiver for pit's tests, on loopback only. It decodes with the
// official OpenTelemetry JS packages' own OTLP protobuf root (@opentelemetry/otlp-transformer
// 0.57: the generated opentelemetry.proto types, the last line that ships them), keeps the
// spans in memory and answers questions about them.
//
//   node tests/otlp/receiver.mjs [PORT] [--max-spans N] [--sink]    (PORT 0 or absent: any port)
//
// --sink: a load benchmark's receiver (bench/tracing/run.sh): every export request is
// answered 200 {} at once, its spans only counted (`sunk` in /stats: occurrences of the key
// "spanId"), nothing decoded or kept, so that Node's decoding does not compete with the
// processes under measurement for the CPU.
// The first line on stdout is `listening 127.0.0.1:PORT`. SIGTERM or SIGINT: closes the
// listener (and every connection, answered or not) and exits 0.
//
// POST /v1/traces   ExportTraceServiceRequest, Content-Type application/json (the OTLP JSON
//                   mapping, checked strictly: see below) or application/x-protobuf;
//                   Content-Encoding gzip or identity. 200 with an empty
//                   ExportTraceServiceResponse; 400 when the body breaks the mapping (JSON
//                   answer {"code": 3, "message": "..."}, nothing stored); 415 for any other
//                   content type; 413 past 32 MiB.
// GET  /traces/ID   {"traceId": ID, "spans": [span, ...]} in arrival order ([] when unknown).
// GET  /spans       {"spans": [...]}: every span kept.
// GET  /stats       counts: requests, accepted, rejected, injected answers, spans kept and
//                   overflowed, the last rejection's reason and the last request's headers.
// POST /control     what the next export requests get (JSON body, every field optional):
//                   {"status": 429|503|..., "retryAfter": "2", "delayMs": 500, "hang": true,
//                    "count": N}: `status` answers that status (with Retry-After when given)
//                   and stores nothing; `delayMs` answers (and stores) that much later; `hang`
//                   never answers (the connection stays open until the client gives up);
//                   `count` limits it to the next N requests (absent: until the next
//                   /control). {} goes back to normal.
// POST /reset       forgets every span and zeroes the counts (the control stays).
//
// A kept span is the request's span in a plain form: ids as lowercase hex, int64 as decimal
// strings, enums as integers, attributes as an object {key: value}, plus the resource's
// attributes (`resource`) and the scope ({name, version}).
//
// Strict about the OTLP JSON mapping (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// - traceId / spanId / parentSpanId (spans and links) are hex, 32 / 16 digits, not all zero
//   (parentSpanId may be ""): base64 ids, the proto3 default for bytes, are rejected;
// - enums (span kind, status code) are integers: the names are rejected;
// - every key is a field of its message in lowerCamelCase: an unknown key, or a field in
//   its proto (snake_case) spelling, is rejected. The OTLP spec tells receivers to ignore
//   unknown fields; this receiver is deliberately stricter, because it tests an exporter.
// protobufjs's fromObject drops keys it does not know without a word and coerces values of
// the wrong type, so the check is a round trip: fromObject, then toObject, and every key and
// value of the request must come back unchanged (int64 may be a JSON number or a string).
// Each span also needs a name and start <= end.
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const Response = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

const MAX_BODY = 32 * 1024 * 1024;
// toObject's options: int64 as decimal strings, enums as numbers, bytes as base64, and
// repeated fields always present (an empty array in the request must come back).
const AS_OBJECT = { longs: String, enums: Number, bytes: String, arrays: true };

function fail(message) {
  process.stderr.write(`otlp receiver: ${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let port = 0;
let maxSpans = 200000;
let sink = false;
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === '--max-spans') maxSpans = Number(args[(i += 1)]);
  else if (args[i] === '--sink') sink = true;
  else port = Number(args[i]);
}
if (!Number.isInteger(port) || port < 0 || !Number.isInteger(maxSpans) || maxSpans < 0)
  fail('usage: node receiver.mjs [PORT] [--max-spans N] [--sink]');

class Rejected extends Error {}

// ---- the strict JSON check -------------------------------------------------------------

const HEX = /^[0-9a-fA-F]*$/;
function hexIdToBase64(value, digits, where, mayBeEmpty) {
  if (typeof value !== 'string') throw new Rejected(`${where}: an id is a hex string, got ${JSON.stringify(value)}`);
  if (mayBeEmpty && value === '') return '';
  if (value.length !== digits || !HEX.test(value))
    throw new Rejected(`${where}: must be ${digits} hex digits (the OTLP JSON mapping; base64 is not allowed), got ${JSON.stringify(value)}`);
  if (/^0+$/.test(value)) throw new Rejected(`${where}: an all-zero id is invalid`);
  return Buffer.from(value, 'hex').toString('base64');
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function requireInteger(value, where) {
  if (value !== undefined && value !== null && !Number.isInteger(value))
    throw new Rejected(`${where}: an enum is an integer in the OTLP JSON mapping, got ${JSON.stringify(value)}`);
}

// A copy of the request with the ids in base64 (protobufjs's form for bytes), after
// checking them; enum fields must be integers. Anything else is left for the round trip.
function prepare(body) {
  if (!isObject(body)) throw new Rejected('the body is not a JSON object');
  const copy = structuredClone(body);
  (copy.resourceSpans ?? []).forEach((rs, i) => {
    if (!isObject(rs)) return;
    (rs.scopeSpans ?? []).forEach((ss, j) => {
      if (!isObject(ss)) return;
      (ss.spans ?? []).forEach((span, k) => {
        if (!isObject(span)) return;
        const at = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`;
        span.traceId = hexIdToBase64(span.traceId, 32, `${at}.traceId`, false);
        span.spanId = hexIdToBase64(span.spanId, 16, `${at}.spanId`, false);
        if (span.parentSpanId !== undefined && span.parentSpanId !== null)
          span.parentSpanId = hexIdToBase64(span.parentSpanId, 16, `${at}.parentSpanId`, true);
        requireInteger(span.kind, `${at}.kind`);
        if (isObject(span.status)) requireInteger(span.status.code, `${at}.status.code`);
        if (typeof span.name !== 'string' || span.name === '') throw new Rejected(`${at}.name: a span needs a name`);
        (Array.isArray(span.links) ? span.links : []).forEach((link, l) => {
          if (!isObject(link)) return;
          link.traceId = hexIdToBase64(link.traceId, 32, `${at}.links[${l}].traceId`, false);
          link.spanId = hexIdToBase64(link.spanId, 16, `${at}.links[${l}].spanId`, false);
        });
      });
    });
  });
  return copy;
}

// Every key and value of `sent` must be in `back` (toObject of fromObject of `sent`).
function sameAfterRoundTrip(sent, back, where) {
  if (Array.isArray(sent)) {
    if (!Array.isArray(back) || back.length !== sent.length) throw new Rejected(`${where}: not a valid repeated field`);
    sent.forEach((v, i) => sameAfterRoundTrip(v, back[i], `${where}[${i}]`));
    return;
  }
  if (isObject(sent)) {
    if (!isObject(back)) throw new Rejected(`${where}: not a valid message`);
    for (const [key, value] of Object.entries(sent)) {
      if (value === null) continue;  // proto3 JSON: null is the field's default
      if (!Object.hasOwn(back, key)) {
        const hint = key.includes('_') ? ' (the OTLP JSON mapping uses lowerCamelCase field names)' : '';
        throw new Rejected(`${where ? where + '.' : ''}${key}: unknown field${hint}`);
      }
      sameAfterRoundTrip(value, back[key], `${where ? where + '.' : ''}${key}`);
    }
    return;
  }
  if (sent === back) return;
  // int64 / fixed64 come back as decimal strings; the mapping allows a JSON number too.
  if (typeof sent === 'number' && typeof back === 'string' && Number.isSafeInteger(sent) && String(sent) === back) return;
  throw new Rejected(`${where}: ${JSON.stringify(sent)} is not a valid value for this field (read as ${JSON.stringify(back)})`);
}

function decodeJson(buffer) {
  let body;
  try {
    body = JSON.parse(buffer.toString('utf8'));
  } catch (e) {
    throw new Rejected(`the body is not JSON: ${e.message}`);
  }
  const sent = prepare(body);
  let message;
  try {
    message = Request.fromObject(sent);
  } catch (e) {
    throw new Rejected(e.message);
  }
  const back = Request.toObject(message, AS_OBJECT);
  sameAfterRoundTrip(sent, back, '');
  return back;
}

function decodeProtobuf(buffer) {
  let message;
  try {
    message = Request.decode(buffer);
  } catch (e) {
    throw new Rejected(`not an ExportTraceServiceRequest: ${e.message}`);
  }
  return Request.toObject(message, AS_OBJECT);
}

// ---- what is kept -----------------------------------------------------------------------

function b64hex(value) {
  return value ? Buffer.from(value, 'base64').toString('hex') : '';
}

function plainValue(any) {
  if (!any) return null;
  if ('stringValue' in any) return any.stringValue;
  if ('boolValue' in any) return any.boolValue;
  if ('intValue' in any) {
    const n = Number(any.intValue);
    return Number.isSafeInteger(n) ? n : any.intValue;
  }
  if ('doubleValue' in any) return any.doubleValue;
  if ('arrayValue' in any) return (any.arrayValue.values ?? []).map(plainValue);
  if ('kvlistValue' in any) return plainAttributes(any.kvlistValue.values);
  if ('bytesValue' in any) return any.bytesValue;
  return null;
}

function plainAttributes(list) {
  const out = {};
  for (const kv of list ?? []) out[kv.key] = plainValue(kv.value);
  return out;
}

function checkTimes(span, where) {
  if (span.startTimeUnixNano === undefined || span.endTimeUnixNano === undefined)
    throw new Rejected(`${where}: a span needs startTimeUnixNano and endTimeUnixNano`);
  if (BigInt(span.endTimeUnixNano) < BigInt(span.startTimeUnixNano))
    throw new Rejected(`${where}: endTimeUnixNano is before startTimeUnixNano`);
}

// The request's spans in their kept form; throws Rejected before anything is kept.
function spansOf(request) {
  const out = [];
  request.resourceSpans.forEach((rs, i) => {
    const resource = plainAttributes(rs.resource?.attributes);
    rs.scopeSpans.forEach((ss, j) => {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      ss.spans.forEach((s, k) => {
        checkTimes(s, `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`);
        out.push({
          traceId: b64hex(s.traceId),
          spanId: b64hex(s.spanId),
          parentSpanId: b64hex(s.parentSpanId),
          traceState: s.traceState ?? '',
          flags: s.flags ?? 0,
          name: s.name,
          kind: s.kind ?? 0,
          startTimeUnixNano: s.startTimeUnixNano,
          endTimeUnixNano: s.endTimeUnixNano,
          attributes: plainAttributes(s.attributes),
          droppedAttributesCount: s.droppedAttributesCount ?? 0,
          events: (s.events ?? []).map((e) => ({
            name: e.name ?? '',
            timeUnixNano: e.timeUnixNano ?? '0',
            attributes: plainAttributes(e.attributes),
          })),
          links: (s.links ?? []).map((l) => ({
            traceId: b64hex(l.traceId),
            spanId: b64hex(l.spanId),
            attributes: plainAttributes(l.attributes),
          })),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          resource,
          scope,
        });
      });
    });
  });
  return out;
}

const spans = [];
const byTrace = new Map();
let stats;
function resetStats() {
  stats = {
    requests: 0, accepted: 0, rejected: 0, json: 0, protobuf: 0, gzip: 0,
    injected: {}, delayed: 0, hung: 0,
    spans: 0, spansOverflowed: 0, sunk: 0,
    lastRejection: null, lastHeaders: null,
  };
}
resetStats();

function keep(newSpans) {
  for (const s of newSpans) {
    if (spans.length >= maxSpans) {
      stats.spansOverflowed += 1;  // the receiver's own memory stays bounded too
      continue;
    }
    spans.push(s);
    if (!byTrace.has(s.traceId)) byTrace.set(s.traceId, []);
    byTrace.get(s.traceId).push(s);
  }
  stats.spans = spans.length;
}

// ---- control ------------------------------------------------------------------------------

let control = {};
const hung = new Set();

function nextControl() {
  const c = control;
  if (c.count !== undefined) {
    if (c.count <= 0) {
      control = {};
      return {};
    }
    c.count -= 1;
  }
  return c;
}

// ---- HTTP -----------------------------------------------------------------------------------

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res, status, body, type = 'application/json', headers = {}) {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(status, { 'content-type': type, 'content-length': data.length, ...headers });
  res.end(data);
}

async function exportTraces(req, res) {
  stats.requests += 1;
  stats.lastHeaders = req.headers;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  let body = await readBody(req);
  if (sink) {
    for (let at = body.indexOf('"spanId"'); at !== -1; at = body.indexOf('"spanId"', at + 1)) stats.sunk += 1;
    stats.accepted += 1;
    return send(res, 200, '{}');
  }
  const c = nextControl();
  if (c.hang) {
    stats.hung += 1;
    hung.add(res);
    res.on('close', () => hung.delete(res));
    return;
  }
  if (c.status) {
    stats.injected[c.status] = (stats.injected[c.status] ?? 0) + 1;
    const headers = c.retryAfter !== undefined ? { 'retry-after': String(c.retryAfter) } : {};
    return send(res, c.status, { code: 14, message: `injected ${c.status}` }, 'application/json', headers);
  }
  if (c.delayMs) {
    stats.delayed += 1;
    await new Promise((resolve) => setTimeout(resolve, c.delayMs));
  }
  const json = type === 'application/json';
  if (!json && type !== 'application/x-protobuf')
    return send(res, 415, { code: 3, message: `unsupported content type ${JSON.stringify(type)}` });
  try {
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'gzip') {
      stats.gzip += 1;
      try {
        body = zlib.gunzipSync(body);
      } catch (e) {
        throw new Rejected(`bad gzip body: ${e.message}`);
      }
    } else if (encoding !== 'identity') {
      throw new Rejected(`unsupported content encoding ${JSON.stringify(encoding)}`);
    }
    const request = json ? decodeJson(body) : decodeProtobuf(body);
    const newSpans = spansOf(request);
    keep(newSpans);
    stats.accepted += 1;
    if (json) stats.json += 1;
    else stats.protobuf += 1;
  } catch (e) {
    if (!(e instanceof Rejected)) throw e;
    stats.rejected += 1;
    stats.lastRejection = e.message;
    if (json) return send(res, 400, { code: 3, message: e.message });
    return send(res, 400, e.message, 'text/plain');
  }
  if (json) return send(res, 200, Response.toObject(Response.create()));
  return send(res, 200, Buffer.from(Response.encode(Response.create()).finish()), 'application/x-protobuf');
}

async function route(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname;
  if (path === '/v1/traces') {
    if (req.method !== 'POST') return send(res, 405, { message: 'POST only' }, 'application/json', { allow: 'POST' });
    return exportTraces(req, res);
  }
  if (req.method === 'GET' && path.startsWith('/traces/')) {
    const id = path.slice('/traces/'.length).toLowerCase();
    return send(res, 200, { traceId: id, spans: byTrace.get(id) ?? [] });
  }
  if (req.method === 'GET' && path === '/spans') return send(res, 200, { spans });
  if (req.method === 'GET' && path === '/stats') return send(res, 200, stats);
  if (req.method === 'POST' && path === '/control') {
    const text = (await readBody(req)).toString('utf8');
    let wanted;
    try {
      wanted = text.trim() ? JSON.parse(text) : {};
    } catch (e) {
      return send(res, 400, { message: `not JSON: ${e.message}` });
    }
    if (!isObject(wanted)) return send(res, 400, { message: 'a JSON object' });
    control = wanted;
    return send(res, 200, { control });
  }
  if (req.method === 'POST' && path === '/reset') {
    spans.length = 0;
    byTrace.clear();
    resetStats();
    return send(res, 200, {});
  }
  return send(res, 404, { message: `no ${req.method} ${path}` });
}

const server = http.createServer((req, res) => {
  route(req, res).catch((e) => {
    if (res.headersSent) return res.destroy();
    send(res, e.status ?? 500, { message: e.message });
  });
});
server.keepAliveTimeout = 30000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening 127.0.0.1:${server.address().port}\n`);
});
server.on('error', (e) => fail(e.message));

function stop() {
  for (const res of hung) res.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
