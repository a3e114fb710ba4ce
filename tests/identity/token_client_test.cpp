// identity::TokenClient, a service's outbound credentials: client-credentials tokens and RFC 8693
// exchanges, cached until shortly before expiry, one request per key at a time, failures
// remembered only briefly. First against a scripted token endpoint (exact timing, hostile
// replies), then against the real identity provider (tests/idp, oidc-provider on loopback).
#include "identity/token_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/idp_fixture.hpp"
#include "transport/http/fetch.hpp"

namespace {

using namespace std::chrono_literals;
using pit::detail::FetchRequest;
using pit::detail::FetchResult;
using pit::detail::HttpFetch;
using pit::detail::identity::discover;
using pit::detail::identity::discover_jwks_uri;
using pit::detail::identity::TokenClient;
using pit::detail::identity::TokenClientOptions;
using pit::detail::identity::TokenEndpoint;
using Clock = std::chrono::steady_clock;

// A token endpoint that answers from a script and records what it was sent.
struct ScriptedEndpoint {
  std::mutex mutex;
  std::vector<FetchRequest> requests;
  std::function<FetchResult(const FetchRequest&, int n)> answer = [](const FetchRequest&, int n) {
    return FetchResult{
        200,
        R"({"access_token":"tok-)" + std::to_string(n) + R"(","token_type":"Bearer","expires_in":100})",
        {},
        {}};
  };

  HttpFetch fetch() {
    return [this](const FetchRequest& r) {
      int n = 0;
      {
        std::lock_guard lock(mutex);
        requests.push_back(r);
        n = static_cast<int>(requests.size());
      }
      return answer(r, n);
    };
  }
  int count() {
    std::lock_guard lock(mutex);
    return static_cast<int>(requests.size());
  }
  FetchRequest last() {
    std::lock_guard lock(mutex);
    return requests.back();
  }
};

// A clock the test moves.
struct FakeClock {
  std::atomic<Clock::rep> ticks{Clock::now().time_since_epoch().count()};
  void advance(Clock::duration d) { ticks += d.count(); }
  std::function<Clock::time_point()> fn() {
    return [this] { return Clock::time_point(Clock::duration(ticks.load())); };
  }
};

TokenEndpoint endpoint() { return {"http://idp.test/token", "gateway", "gateway-secret"}; }

TokenClientOptions with_clock(FakeClock& clock) {
  TokenClientOptions o;
  o.clock = clock.fn();
  return o;
}

TEST(TokenClient, OwnTokenRequestsClientCredentialsForTheAudienceWithBasicAuth) {
  ScriptedEndpoint idp;
  TokenClient client({"http://idp.test/token", "svc:a b", "p%ss&word="}, idp.fetch());
  const auto r = client.own_token("urn:pit:shop.v1.Orders", "orders.place orders.read");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.access_token, "tok-1");
  const auto sent = idp.last();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "http://idp.test/token");
  EXPECT_EQ(sent.content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(
      sent.body,
      "grant_type=client_credentials&resource=urn%3Apit%3Ashop.v1.Orders&scope=orders.place%20orders.read");
  // RFC 6749 2.3.1: Basic over the form-encoded id and secret: base64("svc%3Aa%20b:p%25ss%26word%3D").
  ASSERT_EQ(sent.headers.at(0).first, "Authorization");
  EXPECT_EQ(sent.headers.at(0).second, "Basic c3ZjJTNBYSUyMGI6cCUyNXNzJTI2d29yZCUzRA==");
}

TEST(TokenClient, SecondCallIsServedFromTheCache) {
  ScriptedEndpoint idp;
  TokenClient client(endpoint(), idp.fetch());
  EXPECT_EQ(client.own_token("urn:a", "s").access_token, "tok-1");
  EXPECT_EQ(client.own_token("urn:a", "s").access_token, "tok-1");
  EXPECT_EQ(idp.count(), 1);
  EXPECT_EQ(client.own_token("urn:a", "other").access_token, "tok-2");  // another scope, another key
  EXPECT_EQ(client.own_token("urn:b", "s").access_token, "tok-3");
  EXPECT_EQ(client.requests_sent(), 3u);
}

