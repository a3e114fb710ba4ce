// Bearer-token authentication against the configured issuer: keys from its JWKS (URL or
// file), refreshed in the background, refetched at most once per jwks_min_refetch when a
// token names an unknown key id (one fetch, shared by every call waiting for it); verified
// tokens cached until they expire.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "identity/http_fetch.hpp"
#include "identity/jwk.hpp"
#include "identity/jwt.hpp"
#include "identity/token_cache.hpp"
#include "pit/host.hpp"
#include "pit/identity.hpp"
#include "pit/task.hpp"

namespace pit::detail {

class IoThread;
class MetricsRegistry;

class Authenticator {
 public:
  struct Result {
    std::shared_ptr<const Principal> principal;  // null: refused
    std::string reason;                          // why refused: "invalid_token:expired", ...
    bool unavailable = false;                    // no key set to be had: 503, never open
  };

  // contract_names: the served contracts, each an accepted audience for calls to it (as
  // its name, or as the URI urn:pit:<name>).
  Authenticator(const AuthOptions& options, std::vector<std::string> contract_names, HttpFetch fetch,
                MetricsRegistry& metrics);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Fetches the key set once (bounded by `wait`) and starts the background refresh.
  void start(std::chrono::milliseconds wait);
  void stop();

  // The token's principal when it was verified before and has not expired: no signature
  // check, no allocation. Null otherwise.
  std::shared_ptr<const Principal> cached(std::string_view token) const;
  // Verifies the token; waits (suspended, on `home`) for a refetch of the key set when it
  // names an unknown key or no key set was ever had. `contract`: the audience it must name
  // (or one of auth.audiences).
  // `token` must outlive the task (the caller's frame holds it).
  Task<Result> authenticate(const std::string& token, std::string_view contract, IoThread* home);

  // Whether a verified token is meant for `contract`: its aud names the contract (or
  // urn:pit:<contract>) or one of auth.audiences.
  [[nodiscard]] bool audience_accepted(const Principal& p, std::string_view contract) const;
  [[nodiscard]] bool has_keys() const { return load_keys() != nullptr; }
  // Fetches finished (succeeded or failed).
  [[nodiscard]] std::uint64_t fetches() const noexcept {
    return fetches_ok_.load(std::memory_order_relaxed) + fetch_failures_.load(std::memory_order_relaxed);
  }

 private:
  // Asks the refresher for a fetch now, unless one ran within jwks_min_refetch; `done` is
  // called (on any thread) once that fetch finished, or at once when none is made.
  void refetch(std::function<void()> done);
  void run();
  bool fetch_once();  // false: failed (the last good key set stays)
  Result check(const std::string& token, std::string_view contract, const identity::KeySet& keys,
               std::uint64_t generation, bool* unknown_key);

  AuthOptions options_;
  HttpFetch http_;
  identity::VerifyOptions verify_;
  mutable identity::TokenCache cache_;
  std::shared_ptr<const identity::KeySet> load_keys() const;
  void store_keys(std::shared_ptr<const identity::KeySet> keys);

  // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's load() releases its internal
  // lock with a relaxed store, so a load and a later store race in the memory model (TSan
  // reports it). Taken once per uncached token only; the cached path never touches it.
  mutable std::mutex keys_mutex_;
  std::shared_ptr<const identity::KeySet> keys_;
  std::atomic<std::uint64_t> key_generation_{0};  // bumped on every change of keys_
  std::string last_text_;  // the key set as last fetched; the refresher thread's alone
  // Counted apart, each when its fetch is over: "ok" never includes a fetch in flight, nor
  // one that is about to fail (a derived ok = all - failed did, and could underflow).
  std::atomic<std::uint64_t> fetches_ok_{0};
  std::atomic<std::uint64_t> fetch_failures_{0};
  std::atomic<std::uint64_t> verified_{0};
  mutable std::atomic<std::uint64_t> cache_hits_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool requested_ = false;
  bool fetching_ = false;
  std::chrono::steady_clock::time_point last_fetch_{};
  std::chrono::milliseconds retry_delay_{0};  // after a failed fetch: when the next is due; 0: jwks_refresh
  std::vector<std::function<void()>> waiting_;
  std::thread thread_;
};

}  // namespace pit::detail
