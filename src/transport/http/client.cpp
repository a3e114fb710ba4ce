// The outbound terminal: a call as one or more attempts.
//
// The rules (docs/http.md, "Attempts"), in the order the loop applies them:
// - The request is encoded once. Each attempt goes to an endpoint the balancer picks, not
//   one this call already tried while another exists, and carries the time left before
//   the call's deadline (Pit-Timeout) and its number (Pit-Attempt, 1-based).
// - An attempt whose request was never written (refused, reset before the write, a stale
//   pooled connection) may be sent again for any operation: a requeue.
// - Otherwise only an idempotent operation is retried, and only when the callee said the
//   fault is retryable (problem+json "retryable": true on unavailable or
//   resource_exhausted) or the connection was lost after the write. Never on
//   deadline_exceeded.
// - Before a retry: a wait of exponential backoff with full jitter, the callee's
//   Retry-After as a floor. If the deadline cannot fit the wait and a minimal attempt,
//   the call ends with the last fault.
// - Every retry, requeue and hedge is paid from the client's retry budget (fed by every
//   call); an empty budget ends the call with the last fault.
// - A deduplicated operation (docs/durability.md) is retried like an idempotent one, with
//   the same Idempotency-Key on every attempt, and after a 409 (its twin still running).
// - Hedging (idempotent operations that are not deduplicated, when configured): one extra attempt on another
//   endpoint after the hedge delay. The first answer wins; the other attempt is cancelled
//   and its connection closed.
// - The client's max_in_flight bounds its calls: past it, resource_exhausted at once.
#include "transport/http/client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <vector>

#include "call/call_access.hpp"
#include "client/enter.hpp"
#include "durability/idempotency_key.hpp"
#include "fault/exception_mappers.hpp"
#include "observability/log_format.hpp"
#include "observability/metrics.hpp"
#include "observability/tracer.hpp"
#include "outbound/backoff.hpp"
#include "pit/asio.hpp"
#include "transport/http/attempt.hpp"
#include "transport/http/remote_client.hpp"
#include "transport/http/wire.hpp"

namespace pit::detail {

namespace asio = boost::asio;

namespace {

// Time kept back from the deadline sent downstream, so the callee gives up before we do
// and its answer can still travel back.
constexpr auto kDeadlineMargin = std::chrono::milliseconds(5);

Fault unreachable(const std::string& base, const boost::system::error_code& ec, bool retryable) {
  Fault f = Fault::unavailable("the service is unreachable").with_cause(base + ": " + ec.message()).from(Fault::Origin::runtime);
  if (retryable) f.with(Fault::retryable);
  return f;
}

Fault untrusted(const std::string& base, const boost::system::error_code& ec) {
  return Fault::unavailable("the service is unreachable")
      .with_cause(base + ": TLS handshake failed: " + ec.message())
      .from(Fault::Origin::runtime);
}

Fault reply_too_large(const std::string& base, std::optional<std::uint64_t> announced, std::size_t limit) {
  std::string cause = base + ": the reply body";
  if (announced) cause += " of " + std::to_string(*announced) + " bytes";
  cause += " is larger than the limit of " + std::to_string(limit) +
           " bytes (http.max_reply_bytes, or the operation's max_reply_bytes)";
  return Fault::internal("the reply is too large").with_cause(std::move(cause)).from(Fault::Origin::runtime);
}

// Retry-After as delta-seconds (an HTTP date is not used); at most an hour.
std::chrono::microseconds retry_after_of(std::string_view value) {
  unsigned seconds = 0;
  const auto r = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (r.ec != std::errc{} || r.ptr != value.data() + value.size()) return {};
  return std::chrono::seconds(std::min(seconds, 3600U));
}

// What the loop makes of an attempt that ended.
struct Verdict {
  Outcome outcome;  // success: the attempt's body is the reply
  outbound::Result health = outbound::Result::other_fault;
  bool final = true;      // the call's answer, whatever else is still running
  bool requeue = false;   // never written: may be sent again, whatever the operation
  bool retryable = false; // may be retried if the operation is idempotent
};

Verdict judge(const Attempt& a, std::size_t reply_limit) {
  const std::string& base = a.pool->address().base;
  Verdict v;
  switch (a.ended) {
    case Ended::reply: {
      if (a.status == 200) {
        v.health = outbound::Result::success;
        return v;
      }
      Fault f = http_wire::fault_of_problem(a.status, a.body);
      v.health = f.code() == Code::unavailable ? outbound::Result::unavailable : outbound::Result::other_fault;
      // aborted: a deduplicated call still running under the same key (409): sent again
      // after Retry-After, it gets the stored outcome.
      v.retryable = f.has(Fault::retryable) &&
                    (f.code() == Code::unavailable || f.code() == Code::resource_exhausted || f.code() == Code::aborted);
      v.final = !v.retryable;
      v.outcome = std::move(f);
      return v;
    }
    case Ended::not_written:
      v.outcome = unreachable(base, a.error, true);
      // A pooled connection the server closed while idle says nothing of the endpoint.
      v.health = a.reused ? outbound::Result::other_fault : outbound::Result::connect_failure;
      v.final = false;
      v.requeue = true;
      return v;
    case Ended::lost_after_write:
      // The callee may have acted: only an idempotent operation may be sent again.
      v.outcome = unreachable(base, a.error, false);
      v.health = a.reused ? outbound::Result::other_fault : outbound::Result::connect_failure;
      v.final = false;
      v.retryable = true;
      return v;
    case Ended::untrusted:
      // A server that fails the handshake is not one to retry against.
      v.outcome = untrusted(base, a.error);
      v.health = outbound::Result::connect_failure;
      return v;
    case Ended::reply_too_large:
      // The callee answered; the answer is more than this caller takes. Not retried.
      v.outcome = reply_too_large(base, a.announced, reply_limit);
      return v;
    case Ended::running:
    case Ended::cancelled:
      break;
  }
  v.outcome = Fault::cancelled("the attempt was cancelled").from(Fault::Origin::runtime);
  return v;
}

struct Running {
  std::shared_ptr<Attempt> attempt;
  std::shared_ptr<outbound::Endpoint> endpoint;
};

// The loop waits here for whichever attempt ends first (or the hedge delay). The call's
// cancellation (deadline, caller gone, shutdown) cancels every attempt in flight; each
// then ends promptly and wakes the loop.
struct WaitForAttempts {
  Exchange& exchange;
  const Context& call;
  std::vector<Running>& running;
  const Context* saved = nullptr;

