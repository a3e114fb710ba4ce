// pit::spawn — work that outlives the call that starts it, without escaping the runtime.
//
//   pit::Task<Receipt> place(Order order) override {
//     ...
//     pit::spawn("send-confirmation", send_confirmation(order.email));   // the caller does not wait
//     co_return receipt;
//   }
//
// A raw std::thread or a detached timer started inside an operation runs with no call
// context (its log lines have no ids), no deadline, nothing that cancels it at shutdown and
// nothing that catches its exceptions. Spawned work keeps the guarantees: it runs on an I/O
// thread of the host serving the current call, under a context of its own that carries the
// call's correlation id, trace and baggage (a new span, its own deadline), it counts as a
// call in flight (SIGTERM's grace period waits for it, then it is cancelled with reason
// shutdown), pit::log lines inside it carry its ids, and a failure is logged — never
// thrown anywhere. One log line says how it ended (kind "spawn").
#pragma once

#include <chrono>
#include <string_view>

#include "pit/task.hpp"

namespace pit {

// Starts `work` in the background of the current call. `name` (e.g. "send-confirmation")
// names it in logs. `timeout`: its deadline, from now (zero: the host's default timeout);
// at the deadline it is cancelled like a call. Inside an operation only (coroutine or sync):
// elsewhere it throws std::logic_error. While the host drains, it throws pit::Fault
// (unavailable): no new background work is started then.
void spawn(std::string_view name, Task<void> work, std::chrono::milliseconds timeout = {});

}  // namespace pit
