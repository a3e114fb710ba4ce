// Bearer authentication end to end: a real pit::Host, its keys from a JWKS endpoint this
// test serves on loopback (counting its GETs), tokens minted by DevSigner and sent over
// real HTTP. What the Authenticator and the authentication policy guarantee: a valid
// token's identity reaches the operation, a repeated one costs no signature check, key
// rotation costs one refetch, a flood of unknown key ids cannot make the host hammer its
// issuer, no key set means 503 (never open), a withdrawn key's tokens stop working at the
// refresh that withdraws it, and every refused token is audited by its hash, never shown.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/describe.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "identity/base64url.hpp"
#include "identity/dev_signer.hpp"
#include "identity/jwt.hpp"
#include "pit/audit.hpp"
#include "support/audit_lines.hpp"
#include "pit/pit.hpp"
#include "support/raw_http.hpp"

using namespace std::chrono_literals;
using pit::detail::identity::base64url_encode;
using pit::detail::identity::DevSigner;
using pit::detail::identity::token_hash;

namespace ledger {

struct Ask {
  std::string note;
};
BOOST_DESCRIBE_STRUCT(Ask, (), (note))
struct Who {
  std::string issuer;
  std::string subject;
  std::string client_id;
  std::string method;
  std::vector<std::string> scopes;
};
BOOST_DESCRIBE_STRUCT(Who, (), (issuer, subject, client_id, method, scopes))

Who who() {
  const pit::Principal& p = pit::caller();
  return {p.issuer, p.subject, p.client_id, std::string{pit::to_string(p.method)}, p.scopes};
}

class Ledger {
 public:
  virtual ~Ledger() = default;

 protected:
  virtual pit::Task<Who> whoami(Ask) = 0;
  virtual pit::Task<Who> ping(Ask) = 0;
};
PIT_CONTRACT(Ledger, "test.v1.Ledger", (whoami, pit::OpSpec{}.require(pit::scope("ledger.read"))),
             (ping, pit::OpSpec{}.anonymous("a probe: a token presented to it is checked all the same")));

class LedgerService final : public Ledger {
 protected:
  pit::Task<Who> whoami(Ask) override { co_return who(); }
  pit::Task<Who> ping(Ask) override { co_return who(); }
};

// A second contract, so that a token for one is presented to the other.
class Other {
 public:
  virtual ~Other() = default;

 protected:
  virtual pit::Task<Who> ping(Ask) = 0;
};
PIT_CONTRACT(Other, "test.v1.Other", (ping, pit::OpSpec{}.anonymous("a probe")));

class OtherService final : public Other {
 protected:
  pit::Task<Who> ping(Ask) override { co_return who(); }
};

}  // namespace ledger

namespace {

constexpr const char* kIssuer = "https://idp.test";
constexpr const char* kAudience = "urn:pit:test.v1.Ledger";

// The issuer's JWKS endpoint: serves what the test publishes, counts the GETs it answers,
// and can be down (nothing listens on its port: connection refused) and come up again on
// the same port.
class JwksServer {
 public:
  JwksServer() { listen(0); }
  ~JwksServer() { down(); }
  JwksServer(const JwksServer&) = delete;
  JwksServer& operator=(const JwksServer&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/jwks"; }
  [[nodiscard]] int gets() const { return gets_.load(); }
  // What the next GETs are answered: `status` with `body`.
  void publish(std::string body, int status = 200) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
    status_ = status;
  }
  void down() {
    if (!thread_.joinable()) return;
    io_->stop();
    thread_.join();
    acceptor_->close();
    acceptor_.reset();
    io_.reset();
  }
  void up() { listen(port_); }