TEST(TokenClient, RefreshesTenPercentOfTheLifetimeBeforeExpiry) {
  ScriptedEndpoint idp;  // expires_in 100
  FakeClock clock;
  TokenClient client(endpoint(), idp.fetch(), with_clock(clock));
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "tok-1");
  clock.advance(89s);
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "tok-1");
  clock.advance(2s);  // 91 s: inside the last 10 s
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "tok-2");
  EXPECT_EQ(idp.count(), 2);
}

TEST(TokenClient, ShortLivedTokenIsRefreshedEarlyToo) {
  ScriptedEndpoint idp;
  idp.answer = [](const FetchRequest&, int n) {
    return FetchResult{
        200,
        R"({"access_token":"t)" + std::to_string(n) + R"(","token_type":"Bearer","expires_in":2})",
        {},
        {}};
  };
  FakeClock clock;
  TokenClient client(endpoint(), idp.fetch(), with_clock(clock));
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "t1");
  clock.advance(1790ms);
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "t1");
  clock.advance(20ms);  // 1.81 s: inside the last 200 ms
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "t2");
}

TEST(TokenClient, RefreshesAtMostAMinuteEarly) {
  ScriptedEndpoint idp;
  idp.answer = [](const FetchRequest&, int n) {
    return FetchResult{
        200,
        R"({"access_token":"t)" + std::to_string(n) + R"(","token_type":"bearer","expires_in":3600})",
        {},
        {}};
  };
  FakeClock clock;
  TokenClient client(endpoint(), idp.fetch(), with_clock(clock));
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "t1");
  clock.advance(3539s);
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "t1");
  clock.advance(2s);
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "t2");
}

TEST(TokenClient, TokenWithoutExpiresInIsNotCached) {
  ScriptedEndpoint idp;
  idp.answer = [](const FetchRequest&, int n) {
    return FetchResult{
        200, R"({"access_token":"t)" + std::to_string(n) + R"(","token_type":"Bearer"})", {}, {}};
  };
  TokenClient client(endpoint(), idp.fetch());
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "t1");
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "t2");
}

TEST(TokenClient, ConcurrentCallersForOneKeyShareOneRequest) {
  ScriptedEndpoint idp;
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  idp.answer = [&](const FetchRequest&, int n) {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return release; });
    return FetchResult{
        200,
        R"({"access_token":"tok-)" + std::to_string(n) + R"(","token_type":"Bearer","expires_in":100})",
        {},
        {}};
  };
  TokenClient client(endpoint(), idp.fetch());
  std::vector<std::thread> callers;
  std::vector<std::string> got(8);
  for (std::size_t i = 0; i < got.size(); ++i) {
    callers.emplace_back([&, i] { got[i] = client.own_token("urn:a", "s").access_token; });
  }
  while (idp.count() == 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);  // the others are waiting now, not sending
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  for (auto& t : callers) t.join();
  EXPECT_EQ(idp.count(), 1);
  for (const auto& g : got) EXPECT_EQ(g, "tok-1");
}

TEST(TokenClient, StillValidTokenIsUsedWhenItsRefreshFails) {
  ScriptedEndpoint idp;
  FakeClock clock;
  idp.answer = [](const FetchRequest&, int n) {
    if (n == 1)
      return FetchResult{200, R"({"access_token":"tok-1","token_type":"Bearer","expires_in":100})", {}, {}};
    return FetchResult{0, {}, "connecting to idp.test:80: Connection refused", {}};
  };
  TokenClient client(endpoint(), idp.fetch(), with_clock(clock));
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "tok-1");
  clock.advance(95s);  // due for refresh, not expired
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "tok-1");
  EXPECT_EQ(idp.count(), 2);
  clock.advance(6s);  // expired: the failure shows
  const auto r = client.own_token("urn:a", "");
  EXPECT_EQ(r.access_token, "");
  EXPECT_TRUE(r.retryable);
}

