// The test receiver (receiver.mjs) proven against the official OpenTelemetry JS exporters
// before it judges pit's: spans made by @opentelemetry/sdk-trace-base and sent by
// @opentelemetry/exporter-trace-otlp-http (JSON, plain and gzip) and -proto (protobuf) come
// back from GET /traces/ID exactly as the SDK recorded them; then the hostile bodies (base64
// ids, enum names, unknown keys, snake_case keys, ...) are refused with 400 and nothing is
// kept, and the injected answers (429/503 with Retry-After, slow, no answer) behave.
//
//   node tests/otlp/selftest.mjs        exit 0: passed; 1: a check failed; 77: cannot run here
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!fs.existsSync(path.join(here, 'node_modules', '@opentelemetry', 'otlp-transformer'))) {
  console.error('tests/otlp/node_modules is missing: run tests/otlp/install.sh');
  process.exit(77);
}
const { SpanKind, SpanStatusCode, context, trace } = await import('@opentelemetry/api');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
const { Resource } = await import('@opentelemetry/resources');
const { OTLPTraceExporter: JsonExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: ProtoExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');

// ---- the receiver, as a child process ---------------------------------------------------------
const child = spawn(process.execPath, [path.join(here, 'receiver.mjs'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve, reject) => {
  let text = '';
  const timer = setTimeout(() => reject(new Error('the receiver did not start in 20 s')), 20000);
  child.stdout.on('data', (chunk) => {
    text += chunk;
    const m = /^listening (127\.0\.0\.1:\d+)\n/.exec(text);
    if (m) {
      clearTimeout(timer);
      resolve(`http://${m[1]}`);
    }
  });
  child.on('exit', (code) => reject(new Error(`the receiver exited (${code})`)));
});
process.on('exit', () => child.kill('SIGKILL'));

async function get(p) {
  const r = await fetch(base + p);
  return r.json();
}
async function post(p, body, headers = { 'content-type': 'application/json' }) {
  const r = await fetch(base + p, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(['ok', name]);
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push(['FAIL', name]);
    console.log(`FAIL ${name}\n     ${e.stack ?? e}`);
  }
}

// ---- spans from the official SDK ---------------------------------------------------------------
const recorded = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: new Resource({ 'service.name': 'otlp-selftest', 'service.version': '1.2.3' }),
});
provider.addSpanProcessor(new SimpleSpanProcessor(recorded));
const tracer = provider.getTracer('pit-selftest', '0.1');

// One trace: a server span with a client child (error, an event, int/double/bool/array
// attributes) and an internal grandchild with a link.
function makeTrace(tag) {
  const server = tracer.startSpan(`shop.v1.Orders/place.${tag}`, { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'pit', tag } });
  const ctx = trace.setSpan(context.active(), server);
  const client = tracer.startSpan('shop.v1.Inventory/reserve', {
    kind: SpanKind.CLIENT,
    attributes: { 'rpc.attempt': 2, ratio: 0.25, retried: true, items: ['a', 'b'] },
  }, ctx);
  client.addEvent('deadline expired', { 'pit.remaining_ms': 0 });
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'unavailable' });
  const inner = tracer.startSpan('local work', { kind: SpanKind.INTERNAL, links: [{ context: server.spanContext() }] },
    trace.setSpan(ctx, client));
  inner.end();
  client.end();
  server.end();
  return server.spanContext().traceId;
}

function nanos(hr) {
  return (BigInt(hr[0]) * 1000000000n + BigInt(hr[1])).toString();
}

