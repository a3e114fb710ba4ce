#include "transport/http/remote_client.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "outbound/url.hpp"

namespace pit::detail {
namespace {

std::string number(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
  return {buf, r.ptr};
}

std::string bucket_bound(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return {buf, r.ptr};
}

constexpr std::array<std::string_view, kSuppressedReasons> kSuppressedNames = {"budget", "deadline", "not_idempotent",
                                                                                "not_retryable"};

}  // namespace

void LatencyWindow::add(std::chrono::microseconds latency) {
  std::lock_guard lock(mutex_);
  samples_[count_ % kSamples] = latency.count();
  ++count_;
  if (count_ % kEvery != 0) return;
  const std::size_t n = std::min(count_, kSamples);
  std::array<std::int64_t, kSamples> sorted{};
  std::copy_n(samples_.begin(), n, sorted.begin());
  const std::size_t at = std::min(n - 1, (n * 95) / 100);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(at),
                   sorted.begin() + static_cast<std::ptrdiff_t>(n));
  p95_us_.store(sorted[at], std::memory_order_relaxed);
}

void ClientOperation::count_attempt(AttemptKind kind, Code code, std::chrono::nanoseconds took) noexcept {
  attempts[static_cast<std::size_t>(kind)][static_cast<std::size_t>(code) % code_count].fetch_add(
      1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(took).count();
  std::size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  duration[b].fetch_add(1, std::memory_order_relaxed);
  duration_sum_ns.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, took.count())),
                            std::memory_order_relaxed);
}

RemoteClient::RemoteClient(const ContractInfo& contract, ClientOptions options, std::vector<std::string> urls,
                           std::shared_ptr<ConnectionPools> pools)
    : contract_(&contract),
      options_(std::move(options)),
      pools_(std::move(pools)),
      endpoints_(std::make_shared<outbound::EndpointSet>(options_.balancer, options_.outlier,
                                                         outbound::EndpointSet::Random{}, std::string(contract.name))),
      budget_(options_.retry),
      backoff_(options_.retry),
      operations_(std::make_unique<ClientOperation[]>(contract.operations.size())) {
  if (options_.dns.empty() && options_.endpoints.empty()) {
    // URLs given in code: a bad one is named as the code gave it, not as a configuration key.
    for (const auto& u : urls) (void)outbound::parse_url(u);
    options_.endpoints = std::move(urls);
  }
  outbound::validate(options_, contract.name);
  std::vector<outbound::Url> parsed;
  for (const auto& u : options_.endpoints) parsed.push_back(outbound::parse_url(u));
  if (parsed.empty() && options_.dns.empty()) {
    throw std::invalid_argument("pit: clients.\"" + std::string(contract.name) + "\": no endpoint to call");
  }
  // Made now for the URLs known now: an https:// endpoint whose TLS files do not load
  // fails the host's start, not a call.
  for (const auto& url : parsed) {
    EndpointAddress address{url.tls, url.host, url.port, url.authority, url.base, url.server_name};
    endpoint_pools_[url.key() + "#" + url.server_name] = pools_->pool(address);
  }
  if (!options_.dns.empty() && outbound::parse_url(options_.dns).tls) {
    EndpointAddress probe{true, "0.0.0.0", "443", "", "", "tls-files"};
    (void)pools_->pool(probe);  // loads the TLS files now
  }
  endpoints_->replace(parsed);
  for (std::size_t i = 0; i < contract.operations.size(); ++i) {
    operations_[i].info = &contract.operations[i];
    operations_[i].retry = outbound::for_operation(options_, contract.operations[i].name);
  }
}

RemoteClient::~RemoteClient() { stop(); }

