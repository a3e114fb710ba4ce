// A client of the live shop, typed only by what openapi-typescript generated from the
// gateway's OpenAPI document ("shop-api": the test maps it to the generated file), through
// openapi-fetch. Type-checked by tsc (strict), then run:
//
//   node client.mjs BASE_URL TOKEN success|fault|refused
//
// success: buys an apple; fault: buys an unknown sku (a declared not_found); refused: a buy
// the gateway refuses (503) because another holds its only slot. Prints one JSON line of
// what the typed client saw.
import createClient from "openapi-fetch";
import type { paths } from "shop-api";

// Only what this file uses of Node (no @types/node needed).
declare const process: { argv: string[]; exitCode?: number };

type Buy = paths["/shop.v1.Gateway/buy"]["post"];
type Receipt = Buy["responses"][200]["content"]["application/json"];

const [baseUrl, token, mode] = process.argv.slice(2);
const client = createClient<paths>({ baseUrl: baseUrl ?? "", headers: { Authorization: `Bearer ${token ?? ""}` } });

function post(sku: string, quantity: number, requestId: string, timeout?: string) {
  return client.POST("/shop.v1.Gateway/buy", {
    body: { sku, quantity },
    params: { header: timeout === undefined ? { "X-Request-Id": requestId } : { "X-Request-Id": requestId, "Pit-Timeout": timeout } },
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// One buy; a retryable refusal is retried (for up to 10 s) when `retry` says so, as a client
// would: the gateway's only slot is freed when the previous buy's implementation returns,
// which may be just after its caller got the reply.
async function buy(sku: string, quantity: number, requestId: string, timeout?: string, retry = true) {
  let answer = await post(sku, quantity, requestId, timeout);
  for (let waited = 0; retry && answer.error?.retryable === true && waited < 10_000; waited += 50) {
    await sleep(50);
    answer = await post(sku, quantity, requestId, timeout);
  }
  const { data, error, response } = answer;
  if (data !== undefined) {
    const receipt: Receipt = data;
    const orderId: string = receipt.order_id;
    const remaining: number = receipt.remaining_stock;
    return { status: response.status, order_id: orderId, remaining_stock: remaining, served_by: receipt.served_by };
  }
  // Every declared fault and every fault the runtime may answer is a problem+json body.
  const code: string = error.code;
  const status: number = error.status;
  return {
    status: response.status,
    code,
    problem_status: status,
    retryable: error.retryable ?? false,
    retry_after: response.headers.get("Retry-After"),
    correlation_id: error.correlation_id,
  };
}

// The gateway under test admits one buy at a time: while a buy of slow-sku (the inventory
// hangs on it until the deadline) holds that slot, another buy is refused at once. Buys
// until one is refused, for as long as the slow one lasts.
async function refused() {
  let slowDone = false;
  const slow = buy("slow-sku", 1, "ts-slow", "3000m", false).finally(() => {
    slowDone = true;
  });
  let outcome: Awaited<ReturnType<typeof buy>> | undefined;
  for (let i = 0; !slowDone; i++) {
    outcome = await buy("apple", 1, `ts-refused-${i}`, undefined, false);
    if (outcome.status === 503) break;
    await sleep(20);
  }
  await slow;
  return outcome;
}

let outcome: unknown;
switch (mode) {
  case "success":
    outcome = await buy("apple", 1, "ts-success");
    break;
  case "fault":
    outcome = await buy("no-such-sku", 1, "ts-fault");
    break;
  case "refused":
    outcome = await refused();
    break;
  default:
    outcome = { usage: "node client.mjs BASE_URL TOKEN success|fault|refused" };
    process.exitCode = 2;
}
console.log(JSON.stringify(outcome));