TEST(TokenClient, FailureIsRememberedOnlyForTheBackoff) {
  ScriptedEndpoint idp;
  FakeClock clock;
  idp.answer = [](const FetchRequest&, int n) {
    if (n == 1) return FetchResult{503, R"({"error":"temporarily_unavailable"})", {}, {}};
    return FetchResult{200, R"({"access_token":"tok","token_type":"Bearer","expires_in":100})", {}, {}};
  };
  auto options = with_clock(clock);
  options.failure_backoff = 1s;
  TokenClient client(endpoint(), idp.fetch(), options);
  const auto first = client.own_token("urn:a", "");
  EXPECT_EQ(first.error, "the token endpoint answered 503 temporarily_unavailable");
  EXPECT_TRUE(first.retryable);
  clock.advance(900ms);
  EXPECT_EQ(client.own_token("urn:a", "").error, first.error);  // from the cache
  EXPECT_EQ(idp.count(), 1);
  clock.advance(200ms);
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "tok");
  EXPECT_EQ(idp.count(), 2);
}

TEST(TokenClient, RetryAfterLengthensTheBackoffUpToItsCap) {
  ScriptedEndpoint idp;
  FakeClock clock;
  idp.answer = [](const FetchRequest&, int) { return FetchResult{429, "", {}, std::chrono::seconds(3600)}; };
  auto options = with_clock(clock);
  options.max_retry_after = 5s;
  TokenClient client(endpoint(), idp.fetch(), options);
  EXPECT_TRUE(client.own_token("urn:a", "").retryable);
  clock.advance(4s);
  client.own_token("urn:a", "");
  EXPECT_EQ(idp.count(), 1);
  clock.advance(2s);
  client.own_token("urn:a", "");
  EXPECT_EQ(idp.count(), 2);
}

TEST(TokenClient, RefusalsAreNotRetryableAndNameNoSecret) {
  ScriptedEndpoint idp;
  idp.answer = [](const FetchRequest&, int) {
    return FetchResult{
        401, R"({"error":"invalid_client","error_description":"client authentication failed"})", {}, {}};
  };
  TokenClient client(endpoint(), idp.fetch());
  const auto r = client.exchange("subject.jwt.token", "urn:a", "");
  EXPECT_EQ(r.error, "the token endpoint answered 401 invalid_client: client authentication failed");
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.error.find("gateway-secret"), std::string::npos);
  EXPECT_EQ(r.error.find("subject.jwt.token"), std::string::npos);
}

TEST(TokenClient, UnusableRepliesAreErrors) {
  const std::pair<FetchResult, std::string> cases[] = {
      {{0, {}, "no reply within 2000 ms", {}},
       "the token endpoint cannot be reached: no reply within 2000 ms"},
      {{200, "<html>", {}, {}}, "the token endpoint's reply is not a JSON object"},
      {{200, R"({"token_type":"Bearer"})", {}, {}}, "the token endpoint's reply has no access_token"},
      {{200, R"({"access_token":"","token_type":"Bearer"})", {}, {}},
       "the token endpoint's reply has no access_token"},
      {{200, R"({"access_token":"x","token_type":"DPoP"})", {}, {}},
       "the token endpoint issued a token that is not a Bearer token"},
      {{200, R"({"access_token":"x"})", {}, {}},
       "the token endpoint issued a token that is not a Bearer token"},
      {{200, R"({"access_token":"x","token_type":"Bearer","expires_in":-5})", {}, {}},
       "the token endpoint's reply has an invalid expires_in"},
      {{200, R"({"access_token":"x","token_type":"Bearer","expires_in":"60"})", {}, {}},
       "the token endpoint's reply has an invalid expires_in"},
      {{500, "oops", {}, {}}, "the token endpoint answered 500"},
  };
  for (const auto& [reply, error] : cases) {
    ScriptedEndpoint idp;
    idp.answer = [&reply = reply](const FetchRequest&, int) { return reply; };
    TokenClient client(endpoint(), idp.fetch());
    EXPECT_EQ(client.own_token("urn:a", "").error, error) << reply.body;
  }
}

TEST(TokenClient, ThrowingFetchIsARetryableErrorAndLeavesNoKeyStuck) {
  ScriptedEndpoint idp;
  FakeClock clock;
  idp.answer = [](const FetchRequest&, int n) {
    if (n == 1) throw std::runtime_error("out of sockets");
    return FetchResult{200, R"({"access_token":"tok","token_type":"Bearer","expires_in":100})", {}, {}};
  };
  TokenClient client(endpoint(), idp.fetch(), with_clock(clock));
  const auto r = client.own_token("urn:a", "");
  EXPECT_EQ(r.error, "the token request failed: out of sockets");
  EXPECT_TRUE(r.retryable);
  clock.advance(2s);
  EXPECT_EQ(client.own_token("urn:a", "").access_token, "tok");
}

