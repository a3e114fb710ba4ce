#include "identity/token_client.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <utility>

namespace pit::detail::identity {

namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr std::string_view kAccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

// application/x-www-form-urlencoded, as RFC 6749 asks for the body and for the Basic
// credentials alike: everything but the unreserved characters is percent-encoded.
std::string form_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void add_field(std::string& form, std::string_view name, std::string_view value) {
  if (!form.empty()) form += '&';
  form += name;
  form += '=';
  form += form_encode(value);
}

std::string base64(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += table[(n >> 6) & 63];
    out += table[n & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += table[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Unambiguous cache keys: each part with its length in front.
void add_key_part(std::string& key, std::string_view part) {
  key += std::to_string(part.size());
  key += ':';
  key += part;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

const json::string* string_member(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v ? v->if_string() : nullptr;
}

// What the provider said, printable: its error code and (shortened) description only.
std::string describe_refusal(int status, std::string_view body) {
  std::string what = "the token endpoint answered " + std::to_string(status);
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return what;
  const auto& o = v.get_object();
  // Appended piece by piece: GCC 12's -Wrestrict misjudges `" " + std::string(...)` in Release.
  if (const auto* e = string_member(o, "error")) what.append(" ").append(e->subview().substr(0, 64));
  if (const auto* d = string_member(o, "error_description")) what.append(": ").append(d->subview().substr(0, 200));
  return what;
}

// A successful token response (RFC 6749 5.1); `lifetime` stays 0 when it has no expires_in
// (such a token is used once, never cached).
struct Issued {
  std::string access_token;
  std::chrono::seconds lifetime{0};
};
std::string read_issued(std::string_view body, Issued& out) {
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return "the token endpoint's reply is not a JSON object";
  const auto& o = v.get_object();
  const auto* token = string_member(o, "access_token");
  if (!token || token->empty()) return "the token endpoint's reply has no access_token";
  const auto* type = string_member(o, "token_type");
  if (!type || !equals_nocase(type->subview(), "Bearer"))
    return "the token endpoint issued a token that is not a Bearer token";
  if (const auto* expires = o.if_contains("expires_in")) {
    const auto* n = expires->if_int64();
    const auto* u = expires->if_uint64();
    const std::int64_t seconds = n   ? *n
                                 : u ? static_cast<std::int64_t>(std::min<std::uint64_t>(*u, INT64_MAX))
                                     : -1;
    if (seconds < 0) return "the token endpoint's reply has an invalid expires_in";
    out.lifetime = std::chrono::seconds(std::min<std::int64_t>(seconds, 365LL * 24 * 3600));
  }
  out.access_token = std::string(token->subview());
  return {};
}

}  // namespace

// One cache key's state. An entry that is being fetched is never evicted.
struct TokenClient::Entry {
  std::string token;  // empty: none yet
  Clock::time_point refresh_at{};
  Clock::time_point expires_at{};
  std::string error;  // the last failure, answered until error_until
  bool retryable = false;
  Clock::time_point error_until{};
  bool fetching = false;
  Clock::time_point last_used{};
};

// One token request's outcome: the result, and for the cache the token's lifetime (0:
// unknown, not cached) or the provider's Retry-After.
struct TokenClient::Answer {
  Result result;
  std::chrono::seconds lifetime{0};
  std::optional<std::chrono::seconds> retry_after;
};

TokenClient::TokenClient(TokenEndpoint endpoint, HttpFetch fetch, TokenClientOptions options)
    : endpoint_(std::move(endpoint)), fetch_(std::move(fetch)), options_(std::move(options)) {
  authorization_ =
      "Basic " + base64(form_encode(endpoint_.client_id) + ":" + form_encode(endpoint_.client_secret));
  if (options_.max_entries == 0) options_.max_entries = 1;
}

TokenClient::~TokenClient() = default;

Clock::time_point TokenClient::now() const { return options_.clock ? options_.clock() : Clock::now(); }

std::uint64_t TokenClient::requests_sent() const {
  std::lock_guard lock(mutex_);
  return requests_sent_;
}

Result TokenClient::own_token(std::string_view audience, std::string_view scope) {
  std::string key = "own:";
  add_key_part(key, audience);
  add_key_part(key, scope);
  std::string form;
  add_field(form, "grant_type", "client_credentials");
  add_field(form, "resource", audience);
  if (!scope.empty()) add_field(form, "scope", scope);
  return get(std::move(key), form);
}

Result TokenClient::exchange(std::string_view subject_token, std::string_view audience,
                             std::string_view scope) {
  if (subject_token.empty()) return {{}, "there is no subject token to exchange", false};
  std::string key = "exchange:";
  add_key_part(key, audience);
  add_key_part(key, scope);
  add_key_part(key, subject_token);
  std::string form;
  add_field(form, "grant_type", kTokenExchange);
  add_field(form, "subject_token", subject_token);
  add_field(form, "subject_token_type", kAccessTokenType);
  add_field(form, "requested_token_type", kAccessTokenType);
  add_field(form, "resource", audience);
  if (!scope.empty()) add_field(form, "scope", scope);
  return get(std::move(key), form);
}

Result TokenClient::get(std::string key, const std::string& form) {
  std::unique_lock lock(mutex_);
  std::shared_ptr<Entry> entry;
  for (;;) {
    const auto t = now();
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      make_room_locked(t);
      it = cache_.emplace(key, std::make_shared<Entry>()).first;
    }
    entry = it->second;
    entry->last_used = t;
    const bool valid = !entry->token.empty() && t < entry->expires_at;
    // A token due for refresh is still good until it expires: while another caller
    // refreshes it, or after a refresh failed, callers take it rather than wait or fail.
    if (valid && (t < entry->refresh_at || entry->fetching || t < entry->error_until))
      return {entry->token, {}, false};
    if (entry->fetching) {
      fetched_.wait(lock);
      continue;
    }
    if (!entry->error.empty() && t < entry->error_until) return {{}, entry->error, entry->retryable};
    break;
  }
  entry->fetching = true;
  ++requests_sent_;
  const auto sent_at = now();
  lock.unlock();

  Answer answer = request(form);
  Result& result = answer.result;

  lock.lock();
  entry->fetching = false;
  const auto t = now();
  if (result.error.empty()) {
    const auto lifetime = std::chrono::duration_cast<Clock::duration>(answer.lifetime);
    const auto margin = std::min<Clock::duration>(options_.max_refresh_margin, lifetime / 10);
    entry->token = result.access_token;
    entry->expires_at = sent_at + lifetime;
    entry->refresh_at = entry->expires_at - margin;
    entry->error.clear();
    entry->error_until = {};
  } else {
    entry->error = result.error;
    entry->retryable = result.retryable;
    entry->error_until = t + options_.failure_backoff;
    if (answer.retry_after && result.retryable) {
      entry->error_until = t + std::min<Clock::duration>(*answer.retry_after, options_.max_retry_after);
    }
    if (!entry->token.empty() && t < entry->expires_at) result = {entry->token, {}, false};
  }
  fetched_.notify_all();
  return result;
}

void TokenClient::make_room_locked(Clock::time_point now) {
  if (cache_.size() < options_.max_entries) return;
  std::erase_if(cache_, [&](const auto& kv) {
    const Entry& e = *kv.second;
    return !e.fetching && now >= e.expires_at && now >= e.error_until;
  });
  while (cache_.size() >= options_.max_entries) {
    auto oldest = cache_.end();
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (!it->second->fetching &&
          (oldest == cache_.end() || it->second->last_used < oldest->second->last_used)) {
        oldest = it;
      }
    }
    if (oldest == cache_.end()) return;  // every entry is being fetched: over the bound until they finish
    cache_.erase(oldest);
  }
}

TokenClient::Answer TokenClient::request(const std::string& form) const {
  FetchRequest req;
  req.method = "POST";
  req.url = endpoint_.token_url;
  req.body = form;
  req.content_type = "application/x-www-form-urlencoded";
  req.headers = {{"Authorization", authorization_}, {"Accept", "application/json"}};
  req.timeout = options_.request_timeout;
  req.max_reply_bytes = 64 * 1024;
  FetchResult reply;
  try {
    reply = fetch_(req);
  } catch (const std::exception& e) {
    return {{{}, std::string("the token request failed: ") + e.what(), true}, {}, {}};
  } catch (...) {  // whatever the injected fetch throws, the entry must not stay "fetching"
    return {{{}, "the token request failed", true}, {}, {}};
  }
  if (!reply.error.empty())
    return {{{}, "the token endpoint cannot be reached: " + reply.error, true}, {}, {}};
  if (reply.status != 200) {
    const bool retryable = reply.status >= 500 || reply.status == 429 || reply.status == 408;
    return {{{}, describe_refusal(reply.status, reply.body), retryable}, {}, reply.retry_after};
  }
  Issued issued;
  if (auto why = read_issued(reply.body, issued); !why.empty()) return {{{}, std::move(why), false}, {}, {}};
  return {{std::move(issued.access_token), {}, false}, issued.lifetime, {}};
}

std::optional<ProviderMetadata> discover(std::string_view issuer, const HttpFetch& fetch,
                                         std::chrono::milliseconds timeout) {
  FetchRequest req;
  std::string_view base = issuer;
  if (!base.empty() && base.back() == '/') base.remove_suffix(1);
  req.url = std::string(base) + "/.well-known/openid-configuration";
  req.headers = {{"Accept", "application/json"}};
  req.timeout = timeout;
  FetchResult reply;
  try {
    reply = fetch(req);
  } catch (...) {
    return std::nullopt;
  }
  if (!reply.error.empty() || reply.status != 200) return std::nullopt;
  boost::system::error_code ec;
  const auto v = json::parse(reply.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* iss = string_member(o, "issuer");
  const auto* jwks = string_member(o, "jwks_uri");
  if (!iss || iss->subview() != issuer || !jwks || jwks->empty()) return std::nullopt;
  ProviderMetadata m;
  m.issuer = std::string(iss->subview());
  m.jwks_uri = std::string(jwks->subview());
  if (const auto* token = string_member(o, "token_endpoint"))
    m.token_endpoint = std::string(token->subview());
  return m;
}

std::optional<std::string> discover_jwks_uri(std::string_view issuer, const HttpFetch& fetch) {
  auto m = discover(issuer, fetch);
  if (!m) return std::nullopt;
  return std::move(m->jwks_uri);
}

}  // namespace pit::detail::identity