 private:
  void listen(unsigned short port) {
    namespace asio = boost::asio;
    io_ = std::make_unique<asio::io_context>();
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(*io_);
    const asio::ip::tcp::endpoint at{asio::ip::make_address("127.0.0.1"), port};
    acceptor_->open(at.protocol());
    acceptor_->set_option(asio::socket_base::reuse_address(true));
    acceptor_->bind(at);
    acceptor_->listen();
    port_ = acceptor_->local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_->run(); });
  }
  void accept() {
    acceptor_->async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (ec) return;
      answer(socket);  // one at a time, blocking: the host's fetches are small and quick
      accept();
    });
  }
  void answer(boost::asio::ip::tcp::socket& socket) {
    timeval tv{2, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    boost::asio::streambuf request;
    boost::system::error_code ec;
    boost::asio::read_until(socket, request, "\r\n\r\n", ec);
    if (ec) return;
    std::string body;
    int status = 0;
    {
      std::lock_guard lock(mutex_);
      body = body_;
      status = status_;
    }
    ++gets_;
    const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                              " X\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
    boost::asio::write(socket, boost::asio::buffer(reply), ec);
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  }

  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
  unsigned short port_ = 0;
  std::atomic<int> gets_{0};
  std::mutex mutex_;
  std::string body_;
  int status_ = 200;
};

// {"keys":[...]} holding the public keys of all these signers.
std::string jwks_of(std::initializer_list<const DevSigner*> signers) {
  std::string keys;
  for (const auto* s : signers) {
    const std::string one = s->jwks();
    const auto open = one.find('[');
    const auto close = one.rfind(']');
    if (!keys.empty()) keys += ",";
    keys += one.substr(open + 1, close - open - 1);
  }
  return R"({"keys":[)" + keys + "]}";
}

using AuditLines = testing_support::AuditLines;

class Authentication : public ::testing::Test {
 protected:
  // Started by each test after it has published keys and adjusted `options`.
  void start() {
    host = std::make_unique<pit::Host>(options);
    host->serve<ledger::Ledger, ledger::LedgerService>();
    host->serve<ledger::Other, ledger::OtherService>();
    host->start();
  }
  void TearDown() override {
    if (host) host->stop();
  }

  [[nodiscard]] static pit::HostOptions defaults(const std::string& jwks_url, std::shared_ptr<pit::log::MemorySink> logs,
                                                 std::shared_ptr<AuditLines> audit) {
    pit::HostOptions o;
    o.log_sink = std::move(logs);
    o.http.listen = "127.0.0.1:0";
    o.admin.listen = "127.0.0.1:0";
    o.audit.sink = std::move(audit);
    o.auth.issuer = kIssuer;
    o.auth.jwks_url = jwks_url;
    o.auth.plaintext_bearer = true;
    o.auth.jwks_min_refetch = 300ms;
    o.auth.jwks_refresh = 1h;  // no background refresh in the middle of a test
    return o;
  }