  bool await_ready() noexcept {
    saved = current_context();
    return exchange.woken || exchange.hedge_due;
  }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    exchange.waiter = h;
    ContextAccess::set_cancel_hook(call, {&cancel_all, &running});
  }
  void await_resume() noexcept {
    ContextAccess::set_cancel_hook(call, {});
    exchange.woken = false;
    set_current_context(saved);
  }
  static void cancel_all(void* p) noexcept {
    for (auto& r : *static_cast<std::vector<Running>*>(p)) ContextAccess::cancel(r.attempt->cancel, CancelReason::caller);
  }
};

// However the loop's frame ends (returned, or destroyed with a stopped thread), nothing
// that outlives it points into it.
struct Detach {
  Exchange& exchange;
  const Context& call;
  ~Detach() {
    exchange.waiter = {};
    ContextAccess::set_cancel_hook(call, {});
  }
};

struct Record {
  std::uint32_t number;
  AttemptKind kind;
  std::string endpoint;
  Code code;
  std::chrono::microseconds took;
};

// An attempt as a CLIENT span, child of the call's span: its number and kind, the
// endpoint, how it ended (a lost hedge race or an abandoned attempt ends `cancelled`).
void record_attempt_span(Tracer& tracer, const Context& context, const Attempt& a, Clock::time_point ended, Code code) {
  SpanRecord span;
  const auto trace = context.trace_id();
  const auto parent = context.span_id();
  std::copy(trace.begin(), trace.end(), span.trace_id.begin());
  span.span_id = a.span_id;
  std::copy(parent.begin(), parent.end(), span.parent_span_id.begin());
  span.has_parent = true;
  span.kind = SpanKind::client;
  span.code = code;
  span.contract = context.contract();
  span.operation = context.operation();
  span.start = a.started;
  span.end = ended;
  if (const auto correlation = context.correlation_id(); correlation != trace) span.correlation_id = correlation;
  span.attempt = a.number;
  span.attempt_kind = to_string(a.kind);
  const EndpointAddress& address = a.pool->address();
  span.peer_host = address.host;
  unsigned port = 0;
  std::from_chars(address.port.data(), address.port.data() + address.port.size(), port);
  span.peer_port = static_cast<std::uint16_t>(port);
  if (code == Code::cancelled) span.add_event({SpanEvent::Kind::cancelled, ended, CancelReason::caller});
  tracer.record(std::move(span));
}

}  // namespace

