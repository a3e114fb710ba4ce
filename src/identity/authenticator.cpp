#include "identity/authenticator.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>
#include <variant>

#include "executors/executors.hpp"
#include "identity/resume_on.hpp"
#include "observability/metrics.hpp"
#include "pit/log.hpp"

namespace pit::detail {

namespace {

std::string read_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The shortest wait before the background retries a failed fetch (jwks_min_refetch may be 0).
constexpr std::chrono::milliseconds kFirstRetry{100};

}  // namespace

Authenticator::Authenticator(const AuthOptions& options, std::vector<std::string> contract_names, HttpFetch fetch,
                             MetricsRegistry& metrics)
    : options_(options), http_(std::move(fetch)), cache_(options.token_cache) {
  verify_.issuer = options.issuer;
  verify_.leeway = std::chrono::duration_cast<std::chrono::seconds>(options.leeway);
  verify_.max_token_bytes = options.max_token_bytes;
  verify_.roles_claim = options.roles_claim;
  verify_.keep_claims = options.keep_claims;
  verify_.audiences = options.audiences;
  for (auto& name : contract_names) {
    verify_.audiences.push_back("urn:pit:" + name);
    verify_.audiences.push_back(std::move(name));
  }
  metrics.add_section([this](std::string& out) {
    out.append("# HELP pit_auth_jwks_fetches_total Fetches of the issuer's key set, by result.\n"
               "# TYPE pit_auth_jwks_fetches_total counter\n");
    out.append("pit_auth_jwks_fetches_total{result=\"ok\"} ")
        .append(std::to_string(fetches_ok_.load(std::memory_order_relaxed)))
        .append("\npit_auth_jwks_fetches_total{result=\"failed\"} ")
        .append(std::to_string(fetch_failures_.load(std::memory_order_relaxed)))
        .append("\n# HELP pit_auth_tokens_verified_total Bearer tokens whose signature was checked (cache misses).\n"
                "# TYPE pit_auth_tokens_verified_total counter\npit_auth_tokens_verified_total ")
        .append(std::to_string(verified_.load(std::memory_order_relaxed)))
        .append("\n# HELP pit_auth_token_cache_hits_total Bearer tokens found verified in the cache.\n"
                "# TYPE pit_auth_token_cache_hits_total counter\npit_auth_token_cache_hits_total ")
        .append(std::to_string(cache_hits_.load(std::memory_order_relaxed)))
        .append("\n");
  });
}

Authenticator::~Authenticator() { stop(); }

void Authenticator::start(std::chrono::milliseconds wait) {
  {
    std::lock_guard lock(mutex_);
    requested_ = true;
  }
  thread_ = std::thread([this] { run(); });
  // The first fetch, waited for a bounded time: a service that starts while its issuer is
  // down still starts, and answers token-bearing calls 503 until the keys arrive.
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, wait, [this] { return !requested_ && !fetching_; });
}

void Authenticator::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::function<void()>> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
  }
  for (auto& done : waiting) done();
}

void Authenticator::refetch(std::function<void()> done) {
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    done();
    return;
  }
  if (requested_ || fetching_) {
    // A fetch asked for or under way answers this call too. Joining it, never queueing
    // another behind it, is what bounds a flood of unknown key ids to one fetch per
    // jwks_min_refetch: calls that arrive during a fetch must not ask for the next one.
    waiting_.push_back(std::move(done));
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - last_fetch_ < options_.jwks_min_refetch) {
    lock.unlock();
    done();  // fetched recently: an unknown key id is not worth another fetch yet
    return;
  }
  waiting_.push_back(std::move(done));
  requested_ = true;
  lock.unlock();
  wake_.notify_all();
}

void Authenticator::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // After a failed fetch, the next comes sooner than jwks_refresh: a host that started
    // while its issuer was down is not ready, gets no calls that would ask for a refetch,
    // and must not stay so for jwks_refresh once the issuer is back.
    const auto due = last_fetch_ + (retry_delay_ > std::chrono::milliseconds::zero() ? retry_delay_ : options_.jwks_refresh);
    wake_.wait_until(lock, due, [&] { return stopping_ || requested_; });
    if (stopping_) break;
    requested_ = false;
    fetching_ = true;
    lock.unlock();
    const bool fetched = fetch_once();
    lock.lock();
    fetching_ = false;
    last_fetch_ = std::chrono::steady_clock::now();
    // Failed: retry after jwks_min_refetch, doubled after each further failure up to
    // jwks_refresh (a long outage costs a fetch, and a warning, per jwks_refresh).
    retry_delay_ = fetched ? std::chrono::milliseconds::zero()
                           : std::min(std::max({retry_delay_ * 2, options_.jwks_min_refetch, kFirstRetry}), options_.jwks_refresh);
    std::vector<std::function<void()>> waiting;
    waiting.swap(waiting_);
    lock.unlock();
    wake_.notify_all();  // start() waits for the first fetch
    for (auto& done : waiting) done();
    lock.lock();
  }
}