  // A token of `signer` for the Ledger with scope ledger.read, valid for an hour.
  static std::string token(const DevSigner& signer, std::string_view audience = kAudience,
                           std::string_view subject = "alice") {
    return signer.access_token(kIssuer, audience, subject, "ledger.read ledger.audit", 1h);
  }
  // POST /<path> with this Authorization header value (none when empty): the raw response.
  std::string call(const std::string& path, const std::string& authorization) const {
    rawhttp::Connection c{host->http_port()};
    const std::string header = authorization.empty() ? std::string{} : "Authorization: " + authorization + "\r\n";
    c.send(rawhttp::post("/" + path, R"({"note":"x"})", header));
    return c.read_response();
  }
  std::string bearer(const std::string& t, const std::string& path = "test.v1.Ledger/whoami") const {
    return call(path, "Bearer " + t);
  }
  [[nodiscard]] long metric(const std::string& name) const { return rawhttp::metric_sum(host->admin_port(), name); }
  // The value of the one sample `name_and_labels` on /metrics; -1 if there is none.
  [[nodiscard]] long sample(const std::string& name_and_labels) const {
    rawhttp::Connection c{host->admin_port()};
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string page = rawhttp::body_of(c.read_response());
    const auto at = page.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) return -1;
    return std::stol(page.substr(at + name_and_labels.size() + 2));
  }
  // GET /readyz: {status, body}.
  [[nodiscard]] std::pair<int, std::string> readyz() const {
    rawhttp::Connection c{host->admin_port()};
    c.send("GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string all = c.read_until_closed();
    return {rawhttp::status_of(all), rawhttp::body_of(all)};
  }
  // /readyz until it answers `status`, at most `wait`.
  [[nodiscard]] std::pair<int, std::string> readyz_until(int status, std::chrono::milliseconds wait = 3s) const {
    const auto until = std::chrono::steady_clock::now() + wait;
    auto r = readyz();
    while (r.first != status && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
      r = readyz();
    }
    return r;
  }
  // Lets jwks_min_refetch pass since the last fetch: the next unknown key id may refetch.
  void after_min_refetch() const { std::this_thread::sleep_for(options.auth.jwks_min_refetch + 50ms); }
  // A well-formed token, signed, that names the key id `kid` (which the issuer never had).
  static std::string with_kid(const DevSigner& signer, const std::string& kid) {
    const std::string header = R"({"alg":"ES256","typ":"at+jwt","kid":")" + kid + R"("})";
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string claims = R"({"iss":")" + std::string{kIssuer} + R"(","sub":"mallory","aud":")" + kAudience +
                               R"(","client_id":"mallory","iat":)" + std::to_string(now) +
                               R"(,"exp":)" + std::to_string(now + 3600) + R"(,"jti":")" + kid + R"("})";
    return signer.sign(header, claims);
  }
  // The refusal of a presented token: 401, the challenge that says the token was the
  // problem, and a body that does not say why.
  static void expect_invalid_token(const std::string& response, std::string_view why = {}) {
    EXPECT_EQ(rawhttp::status_of(response), 401) << response;
    EXPECT_EQ(rawhttp::header_of(response, "WWW-Authenticate"), R"(Bearer error="invalid_token")") << response;
    const std::string body = rawhttp::body_of(response);
    EXPECT_EQ(body.find("invalid_token"), std::string::npos) << body;
    if (!why.empty()) {
      EXPECT_EQ(body.find(why), std::string::npos) << body;
    }
  }
  // The audit record of a refused token: deny, the reason, the token's hash; and the token
  // itself in no audit record and no log line.
  void expect_denial_audited(const std::string& t, const std::string& reason, std::size_t expected = 1) {
    const auto records = audit->with(R"("reason":")" + reason + R"(")", expected);
    ASSERT_EQ(records.size(), expected) << reason;
    for (const auto& record : records) {
      EXPECT_NE(record.find(R"("decision":"deny")"), std::string::npos) << record;
      EXPECT_NE(record.find(R"("token_hash":")" + token_hash(t) + R"(")"), std::string::npos) << record;
    }
    const std::string signature = t.substr(t.rfind('.') + 1);
    const std::string probe = signature.size() >= 16 ? signature : t;  // alg none: no signature
    EXPECT_TRUE(audit->with(probe, 0).empty()) << "the token is in an audit record";
    pit::log::flush();
    for (const auto& line : logs->lines()) EXPECT_EQ(line.find(probe), std::string::npos) << line;
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  std::shared_ptr<AuditLines> audit = std::make_shared<AuditLines>();
  JwksServer jwks;
  DevSigner k1{DevSigner::Alg::RS256, "k1"};
  pit::HostOptions options = defaults(jwks.url(), logs, audit);
  std::unique_ptr<pit::Host> host;
};

// ---- accepted ----------------------------------------------------------------------------

