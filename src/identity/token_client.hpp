// Outbound credentials: the access tokens a service sends downstream, from its identity
// provider's token endpoint. Either its own (OAuth 2.0 client credentials, RFC 6749 4.4) or
// its caller's, exchanged for the downstream audience (RFC 8693 token exchange), so the
// downstream sees the original subject with this service as actor.
//
// Blocking: called from background threads (never an I/O thread). Tokens are cached until
// shortly before they expire; one request per cache key is in flight at a time (concurrent
// callers wait for it, or take the still-valid token it is replacing); a failure is
// remembered only for a short backoff. The cache is bounded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "identity/http_fetch.hpp"

namespace pit::detail::identity {

// The client authenticates with client_secret_basic (RFC 6749 2.3.1: HTTP Basic over the
// form-encoded id and secret).
struct TokenEndpoint {
  std::string token_url;
  std::string client_id;
  std::string client_secret;
};

struct Result {
  std::string access_token;
  std::string error;       // empty on success; never contains a secret or a token
  bool retryable = false;  // the provider could not be reached, or answered 5xx or 429
};

struct TokenClientOptions {
  std::size_t max_entries = 1024;                    // cached tokens and failures, all keys
  std::chrono::milliseconds failure_backoff{1000};   // how long a failure is answered from the cache
  std::chrono::milliseconds max_retry_after{10000};  // a provider's Retry-After counts up to this
  std::chrono::milliseconds request_timeout{2000};   // each token request
  std::chrono::seconds max_refresh_margin{60};       // refresh min(this, 10% of the lifetime) early
  std::function<std::chrono::steady_clock::time_point()> clock;  // tests; default steady_clock::now
};

class TokenClient {
 public:
  TokenClient(TokenEndpoint endpoint, HttpFetch fetch, TokenClientOptions options = {});
  ~TokenClient();
  TokenClient(const TokenClient&) = delete;
  TokenClient& operator=(const TokenClient&) = delete;

  // A token for the service's own identity, for `audience` (sent as the RFC 8707 `resource`;
  // oidc-provider wants an absolute URI, e.g. urn:pit:shop.v1.Orders) with `scope` (space
  // separated; empty: the provider's default). Cached by (audience, scope).
  Result own_token(std::string_view audience, std::string_view scope);

  // The caller's `subject_token` exchanged for one for `audience` (sent as `resource`) with
  // `scope` (empty: the provider's choice, usually the subject's scopes). Cached by
  // (subject token, audience, scope): the whole token is the key, so two subjects never
  // share an entry, whatever their hashes.
  Result exchange(std::string_view subject_token, std::string_view audience, std::string_view scope);

  // Token requests sent so far (every attempt, answered or not).
  [[nodiscard]] std::uint64_t requests_sent() const;

 private:
  struct Entry;
  struct Answer;
  Result get(std::string key, const std::string& form);
  Answer request(const std::string& form) const;
  void make_room_locked(std::chrono::steady_clock::time_point now);
  std::chrono::steady_clock::time_point now() const;

  TokenEndpoint endpoint_;
  HttpFetch fetch_;
  TokenClientOptions options_;
  std::string authorization_;  // the Basic header value, made once
  mutable std::mutex mutex_;
  std::condition_variable fetched_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> cache_;
  std::uint64_t requests_sent_ = 0;
};

// The provider's metadata (OpenID Connect Discovery 1.0 / RFC 8414) from
// <issuer>/.well-known/openid-configuration. nullopt if it cannot be fetched or read, or its
// "issuer" is not `issuer` (OpenID Discovery 4.3: the metadata must name the issuer asked).
struct ProviderMetadata {
  std::string issuer;
  std::string token_endpoint;  // may be empty (a provider that issues no tokens to clients)
  std::string jwks_uri;
};
[[nodiscard]] std::optional<ProviderMetadata> discover(
    std::string_view issuer, const HttpFetch& fetch,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
[[nodiscard]] std::optional<std::string> discover_jwks_uri(std::string_view issuer, const HttpFetch& fetch);

}  // namespace pit::detail::identity