std::shared_ptr<EndpointPool> RemoteClient::pool(const outbound::Endpoint& endpoint) {
  const auto& url = endpoint.url();
  std::string key = url.key();
  key.append("#").append(url.server_name);
  std::lock_guard lock(pools_mutex_);
  auto& slot = endpoint_pools_[key];
  if (!slot) {
    EndpointAddress address{url.tls, url.host, url.port, url.authority, url.base, url.server_name};
    slot = pools_->pool(address);
  }
  return slot;
}

std::size_t RemoteClient::idle_connections(const outbound::Endpoint& endpoint) {
  const auto& url = endpoint.url();
  std::string key = url.key();
  key.append("#").append(url.server_name);
  std::shared_ptr<EndpointPool> pool;
  {
    std::lock_guard lock(pools_mutex_);
    const auto it = endpoint_pools_.find(key);
    if (it == endpoint_pools_.end() || !it->second) return 0;
    pool = it->second;
  }
  return pool->idle();
}

bool RemoteClient::try_enter() noexcept {
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void RemoteClient::start(boost::asio::any_io_executor executor) {
  if (options_.dns.empty()) return;
  std::lock_guard lock(dns_mutex_);
  if (dns_) return;
  outbound::DnsWatcher::Options o;
  o.name = outbound::parse_url(options_.dns);
  o.interval = options_.resolve_interval;
  o.contract = std::string(contract_->name);
  dns_ = outbound::DnsWatcher::start(std::move(executor), std::move(o), endpoints_);
}

void RemoteClient::stop() {
  std::shared_ptr<outbound::DnsWatcher> dns;
  {
    std::lock_guard lock(dns_mutex_);
    dns = std::move(dns_);
  }
  if (dns) dns->stop();
}

void RemoteClient::connect_failed() {
  std::lock_guard lock(dns_mutex_);
  if (dns_) dns_->resolve_soon();
}

void RemoteClient::render(Family family, std::string& out) const {
  const std::string contract = "contract=\"" + std::string(contract_->name) + "\"";
  const auto now = Clock::now();
  switch (family) {
    case Family::attempts:
      for (std::size_t i = 0; i < contract_->operations.size(); ++i) {
        const auto& op = operations_[i];
        for (std::size_t k = 0; k < kAttemptKinds; ++k) {
          for (std::size_t c = 0; c < code_count; ++c) {
            const auto n = op.attempts[k][c].load(std::memory_order_relaxed);
            if (n == 0) continue;
            out.append("pit_client_attempts_total{").append(contract).append(",operation=\"");
            out.append(op.info->name).append("\",kind=\"").append(to_string(static_cast<AttemptKind>(k)));
            out.append("\",code=\"").append(to_string(static_cast<Code>(c))).append("\"} ");
            out.append(std::to_string(n)).append("\n");
          }
        }
      }
      break;
    case Family::suppressed:
      for (std::size_t i = 0; i < contract_->operations.size(); ++i) {
        const auto& op = operations_[i];
        for (std::size_t r = 0; r < kSuppressedReasons; ++r) {
          const auto n = op.suppressed[r].load(std::memory_order_relaxed);
          if (n == 0) continue;
          out.append("pit_client_retries_suppressed_total{").append(contract).append(",operation=\"");
          out.append(op.info->name).append("\",reason=\"").append(kSuppressedNames[r]).append("\"} ");
          out.append(std::to_string(n)).append("\n");
        }
      }
      break;
    case Family::endpoint_in_flight:
    case Family::ejections:
      for (const auto& e : endpoints_->snapshot(now)) {
        out.append(family == Family::ejections ? "pit_client_endpoint_ejections_total{" : "pit_client_endpoint_in_flight{");
        out.append(contract).append(",endpoint=\"").append(e.key).append("\"} ");
        out.append(std::to_string(family == Family::ejections ? e.ejections : e.in_flight)).append("\n");
      }
      break;
    case Family::budget:
      out.append("pit_client_retry_budget{").append(contract).append("} ");
      out.append(number(budget_.available(now))).append("\n");
      break;
    case Family::duration:
      for (std::size_t i = 0; i < contract_->operations.size(); ++i) {
        const auto& op = operations_[i];
        const std::string labels = contract + ",operation=\"" + std::string(op.info->name) + "\"";
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
          cumulative += op.duration[b].load(std::memory_order_relaxed);
          const std::string le = b < kLatencyBuckets.size() ? bucket_bound(kLatencyBuckets[b]) : "+Inf";
          out.append("pit_client_attempt_duration_seconds_bucket{").append(labels).append(",le=\"").append(le);
          out.append("\"} ").append(std::to_string(cumulative)).append("\n");
        }
        out.append("pit_client_attempt_duration_seconds_sum{").append(labels).append("} ");
        out.append(number(static_cast<double>(op.duration_sum_ns.load(std::memory_order_relaxed)) / 1e9)).append("\n");
        out.append("pit_client_attempt_duration_seconds_count{").append(labels).append("} ");
        out.append(std::to_string(cumulative)).append("\n");
      }
      break;
  }
}

