// pit::Host — owns the implementations, the pipeline, the executors; hands out proxies.
//
//   pit::Host host;
//   host.serve<Inventory, InventoryService>();
//   host.serve<Orders, OrdersService>(host.client<Inventory>());
//   host.run();
//
// No API returns an implementation object: callers get pit::Ref<C>, a proxy that sends
// every call through the host's one pipeline.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pit/audit.hpp"
#include "pit/contract.hpp"
#include "pit/fault.hpp"
#include "pit/log.hpp"
#include "pit/pipeline.hpp"

namespace pit {

namespace testing::detail {
struct HostAccess;  // the conformance kit's way in (pit/testing.hpp)
}

// The HTTP listener (docs/http.md). Limits are enforced before anything is decoded.
struct HttpOptions {
  // "address:port" to listen on; empty: no HTTP listener. Port 0 takes a free port
  // (Host::http_port() tells which).
  std::string listen;
  std::size_t max_body_bytes = 1U << 20U;      // larger: 413, without reading the body
  // The largest reply body, served or received. A reply that would be larger is not
  // encoded past the limit: the caller gets `internal` and the log the size and the
  // limit. A larger reply from another process fails the call with `internal` too.
  // 4 MiB: gRPC's default message limit, four times the request limit.
  std::size_t max_reply_bytes = 4U << 20U;
  std::size_t max_header_bytes = 16U << 10U;   // larger: 431
  std::chrono::milliseconds read_timeout{10'000};  // a request must arrive whole within it
  std::chrono::milliseconds idle_timeout{60'000};  // a keep-alive connection idle this long closes
  // More: accepted and closed at once. Lowered at start to fit the process's file
  // descriptor limit, with room left for everything else (docs/operations.md).
  std::size_t max_connections = 10'000;
  // Outbound (client) calls: idle keep-alive connections kept per target and I/O thread.
  std::size_t client_pool_idle = 16;

  // TLS on the listener (docs/tls.md): both files set, or neither (plaintext). PEM; the
  // certificate file may hold the chain after the leaf. TLS 1.2 at least, ALPN http/1.1.
  // The files are re-read when they change (checked every tls_reload_interval): new
  // connections get the new certificate; a bad new file keeps the old one, logged.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Mutual TLS: client certificates are verified against this CA bundle (PEM), and the
  // verified peer's identity (its spiffe:// URI SAN, else its subject CN) reaches the call.
  // Set it together with tls_client_auth optional or required (start refuses a mismatch).
  std::string tls_client_ca_file;
  enum class ClientAuth : std::uint8_t { none, optional, required };
  ClientAuth tls_client_auth = ClientAuth::none;
  std::chrono::milliseconds tls_reload_interval{5'000};  // 0: never re-read
  // Outbound https:// calls: the CA bundle trusted for servers ("" : the system's store),
  // and the certificate and key shown to servers that ask for one (both or neither).
  std::string client_ca_file;
  std::string client_cert_file;
  std::string client_key_file;
};

// The admin listener: /metrics, /healthz, /readyz, /openapi.json and the diagnostics pages
// (docs/operations.md, docs/observability.md).
struct AdminOptions {
  // "address:port"; empty: no admin listener. Keep it on loopback or a private network.
  std::string listen;
  // What changes state on the admin listener (POST: the log level, ...) needs this token
  // as a bearer credential; empty: nothing there changes state. Best given as
  // PIT_ADMIN_TOKEN. Read-only diagnostics pages answer on a loopback listener without it,
  // and need it elsewhere.
  std::string token;
  // Recent and slowest calls kept per operation for the diagnostics pages.
  std::size_t recent_calls = 32;
  // The longest a log level set at run time lasts before it reverts.
  std::chrono::milliseconds max_log_level_duration{3'600'000};
};

// Trace export (docs/observability.md): every call becomes an OpenTelemetry span, sent
// over OTLP/HTTP with the JSON encoding, off the call path. The standard OTEL_* variables
// are read where they apply (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER_ARG, ...);
// the configuration file wins over them.
struct TracingOptions {
  // The OTLP/HTTP traces URL ("http://127.0.0.1:4318/v1/traces"); empty: spans are not
  // exported (trace context still propagates).
  std::string endpoint;
  // Root calls sampled (0..1); a caller's decision is honoured for the rest.
  double sample_ratio = 1.0;
  // Spans waiting for export; when full, a span is dropped and counted, never waited for.
  std::size_t max_queue = 2048;
  std::size_t max_batch = 512;
  std::chrono::milliseconds export_interval{5'000};
  std::chrono::milliseconds export_timeout{10'000};
  // Extra headers on every export request (OTEL_EXPORTER_OTLP_HEADERS: "k=v,k2=v2").
  std::vector<std::pair<std::string, std::string>> headers;
  // service.instance.id; empty: "<hostname>:<pid>".
  std::string instance;
  // More resource attributes (OTEL_RESOURCE_ATTRIBUTES: "k=v,k2=v2"), as strings.
  std::vector<std::pair<std::string, std::string>> resource_attributes;
  // A caller that sends this token in the Pit-Trace-Force header has its call sampled
  // whatever the ratio and its parent say (an on-call engineer's one traced request);
  // empty: nobody can force sampling.
  std::string force_token;
};

// Deduplicated operations (docs/durability.md, OpSpec::deduplicated): where their claims
// and settled replies are kept.
enum class DedupStore : std::uint8_t { sqlite, postgres };
struct DurabilityOptions {
  DedupStore store = DedupStore::sqlite;
  // The SQLite file; empty: "<service name or first contract>.dedup.sqlite" in the
  // working directory.
  std::string sqlite_path;
  // How long a write waits for another process's lock on the SQLite file before the call
  // is refused (unavailable).
  std::chrono::milliseconds sqlite_busy_timeout{5'000};
  // libpq connection string ("host=127.0.0.1 port=5432 dbname=pit user=pit"), for
  // store = postgres; best given as PIT_DURABILITY_POSTGRES_URL.
  std::string postgres_url;
  std::size_t postgres_connections = 4;
  // Settled records kept at least this long unless the operation declares its own; purged
  // in the background every purge_interval.
  std::chrono::milliseconds retention{86'400'000};
  std::chrono::milliseconds purge_interval{60'000};
};

// Admission control (docs/reliability.md): how many calls the host serves at once, and
// how many may wait for a slot. A call past both is refused at once: `unavailable`,
// rejected and retryable (HTTP 503 with Retry-After). Waiting counts against the call's
// deadline. Calls an operation makes in-process to this same host are not counted again
// against the host-wide limit (they are part of an admitted call), only against their
// own operation's limit, if it has one.
struct AdmissionOptions {
  std::size_t max_in_flight = 1000;  // calls being served; 0: no host-wide limit
  std::size_t max_queue = 1000;      // calls waiting for one of those slots
};

// Who may call (docs/security.md). Operations declare their requirements in the contract;
// this says whose bearer tokens prove a caller's identity, and how this service proves its
// own to the services it calls.
struct AuthOptions {
  // The issuer (`iss`) whose JWT access tokens are accepted; empty: none is (a presented
  // token is refused), and only in-process identities and client certificates count.
  std::string issuer;
  // Its signing keys: a JWKS URL (fetched at start, refreshed in the background, refetched
  // at most once per jwks_min_refetch for an unknown key id), or a local JWKS file.
  std::string jwks_url;
  std::string jwks_file;
  // Audiences (`aud`) accepted besides the name of the contract called.
  std::vector<std::string> audiences;
  std::chrono::milliseconds leeway{30'000};  // clock skew allowed for exp/nbf (at most 5 min)
  std::size_t max_token_bytes = 8192;        // longer: refused before it is decoded
  std::size_t token_cache = 10'000;          // verified tokens kept (until they expire)
  std::chrono::milliseconds jwks_refresh{300'000};
  std::chrono::milliseconds jwks_min_refetch{5'000};
  // Accept bearer tokens on a listener without TLS (loopback development, or behind a
  // TLS-terminating proxy or mesh). Logged at start. Off: such a token is refused.
  bool plaintext_bearer = false;
  std::string roles_claim = "roles";
  std::vector<std::string> keep_claims;  // claims copied into pit::caller().claims
  // This service's own client at the issuer, for calls it makes: client credentials and
  // token exchange (RFC 8693). The secret is best given as PIT_AUTH_CLIENT_SECRET.
  std::string token_url;
  std::string client_id;
  std::string client_secret;
};

// How a call to another process carries the identity of the call that makes it.
enum class OutboundIdentity : std::uint8_t {
  exchange,  // RFC 8693 token exchange: a token for the downstream, the caller as subject
  forward,   // the caller's own token, only when its audience names the downstream
  own,       // this service's own token (client credentials), whoever the caller is
  none,      // no credential at all
};

// Settings of one contract ("shop.v1.Orders") or one operation ("shop.v1.Orders/place").
// Unset fields fall through: operation → contract → the contract's declaration → host.
struct OperationOptions {
  std::optional<std::chrono::milliseconds> timeout;  // replaces the declared timeout
  std::optional<bool> log_calls;
  std::optional<std::size_t> max_body_bytes;         // HTTP requests to it
  std::optional<std::size_t> max_reply_bytes;        // its replies, served or received
  // A limit of the operation's own on calls in flight, and its wait queue (default 0:
  // none waits), checked before the host-wide one. Set on a contract, each of its
  // operations gets a limit of that size.
  std::optional<std::size_t> max_in_flight;
  std::optional<std::size_t> max_queue;
  // Fault injection (docs/reliability.md), only while HostOptions::fault_injection is on:
  // for inject_percent (0..100) of the calls, wait inject_delay (cancellable: the
  // deadline still bounds the call), then fail with inject_code if one is set, as if the
  // implementation had raised it — the fault contract decides whether the caller sees
  // that code or `internal`.
  // Access (docs/security.md): scopes and roles a caller must hold in addition to what the
  // contract declares. Configuration can only narrow: an operation the code leaves closed
  // or open to some callers is never opened further.
  std::vector<std::string> require_scopes;
  std::vector<std::string> require_roles;
  // As a client of the contract: how its calls carry the caller's identity. Unset:
  // exchange when auth.token_url is set, else forward.
  std::optional<OutboundIdentity> outbound_identity;
  std::optional<int> inject_percent;
  std::optional<std::chrono::milliseconds> inject_delay;
  std::optional<Code> inject_code;
};

// How this host calls one downstream contract over HTTP (docs/resilience.md): which
// endpoints, how calls are balanced across them, retried, hedged and bounded. Keyed by the
// contract's wire name in HostOptions::clients ([clients."shop.v1.Inventory"] in TOML).
enum class Balancer : std::uint8_t { p2c, round_robin };
enum class Hedge : std::uint8_t { off, fixed, p95 };
struct RetryOptions {
  // Attempts of one call, the first included; 1: never retried. A request that was never
  // written (refused, reset before the write) may still be re-sent once within the budget.
  std::size_t max_attempts = 3;
  // Full jitter: attempt n waits uniform(0, min(backoff_max, backoff_base * 2^(n-1))); a
  // callee's Retry-After is a floor.
  std::chrono::milliseconds backoff_base{25};
  std::chrono::milliseconds backoff_max{1'000};
  // The retry budget (Finagle): retries and requeues may be at most budget_percent of the
  // requests of the last budget_window, plus budget_per_second.
  double budget_percent = 20.0;
  double budget_per_second = 10.0;
  std::chrono::milliseconds budget_window{10'000};
};
struct HedgeOptions {
  // Off by default; only idempotent operations are hedged. fixed: after `delay`; p95:
  // after the observed p95 latency of the operation's calls (at least `delay`).
  Hedge mode = Hedge::off;
  std::chrono::milliseconds delay{50};
};
struct OutlierOptions {
  // Consecutive connect failures or `unavailable` answers that eject an endpoint; it is
  // ejected for base_ejection * (times ejected), at most max_ejection. At most
  // max_ejected_percent of the endpoints are ejected at once, never the last one.
  std::size_t consecutive_failures = 5;
  std::chrono::milliseconds base_ejection{1'000};
  std::chrono::milliseconds max_ejection{30'000};
  int max_ejected_percent = 50;
};
// Per-operation overrides of a client's settings ([clients."C".operations.op]).
struct ClientOperationOptions {
  std::optional<std::size_t> retry_max_attempts;
  std::optional<Hedge> hedge;
  std::optional<std::chrono::milliseconds> hedge_delay;
};
struct ClientOptions {
  // Base URLs ("http://127.0.0.1:8081"); when set they replace the URL given in code.
  std::vector<std::string> endpoints;
  // Or a DNS name, "http://inventory.internal:8081": every address it resolves to is an
  // endpoint; re-resolved every resolve_interval and after connect failures. An empty or
  // failed answer keeps the last good set.
  std::string dns;
  std::chrono::milliseconds resolve_interval{5'000};
  Balancer balancer = Balancer::p2c;
  // Calls of this client in flight at once; past it a call fails at once with
  // resource_exhausted.
  std::size_t max_in_flight = 1'000;
  RetryOptions retry;
  HedgeOptions hedge;
  OutlierOptions outlier;
  std::map<std::string, ClientOperationOptions, std::less<>> operations;
};

// What the service calls itself in the documents it publishes: the OpenAPI document's
// info (Host::openapi(), docs/openapi.md).
struct ServiceOptions {
  std::string name;     // empty: the names of the served contracts
  std::string version;  // empty: "unversioned"
  std::string license;  // an SPDX identifier ("Apache-2.0"); empty: none stated
};

struct HostOptions {
  // Threads that run coroutine operations, the pipeline and the HTTP connections;
  // 0: one per core.
  std::size_t io_threads = 0;
  // Threads that run sync operations, and how many jobs may wait for one. When both are
  // taken, a sync call fails at once with unavailable (rejected) instead of waiting.
  std::size_t workers = 8;
  std::size_t worker_queue = 256;
  // The deadline of a call that brings none and whose operation sets no timeout.
  std::chrono::milliseconds default_timeout{10'000};
  // An I/O thread that runs one piece of code this long without yielding (a blocking call
  // in a coroutine operation) stalls every call on it: it is logged, with the ids of the
  // call that blocks it, and counted (pit_io_thread_stalls_total). Zero: not watched.
  std::chrono::milliseconds io_stall_threshold{1'000};
  // One structured line per call.
  bool log_calls = true;
  log::Level log_level = log::Level::info;
  // Log fields written as "[redacted]": secrets by key name, card numbers (docs/logging.md).
  log::Redaction log_redaction;
  // Where log lines go; null means the asynchronous stdout sink.
  std::shared_ptr<log::Sink> log_sink;
  HttpOptions http;
  AdminOptions admin;
  ServiceOptions service;
  TracingOptions tracing;
  DurabilityOptions durability;
  // On stop (SIGTERM): how long calls in flight may take to finish before they are
  // cancelled (reason: shutdown) and answered `unavailable`.
  std::chrono::milliseconds shutdown_grace{10'000};
  AdmissionOptions admission;
  AuthOptions auth;
  // Where the record of every authorization decision goes, and what happens when that
  // sink falls behind or cannot write (pit/audit.hpp).
  AuditOptions audit;
  // The master switch of the operations' inject_* settings (tests, failure drills). Off:
  // they are ignored and the pipeline has no fault_injection policy at all.
  bool fault_injection = false;
  // Keyed by contract or contract/operation wire name; validated at start.
  std::map<std::string, OperationOptions, std::less<>> operations;
  // Outbound: keyed by the downstream contract's wire name; validated at start.
  std::map<std::string, ClientOptions, std::less<>> clients;
  // A tool command from the command line (Config::from_args): the flag and its arguments,
  // e.g. {"--contract-lock", "check", "contracts.lock"}. When set, run() carries it out on
  // the served contracts and returns its exit code instead of serving: nothing starts.
  std::vector<std::string> command;
};

class Host;

// A caller's handle to a contract: a proxy, in-process or remote, whose every call goes
// through the pipeline. Only a Host makes one. The proxy is the contract's only public
// face (a contract declares its operations protected), so `ref->op(request)` is the one
// way to call an operation.
template <class C>
class Ref {
 public:
  using proxy_type = detail::proxy_of<C>;
  Ref() = default;
  proxy_type* operator->() const noexcept { return proxy_.get(); }
  proxy_type& operator*() const noexcept { return *proxy_; }
  explicit operator bool() const noexcept { return static_cast<bool>(proxy_); }

 private:
  friend class Host;
  explicit Ref(std::shared_ptr<proxy_type> proxy) noexcept : proxy_(std::move(proxy)) {}
  std::shared_ptr<proxy_type> proxy_;
};

// Setting a host up never throws before it starts: the first mistake (invalid options, a
// contract served twice, an implementation whose constructor throws, a bad client URL, a
// null policy) is kept, and start() throws it. So the documented main,
//
//   int main(int argc, char** argv) {
//     pit::Host host{pit::Config::from_args(argc, argv)};
//     host.serve<Orders, OrdersService>(host.client<Inventory>("http://127.0.0.1:8081"));
//     return host.run();
//   }
//
// has one place where starting can fail, run(), which prints one line and returns non-zero
// instead of letting an exception reach std::terminate (docs/operations.md, "When the
// start fails"). After start, setup calls throw std::logic_error at once: they are bugs.
class Host {
 public:
  Host();
  // Invalid options (e.g. workers = 0) are kept and thrown by start() as std::invalid_argument.
  explicit Host(HostOptions options);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Constructs Impl(args...) and serves it as contract C. The host owns the object.
  template <class C, class Impl, class... Args>
    requires detail::contract<C>
  void serve(Args&&... args) {
    static_assert(std::is_base_of_v<C, Impl>, "the implementation must derive from its contract");
    static_assert(!std::is_same_v<C, Impl>, "serve<Contract, Implementation>: name both");
    std::unique_ptr<C> owned;
    try {
      owned = std::make_unique<Impl>(std::forward<Args>(args)...);
    } catch (...) {
      keep_setup_error(std::current_exception());  // rethrows once started
      return;
    }
    C* raw = owned.get();
    add_service(detail::declaration_of<C>::info(),
                std::shared_ptr<void>(owned.release(), [](void* p) { delete static_cast<C*>(p); }),
                raw);
  }

  // A proxy for contract C served by this host — unless HostOptions::clients configures
  // endpoints (or a DNS name) for C: then the proxy is remote, and its calls go there.
  template <class C>
    requires detail::contract<C>
  Ref<C> client() {
    using proxy = detail::proxy_of<C>;
    return Ref<C>{std::make_shared<proxy>(default_channel(detail::declaration_of<C>::info()))};
  }

  // A proxy for contract C served by another process, at base_url ("http://host:port", or
  // "https://host:port": the server's certificate verified against http.client_ca_file or
  // the system's store, and its name against host; docs/tls.md). The same pit::Ref as in-process: calls carry the deadline, correlation and trace
  // context across, and the callee's faults come back as pit::Fault. Endpoints (or a DNS
  // name) configured for C in HostOptions::clients replace the URL.
  template <class C>
    requires detail::contract<C>
  Ref<C> client(std::string_view base_url) {
    using proxy = detail::proxy_of<C>;
    return Ref<C>{std::make_shared<proxy>(
        http_channel(detail::declaration_of<C>::info(), std::vector<std::string>{std::string(base_url)}))};
  }

  // A proxy for contract C served by several replicas, one base URL each: calls are
  // balanced across them, retried and hedged as HostOptions::clients says for C
  // (docs/http.md, "Attempts"); configured endpoints or a DNS name replace these URLs.
  template <class C>
    requires detail::contract<C>
  Ref<C> client(const std::vector<std::string>& base_urls) {
    using proxy = detail::proxy_of<C>;
    return Ref<C>{std::make_shared<proxy>(http_channel(detail::declaration_of<C>::info(), base_urls))};
  }

  // A dependency that /readyz checks (docs/operations.md, "Readiness checks"): `check`
  // answers whether `name` (a database, a downstream service) can serve now. It returns
  // either bool — a sync check, run on a thread of its own, where it may block — or
  // pit::Task<bool> — a coroutine check, run on an I/O thread, where it may call other
  // services through a pit::Ref. False, an exception, or no answer within `timeout` makes
  // /readyz answer 503 with one line per check saying which failed and why. The checks
  // run when /readyz asks, at most once a second whatever the probe rate, until stop():
  // what a check refers to must live until then. Register before start (after:
  // std::logic_error); names are unique.
  template <class F>
  void readiness_check(std::string name, F check, std::chrono::milliseconds timeout = std::chrono::seconds(1)) {
    using Result = std::invoke_result_t<F&>;
    static_assert(std::is_same_v<Result, bool> || std::is_same_v<Result, Task<bool>>,
                  "a readiness check is a callable returning bool or pit::Task<bool>");
    if constexpr (std::is_same_v<Result, bool>) {
      add_readiness_check(std::move(name), std::function<bool()>(std::move(check)), {}, timeout);
    } else {
      add_readiness_check(std::move(name), {}, std::function<Task<bool>()>(std::move(check)), timeout);
    }
  }

  // The ports the HTTP and admin listeners are bound to (0 before start or without one).
  [[nodiscard]] std::uint16_t http_port() const noexcept;
  [[nodiscard]] std::uint16_t admin_port() const noexcept;

  // Adds a policy to every operation of every service, after the standard policies and
  // before dispatch. Policies are fixed when the host starts.
  void use(std::unique_ptr<Policy> policy);
  void use(std::string name, PolicyFunction policy);

  // Maps an exception type to a fault, once for the whole host. Mappers are tried in the
  // order they were added; the first whose type matches decides.
  template <class E, class F>
  void map_exception(F&& mapper) {
    add_exception_mapper(
        [m = std::forward<F>(mapper)](const std::exception_ptr& e) -> std::optional<Fault> {
          try {
            std::rethrow_exception(e);
          } catch (const E& ex) {
            return Fault{m(ex)};
          } catch (...) {
            return std::nullopt;
          }
        });
  }

  // Builds and validates the pipeline, starts the executors and binds the listeners.
  // Idempotent. Throws what failed: the first setup error kept before (see above), unknown
  // contract/operation keys in options.operations or an invalid setting there
  // (std::invalid_argument), a listener that cannot bind (std::runtime_error naming the
  // address); a host that failed to start runs no thread.
  void start();
  // Drains: /readyz turns 503 and the listener closes; calls in flight get
  // options.shutdown_grace to finish; the rest are cancelled (reason: shutdown) and
  // answered `unavailable`; then the threads stop and the logs are flushed. A sync
  // operation that ignores its cancellation gets one more second; then it is abandoned
  // and logged (operation, age, correlation id): stop() always returns, and the host then
  // keeps (leaks) what that operation still uses instead of destroying it.
  void stop();
  // With options().command set: carries the command out (--contract-lock: pit/lock.hpp;
  // --openapi: prints openapi()) without starting, prints its result to stdout and returns
  // its exit code.
  // Otherwise start(), then serve until SIGTERM or SIGINT, then stop(); returns the exit code: 0.
  // If start() throws, run() writes one line to stderr, "pit: cannot start: <what>", and
  // returns 1 (stderr, not the log: the log may not be set up, or the options that set it
  // up may be what is wrong). A second signal while draining ends the process at once
  // (exit code 1). If stop() had to abandon a sync operation, run() flushes the logs and
  // ends the process with exit code 1 instead of returning: returning would destroy what
  // that operation still uses.
  int run();

  // The pipeline in order, one policy a line: what runs for every call.
  [[nodiscard]] std::string describe_pipeline() const;
  // The OpenAPI 3.1 document of the operations this host serves (docs/openapi.md), as
  // compact JSON. The same before start, while serving (GET /openapi.json on the admin
  // listener) and from the command line (`--openapi`).
  [[nodiscard]] std::string openapi() const;
  // The contracts served, in the order serve<>() was called.
  [[nodiscard]] std::vector<const ContractInfo*> contracts() const;
  [[nodiscard]] const HostOptions& options() const noexcept;

  struct State;

 private:
  friend struct testing::detail::HostAccess;
  using ExceptionMapper = std::function<std::optional<Fault>(const std::exception_ptr&)>;
  void add_service(const ContractInfo& contract, std::shared_ptr<void> owner, void* implementation);
  void add_exception_mapper(ExceptionMapper mapper);
  void add_readiness_check(std::string name, std::function<bool()> sync, std::function<Task<bool>()> async,
                           std::chrono::milliseconds timeout);
  // Before start: keeps the first error for start() to throw. After: rethrows it at once.
  void keep_setup_error(std::exception_ptr error);
  detail::ChannelPtr inproc_channel(const ContractInfo& contract);
  detail::ChannelPtr http_channel(const ContractInfo& contract, std::vector<std::string> base_urls);
  // Remote when HostOptions::clients configures endpoints for the contract, else in-process.
  detail::ChannelPtr default_channel(const ContractInfo& contract);

  std::shared_ptr<State> state_;
};

}  // namespace pit
