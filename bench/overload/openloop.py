#!/usr/bin/env python3
"""Open-loop HTTP/1.1 load: calls start on a schedule (Poisson or evenly spaced arrivals at
--rate per second), whatever the server's answers do; a call that finds no idle keep-alive
connection opens a new one, so slow answers never hold back later calls (no coordinated
omission). Used by bench/overload/run.sh; standard library only.

Writes one line per call to --log-file in h2load's --log-file format (tab-separated: start
as microseconds since the epoch, HTTP status or 0 for no answer, microseconds until the
end of the answer), with a call's start and duration counted from when it was due, not
from when it was sent. Prints a one-line JSON summary on stdout: calls due, answered,
how late the generator sent them (p99, max), connections opened, errors.

  openloop.py --url http://127.0.0.1:18191/shop.v1.Inventory/stock --body '{"sku":"apple"}' \
      --rate 640 --duration 10 --warmup 1 --log-file calls.tsv
"""

import argparse
import asyncio
import json
import random
import sys
import time
import urllib.parse


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--body", default="{}")
    p.add_argument("--rate", type=float, required=True, help="calls started per second")
    p.add_argument("--duration", type=float, required=True, help="seconds measured (after --warmup)")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds of the same load, not logged")
    p.add_argument("--arrivals", choices=("poisson", "uniform"), default="poisson")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0, help="a call unanswered this long counts as status 0")
    p.add_argument("--log-file", required=True)
    return p.parse_args()


class Client:
    def __init__(self, url, body, timeout):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        data = body.encode()
        self.request = (("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                         "Content-Length: %d\r\n\r\n") % (u.path or "/", self.host, self.port, len(data))).encode() + data
        self.timeout = timeout
        self.idle = []  # (reader, writer) of keep-alive connections with no call on them
        self.opened = 0
        self.errors = {}

    async def exchange(self):
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
        try:
            writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and "close" in value.lower():
                    close = True
            if length:
                await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status

    async def call(self, due, lag, records, wall_offset, logged):
        lag.append(time.monotonic() - due)
        try:
            status = await asyncio.wait_for(self.exchange(), self.timeout)
        except Exception as e:  # noqa: BLE001 - counted, the run goes on
            kind = type(e).__name__
            self.errors[kind] = self.errors.get(kind, 0) + 1
            status = 0
        if logged:
            records.append("%d\t%d\t%d\n" % ((due + wall_offset) * 1e6, status, (time.monotonic() - due) * 1e6))


async def run(args):
    client = Client(args.url, args.body, args.timeout)
    rng = random.Random(args.seed)
    records, lag, tasks = [], [], set()
    wall_offset = time.time() - time.monotonic()
    start = time.monotonic() + 0.05
    end = start + args.warmup + args.duration
    measured_from = start + args.warmup
    due = start
    n = 0
    while due < end:
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        t = asyncio.get_running_loop().create_task(client.call(due, lag, records, wall_offset, due >= measured_from))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        n += due >= measured_from
        due += rng.expovariate(args.rate) if args.arrivals == "poisson" else 1.0 / args.rate
    if tasks:
        await asyncio.wait(tasks)
    for _, writer in client.idle:
        writer.close()
    with open(args.log_file, "w") as f:
        f.writelines(records)
    lag.sort()
    summary = {
        "due": n, "logged": len(records), "rate": args.rate, "duration": args.duration,
        "arrivals": args.arrivals, "connections_opened": client.opened, "errors": client.errors,
        "lag_p99_ms": round(1000 * lag[int(0.99 * (len(lag) - 1))], 3) if lag else 0,
        "lag_max_ms": round(1000 * lag[-1], 3) if lag else 0,
    }
    print(json.dumps(summary))


def main():
    args = parse_args()
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