bool configured_remote(const HostOptions& options, std::string_view contract) {
  const auto it = options.clients.find(contract);
  return it != options.clients.end() && (!it->second.endpoints.empty() || !it->second.dns.empty());
}

HttpChannel::HttpChannel(std::shared_ptr<Host::State> state, const ContractInfo& contract, std::vector<std::string> urls)
    : state_(std::move(state)), settings_(resolve_settings(state_->options, contract, state_->metrics, "client")) {
  const auto it = state_->options.clients.find(contract.name);
  const ClientOptions options = it != state_->options.clients.end() ? it->second : ClientOptions{};
  if (configured_remote(state_->options, contract.name)) urls.clear();  // configuration wins
  client_ = state_->remote_clients->get(contract, options, std::move(urls));
}

HttpChannel::~HttpChannel() = default;

Task<Outcome> HttpChannel::call(CallRef call) {
  const auto* settings = &settings_[call->operation().index];
  return enter(*state_, &Host::State::outbound, std::move(call), client_.get(), settings, "http");
}

void make_outbound(Host::State& state) {
  state.connection_pools = std::make_shared<ConnectionPools>(state.options.http);
  state.remote_clients = std::make_shared<RemoteClients>(state.connection_pools);
  state.metrics.add_section([clients = state.remote_clients](std::string& out) { clients->render(out); });
}

void start_outbound(Host::State& state) {
  state.remote_clients->start([&state]() -> asio::any_io_executor { return state.home_for_new_call().io().get_executor(); });
}

void stop_outbound(Host::State& state) { state.remote_clients->stop(); }

void close_idle_connections(Host::State& state) { state.connection_pools->close_idle(); }