TEST(TokenClient, ExchangeSendsTheSubjectTokenAndIsCachedPerSubject) {
  ScriptedEndpoint idp;
  TokenClient client(endpoint(), idp.fetch());
  EXPECT_EQ(client.exchange("alice.token", "urn:pit:shop.v1.Orders", "orders.place").access_token, "tok-1");
  EXPECT_EQ(idp.last().body,
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=alice.token"
            "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
            "&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
            "&resource=urn%3Apit%3Ashop.v1.Orders&scope=orders.place");
  EXPECT_EQ(client.exchange("alice.token", "urn:pit:shop.v1.Orders", "orders.place").access_token, "tok-1");
  EXPECT_EQ(client.exchange("bob.token", "urn:pit:shop.v1.Orders", "orders.place").access_token, "tok-2");
  EXPECT_EQ(client.exchange("alice.token", "urn:pit:shop.v1.Inventory", "orders.place").access_token,
            "tok-3");
  EXPECT_EQ(client.own_token("urn:pit:shop.v1.Orders", "orders.place").access_token,
            "tok-4");  // never an exchanged one
  EXPECT_EQ(idp.count(), 4);
  EXPECT_EQ(client.exchange("", "urn:a", "").error, "there is no subject token to exchange");
  EXPECT_EQ(idp.count(), 4);
}

TEST(TokenClient, CacheIsBounded) {
  ScriptedEndpoint idp;
  TokenClientOptions options;
  options.max_entries = 4;
  TokenClient client(endpoint(), idp.fetch(), options);
  for (int i = 0; i < 10; ++i) client.exchange("subject-" + std::to_string(i), "urn:a", "");
  EXPECT_EQ(idp.count(), 10);
  client.exchange("subject-9", "urn:a", "");  // the most recent are kept
  EXPECT_EQ(idp.count(), 10);
  client.exchange("subject-0", "urn:a", "");  // the oldest went
  EXPECT_EQ(idp.count(), 11);
}

TEST(TokenClient, DiscoveryReadsTheProviderMetadataOfThatIssuerOnly) {
  ScriptedEndpoint idp;
  idp.answer = [](const FetchRequest&, int) {
    return FetchResult{
        200,
        R"({"issuer":"http://idp.test","jwks_uri":"http://idp.test/jwks","token_endpoint":"http://idp.test/token"})",
        {},
        {}};
  };
  const auto m = discover("http://idp.test", idp.fetch());
  EXPECT_EQ(idp.last().url, "http://idp.test/.well-known/openid-configuration");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->jwks_uri, "http://idp.test/jwks");
  EXPECT_EQ(m->token_endpoint, "http://idp.test/token");
  EXPECT_FALSE(discover("http://idp.test/", idp.fetch()).has_value());  // names another issuer
  EXPECT_FALSE(discover_jwks_uri("http://other.test", idp.fetch()).has_value());
  idp.answer = [](const FetchRequest&, int) { return FetchResult{404, "", {}, {}}; };
  EXPECT_FALSE(discover_jwks_uri("http://idp.test", idp.fetch()).has_value());
}

// The real provider.

// The claims of a JWS compact token, unverified.
boost::json::object claims_of(const std::string& jwt) {
  const auto a = jwt.find('.');
  const auto b = jwt.find('.', a + 1);
  std::string part = jwt.substr(a + 1, b - a - 1);
  for (auto& c : part) c = c == '-' ? '+' : c == '_' ? '/' : c;
  static const std::string table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const char c : part) {
    bits = (bits << 6) | static_cast<unsigned>(table.find(c));
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return boost::json::parse(out).as_object();
}

constexpr const char* kIdpConfig = R"({
  "resources": {
    "urn:pit:shop.v1.Gateway": {"scope": "orders.place", "audience": "shop.v1.Gateway"},
    "urn:pit:shop.v1.Orders": {"scope": "orders.place orders.read", "audience": "shop.v1.Orders"},
    "urn:pit:shop.v1.Inventory": {"scope": "inventory.reserve", "audience": "shop.v1.Inventory", "ttl": 2}
  },
  "clients": [
    {"client_id": "alice-app", "client_secret": "alice-secret"},
    {"client_id": "gateway", "client_secret": "gateway-secret", "exchange": true, "accepts": ["shop.v1.Gateway"]},
    {"client_id": "orders", "client_secret": "orders-secret", "exchange": true, "accepts": ["shop.v1.Orders"]}
  ]})";