TEST_F(Authentication, a_valid_token_is_accepted_and_the_operation_sees_its_caller) {
  jwks.publish(jwks_of({&k1}));
  start();
  const std::string response = bearer(token(k1));
  ASSERT_EQ(rawhttp::status_of(response), 200) << response;
  const std::string body = rawhttp::body_of(response);
  EXPECT_NE(body.find(R"("issuer":"https://idp.test")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("subject":"alice")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("client_id":"alice")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("method":"bearer")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("scopes":["ledger.read","ledger.audit"])"), std::string::npos) << body;
  const auto allowed = audit->with(R"("decision":"allow")");
  ASSERT_EQ(allowed.size(), 1U);
  EXPECT_NE(allowed[0].find(R"("subject":"alice")"), std::string::npos) << allowed[0];
}

TEST_F(Authentication, a_repeated_token_is_served_from_the_cache_without_a_signature_check) {
  jwks.publish(jwks_of({&k1}));
  start();
  const std::string t = token(k1);
  ASSERT_EQ(rawhttp::status_of(bearer(t)), 200);
  const long verified = metric("pit_auth_tokens_verified_total");
  const long hits = metric("pit_auth_token_cache_hits_total");
  EXPECT_EQ(verified, 1);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(rawhttp::status_of(bearer(t)), 200);
  EXPECT_EQ(metric("pit_auth_tokens_verified_total"), verified);
  EXPECT_EQ(metric("pit_auth_token_cache_hits_total"), hits + 3);
}

TEST_F(Authentication, a_cached_token_is_refused_by_a_contract_it_does_not_name) {
  jwks.publish(jwks_of({&k1}));
  start();
  const std::string t = token(k1);  // for test.v1.Ledger
  ASSERT_EQ(rawhttp::status_of(bearer(t)), 200);
  expect_invalid_token(bearer(t, "test.v1.Other/ping"));
  expect_denial_audited(t, "invalid_token:wrong_audience");
}

// ---- the audience -----------------------------------------------------------------------

TEST_F(Authentication, a_token_for_another_audience_is_refused) {
  jwks.publish(jwks_of({&k1}));
  start();
  const std::string t = token(k1, "urn:pit:other");
  expect_invalid_token(bearer(t));
  expect_invalid_token(bearer(t, "test.v1.Ledger/ping"));  // an open operation checks it all the same
  expect_denial_audited(t, "invalid_token:wrong_audience", 2);
}

TEST_F(Authentication, a_token_naming_the_contract_as_urn_or_by_name_is_accepted) {
  jwks.publish(jwks_of({&k1}));
  start();
  EXPECT_EQ(rawhttp::status_of(bearer(token(k1, "urn:pit:test.v1.Ledger"))), 200);
  EXPECT_EQ(rawhttp::status_of(bearer(token(k1, "test.v1.Ledger"))), 200);
  EXPECT_EQ(rawhttp::status_of(bearer(token(k1, "urn:pit:test.v1.Ledgerx"))), 401);
  EXPECT_EQ(rawhttp::status_of(bearer(token(k1, "urn:pit:test.v1"))), 401);
}

TEST_F(Authentication, a_token_for_a_configured_audience_is_accepted_by_every_contract) {
  options.auth.audiences = {"https://ledger.example"};
  jwks.publish(jwks_of({&k1}));
  start();
  const std::string t = token(k1, "https://ledger.example");
  EXPECT_EQ(rawhttp::status_of(bearer(t)), 200);
  EXPECT_EQ(rawhttp::status_of(bearer(t, "test.v1.Other/ping")), 200);
}

// ---- the key set ------------------------------------------------------------------------

TEST_F(Authentication, a_token_of_a_key_published_after_start_is_accepted_after_exactly_one_refetch) {
  jwks.publish(jwks_of({&k1}));
  start();
  ASSERT_EQ(jwks.gets(), 1);
  const DevSigner k2{DevSigner::Alg::ES256, "k2"};
  jwks.publish(jwks_of({&k1, &k2}));
  after_min_refetch();
  const std::string response = bearer(token(k2, kAudience, "bob"));
  EXPECT_EQ(rawhttp::status_of(response), 200) << response;
  EXPECT_EQ(jwks.gets(), 2);
  // Both keys are in use now, and neither costs another fetch.
  EXPECT_EQ(rawhttp::status_of(bearer(token(k1))), 200);
  EXPECT_EQ(rawhttp::status_of(bearer(token(k2, kAudience, "carol"))), 200);
  EXPECT_EQ(jwks.gets(), 2);
}

TEST_F(Authentication, a_flood_of_unknown_key_ids_is_refused_and_refetches_at_most_once_per_interval) {
  options.auth.jwks_min_refetch = 1000ms;
  jwks.publish(jwks_of({&k1}));
  const DevSigner forger{DevSigner::Alg::ES256, "forger"};
  std::vector<std::string> tokens;
  std::random_device random;
  for (int i = 0; i < 200; ++i) tokens.push_back(with_kid(forger, "random-" + std::to_string(i) + "-" + std::to_string(random())));
  start();
  after_min_refetch();  // the first unknown key id may refetch: a rotation looks just like it
  const int before = jwks.gets();
  constexpr int kThreads = 20;
  std::vector<std::string> responses(tokens.size());
  const auto began = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        rawhttp::Connection c{host->http_port()};
        for (std::size_t i = static_cast<std::size_t>(t); i < tokens.size(); i += kThreads) {
          c.send(rawhttp::post("/test.v1.Ledger/whoami", R"({"note":"x"})", "Authorization: Bearer " + tokens[i] + "\r\n"));
          responses[i] = c.read_response();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  const auto took = std::chrono::steady_clock::now() - began;
  const int fetches = jwks.gets() - before;
  const auto intervals = static_cast<int>(took / options.auth.jwks_min_refetch);
  EXPECT_GE(fetches, 1);
  EXPECT_LE(fetches, 1 + intervals) << "the flood took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  for (const auto& r : responses) expect_invalid_token(r, "unknown_key");
  EXPECT_EQ(audit->with(R"("reason":"invalid_token:unknown_key")", tokens.size()).size(), tokens.size());
}

TEST_F(Authentication, with_the_key_server_down_from_start_a_token_gets_503_never_200_until_the_keys_arrive) {
  jwks.publish(jwks_of({&k1}));
  jwks.down();
  start();
  const std::string t = token(k1);
  for (int i = 0; i < 3; ++i) {
    const std::string response = bearer(t);
    EXPECT_EQ(rawhttp::status_of(response), 503) << response;
    EXPECT_EQ(rawhttp::header_of(response, "Retry-After"), "1") << response;
    // An open operation is not open to a token that cannot be checked.
    EXPECT_EQ(rawhttp::status_of(bearer(t, "test.v1.Ledger/ping")), 503);
    after_min_refetch();
  }
  const auto [status, body] = readyz();
  EXPECT_EQ(status, 503) << body;
  EXPECT_NE(body.find("identity_keys"), std::string::npos) << body;
  EXPECT_GE(audit->with(R"("reason":"keys_unavailable")", 6).size(), 6U);

  jwks.up();
  after_min_refetch();
  const std::string response = bearer(t);
  EXPECT_EQ(rawhttp::status_of(response), 200) << response;
  EXPECT_EQ(readyz_until(200).first, 200);
}

TEST_F(Authentication, with_the_key_server_back_the_keys_arrive_without_waiting_for_a_call) {
  // A host that is not ready gets no traffic: it must not wait for a token-bearing call (or
  // for jwks_refresh, an hour here) to fetch the keys it lacks.
  jwks.publish(jwks_of({&k1}));
  jwks.down();
  start();
  EXPECT_EQ(readyz().first, 503);
  jwks.up();
  const auto [status, body] = readyz_until(200, 3s);
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(rawhttp::status_of(bearer(token(k1))), 200);
}

TEST_F(Authentication, a_failed_refresh_keeps_the_last_good_key_set) {
  jwks.publish(jwks_of({&k1}));
  start();
  const DevSigner stranger{DevSigner::Alg::ES256, "k9"};
  const std::pair<std::string, int> failures[] = {{"", 503}, {"not json", 200}, {R"({"keys":[]})", 200}};
  int expected_gets = 1;
  for (const auto& [text, status] : failures) {
    jwks.publish(text, status);
    after_min_refetch();
    // An unknown key id: a refetch, which fails.
    expect_invalid_token(bearer(token(stranger)));
    EXPECT_EQ(jwks.gets(), ++expected_gets) << text;
    // A new token (not cached) of the old key: verified with the key set kept.
    const long verified = metric("pit_auth_tokens_verified_total");
    EXPECT_EQ(rawhttp::status_of(bearer(token(k1, kAudience, "new-" + std::to_string(expected_gets)))), 200) << text;
    EXPECT_GT(metric("pit_auth_tokens_verified_total"), verified);
  }
  EXPECT_EQ(sample(R"(pit_auth_jwks_fetches_total{result="failed"})"), 3);
  EXPECT_EQ(sample(R"(pit_auth_jwks_fetches_total{result="ok"})"), 1);
  EXPECT_EQ(readyz().first, 200);
}

TEST_F(Authentication, a_withdrawn_keys_tokens_are_refused_after_the_refresh_that_drops_it_even_when_cached) {
  const DevSigner k2{DevSigner::Alg::ES256, "k2"};
  jwks.publish(jwks_of({&k1, &k2}));
  start();
  const std::string of_k2 = token(k2, kAudience, "bob");
  ASSERT_EQ(rawhttp::status_of(bearer(of_k2)), 200);
  ASSERT_EQ(rawhttp::status_of(bearer(of_k2)), 200);  // cached
  jwks.publish(jwks_of({&k1}));
  after_min_refetch();
  const DevSigner stranger{DevSigner::Alg::ES256, "k9"};
  expect_invalid_token(bearer(token(stranger)));  // an unknown key id: the refresh that drops k2
  ASSERT_EQ(jwks.gets(), 2);
  expect_invalid_token(bearer(of_k2));
  EXPECT_EQ(audit->with(R"("subject":"bob")", 2).size(), 2U);  // the two allowed calls only
  EXPECT_EQ(rawhttp::status_of(bearer(token(k1))), 200);
}

TEST_F(Authentication, a_key_replaced_under_the_same_kid_refuses_the_old_keys_cached_tokens) {
  jwks.publish(jwks_of({&k1}));
  start();
  const std::string old = token(k1, kAudience, "bob");
  ASSERT_EQ(rawhttp::status_of(bearer(old)), 200);
  const DevSigner replacement{DevSigner::Alg::RS256, "k1"};  // another key, the same kid
  jwks.publish(jwks_of({&replacement}));
  after_min_refetch();
  const DevSigner stranger{DevSigner::Alg::ES256, "k9"};
  expect_invalid_token(bearer(token(stranger)));  // an unknown key id: the refresh
  ASSERT_EQ(jwks.gets(), 2);
  expect_invalid_token(bearer(old));
  EXPECT_EQ(rawhttp::status_of(bearer(token(replacement))), 200);
}

// ---- hostile tokens, each once through HTTP -----------------------------------------------

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> mac{};
  std::size_t size = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), mac.size(), &size),
            nullptr);
  return std::string{reinterpret_cast<const char*>(mac.data()), size};
}