Task<Outcome> HttpSend::dispatch(Call& call) {
  auto* client = static_cast<RemoteClient*>(CallAccess::target(call));
  const OperationInfo& op = call.operation();
  const Context& context = call.context();
  IoThread& home = *CallAccess::home(call);
  ClientOperation& stats = client->operation(op.index);
  const OperationSettings* settings = CallAccess::settings(call);
  const std::size_t reply_limit = settings != nullptr ? settings->max_reply_bytes : options_.max_reply_bytes;

  if (!client->try_enter()) {
    co_return Fault::resource_exhausted("too many calls in flight to this service")
        .with_cause(std::string(client->contract().name) + ": more than clients.max_in_flight = " +
                    std::to_string(client->options().max_in_flight))
        .with(Fault::rejected)
        .from(Fault::Origin::runtime);
  }
  struct Leave {
    RemoteClient& c;
    ~Leave() { c.leave(); }
  } leave{*client};
  client->budget().on_request(Clock::now());

  auto request = std::make_shared<EncodedRequest>();
  if (auto error = capture([&] { request->body = op.hooks.encode_request(call); })) {
    Fault f = to_fault(error, {});
    co_return Fault::internal("the request could not be encoded").with_cause(f.cause()).from(Fault::Origin::runtime);
  }
  request->target = "/" + std::string(op.full_name);
  // Set by the outbound_identity policy: the caller's identity, carried onward.
  request->credential = CallAccess::credential(call);
  if (http_wire::valid_request_id(context.correlation_id())) request->request_id = std::string(context.correlation_id());
  request->traceparent = http_wire::format_traceparent(context.trace_id(), context.span_id(), context.sampled());
  request->tracestate = std::string(context.tracestate());
  // Every attempt of the call carries the one key the call was given (client/invoke.cpp).
  if (op.spec.is_deduplicated() && !CallAccess::idempotency_key(call).empty()) {
    request->idempotency_key = durability::format_key_header(CallAccess::idempotency_key(call));
  }
  request->reply_limit = reply_limit;
  request->header_limit = options_.max_header_bytes;
  request->handshake_timeout = options_.read_timeout;
  const std::shared_ptr<const EncodedRequest> encoded = std::move(request);

  // A sampled call's attempts are spans of their own (the tracing policy decided).
  const bool traced = tracer_ != nullptr && context.sampled();
  // A deduplicated operation is as safe to send again as an idempotent one (its key makes
  // a second run a replay), but never hedged: a hedge would only meet its twin's claim.
  const bool idempotent = op.spec.is_idempotent() || op.spec.is_deduplicated();
  const bool hedgeable = op.spec.is_idempotent() && !op.spec.is_deduplicated();
  const std::size_t max_attempts = std::max<std::size_t>(1, stats.retry.max_attempts);
  auto& endpoints = client->endpoints();
  const auto exchange = std::make_shared<Exchange>();
  std::vector<Running> running;
  std::vector<std::shared_ptr<outbound::Endpoint>> tried;
  std::vector<const outbound::Endpoint*> tried_raw;
  std::vector<Record> records;
  const Detach detach{*exchange, context};
  std::uint32_t made = 0;
  std::size_t retries = 0;
  bool hedged = false;
  std::optional<Fault> last;
  bool last_requeue = false;
  bool last_reused = false;  // the last failure was on a pooled connection
  std::chrono::microseconds retry_after{0};
  asio::steady_timer hedge_timer{home.io()};

  // Starts an attempt of `kind`; false when there is no endpoint or no time left. A hedge
  // goes only to an endpoint not tried yet, and is paid from the budget here.
  const auto launch = [&](AttemptKind kind) -> bool {
    const auto now = Clock::now();
    std::chrono::nanoseconds timeout{0};
    if (context.deadline() != Clock::time_point::max()) {
      timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(context.deadline() - now - kDeadlineMargin);
      if (timeout.count() <= 0) return false;
    }
    auto endpoint = endpoints.pick(now, tried_raw);
    if (!endpoint) return false;
    if (kind == AttemptKind::hedge) {
      if (std::find(tried_raw.begin(), tried_raw.end(), endpoint.get()) != tried_raw.end()) return false;
      if (!client->budget().try_withdraw(now)) {
        stats.count_suppressed(Suppressed::budget);
        return false;
      }
    }
    auto a = std::make_shared<Attempt>();
    a->exchange = exchange;
    a->pool = client->pool(*endpoint);
    a->kind = kind;
    a->number = ++made;
    a->timeout = timeout;
    if (traced) {
      random_hex(a->span_id.data(), a->span_id.size());
      a->traceparent = http_wire::format_traceparent(context.trace_id(), {a->span_id.data(), a->span_id.size()}, true);
    }
    endpoints.started(*endpoint);
    if (std::find(tried_raw.begin(), tried_raw.end(), endpoint.get()) == tried_raw.end()) {
      tried_raw.push_back(endpoint.get());
      tried.push_back(endpoint);
    }
    running.push_back({a, std::move(endpoint)});
    start_attempt(std::move(a), encoded, home);
    return true;
  };
  // Books an ended (or abandoned) attempt: the endpoint's health, the metrics, the log.
  const auto book = [&](const Running& r, outbound::Result health, Code code) {
    const auto& a = *r.attempt;
    const auto ended = a.ended_at == Clock::time_point{} ? Clock::now() : a.ended_at;
    endpoints.finished(*r.endpoint, health, ended - a.started, ended);
    if (health == outbound::Result::connect_failure) client->connect_failed();
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(ended - a.started);
    stats.count_attempt(a.kind, code, took);
    records.push_back({a.number, a.kind, a.pool->address().base, code, took});
    if (traced) record_attempt_span(*tracer_, context, a, ended, code);
  };
  // The call's answer: the losers cancelled, the attempts on the call line and, when the
  // call took more than one or failed, one line each.
  const auto finish = [&](Outcome outcome) -> Outcome {
    hedge_timer.cancel();
    for (auto& r : running) {
      ContextAccess::cancel(r.attempt->cancel, CancelReason::caller);  // its connection is closed
      // A first attempt or retry still out when the call succeeded lost to its hedge.
      const bool lost_race = outcome.ok() && r.attempt->kind != AttemptKind::hedge;
      book(r, lost_race ? outbound::Result::lost_race : outbound::Result::abandoned, Code::cancelled);
    }
    running.clear();
    CallAccess::set_attempts(call, made);
    if (outcome.ok() && stats.retry.hedge == Hedge::p95) stats.latency.add(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - CallAccess::started(call)));
    if ((made > 1 || !outcome.ok()) && log::enabled(log::Level::info)) {
      for (const auto& r : records) {
        log::info("attempt", {{"kind", "client"},
                              {"attempt", r.number},
                              {"attempt_kind", to_string(r.kind)},
                              {"endpoint", r.endpoint},
                              {"code", to_string(r.code)},
                              {"duration_us", static_cast<std::int64_t>(r.took.count())}});
      }
    }
    return outcome;
  };

  if (!launch(AttemptKind::first)) {
    if (context.deadline() != Clock::time_point::max() && context.deadline() - Clock::now() <= kDeadlineMargin) {
      co_return finish(Fault::deadline_exceeded("deadline exceeded before the call was sent").from(Fault::Origin::runtime));
    }
    co_return finish(Fault::unavailable("the service has no endpoint to call")
                         .with_cause(std::string(client->contract().name) + ": no endpoint (DNS not resolved yet?)")
                         .with(Fault::retryable)
                         .from(Fault::Origin::runtime));
  }
  if (hedgeable && stats.retry.hedge != Hedge::off && endpoints.size() > 1) {
    auto delay = std::chrono::duration_cast<std::chrono::microseconds>(stats.retry.hedge_delay);
    if (stats.retry.hedge == Hedge::p95) delay = std::max(delay, stats.latency.p95());
    hedge_timer.expires_after(delay);
    hedge_timer.async_wait([exchange](const boost::system::error_code& ec) {
      if (ec) return;
      exchange->hedge_due = true;
      exchange->wake();
    });
  }

  for (;;) {
    WaitForAttempts any_ended{*exchange, context, running};  // named: GCC 12 and braced temporaries
    co_await any_ended;
    if (context.cancelled()) co_return finish(cancellation_fault(context.cancel_reason()));
    // The attempts that ended, in the order they are listed (at most two).
    for (std::size_t i = 0; i < running.size();) {
      if (running[i].attempt->ended == Ended::running) {
        ++i;
        continue;
      }
      Running r = std::move(running[i]);
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      Verdict v = judge(*r.attempt, reply_limit);
      book(r, v.health, v.outcome.code());
      if (v.final) {
        if (!v.outcome.ok()) {
          const Code c = v.outcome.code();
          if (c == Code::unavailable || c == Code::resource_exhausted || c == Code::deadline_exceeded) {
            stats.count_suppressed(Suppressed::not_retryable);
          }
          co_return finish(std::move(v.outcome));
        }
        // The winner's reply, decoded once.
        const std::string& body = r.attempt->body;
        std::size_t unknown_fields = 0;
        if (auto error = capture([&] { unknown_fields = op.hooks.decode_reply(call, body); })) {
          co_return finish(Fault::internal("the reply could not be decoded")
                               .with_cause(r.attempt->pool->address().base + ": " + to_fault(error, {}).message())
                               .from(Fault::Origin::runtime));
        }
        if (settings != nullptr && settings->metrics != nullptr) settings->metrics->count_unknown_fields(unknown_fields);
        co_return finish(Outcome::success());
      }
      last = std::move(v.outcome.fault());
      last_requeue = v.requeue;
      last_reused = r.attempt->reused;
      retry_after = retry_after_of(r.attempt->retry_after);
    }
    if (exchange->hedge_due) {
      exchange->hedge_due = false;
      if (!hedged && running.size() == 1) {
        hedged = true;
        (void)launch(AttemptKind::hedge);
      }
    }
    if (!running.empty()) continue;

    // Every attempt so far failed, none is running: one more, or the last fault.
    const AttemptKind kind = last_requeue ? AttemptKind::requeue : AttemptKind::retry;
    if (!last_requeue) {
      if (!idempotent) {
        stats.count_suppressed(Suppressed::not_idempotent);
        co_return finish(std::move(*last));
      }
    }
    // A stale pooled connection (the server closed it while idle) may cost one attempt
    // past max_attempts: the request never left, and the endpoint did nothing wrong. Any
    // other requeue (refused, reset before the write) is an attempt like the others, so
    // with every replica down a call makes max_attempts attempts, not more.
    if (made >= max_attempts + (last_requeue && last_reused ? 1 : 0)) co_return finish(std::move(*last));
    const auto now = Clock::now();
    const bool fresh_endpoint = tried.size() < endpoints.size();
    ++retries;
    std::chrono::microseconds wait{0};
    // A requeue to another endpoint, or after a stale pooled connection, goes at once.
    if (!(last_requeue && (fresh_endpoint || last_reused))) wait = client->backoff().wait(retries, outbound::random_unit(), retry_after);
    if (outbound::fits_before(now, wait, context.deadline()) != outbound::Fit::fits) {
      stats.count_suppressed(Suppressed::deadline);
      co_return finish(std::move(*last));
    }
    if (!client->budget().try_withdraw(now)) {
      stats.count_suppressed(Suppressed::budget);
      co_return finish(std::move(*last));
    }
    if (wait.count() > 0) {
      asio::steady_timer pause{home.io(), wait};
      bool interrupted = false;
      try {
        co_await pause.async_wait(use_task);
      } catch (const boost::system::system_error&) {
        interrupted = true;
      }
      if (interrupted || context.cancelled()) co_return finish(cancellation_fault(context.cancel_reason()));
    }
    if (!launch(kind)) co_return finish(std::move(*last));
  }
}

}  // namespace pit::detail