std::shared_ptr<RemoteClient> RemoteClients::get(const ContractInfo& contract, const ClientOptions& options,
                                                 std::vector<std::string> urls) {
  std::string key(contract.name);
  for (const auto& u : urls) key.append("|").append(u);
  std::lock_guard lock(mutex_);
  if (auto it = clients_.find(key); it != clients_.end()) return it->second;
  auto made = std::make_shared<RemoteClient>(contract, options, std::move(urls), pools_);
  if (executor_) made->start(executor_());
  clients_.emplace(std::move(key), made);
  return made;
}

void RemoteClients::start(const std::function<boost::asio::any_io_executor()>& executor) {
  std::lock_guard lock(mutex_);
  executor_ = executor;
  for (auto& [key, client] : clients_) client->start(executor_());
}

void RemoteClients::stop() {
  std::lock_guard lock(mutex_);
  executor_ = nullptr;
  for (auto& [key, client] : clients_) client->stop();
}

std::vector<std::shared_ptr<RemoteClient>> RemoteClients::all() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<RemoteClient>> out;
  out.reserve(clients_.size());
  for (const auto& [key, client] : clients_) out.push_back(client);
  return out;
}

void RemoteClients::render(std::string& out) const {
  std::lock_guard lock(mutex_);
  if (clients_.empty()) return;
  struct Header {
    RemoteClient::Family family;
    std::string_view name;
    std::string_view type;
    std::string_view help;
  };
  static constexpr std::array<Header, 6> kFamilies{{
      {RemoteClient::Family::attempts, "pit_client_attempts_total", "counter",
       "Attempts of outbound calls, by operation, kind (first, retry, requeue, hedge) and the attempt's code."},
      {RemoteClient::Family::suppressed, "pit_client_retries_suppressed_total", "counter",
       "Retries, requeues and hedges not made, by reason (budget, deadline, not_idempotent, not_retryable)."},
      {RemoteClient::Family::endpoint_in_flight, "pit_client_endpoint_in_flight", "gauge",
       "Attempts in flight to each endpoint of a downstream contract."},
      {RemoteClient::Family::ejections, "pit_client_endpoint_ejections_total", "counter",
       "Times an endpoint was ejected by outlier detection."},
      {RemoteClient::Family::budget, "pit_client_retry_budget", "gauge",
       "Retries the client's retry budget allows now."},
      {RemoteClient::Family::duration, "pit_client_attempt_duration_seconds", "histogram",
       "Latency of each attempt of an outbound call (the whole call: pit_call_duration_seconds kind=client)."},
  }};
  for (const auto& h : kFamilies) {
    out.append("# HELP ").append(h.name).append(" ").append(h.help).append("\n");
    out.append("# TYPE ").append(h.name).append(" ").append(h.type).append("\n");
    for (const auto& [key, client] : clients_) client->render(h.family, out);
  }
}

}  // namespace pit::detail