// What the receiver keeps must be what the SDK recorded, field by field.
function assertSameSpans(traceId, kept) {
  const sdk = recorded.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  assert.equal(kept.length, sdk.length, 'every span of the trace arrived once');
  for (const s of sdk) {
    const k = kept.find((x) => x.spanId === s.spanContext().spanId);
    assert.ok(k, `span ${s.name} arrived`);
    assert.equal(k.traceId, traceId);
    assert.equal(k.parentSpanId, s.parentSpanId ?? '');
    assert.equal(k.name, s.name);
    assert.equal(k.kind, s.kind + 1, 'OTLP kind = API kind + 1 (0 is UNSPECIFIED)');
    assert.equal(k.startTimeUnixNano, nanos(s.startTime));
    assert.equal(k.endTimeUnixNano, nanos(s.endTime));
    assert.deepEqual(k.attributes, s.attributes);
    assert.equal(k.status.code, s.status.code);
    assert.equal(k.status.message, s.status.message ?? '');
    assert.deepEqual(k.events.map((e) => [e.name, e.timeUnixNano, e.attributes]),
      s.events.map((e) => [e.name, nanos(e.time), e.attributes ?? {}]));
    assert.deepEqual(k.links.map((l) => [l.traceId, l.spanId]), s.links.map((l) => [l.context.traceId, l.context.spanId]));
    assert.equal(k.resource['service.name'], 'otlp-selftest');
    assert.equal(k.resource['service.version'], '1.2.3');
    assert.deepEqual(k.scope, { name: 'pit-selftest', version: '0.1' });
  }
}

function exportWith(exporter, traceId) {
  const spans = recorded.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  return new Promise((resolve, reject) => exporter.export(spans, (r) => (r.code === 0 ? resolve() : reject(r.error ?? new Error(`export code ${r.code}`)))));
}

const exporters = {
  'exporter-trace-otlp-http (JSON)': () => new JsonExporter({ url: `${base}/v1/traces` }),
  'exporter-trace-otlp-http (JSON, gzip)': () => new JsonExporter({ url: `${base}/v1/traces`, compression: 'gzip' }),
  'exporter-trace-otlp-proto (protobuf)': () => new ProtoExporter({ url: `${base}/v1/traces` }),
};
for (const [name, make] of Object.entries(exporters)) {
  await check(`spans from the official ${name} arrive exactly as the SDK recorded them`, async () => {
    const traceId = makeTrace(name.replace(/\W+/g, '-'));
    const before = await get('/stats');
    const exporter = make();
    await exportWith(exporter, traceId);
    await exporter.shutdown();
    const after = await get('/stats');
    assert.equal(after.rejected, before.rejected, `not rejected (last rejection: ${after.lastRejection})`);
    assertSameSpans(traceId, (await get(`/traces/${traceId}`)).spans);
  });
}

await check('the official exporter retries an injected 503 with Retry-After, and its spans then arrive', async () => {
  await post('/control', { status: 503, retryAfter: '0', count: 1 });
  const traceId = makeTrace('retried');
  const before = await get('/stats');
  const exporter = new JsonExporter({ url: `${base}/v1/traces` });
  await exportWith(exporter, traceId);
  await exporter.shutdown();
  const after = await get('/stats');
  assert.equal(after.injected['503'] - (before.injected['503'] ?? 0), 1);
  assertSameSpans(traceId, (await get(`/traces/${traceId}`)).spans);
});

// ---- hostile bodies ------------------------------------------------------------------------------
const T = '5b8efff798038103d269b633813fc60c';
const S = 'eee19b7ec3c1b174';
function request(span, extra = {}) {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hostile' } }] },
      scopeSpans: [{ scope: { name: 'pit' }, spans: [{ traceId: T, spanId: S, name: 'a/b', kind: 2, startTimeUnixNano: '1000', endTimeUnixNano: '2000', ...span }] }],
    }],
    ...extra,
  };
}

await check('a well-formed hand-written request is accepted (int64 as string or number, parentSpanId "")', async () => {
  await post('/reset', '');
  const r = await post('/v1/traces', request({ parentSpanId: '', endTimeUnixNano: 3000, status: { code: 1 }, attributes: [{ key: 'n', value: { intValue: 7 } }] }));
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body), {});
  const kept = (await get(`/traces/${T}`)).spans;
  assert.equal(kept.length, 1);
  assert.equal(kept[0].endTimeUnixNano, '3000');
  assert.deepEqual(kept[0].attributes, { n: 7 });
});