// The payload of a valid token of `signer`, as the attacker would copy it.
std::string payload_of(const std::string& t) { return t.substr(t.find('.') + 1, t.rfind('.') - t.find('.') - 1); }

class AuthenticationHostile : public Authentication {
 protected:
  void SetUp() override {
    options.auth.max_token_bytes = 2048;
    jwks.publish(jwks_of({&k1}));
    start();
  }
  void expect_refused(const std::string& t, const std::string& reason) {
    expect_invalid_token(bearer(t), reason.substr(reason.find(':') + 1));
    expect_denial_audited(t, reason);
  }
};

TEST_F(AuthenticationHostile, alg_none_is_refused_and_audited) {
  const std::string t = base64url_encode(R"({"alg":"none","typ":"at+jwt","kid":"k1"})") + "." + payload_of(token(k1)) + ".";
  expect_refused(t, "invalid_token:bad_algorithm");
}

TEST_F(AuthenticationHostile, hs256_signed_with_the_public_key_is_refused_and_audited) {
  const std::string input = base64url_encode(R"({"alg":"HS256","typ":"at+jwt","kid":"k1"})") + "." + payload_of(token(k1));
  const std::string t = input + "." + base64url_encode(hmac_sha256(k1.jwks(), input));
  expect_refused(t, "invalid_token:bad_algorithm");
}

