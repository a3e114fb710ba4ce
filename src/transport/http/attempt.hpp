// One attempt of an outbound call: one HTTP exchange with one endpoint, run as a coroutine
// of its own so that two attempts of a call (a hedge) can be in flight at once, each
// cancellable on its own. The call's attempt loop (client.cpp) decides what to start and
// which answer wins; this file only moves bytes and says how the exchange ended.
#pragma once

#include <array>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/system/error_code.hpp>

#include "executors/executors.hpp"
#include "pit/context.hpp"
#include "transport/http/connection_pool.hpp"

namespace pit::detail {

// The request of a call, encoded once and shared by its attempts: each attempt sends these
// bytes with its own Pit-Timeout and Pit-Attempt.
struct EncodedRequest {
  std::string target;  // "/shop.v1.Inventory/count"
  std::string body;
  std::string credential;   // Authorization, if any
  std::string request_id;   // X-Request-Id, if valid
  std::string traceparent;
  std::string tracestate;   // the caller's, as it arrived (normalized); "" when none
  std::string idempotency_key;  // the Idempotency-Key header's value (an sf-string), if any
  std::size_t reply_limit = 0;
  std::size_t header_limit = 0;
  std::chrono::milliseconds handshake_timeout{0};
};

enum class AttemptKind : std::uint8_t { first, retry, requeue, hedge };
inline constexpr std::size_t kAttemptKinds = 4;
std::string_view to_string(AttemptKind kind) noexcept;

// How an attempt ended.
enum class Ended : std::uint8_t {
  running,
  reply,             // an HTTP answer: status and body
  not_written,       // failed before the whole request was written: safe to send again
  lost_after_write,  // the connection failed after the write: the callee may have acted
  untrusted,         // the TLS handshake failed: the same answer would come back
  reply_too_large,   // answered with more than the caller takes
  cancelled,         // the call was cancelled, or the attempt lost a hedge race
};

// A callee that keeps the request pending is the only wait in an attempt: the loop waits
// on the shared Exchange for whichever attempt ends first.
struct Exchange {
  std::coroutine_handle<> waiter;  // the call's loop, while it waits
  bool woken = false;              // something ended while the loop was not waiting
  bool hedge_due = false;          // the hedge delay has passed
  void wake() noexcept;
};

struct Attempt {
  Context cancel;  // the attempt's own cancellation: a lost hedge is cancelled, not the call
  std::shared_ptr<Exchange> exchange;
  std::shared_ptr<EndpointPool> pool;
  std::size_t endpoint = 0;  // the client's index of the endpoint
  AttemptKind kind = AttemptKind::first;
  std::uint32_t number = 1;  // 1-based, sent as Pit-Attempt
  std::chrono::nanoseconds timeout{0};  // sent as Pit-Timeout; zero: none
  Clock::time_point started{};
  Clock::time_point ended_at{};
  bool reused = false;  // on a pooled connection
  // Traced (a sampled call, spans exported): the attempt's own span id, and the
  // traceparent that carries it; otherwise empty, and the call's traceparent is sent.
  std::array<char, 16> span_id{};
  std::string traceparent;

  Ended ended = Ended::running;
  unsigned status = 0;
  std::string body;
  std::string retry_after;
  boost::system::error_code error;
  std::optional<std::uint64_t> announced;  // the reply's Content-Length, when too large
};

// Starts the attempt on `home` (the call's thread, the caller's thread): it runs until it
// ends, then records how in `attempt` and wakes the exchange. Listed on the thread, so a
// thread that stops first destroys it.
void start_attempt(std::shared_ptr<Attempt> attempt, std::shared_ptr<const EncodedRequest> request, IoThread& home);

}  // namespace pit::detail
