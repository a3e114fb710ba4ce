#include "pit/host.hpp"
#include "pit/lock.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sys/resource.h>
#include <unistd.h>
#include <stdexcept>
#include <algorithm>
#include <thread>

#include <iostream>

#include "client/inproc_channel.hpp"
#include "config/effective_config.hpp"
#include "outbound/client_options.hpp"
#include "runtime/host_state.hpp"
#include "observability/log_format.hpp"
#include "durability/postgres_store.hpp"
#include "durability/sqlite_store.hpp"
#include "pipeline/standard_order.hpp"
#include "transport/http/client.hpp"
#include "transport/http/fetch.hpp"
#include "transport/http/openapi.hpp"
#include "transport/http/otlp_exporter.hpp"
#include "transport/http/server.hpp"

namespace pit {
namespace {

// After the grace period and the cancellation of what was left, how long a sync operation
// that ignores its cancellation may still take before shutdown abandons it.
constexpr auto kStuckWait = std::chrono::milliseconds(1000);

// A policy made from a callable.
class FunctionPolicy final : public Policy {
 public:
  FunctionPolicy(std::string name, PolicyFunction fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  [[nodiscard]] std::string_view name() const noexcept override { return name_; }
  Task<Outcome> handle(Call& call, Next next) override { return fn_(call, next); }

 private:
  std::string name_;
  PolicyFunction fn_;
};

void require_not_started(const Host::State& s, const char* what) {
  if (s.started) {
    throw std::logic_error(std::string("pit: ") + what +
                           " must happen before the host starts: the pipeline and the service "
                           "table are fixed at start");
  }
}

void validate_tracing(const TracingOptions& t);

void validate(const HostOptions& o) {
  if (o.io_threads > 1024) throw std::invalid_argument("pit: io_threads must be 0 (one per core) to 1024");
  if (o.workers == 0 || o.workers > 4096) throw std::invalid_argument("pit: workers must be 1..4096");
  if (o.worker_queue > 1'000'000) throw std::invalid_argument("pit: worker_queue must be at most 1000000");
  if (o.io_stall_threshold < std::chrono::milliseconds::zero() || o.io_stall_threshold > std::chrono::hours(1)) {
    throw std::invalid_argument("pit: io_stall_threshold must be 0 (off) to 1h");
  }
  if (o.default_timeout <= std::chrono::milliseconds::zero() ||
      o.default_timeout > std::chrono::hours(24)) {
    throw std::invalid_argument("pit: default_timeout must be more than 0 and at most 24h");
  }
  if (o.admission.max_in_flight > 10'000'000 || o.admission.max_queue > 10'000'000) {
    throw std::invalid_argument("pit: admission max_in_flight and max_queue must be at most 10000000");
  }
  detail::AuditLog::validate(o.audit);
  validate_tracing(o.tracing);
  for (const auto& [contract, client] : o.clients) outbound::validate(client, contract);
}

// Stands in for a user policy when the pipeline is described before it is built.
class NamedPolicy final : public Policy {
 public:
  explicit NamedPolicy(std::string_view name) : name_(name) {}
  [[nodiscard]] std::string_view name() const noexcept override { return name_; }
  Task<Outcome> handle(Call& call, Next next) override { return next(call); }