TEST_F(AuthenticationHostile, an_expired_token_is_refused_and_audited) {
  expect_refused(k1.access_token(kIssuer, kAudience, "alice", "ledger.read", -1h), "invalid_token:expired");
}

TEST_F(AuthenticationHostile, a_token_of_another_issuer_is_refused_and_audited) {
  expect_refused(k1.access_token("https://evil.test", kAudience, "alice", "ledger.read", 1h), "invalid_token:wrong_issuer");
}

TEST_F(AuthenticationHostile, a_token_over_max_token_bytes_is_refused_and_audited) {
  const std::string t = k1.access_token(kIssuer, kAudience, "alice", "ledger.read", 1h,
                                        R"({"padding":")" + std::string(3000, 'p') + R"("})");
  ASSERT_GT(t.size(), 2048U);
  expect_refused(t, "invalid_token:too_large");
}

// ---- credentials refused before any key is used ------------------------------------------

TEST_F(Authentication, a_token_over_plaintext_without_plaintext_bearer_is_refused) {
  options.auth.plaintext_bearer = false;
  jwks.publish(jwks_of({&k1}));
  start();
  const std::string t = token(k1);
  expect_invalid_token(bearer(t));
  expect_invalid_token(bearer(t, "test.v1.Ledger/ping"));
  expect_denial_audited(t, "bearer_over_plaintext", 2);
  EXPECT_EQ(metric("pit_auth_tokens_verified_total"), 0);
}