bool Authenticator::fetch_once() {
  std::string error;
  std::string text;
  const std::string& source = options_.jwks_file.empty() ? options_.jwks_url : options_.jwks_file;
  if (!options_.jwks_file.empty()) {
    text = read_file(options_.jwks_file, &error);
  } else {
    FetchRequest request;
    request.url = options_.jwks_url;
    request.timeout = std::chrono::milliseconds(2000);
    FetchResult got = http_ ? http_(request) : FetchResult{};
    if (!http_) error = "no HTTP client";
    else if (!got.error.empty()) error = got.error;
    else if (got.status != 200) error = "HTTP status " + std::to_string(got.status);
    else text = std::move(got.body);
  }
  std::shared_ptr<const identity::KeySet> keys;
  if (error.empty()) keys = identity::KeySet::parse(text, &error);
  if (keys != nullptr && keys->size() == 0) {
    keys = nullptr;
    error = "no usable signing key in the key set";
  }
  if (keys == nullptr) {
    fetch_failures_.fetch_add(1, std::memory_order_relaxed);
    // The last good key set stays: a failed refresh never empties it.
    log::warn("key set fetch failed", {{"source", source}, {"error", error}});
    return false;
  }
  // Any change of the set (a key withdrawn, or replaced under the same kid) forgets the
  // tokens verified before it: the cache holds only tokens the current set verifies. The
  // set is compared as fetched, so a mere reordering costs a cache refill, never more.
  const bool changed = text != last_text_;
  const std::size_t size = keys->size();
  store_keys(std::move(keys));
  if (changed) {
    last_text_ = std::move(text);
    key_generation_.fetch_add(1);  // after the store, before the clear: see check()
    cache_.clear();
    log::info("key set loaded", {{"source", source}, {"keys", std::to_string(size)}});
  }
  fetches_ok_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::shared_ptr<const identity::KeySet> Authenticator::load_keys() const {
  std::lock_guard lock(keys_mutex_);
  return keys_;
}

void Authenticator::store_keys(std::shared_ptr<const identity::KeySet> keys) {
  std::lock_guard lock(keys_mutex_);
  keys_.swap(keys);  // the old set is released outside the lock, when `keys` goes
}

bool Authenticator::audience_accepted(const Principal& p, std::string_view contract) const {
  for (const auto& aud : p.audiences) {
    if (aud == contract) return true;
    if (aud.size() == contract.size() + 8 && aud.starts_with("urn:pit:") && aud.ends_with(contract)) return true;
    for (const auto& configured : options_.audiences) {
      if (aud == configured) return true;
    }
  }
  return false;
}

std::shared_ptr<const Principal> Authenticator::cached(std::string_view token) const {
  auto p = cache_.find(token, std::chrono::system_clock::now());
  if (p != nullptr) cache_hits_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

Authenticator::Result Authenticator::check(const std::string& token, std::string_view contract,
                                           const identity::KeySet& keys, std::uint64_t generation,
                                           bool* unknown_key) {
  verified_.fetch_add(1, std::memory_order_relaxed);
  auto verdict = identity::verify(token, keys, verify_, std::chrono::system_clock::now());
  if (auto* rejected = std::get_if<identity::Rejected>(&verdict)) {
    *unknown_key = rejected->reason == identity::Reject::unknown_key;
    return {nullptr, "invalid_token:" + std::string{identity::to_string(rejected->reason)}, false};
  }
  auto principal = std::get<identity::Verified>(std::move(verdict)).principal;
  cache_.insert(token, principal);
  // `keys` was loaded under `generation`. If the set changed since, the clear that came
  // with the change may have run before this insert: clear again, or a token of a
  // withdrawn key would stay cached until it expires.
  if (key_generation_.load() != generation) cache_.clear();
  if (!audience_accepted(*principal, contract)) return {nullptr, "invalid_token:wrong_audience", false};
  return {std::move(principal), {}, false};
}

Task<Authenticator::Result> Authenticator::authenticate(const std::string& token, std::string_view contract,
                                                        IoThread* home) {
  if (options_.issuer.empty()) co_return Result{nullptr, "invalid_token:no_issuer_configured", false};
  if (auto hit = cached(token)) {
    if (!audience_accepted(*hit, contract)) co_return Result{nullptr, "invalid_token:wrong_audience", false};
    co_return Result{std::move(hit), {}, false};
  }
  // The generation before the keys (fetch_once stores the keys, then bumps it).
  auto generation = key_generation_.load();
  auto keys = load_keys();
  bool unknown_key = false;
  if (keys != nullptr) {
    Result first = check(token, contract, *keys, generation, &unknown_key);
    if (!unknown_key) co_return first;
  }
  // No key set yet, or a key id it does not have (a rotation): one shared, rate-limited
  // refetch, waited for off the I/O thread's back.
  if (home != nullptr) {
    // Named, not a temporary inside the co_await (GCC 12 miscompiles those).
    ResumeOn refetched{home, [this](std::function<void()> done) { refetch(std::move(done)); }};
    co_await refetched;
  }
  generation = key_generation_.load();
  keys = load_keys();
  if (keys == nullptr) co_return Result{nullptr, "keys_unavailable", true};
  co_return check(token, contract, *keys, generation, &unknown_key);
}

}  // namespace pit::detail