class TokenClientWithProvider : public ::testing::Test {
 protected:
  void SetUp() override {
    idp_ = std::make_unique<pit::testing::IdentityProvider>(kIdpConfig);
    if (!idp_->started()) GTEST_SKIP() << idp_->why_not();
  }
  // A generous timeout: a loaded machine's node may take seconds over its first token.
  TokenClient client(const std::string& id, const std::string& secret) {
    TokenClientOptions options;
    options.request_timeout = 15s;
    return TokenClient({idp_->token_endpoint(), id, secret}, pit::detail::fetch, options);
  }
  std::unique_ptr<pit::testing::IdentityProvider> idp_;
};

TEST_F(TokenClientWithProvider, OwnTokenIsAnAccessTokenForTheAudience) {
  auto gateway = client("gateway", "gateway-secret");
  const auto r = gateway.own_token("urn:pit:shop.v1.Orders", "orders.place");
  ASSERT_EQ(r.error, "");
  const auto claims = claims_of(r.access_token);
  EXPECT_EQ(claims.at("aud").as_string(), "shop.v1.Orders");
  EXPECT_EQ(claims.at("scope").as_string(), "orders.place");
  EXPECT_EQ(claims.at("client_id").as_string(), "gateway");
  EXPECT_EQ(claims.at("iss").as_string(), idp_->issuer());
}

TEST_F(TokenClientWithProvider, SecondCallCostsTheProviderNothing) {
  auto gateway = client("gateway", "gateway-secret");
  const auto first = gateway.own_token("urn:pit:shop.v1.Orders", "orders.place");
  ASSERT_EQ(first.error, "");
  EXPECT_EQ(idp_->stat("token_requests"), 1);
  EXPECT_EQ(gateway.own_token("urn:pit:shop.v1.Orders", "orders.place").access_token, first.access_token);
  EXPECT_EQ(idp_->stat("token_requests"), 1);
}

TEST_F(TokenClientWithProvider, ExpiringTokenIsFetchedAnew) {
  auto orders = client("orders", "orders-secret");
  const auto t0 = std::chrono::steady_clock::now();
  const auto first = orders.own_token("urn:pit:shop.v1.Inventory", "inventory.reserve");  // ttl 2 s
  ASSERT_EQ(first.error, "");
  std::this_thread::sleep_until(t0 + 1500ms);
  long requests = 1;
  // On a loaded machine the first request may have taken so long that 1.5 s after it was
  // sent is past the refresh point already; the fake-clock tests above pin the exact point.
  if (std::chrono::steady_clock::now() < t0 + 1700ms) {
    EXPECT_EQ(orders.own_token("urn:pit:shop.v1.Inventory", "inventory.reserve").access_token, first.access_token);
    EXPECT_EQ(idp_->stat("token_requests"), 1);
  } else {
    orders.own_token("urn:pit:shop.v1.Inventory", "inventory.reserve");
    requests = idp_->stat("token_requests");
  }
  std::this_thread::sleep_until(t0 + 1900ms);  // past the refresh point (2 s - 10%)
  const auto second = orders.own_token("urn:pit:shop.v1.Inventory", "inventory.reserve");
  ASSERT_EQ(second.error, "");
  EXPECT_NE(second.access_token, first.access_token);
  EXPECT_EQ(idp_->stat("token_requests"), requests + 1);
}