TEST_F(Authentication, a_credential_of_another_scheme_is_refused) {
  jwks.publish(jwks_of({&k1}));
  start();
  for (const std::string& credential : {std::string{"Basic YWxpY2U6c2VjcmV0"}, "Token " + token(k1), std::string{"Bearer"},
                                        std::string{"Bearer "}}) {
    const std::string response = call("test.v1.Ledger/ping", credential);
    EXPECT_EQ(rawhttp::status_of(response), 401) << credential << "\n" << response;
    EXPECT_EQ(rawhttp::header_of(response, "WWW-Authenticate").rfind("Bearer", 0), 0U) << response;
  }
  EXPECT_EQ(audit->with(R"("reason":"unsupported_credential")", 4).size(), 4U);
  // Without any credential the open operation is open.
  EXPECT_EQ(rawhttp::status_of(call("test.v1.Ledger/ping", "")), 200);
}

TEST_F(Authentication, without_an_issuer_a_presented_token_is_refused_not_ignored) {
  options.auth = {};
  options.auth.plaintext_bearer = true;
  start();
  const std::string t = token(k1);
  const std::string response = bearer(t, "test.v1.Ledger/ping");  // open to anonymous callers
  expect_invalid_token(response);
  expect_denial_audited(t, "invalid_token:no_issuer_configured");
  EXPECT_EQ(rawhttp::status_of(call("test.v1.Ledger/ping", "")), 200);
}

}  // namespace