const hostile = {
  'a base64 trace id': request({ traceId: Buffer.from(T, 'hex').toString('base64') }),
  'a base64 span id': request({ spanId: Buffer.from(S, 'hex').toString('base64') }),
  'a base64 parent span id': request({ parentSpanId: Buffer.from(S, 'hex').toString('base64') }),
  'a base64 link id': request({ links: [{ traceId: Buffer.from(T, 'hex').toString('base64'), spanId: S }] }),
  'a trace id of the wrong length': request({ traceId: T.slice(2) }),
  'a non-hex trace id': request({ traceId: 'z' + T.slice(1) }),
  'an all-zero trace id': request({ traceId: '0'.repeat(32) }),
  'a missing span id': request({ spanId: undefined }),
  'the span kind as a name': request({ kind: 'SPAN_KIND_SERVER' }),
  'the status code as a name': request({ status: { code: 'STATUS_CODE_ERROR' } }),
  'an unknown key in a span': request({ colour: 'red' }),
  'an unknown key at the top': request({}, { partialSuccess: {} }),
  'an unknown key in the resource': { resourceSpans: [{ resource: { attributes: [], labels: {} }, scopeSpans: [] }] },
  'a snake_case key': request({ start_time_unix_nano: '1000' }),
  'the proto name of a message field': { resource_spans: [] },
  'a string where a bool belongs': request({ attributes: [{ key: 'k', value: { boolValue: 'true' } }] }),
  'an int64 that is not a number': request({ startTimeUnixNano: 'soon' }),
  'an object where a list belongs': request({ attributes: { k: 'v' } }),
  'a span without a name': request({ name: '' }),
  'a span that ends before it starts': request({ startTimeUnixNano: '2000', endTimeUnixNano: '1000' }),
  'a body that is not JSON': '{"resourceSpans": [',
  'a JSON array': [],
};
for (const [what, body] of Object.entries(hostile)) {
  await check(`${what} is rejected with 400 and nothing is kept`, async () => {
    await post('/reset', '');
    const r = await post('/v1/traces', body);
    assert.equal(r.status, 400, r.body);
    assert.equal(typeof JSON.parse(r.body).message, 'string');
    assert.equal((await get('/stats')).spans, 0);
  });
}

await check('a body of another content type is refused with 415', async () => {
  const r = await post('/v1/traces', request({}), { 'content-type': 'text/plain' });
  assert.equal(r.status, 415);
});

await check('garbage sent as protobuf is rejected with 400', async () => {
  const r = await post('/v1/traces', '\xff\xff\xff\xff', { 'content-type': 'application/x-protobuf' });
  assert.equal(r.status, 400);
});

// ---- injected answers ------------------------------------------------------------------------------
await check('/control: the next N requests get 429 with Retry-After, then normal answers', async () => {
  await post('/control', { status: 429, retryAfter: '3', count: 2 });
  for (let i = 0; i < 2; i += 1) {
    const r = await post('/v1/traces', request({}));
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '3');
  }
  assert.equal((await post('/v1/traces', request({}))).status, 200);
});

await check('/control: 503 until told otherwise; nothing is kept', async () => {
  await post('/reset', '');
  await post('/control', { status: 503 });
  for (let i = 0; i < 3; i += 1) assert.equal((await post('/v1/traces', request({}))).status, 503);
  assert.equal((await get('/stats')).spans, 0);
  await post('/control', {});
  assert.equal((await post('/v1/traces', request({}))).status, 200);
});

await check('/control: delayMs answers that much later', async () => {
  await post('/control', { delayMs: 300, count: 1 });
  const t0 = performance.now();
  assert.equal((await post('/v1/traces', request({}))).status, 200);
  assert.ok(performance.now() - t0 >= 290, 'answered late');
  const t1 = performance.now();
  assert.equal((await post('/v1/traces', request({}))).status, 200);
  assert.ok(performance.now() - t1 < 290, 'then on time again');
});

await check('/control: hang never answers; the client gives up', async () => {
  await post('/control', { hang: true, count: 1 });
  const aborted = await fetch(`${base}/v1/traces`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request({})), signal: AbortSignal.timeout(500),
  }).then(() => false, (e) => e.name === 'TimeoutError');
  assert.ok(aborted, 'no answer within 500 ms');
  assert.equal((await get('/stats')).hung, 1);
  assert.equal((await post('/v1/traces', request({}))).status, 200);
});

await check('SIGTERM stops the receiver with exit code 0, even with an unanswered request', async () => {
  await post('/control', { hang: true });
  fetch(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => {});
  await new Promise((r) => setTimeout(r, 100));
  const code = await new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.equal(code, 0);
});

const failed = results.filter(([r]) => r !== 'ok').length;
console.log(`${results.length - failed} passed, ${failed} failed`);
await provider.shutdown();
process.exit(failed ? 1 : 0);