TEST_F(TokenClientWithProvider, ExchangeAcrossTwoHopsCarriesTheSubjectAndTheActorChain) {
  auto alice = client("alice-app", "alice-secret");
  const auto user = alice.own_token("urn:pit:shop.v1.Gateway", "orders.place");
  ASSERT_EQ(user.error, "");
  auto gateway = client("gateway", "gateway-secret");
  const auto hop1 = gateway.exchange(user.access_token, "urn:pit:shop.v1.Orders", "orders.place");
  ASSERT_EQ(hop1.error, "");
  auto claims = claims_of(hop1.access_token);
  EXPECT_EQ(claims.at("sub").as_string(), "alice-app");
  EXPECT_EQ(claims.at("aud").as_string(), "shop.v1.Orders");
  EXPECT_EQ(boost::json::serialize(claims.at("act")), R"({"sub":"gateway"})");
  EXPECT_EQ(gateway.exchange(user.access_token, "urn:pit:shop.v1.Orders", "orders.place").access_token,
            hop1.access_token);  // cached
  const auto requests = idp_->stat("token_requests");

  auto orders = client("orders", "orders-secret");
  const auto hop2 = orders.exchange(hop1.access_token, "urn:pit:shop.v1.Inventory", "");
  ASSERT_EQ(hop2.error, "");
  claims = claims_of(hop2.access_token);
  EXPECT_EQ(claims.at("sub").as_string(), "alice-app");
  EXPECT_EQ(claims.at("aud").as_string(), "shop.v1.Inventory");
  EXPECT_EQ(boost::json::serialize(claims.at("act")), R"({"sub":"orders","act":{"sub":"gateway"}})");
  EXPECT_EQ(idp_->stat("token_requests"), requests + 1);
}

TEST_F(TokenClientWithProvider, ExchangeOfATokenNotMeantForThisServiceIsRefused) {
  auto alice = client("alice-app", "alice-secret");
  const auto user = alice.own_token("urn:pit:shop.v1.Gateway", "orders.place");
  ASSERT_EQ(user.error, "");
  auto orders = client("orders", "orders-secret");  // accepts tokens for shop.v1.Orders only
  const auto r = orders.exchange(user.access_token, "urn:pit:shop.v1.Inventory", "");
  EXPECT_EQ(r.error.rfind("the token endpoint answered 400 invalid_grant", 0), 0u) << r.error;
  EXPECT_FALSE(r.retryable);
}

TEST_F(TokenClientWithProvider, BadSecretIsAnErrorThatIsNotRetryable) {
  auto gateway = client("gateway", "wrong");
  const auto r = gateway.own_token("urn:pit:shop.v1.Orders", "orders.place");
  EXPECT_EQ(r.access_token, "");
  EXPECT_EQ(r.error.rfind("the token endpoint answered 401 invalid_client", 0), 0u) << r.error;
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.error.find("wrong"), std::string::npos);
}

TEST_F(TokenClientWithProvider, ProviderDownIsARetryableError) {
  auto gateway = client("gateway", "gateway-secret");
  idp_->stop();
  const auto r = gateway.own_token("urn:pit:shop.v1.Orders", "orders.place");
  EXPECT_EQ(r.access_token, "");
  EXPECT_EQ(r.error.rfind("the token endpoint cannot be reached: connecting to 127.0.0.1:", 0), 0u)
      << r.error;
  EXPECT_TRUE(r.retryable);
}

TEST_F(TokenClientWithProvider, ProviderAnswering503IsRetryableAndRecovers) {
  TokenClientOptions options;
  options.failure_backoff = 0ms;
  options.request_timeout = 15s;
  TokenClient gateway({idp_->token_endpoint(), "gateway", "gateway-secret"}, pit::detail::fetch, options);
  ASSERT_NE(idp_->fail_next(1, 503), "");
  const auto r = gateway.own_token("urn:pit:shop.v1.Orders", "orders.place");
  EXPECT_EQ(r.error, "the token endpoint answered 503 temporarily_unavailable");
  EXPECT_TRUE(r.retryable);
  std::this_thread::sleep_for(1100ms);  // its Retry-After: 1
  EXPECT_EQ(gateway.own_token("urn:pit:shop.v1.Orders", "orders.place").error, "");
}

TEST_F(TokenClientWithProvider, DiscoveryFindsTheKeySetAndTheTokenEndpoint) {
  EXPECT_EQ(discover_jwks_uri(idp_->issuer(), pit::detail::fetch), idp_->jwks_uri());
  const auto m = discover(idp_->issuer(), pit::detail::fetch);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->token_endpoint, idp_->token_endpoint());
  EXPECT_EQ(idp_->stat("jwks_fetches"), 0);
}

}  // namespace