 private:
  std::string name_;
};

// The soft limit on open descriptors raised to the hard one: the soft default (often
// 1024) is a compatibility setting for programs that use select(), which pit does not; the
// hard limit is what the operator granted. Returns {before, after}.
std::pair<std::size_t, std::size_t> raise_descriptor_limit() {
  rlimit l{};
  if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return {0, 0};
  const auto before = static_cast<std::size_t>(l.rlim_cur);
  if (l.rlim_cur == l.rlim_max) return {before, before};
  rlim_t target = l.rlim_max;
  if (target == RLIM_INFINITY) {
    // The kernel refuses more than fs.nr_open for RLIMIT_NOFILE, whatever the hard limit.
    target = 1U << 20U;
    if (std::FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
      unsigned long long nr_open = 0;
      if (std::fscanf(f, "%llu", &nr_open) == 1 && nr_open > 0) target = static_cast<rlim_t>(nr_open);
      std::fclose(f);
    }
  }
  if (target <= l.rlim_cur) return {before, before};
  const rlim_t old = l.rlim_cur;
  l.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &l) != 0) l.rlim_cur = old;
  return {before, static_cast<std::size_t>(l.rlim_cur)};
}

// How many connections the listeners may hold within `limit` descriptors: a quarter of
// the limit (at least 64) stays free for everything else (outbound connections and their
// pools, log files, the executors' own descriptors, the implementations' files and
// databases); the admin listener takes at most 64 of the rest, the HTTP listener at most
// what is left. The configured http.max_connections only ever goes down.
struct ConnectionBudget {
  std::size_t http;
  std::size_t admin;
};
ConnectionBudget connection_budget(std::size_t limit, std::size_t configured_http, bool admin_listener) {
  const std::size_t reserve = std::max<std::size_t>(64, limit / 4);
  const std::size_t budget = limit > reserve ? limit - reserve : limit / 2;
  const std::size_t admin = admin_listener ? std::min<std::size_t>(64, std::max<std::size_t>(1, budget / 4)) : 0;
  const std::size_t http = std::max<std::size_t>(1, budget > admin ? budget - admin : 1);
  return {std::min(configured_http, http), admin};
}

// One line, whole, on stderr: what an operator sees when `systemctl status` or `kubectl
// logs` shows the crash loop. pit's own messages start with "pit: "; not twice.
// A tool command (HostOptions::command) instead of serving: nothing starts. A setup error
// (a contract served twice) is reported as a start failure would be: the contracts are
// not what the program means to serve.
int run_command(const Host& host, const std::vector<std::string>& command) {
  const std::vector<std::string> args(command.begin() + 1, command.end());
  if (command.front() == "--contract-lock") return lock::run_command(host.contracts(), args, std::cout);
  if (command.front() == "--openapi") {
    std::cout << host.openapi() << '\n' << std::flush;
    return std::cout ? 0 : 1;
  }
  std::cerr << "pit: unknown command " << command.front() << "\n";
  return 2;
}

void report_start_failure(std::string_view what) {
  if (what.starts_with("pit: ")) what.remove_prefix(5);
  std::string line = "pit: cannot start: ";
  line.append(what);
  std::replace(line.begin(), line.end(), '\n', ' ');
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

// Identity at start: the token verifier and its first key fetch, this service's own
// client at the issuer, the audit log; and one line for each operation that is closed to
// everyone or open to anyone, so neither goes unnoticed.
void start_identity(Host::State& s) {
  const AuthOptions& auth = s.options.auth;
  std::size_t undeclared = 0;
  std::vector<std::string> served;
  for (const auto& service : s.services) {
    served.emplace_back(service.contract->name);
    for (const auto& op : service.contract->operations) {
      if (op.spec.access() == Access::undeclared) {
        ++undeclared;
        log::warn("operation declares no access: refused to every caller",
                  {{"operation", op.full_name},
                   {"fix", "declare .require(pit::scope(...)) or .anonymous(\"why\") in the contract"}});
      } else if (op.spec.access() == Access::anonymous) {
        log::info("operation open to anonymous callers", {{"operation", op.full_name}, {"why", op.spec.anonymous_reason()}});
      }
    }
  }
  s.metrics.add_section([undeclared](std::string& out) {
    out.append("# HELP pit_operations_without_access Served operations that declare no access (refused to every caller).\n"
               "# TYPE pit_operations_without_access gauge\npit_operations_without_access ")
        .append(std::to_string(undeclared))
        .append("\n");
  });
  if (!auth.issuer.empty() || !auth.jwks_url.empty() || !auth.jwks_file.empty()) {
    if (auth.issuer.empty()) throw std::invalid_argument("pit: auth.jwks_url/jwks_file is set but auth.issuer is not");
    if (auth.jwks_url.empty() == auth.jwks_file.empty()) {
      throw std::invalid_argument("pit: auth.issuer needs its keys: exactly one of auth.jwks_url and auth.jwks_file");
    }
    s.authenticator = std::make_unique<detail::Authenticator>(auth, std::move(served), detail::HttpFetch{&detail::fetch},
                                                              s.metrics);
    s.authenticator->start(std::chrono::milliseconds(2000));
    if (!s.authenticator->has_keys()) {
      log::error("no signing keys from the issuer yet: calls with a token are refused 503 until they arrive",
                 {{"issuer", auth.issuer}});
    }
    auto* authenticator = s.authenticator.get();
    s.readiness->add("identity_keys", [authenticator] { return authenticator->has_keys(); }, {},
                     std::chrono::milliseconds(100));
  }
  if (auth.plaintext_bearer) {
    log::warn("bearer tokens are accepted without TLS (auth.plaintext_bearer): only on loopback or behind a TLS proxy");
  }
  if (!auth.token_url.empty()) {
    s.token_client = std::make_unique<detail::identity::TokenClient>(
        detail::identity::TokenEndpoint{auth.token_url, auth.client_id, auth.client_secret},
        detail::HttpFetch{&detail::fetch});
  }
}

// Tracing's options, checked at start (the configuration's ranges hold already; these
// are for options given in code).
void validate_tracing(const TracingOptions& t) {
  if (!(t.sample_ratio >= 0.0 && t.sample_ratio <= 1.0)) throw std::invalid_argument("pit: tracing.sample_ratio must be 0..1");
  if (t.max_queue == 0 || t.max_batch == 0 || t.max_batch > t.max_queue) {
    throw std::invalid_argument("pit: tracing.max_batch must be 1..tracing.max_queue");
  }
  if (t.endpoint.empty()) return;
  const std::string_view url = t.endpoint;
  if (!url.starts_with("http://")) {
    throw std::invalid_argument("pit: tracing.endpoint '" + t.endpoint + "': must start with http:// (https is not supported yet)");
  }
}

// What the spans' resource says: service.name (host.service_name, else the first served
// contract), service.version, service.instance.id (tracing.instance, else host:pid), the
// SDK, then the user's own (OTEL_RESOURCE_ATTRIBUTES) where they name none of those.
detail::ResourceAttributes resource_of(const Host::State& s) {
  const HostOptions& o = s.options;
  detail::ResourceAttributes resource;
  std::string name = o.service.name;
  if (name.empty() && !s.services.empty()) name = std::string(s.services.front().contract->name);
  if (name.empty()) name = "pit";
  resource.emplace_back("service.name", std::move(name));
  if (!o.service.version.empty()) resource.emplace_back("service.version", o.service.version);
  std::string instance = o.tracing.instance;
  if (instance.empty()) {
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
    instance = std::string(host.data()) + ":" + std::to_string(getpid());
  }
  resource.emplace_back("service.instance.id", std::move(instance));
  resource.emplace_back("telemetry.sdk.name", "pit");
  resource.emplace_back("telemetry.sdk.language", "cpp");
  // Not a structured binding: clang 14 (the sanitizer builds) cannot capture one.
  for (const auto& attribute : o.tracing.resource_attributes) {
    const auto& key = attribute.first;
    const bool taken = std::any_of(resource.begin(), resource.end(), [&key](const auto& kv) { return kv.first == key; });
    if (!taken) resource.emplace_back(key, attribute.second);
  }
  return resource;
}

}  // namespace

Host::Host() : Host(HostOptions{}) {}

Host::Host(HostOptions options) : state_(std::make_shared<State>()) {
  // Not thrown here: `pit::Host host{options};` in main would take the process down
  // through std::terminate. start() throws it, run() reports it.
  try {
    validate(options);
  } catch (...) {
    state_->setup_error = std::current_exception();
  }
  state_->options = std::move(options);
  state_->limiters = std::make_unique<detail::Limiters>(state_->options.admission);
  if (state_->options.admin.recent_calls > 0) {
    state_->histories = std::make_unique<detail::CallHistories>(state_->options.admin.recent_calls);
  }
  detail::make_outbound(*state_);
}

Host::~Host() {
  stop();
  std::lock_guard lock(state_->lifecycle);
  if (state_->abandoned > 0) {
    // A sync operation still runs on an abandoned worker: its implementation, the pool and
    // the I/O threads it will report back to must stay. Leaked on purpose, never destroyed
    // under it (the process is about to end: Host::run() exits after such a stop).
    new std::shared_ptr<State>(state_);  // NOLINT: deliberate leak
    return;
  }
  // Implementations may hold proxies to this host's own services (a cycle through the
  // shared state): let them go now. Proxies still held elsewhere answer `unavailable`.
  state_->services.clear();
  // So may readiness checks (a coroutine check holding a proxy): stopped by now, let go too.
  state_->readiness = std::make_shared<detail::Readiness>();
}

const HostOptions& Host::options() const noexcept { return state_->options; }

void Host::keep_setup_error(std::exception_ptr error) {
  std::lock_guard lock(state_->lifecycle);
  if (state_->started) std::rethrow_exception(error);
  if (!state_->setup_error) state_->setup_error = std::move(error);
}

void Host::add_service(const ContractInfo& contract, std::shared_ptr<void> owner, void* implementation) {
  std::lock_guard lock(state_->lifecycle);
  require_not_started(*state_, "serve<>()");
  const auto keep = [this](const std::string& what) {
    if (!state_->setup_error) state_->setup_error = std::make_exception_ptr(std::logic_error(what));
  };
  if (state_->implementation_of(contract) != nullptr) {
    return keep("pit: contract " + std::string(contract.name) + " is already served by this host");
  }
  for (const auto& s : state_->services) {
    if (s.contract->name == contract.name) return keep("pit: two contracts are named " + std::string(contract.name));
  }
  state_->services.push_back(
      {&contract, std::move(owner), implementation, detail::resolve_settings(state_->options, contract, state_->metrics, "server",
                                                                     operation_limiters(state_->limiters.get()), state_->histories.get())});
}

void Host::add_readiness_check(std::string name, std::function<bool()> sync, std::function<Task<bool>()> async,
                               std::chrono::milliseconds timeout) {
  std::lock_guard lock(state_->lifecycle);
  require_not_started(*state_, "readiness_check()");
  try {
    state_->readiness->add(std::move(name), std::move(sync), std::move(async), timeout);
  } catch (const std::invalid_argument&) {
    if (!state_->setup_error) state_->setup_error = std::current_exception();
  }
}

void Host::add_exception_mapper(ExceptionMapper mapper) {
  std::lock_guard lock(state_->lifecycle);
  require_not_started(*state_, "map_exception()");
  state_->mappers.push_back(std::move(mapper));
}

void Host::use(std::unique_ptr<Policy> policy) {
  std::lock_guard lock(state_->lifecycle);
  require_not_started(*state_, "use()");
  if (!policy) {
    if (!state_->setup_error) {
      state_->setup_error = std::make_exception_ptr(std::invalid_argument("pit: use() needs a policy"));
    }
    return;
  }
  state_->user_policies.push_back(std::move(policy));
}

void Host::use(std::string name, PolicyFunction policy) {
  if (!policy) return use(std::unique_ptr<Policy>{});
  use(std::make_unique<FunctionPolicy>(std::move(name), std::move(policy)));
}

detail::ChannelPtr Host::inproc_channel(const ContractInfo& contract) {
  return std::make_shared<detail::InprocChannel>(state_, contract);
}

namespace {

bool serves_deduplicated(const Host::State& s) {
  for (const auto& service : s.services) {
    for (const auto& op : service.contract->operations) {
      if (op.spec.is_deduplicated()) return true;
    }
  }
  return false;
}

// The store of the host's deduplicated operations (DurabilityOptions): the SQLite file,
// by default named after the service.
std::unique_ptr<detail::durability::Store> open_dedup_store(const Host::State& s) {
  const DurabilityOptions& d = s.options.durability;
  if (d.store == DedupStore::postgres) {
    if (d.postgres_url.empty()) {
      throw std::invalid_argument("pit: durability.store = \"postgres\" needs durability.postgres_url "
                                  "(PIT_DURABILITY_POSTGRES_URL)");
    }
    // Connects at the first deduplicated call, not here: while the database cannot answer,
    // the host runs and refuses those calls `unavailable`, and serves them once it is back.
    detail::durability::PostgresStoreOptions options;
    options.url = d.postgres_url;
    options.connections = d.postgres_connections;
    options.purge_interval = d.purge_interval;
    return detail::durability::make_postgres_store(options);
  }
  detail::durability::SqliteStoreOptions options;
  options.path = d.sqlite_path;
  if (options.path.empty()) {
    std::string name = s.options.service.name;
    if (name.empty() && !s.services.empty()) name = std::string(s.services.front().contract->name);
    options.path = name + ".dedup.sqlite";
  }
  options.purge_interval = d.purge_interval;
  options.busy_timeout = d.sqlite_busy_timeout;
  return detail::durability::make_sqlite_store(options);
}

}  // namespace

void Host::start() {
  State& s = *state_;
  std::lock_guard lock(s.lifecycle);
  if (s.started) return;
  if (s.setup_error) std::rethrow_exception(s.setup_error);
  const HostOptions& o = s.options;
  {
    std::vector<const ContractInfo*> served;
    for (const auto& service : s.services) served.push_back(service.contract);
    detail::validate_operation_keys(o, served);
  }
  log::configure(o.log_sink, o.log_level);
  log::configure_redaction(o.log_redaction);
  if (!s.audit) {
    // Its writer thread starts now; the file is opened with the first record, so a host
    // that never decides anything leaves no file behind.
    s.audit = std::make_unique<detail::AuditLog>(o.audit, &s.metrics.audit);
  }
  // An audit log that cannot write makes the host not ready: calls would be refused (wait
  // mode) or their records dropped (drop mode) as soon as its queue fills.
  s.readiness->add_condition("audit log", [audit = s.audit.get()] { return audit->why_unhealthy(); });
  s.workers = std::make_unique<detail::WorkerPool>(o.workers, o.worker_queue);
  s.dispatcher = std::make_unique<detail::Dispatcher>(*s.workers, s.mappers);
  start_identity(s);
  if (detail::tracing_on(o)) {
    s.tracer = std::make_unique<detail::Tracer>(o.tracing.max_queue, o.tracing.max_batch);
    // One kept-alive connection to the receiver, not one per export request.
    s.exporter = std::make_unique<detail::OtlpExporter>(*s.tracer, o.tracing, resource_of(s), detail::keep_alive_fetch());
    s.metrics.add_section([tracer = s.tracer.get()](std::string& out) { tracer->render(out); });
  }
  const bool deduplicates = serves_deduplicated(s);
  if (deduplicates) s.dedup_store = open_dedup_store(s);
  s.pipeline = std::make_unique<Pipeline>(
      detail::standard_inbound(o, s.limiters->host(), s.authenticator.get(), s.audit.get(), std::move(s.user_policies),
                               s.tracer.get(), deduplicates, s.dedup_store.get(), s.drills.get(), &s.mappers),
      *s.dispatcher);
  s.http_send = std::make_unique<detail::HttpSend>(o.http, s.tracer.get());
  s.outbound = std::make_unique<Pipeline>(detail::standard_outbound(o, s.token_client.get(), s.tracer.get()), *s.http_send);
  const std::size_t io_threads =
      o.io_threads != 0 ? o.io_threads : std::max<std::size_t>(1, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < io_threads; ++i) {
    s.io_threads.push_back(std::make_unique<detail::IoThread>());
    s.io_threads.back()->set_index(i);
    s.io_threads.back()->start();
    // Asio makes an io_context's reactor (an epoll and an eventfd) on its first socket or
    // timer, and throws if that fails: made now, not on the thread's first connection,
    // which may come when the process is out of descriptors.
    const boost::asio::steady_timer make_reactor{s.io_threads.back()->io()};
  }
  // Each served operation's recent and slowest calls: one ring per I/O thread, made now.
  if (s.histories) s.histories->allocate(io_threads);
  {
    auto effective = config::effective_configuration(o);
    s.diagnostics.config_json = std::move(effective.json);
    s.diagnostics.config_hash = std::move(effective.hash);
    s.diagnostics.started = Clock::now();
    s.diagnostics.started_wall = std::chrono::system_clock::now();
  }
  s.stall_watch = std::make_unique<detail::StallWatch>(s.io_threads, o.io_stall_threshold);
  detail::Gauges gauges;
  gauges.in_flight = [&s] { return s.in_flight.load(std::memory_order_relaxed); };
  gauges.workers_busy = [&s] { return s.workers->busy(); };
  gauges.workers_queued = [&s] { return s.workers->queued(); };
  gauges.workers_total = [&s] { return s.workers->threads(); };
  gauges.io_stalls = [&s] { return s.stall_watch->stalls(); };
  if (auto* admission = s.limiters->host()) {
    gauges.admission_in_flight = [admission] { return admission->in_flight(); };
    gauges.admission_queued = [admission] { return admission->queued(); };
    gauges.admission_limit = admission->limit();
  }
  s.metrics.set_gauges(std::move(gauges));
  // Descriptors: the most the operator allows, and never more connections than fit in
  // them (a listener past the limit would fail every accept and serve nobody).
  const auto [limit_before, limit] = raise_descriptor_limit();
  if (limit != limit_before) log::info("file descriptor limit raised", {{"from", limit_before}, {"to", limit}});
  HttpOptions http = o.http;
  HttpOptions admin = o.http;
  admin.listen = o.admin.listen;
  admin.max_body_bytes = 4096;
  if (limit != 0) {
    const auto budget = connection_budget(limit, o.http.max_connections, !o.admin.listen.empty());
    admin.max_connections = budget.admin;
    if (budget.http < o.http.max_connections && !o.http.listen.empty()) {
      http.max_connections = budget.http;
      log::warn("http.max_connections lowered to fit the file descriptor limit",
                {{"configured", o.http.max_connections},
                 {"max_connections", budget.http},
                 {"descriptor_limit", limit},
                 {"admin_max_connections", budget.admin}});
    }
  }
  try {
    // The admin listener first: while the rest starts, /readyz already answers "starting".
    if (!o.admin.listen.empty()) {
      s.admin_server = std::make_unique<detail::HttpServer>(s, admin, detail::HttpServer::Mode::admin);
      s.admin_server->start();
    }
    if (!o.http.listen.empty()) {
      s.http_server = std::make_unique<detail::HttpServer>(s, http);
      s.http_server->start();
    }
  } catch (...) {
    // Nothing of a failed start outlives it: the watch, the listeners (their acceptors
    // post to the I/O threads when they close), then the threads. run() returns normally
    // after this, so the host is destroyed in an orderly way too.
    s.stall_watch->stop();
    s.http_server.reset();
    s.admin_server.reset();
    for (auto& t : s.io_threads) t->stop();
    s.io_threads.clear();
    s.workers->stop();
    s.audit->stop(Clock::now());
    throw;
  }
  s.started = true;
  s.running.store(true, std::memory_order_release);
  // DNS-named clients resolve from now on, on the I/O threads.
  detail::start_outbound(s);
  // Spans go out from now on, from the exporter's own thread.
  if (s.exporter) {
    s.exporter->start();
    log::info("exporting spans", {{"endpoint", o.tracing.endpoint}, {"sample_ratio", o.tracing.sample_ratio}});
  }
  // The first run of the readiness checks starts now that calls are served (a check may
  // call this host's own services); /readyz says "not checked yet" for each until then.
  s.readiness->start([&s]() -> detail::IoThread& { return s.home_for_new_call(); });
  if (s.admin_server) log::info("listening", {{"listener", "admin"}, {"port", s.admin_server->port()}});
  if (s.http_server) log::info("listening", {{"listener", "http"}, {"port", s.http_server->port()}});
  // Injected faults must never go unnoticed: every start says which operations get them.
  for (const auto& [key, op] : o.operations) {
    if (op.inject_percent.value_or(0) == 0) continue;
    if (o.fault_injection) {
      log::warn("fault injection is on",
                {{"target", key},
                 {"percent", op.inject_percent.value_or(0)},
                 {"delay_ms", static_cast<std::int64_t>(op.inject_delay.value_or(std::chrono::milliseconds{0}).count())},
                 {"injected_code", op.inject_code ? to_string(*op.inject_code) : "none"}});
    } else {
      log::info("fault injection configured but switched off (fault_injection.enabled)", {{"target", key}});
    }
  }
}

std::uint16_t Host::admin_port() const noexcept {
  return state_->admin_server ? state_->admin_server->port() : 0;
}

std::uint16_t Host::http_port() const noexcept {
  return state_->http_server ? state_->http_server->port() : 0;
}

detail::ChannelPtr Host::default_channel(const ContractInfo& contract) {
  if (detail::configured_remote(state_->options, contract.name)) return http_channel(contract, {});
  return inproc_channel(contract);
}

detail::ChannelPtr Host::http_channel(const ContractInfo& contract, std::vector<std::string> base_urls) {
  try {
    return std::make_shared<detail::HttpChannel>(state_, contract, std::move(base_urls));
  } catch (const std::invalid_argument&) {
    // A bad URL: kept for start() to throw (rethrown here once started). This host never
    // starts, so the stand-in proxy answers every call `unavailable`.
    keep_setup_error(std::current_exception());
    return inproc_channel(contract);
  }
}

void Host::stop() {
  if (!state_) return;
  State& s = *state_;
  std::lock_guard lock(s.lifecycle);
  if (!s.running.load() || s.draining.exchange(true)) return;
  // 1. Not ready any more, and no new connections: load balancers move on.
  if (s.http_server) s.http_server->stop();
  const auto in_flight = [&s] { return s.in_flight.load(std::memory_order_acquire); };
  log::info("draining", {{"in_flight", in_flight()}, {"grace_ms", s.options.shutdown_grace.count()}});
  // 2. Calls in flight get the grace period to finish.
  const auto grace_end = Clock::now() + s.options.shutdown_grace;
  while (in_flight() > 0 && Clock::now() < grace_end) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  // 3. The rest are cancelled (reason: shutdown) and answered `unavailable` at once.
  if (const auto left = in_flight(); left > 0) {
    log::warn("grace period over: cancelling calls in flight", {{"in_flight", left}});
    // Every call on every thread is marked first, then cancelled: a caller must not see
    // its callee's shutdown fault before knowing it is being shut down itself.
    auto marked = std::make_shared<std::atomic<std::size_t>>(0);
    for (auto& t : s.io_threads) {
      boost::asio::post(t->io(), [thread = t.get(), marked] {
        thread->active().mark_all(CancelReason::shutdown);
        marked->fetch_add(1);
      });
    }
    const auto mark_end = Clock::now() + std::chrono::milliseconds(200);
    while (marked->load() < s.io_threads.size() && Clock::now() < mark_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (auto& t : s.io_threads) {
      boost::asio::post(t->io(), [thread = t.get()] { thread->active().fire_all(); });
    }
    const auto answer_end = Clock::now() + std::chrono::milliseconds(500);
    while (in_flight() > 0 && Clock::now() < answer_end) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  s.running.store(false, std::memory_order_release);
  // Not ready whatever the checks say; no check starts any more (one running is waited
  // for, up to its timeout).
  s.readiness->stop();
  // 4. Queued sync jobs are answered through their home I/O threads, which get a moment
  //    to deliver those answers before they stop; then the logs are flushed. A sync
  //    operation that ignores its cancellation gets kStuckWait more to return; past that it
  //    is abandoned (reported here, the process exits from run()): shutdown is bounded.
  for (const auto& stuck : s.workers->stop(kStuckWait)) {
    log::error("shutdown: a sync operation ignores its cancellation; abandoned",
               {{"operation", stuck.operation},
                {"age_ms", static_cast<std::int64_t>(stuck.age.count())},
                {"correlation_id", stuck.correlation_id}});
    ++s.abandoned;
  }
  // 5. Every decision made so far is on record: the audit log writes what it holds, in
  //    what is left of the grace period (at least a second); what it cannot is logged.
  s.audit->stop(std::max(grace_end, Clock::now() + std::chrono::seconds(1)));
  if (s.admin_server) s.admin_server->stop();
  // 6. Every connection still open (idle keep-alive, admin) is closed: its pending read
  //    completes with operation_aborted and its coroutine ends on its thread, which still
  //    runs. Nothing of a connection is left for the threads to drop when they stop.
  {
    detail::HttpServer* const servers[] = {s.http_server.get(), s.admin_server.get()};
    const auto open = [&servers] {
      std::size_t n = 0;
      for (auto* server : servers) n += server != nullptr ? server->connections() : 0;
      return n;
    };
    for (auto* server : servers) {
      if (server != nullptr) server->close_connections();
    }
    const auto closed_end = Clock::now() + std::chrono::seconds(1);
    while (open() > 0 && Clock::now() < closed_end) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  s.stall_watch->stop();
  if (s.authenticator) s.authenticator->stop();
  detail::stop_outbound(s);  // no DNS resolution is pending when the threads stop
  // An abandoned worker returns, some day, into its call's frames on these threads: they
  // are kept (with the rest of the state, which ~Host then leaks), never destroyed under it.
  for (auto& t : s.io_threads) t->stop(/*keep_frames=*/s.abandoned > 0);
  // Nothing can wait for the store now: its thread finishes what it holds and ends.
  s.dedup_store.reset();
  // 7. The idle connections this host's clients pooled are closed: their peers see it now.
  detail::close_idle_connections(s);
  // 8. Every call has ended, so every span is recorded: the exporter sends what is queued
  //    in what is left of the grace period (at least half a second); what it cannot send
  //    by then is dropped and counted.
  if (s.exporter) s.exporter->stop(std::max(grace_end, Clock::now() + std::chrono::milliseconds(500)));
  log::info("stopped");
  log::flush();
}

std::vector<const ContractInfo*> Host::contracts() const {
  std::lock_guard lock(state_->lifecycle);
  std::vector<const ContractInfo*> out;
  out.reserve(state_->services.size());
  for (const auto& s : state_->services) out.push_back(s.contract);
  return out;
}

int Host::run() {
  if (!state_->options.command.empty()) {
    if (state_->setup_error) {
      try {
        std::rethrow_exception(state_->setup_error);
      } catch (const std::exception& e) {
        report_start_failure(e.what());
      } catch (...) {
        report_start_failure("an exception that is not a std::exception");
      }
      return 1;
    }
    return run_command(*this, state_->options.command);
  }
  // The handlers are in place before anything starts: a signal while starting drains too.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  try {
    start();
  } catch (const std::exception& e) {
    report_start_failure(e.what());
    return 1;
  } catch (...) {
    report_start_failure("an exception that is not a std::exception");
    return 1;
  }
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) received = sig;
  });
  signals_io.run();
  log::info("stopping", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // A second signal while draining means "now": the process ends at once.
  signals.async_wait([](const boost::system::error_code& ec, int) {
    if (ec) return;
    log::error("second signal while draining: exiting now");
    log::flush();
    std::_Exit(EXIT_FAILURE);
  });
  signals_io.restart();
  std::thread second_signal([&signals_io] { signals_io.run(); });
  stop();
  signals_io.stop();
  second_signal.join();
  if (state_->abandoned > 0) {
    // Abandoned workers still run user code: returning would destroy what they use (static
    // objects included). The logs say which calls; the process ends here, non-zero.
    log::error("exiting with sync operations still running", {{"abandoned", state_->abandoned}});
    log::flush();
    std::_Exit(EXIT_FAILURE);
  }
  return 0;
}

std::string Host::openapi() const { return detail::openapi_document(state_->options, contracts()); }

std::string Host::describe_pipeline() const {
  std::lock_guard lock(state_->lifecycle);
  if (state_->pipeline) return state_->pipeline->describe();
  // Not started yet: describe what start() will build, without building it.
  std::string out;
  int i = 1;
  std::vector<std::unique_ptr<Policy>> user;
  for (const auto& p : state_->user_policies) user.push_back(std::make_unique<NamedPolicy>(p->name()));
  for (const auto& p : detail::standard_inbound(state_->options, state_->limiters->host(), nullptr, nullptr,
                                                std::move(user), nullptr, serves_deduplicated(*state_), nullptr,
                                                state_->drills.get())) {
    out += std::to_string(i++) + ". " + std::string(p->name()) + "\n";
  }
  out += std::to_string(i) + ". dispatch\n";
  return out;
}

}  // namespace pit
