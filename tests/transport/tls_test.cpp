// TLS on the HTTP listener and client (docs/tls.md): a real client (curl) gets its answer
// over https, old protocols and hostile handshakes are cut off within the read timeout
// while others are served, mutual TLS puts the verified peer's identity on the call, a
// changed certificate is served without a restart (a bad one is not), and pit's client
// verifies the server it calls. The identity side (docs/security.md): a bearer token over TLS
// is accepted without auth.plaintext_bearer, a client certificate's identity becomes the
// principal, or the actor when a token comes with it, and a certificate without a
// trustworthy identity makes no principal at all.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/describe.hpp>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "call/call_access.hpp"
#include "identity/dev_signer.hpp"
#include "support/admin_fixture.hpp"
#include "support/raw_http.hpp"
#include "support/test_certificates.hpp"

namespace shop {

// Who an operation sees calling: pit::caller(), as the reply.
struct Question {
  std::string about;
};
BOOST_DESCRIBE_STRUCT(Question, (), (about))
struct Caller {
  std::string subject;
  std::string method;
  std::vector<std::string> actors;  // their subjects, nearest first
};
BOOST_DESCRIBE_STRUCT(Caller, (), (subject, method, actors))

class Whoami {
 public:
  virtual ~Whoami() = default;

 protected:
  virtual Caller who(Question) = 0;
};
PIT_CONTRACT(Whoami, "test.v1.Whoami", (who, pit::OpSpec{}.require(pit::authenticated())));

class WhoamiService final : public Whoami {
 protected:
  Caller who(Question) override {
    const pit::Principal& p = pit::caller();
    Caller c{p.subject, std::string{pit::to_string(p.method)}, {}};
    for (const auto& actor : p.actors) c.actors.push_back(actor.subject);
    return c;
  }
};

namespace {

using namespace std::chrono_literals;
using pit::block_on;
using pit::Code;
using ClientAuth = pit::HttpOptions::ClientAuth;
using pit::detail::identity::DevSigner;

constexpr std::string_view kIssuer = "https://id.pit.test";

// The certificates every test shares, made once; the server's own files are per test
// (the reload tests replace them).
struct Files {
  std::string dir;
  testcerts::Authority ca{"pit test CA"};
  testcerts::Authority stranger{"someone else's CA"};
  std::string ca_file, stranger_ca_file;
  testcerts::Issued server, server_renewed, server_elsewhere;
  std::string spiffe_id = "spiffe://example.org/ns/shop/sa/orders";
  std::string client_spiffe, client_plain, client_expired, client_of_stranger, client_two_spiffe;
  // The issuer's signing key, and its public half where the hosts read it (auth.jwks_file).
  DevSigner signer{DevSigner::Alg::ES256, "k1"};
  std::string jwks_file;

  Files() {
    char pattern[] = "/tmp/pit-tls-XXXXXX";
    dir = ::mkdtemp(pattern);
    ca_file = dir + "/ca.pem";
    testcerts::write_file(ca_file, ca.pem());
    stranger_ca_file = dir + "/stranger-ca.pem";
    testcerts::write_file(stranger_ca_file, stranger.pem());
    server = ca.issue({"pit-test-server", "DNS:localhost,IP:127.0.0.1", 1001, -3600, 86'400});
    server_renewed = ca.issue({"pit-test-server-renewed", "DNS:localhost,IP:127.0.0.1", 2002, -3600, 86'400});
    server_elsewhere = ca.issue({"elsewhere", "DNS:elsewhere.example", 3003, -3600, 86'400});
    client_spiffe = pair("client-spiffe", ca.issue({"orders-client", "URI:" + spiffe_id, 11, -3600, 86'400}));
    client_plain = pair("client-plain", ca.issue({"plain-client", "", 12, -3600, 86'400}));
    client_expired = pair("client-expired", ca.issue({"expired-client", "", 13, -7200, -3600}));
    client_of_stranger = pair("client-stranger", stranger.issue({"stranger-client", "", 14, -3600, 86'400}));
    client_two_spiffe = pair("client-two-spiffe",
                             ca.issue({"two-ids", "URI:spiffe://example.org/a,URI:spiffe://example.org/b", 15, -3600, 86'400}));
    jwks_file = dir + "/jwks.json";
    testcerts::write_file(jwks_file, signer.jwks());
  }
  ~Files() { std::filesystem::remove_all(dir); }
  // Writes <name>.pem and <name>.key; returns the path without the extension.
  std::string pair(const std::string& name, const testcerts::Issued& issued) const {
    testcerts::write_file(dir + "/" + name + ".pem", issued.cert_pem);
    testcerts::write_file(dir + "/" + name + ".key", issued.key_pem);
    return dir + "/" + name;
  }
};

const Files& files() {
  static const Files f;
  return f;
}

// An Authorization header with a valid access token of the test issuer for `audience`
// (a contract's name, or urn:pit:<name>).
std::string bearer(const std::string& audience, std::string_view subject = "alice") {
  return "Bearer " + files().signer.access_token(kIssuer, audience, subject, "", std::chrono::minutes(10));
}

// A reply as curl saw it: the status (0 when there was no answer) and the body.
struct Reply {
  int status = 0;
  std::string body;
};

struct Ran {
  int exit_code = -1;
  std::string out;
};

Ran run(const std::string& command) {
  Ran r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  while (const auto n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// What the server shows in a handshake, read with OpenSSL directly (verification off:
// the tests look at which certificate it is).
struct Shown {
  long serial = -1;
  std::string common_name;
};

Shown served_certificate(unsigned short port, const char* alpn = nullptr, unsigned alpn_length = 0) {
  Shown shown;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return shown;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  if (alpn != nullptr) SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn), alpn_length);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) == 1) {
    if (X509* cert = SSL_get0_peer_certificate(ssl)) {
      shown.serial = ASN1_INTEGER_get(X509_get0_serialNumber(cert));
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
      shown.common_name = cn;
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  ERR_clear_error();
  return shown;
}

// The first flight of a real TLS client: its ClientHello, as it would go on the wire.
std::string client_hello() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_connect(ssl);  // wants to read the ServerHello: the hello is in `out`
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<std::size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return hello;
}

// Long enough that "at once" and "at the read timeout" stay apart under the sanitizers.
constexpr auto kReadTimeout = 1000ms;

class Tls : public HostWithAdminTest {
 protected:
  virtual ClientAuth client_auth() const { return ClientAuth::none; }
  pit::HostOptions options() override {
    auto o = HostWithAdminTest::options();
    o.http.listen = "127.0.0.1:0";
    o.http.read_timeout = kReadTimeout;
    o.http.tls_cert_file = dir + "/server.pem";
    o.http.tls_key_file = dir + "/server.key";
    o.http.tls_reload_interval = 50ms;
    // The issuer's keys, and no plaintext_bearer: tokens are accepted because this is TLS.
    o.auth.issuer = kIssuer;
    o.auth.jwks_file = files().jwks_file;
    if (client_auth() != ClientAuth::none) {
      o.http.tls_client_ca_file = files().ca_file;
      o.http.tls_client_auth = client_auth();
    }
    return o;
  }
  void SetUp() override {
    char pattern[] = "/tmp/pit-tls-server-XXXXXX";
    dir = ::mkdtemp(pattern);
    install(files().server);
    HostWithAdminTest::SetUp();
    host->serve<Whoami, WhoamiService>();
    // What the authentication policy read, seen from a policy of the test's own (it runs
    // after authorization: it sees the calls that were let in).
    host->use("seen", [this](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
      {
        std::lock_guard lock(seen_mutex);
        seen_identity = pit::detail::CallAccess::peer_identity(call);
        seen_secure = pit::detail::CallAccess::secure_transport(call);
        seen_credential = pit::detail::CallAccess::credential(call);
      }
      co_return co_await next(call);
    });
    host->start();
    port = host->http_port();
  }
  void TearDown() override {
    HostWithAdminTest::TearDown();
    std::filesystem::remove_all(dir);
  }
  void install(const testcerts::Issued& issued) const {
    testcerts::write_file(dir + "/server.key", issued.key_pem);
    testcerts::write_file(dir + "/server.pem", issued.cert_pem);
  }
  std::string url(const std::string& host_name = "127.0.0.1") const {
    return "https://" + host_name + ":" + std::to_string(port);
  }
  // curl POSTs a count request (an anonymous operation) with a valid token for Inventory;
  // prints the status and the HTTP version.
  Ran curl(const std::string& extra) const {
    return run("curl -sS --max-time 5 --cacert " + files().ca_file + " " + extra +
               " -H 'Content-Type: application/json' -H 'Authorization: " + inventory_token +
               "' -d '{\"sku\":\"apple\"}' -o /dev/null -w '%{http_code} HTTP/%{http_version}' " + url() +
               "/shop.v1.Inventory/count");
  }
  // curl asks Whoami.who (authenticated callers only) with `extra` options and
  // `credential` as its Authorization header ("": none).
  Reply who(const std::string& extra, const std::string& credential = "") const {
    const auto r = run("curl -sS --max-time 5 --cacert " + files().ca_file + " " + extra +
                       (credential.empty() ? "" : " -H 'Authorization: " + credential + "'") +
                       " -H 'Content-Type: application/json' -d '{\"about\":\"me\"}' -w '\\n%{http_code}' " +
                       url() + "/test.v1.Whoami/who");
    const auto end = r.out.rfind('\n');
    if (r.exit_code != 0 || end == std::string::npos) return {0, r.out};
    return {std::stoi(r.out.substr(end + 1)), r.out.substr(0, end)};
  }
  std::string identity() {
    std::lock_guard lock(seen_mutex);
    return seen_identity;
  }
  long failures() const { return metric("pit_tls_handshake_failures_total"); }
  // The count once it reached `expected` (or 2 s passed): a connection the server cut off
  // may be seen closed by the client a moment before its handshake's end is counted.
  long failures_reaching(long expected) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (failures() < expected && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return failures();
  }

  std::string dir;
  unsigned short port = 0;
  const std::string inventory_token = bearer("urn:pit:shop.v1.Inventory");
  const std::string whoami_token = bearer("urn:pit:test.v1.Whoami");
  std::mutex seen_mutex;
  std::string seen_identity = "(no call)";
  bool seen_secure = false;
  std::string seen_credential;
};

TEST_F(Tls, curl_calls_a_service_over_https_and_gets_200) {
  const auto r = curl("-v");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("200 HTTP/1.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TLSv1.3"), std::string::npos) << "1.3 preferred: " << r.out;
  EXPECT_NE(r.out.find("ALPN: server accepted http/1.1"), std::string::npos) << r.out;
  std::lock_guard lock(seen_mutex);
  EXPECT_TRUE(seen_secure);
  EXPECT_EQ(seen_credential, inventory_token);
  EXPECT_EQ(seen_identity, "") << "no client certificate, no peer identity";
}

// Over TLS a bearer token needs no auth.plaintext_bearer; it is still verified: one that is
// not the issuer's, or is meant for another contract, is refused like no token at all.
TEST_F(Tls, bearer_token_over_tls_is_verified_and_becomes_the_principal) {
  const auto alice = who("", whoami_token);
  EXPECT_EQ(alice.status, 200) << alice.body;
  EXPECT_EQ(alice.body, R"({"subject":"alice","method":"bearer","actors":[]})");
  EXPECT_EQ(who("").status, 401) << "no credential";
  EXPECT_EQ(who("", "Bearer t0k3n").status, 401) << "not a token";
  EXPECT_EQ(who("", inventory_token).status, 401) << "a token for another contract";
  const DevSigner forger{DevSigner::Alg::ES256, "k1"};  // the issuer's key id, not its key
  EXPECT_EQ(who("", "Bearer " + forger.access_token(kIssuer, "urn:pit:test.v1.Whoami", "mallory", "", 10min)).status,
            401);
  EXPECT_EQ(lines_with({"call refused", "no_credential"}).size(), 1U);
  EXPECT_EQ(lines_with({"call refused", "invalid_token:"}).size(), 3U);
}

TEST_F(Tls, tls_1_2_is_served_with_an_ecdhe_aead_cipher_only) {
  const auto ok = curl("--tls-max 1.2 -v");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("200 HTTP/1.1"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("ECDHE"), std::string::npos) << ok.out;
  const long before = failures();
  // Static-key and CBC suites: offered alone, no handshake.
  EXPECT_NE(curl("--tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA256").exit_code, 0);
  EXPECT_NE(curl("--tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA").exit_code, 0);
  EXPECT_EQ(failures_reaching(before + 2), before + 2);
}

TEST_F(Tls, curl_with_at_most_tls_1_1_is_refused_by_the_server) {
  const long before = failures();
  // SECLEVEL=0 lets curl's own OpenSSL offer 1.1: the refusal must come from the server.
  const auto r = curl("--tlsv1.1 --tls-max 1.1 --ciphers DEFAULT@SECLEVEL=0");
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("200"), std::string::npos) << r.out;
  EXPECT_EQ(failures_reaching(before + 1), before + 1) << "the server saw the hello and refused it";
}

TEST_F(Tls, client_offering_alpn_without_http_1_1_is_refused_at_the_handshake) {
  EXPECT_EQ(served_certificate(port, "\x02h2", 3).serial, -1) << "h2 only: no_application_protocol";
  EXPECT_EQ(served_certificate(port, "\x02h2\x08http/1.1", 12).serial, 1001);
  EXPECT_EQ(served_certificate(port).serial, 1001) << "no ALPN at all: HTTP/1.1";
  EXPECT_EQ(failures_reaching(1), 1);
}

TEST_F(Tls, plaintext_http_to_the_tls_port_is_closed_without_an_answer) {
  rawhttp::Connection c{port};
  const auto start = std::chrono::steady_clock::now();
  c.send(rawhttp::post("/shop.v1.Inventory/count", R"({"sku":"apple"})"));
  const std::string answer = c.read_until_closed();
  EXPECT_LT(std::chrono::steady_clock::now() - start, kReadTimeout * 7 / 10) << "closed at once, not at the read timeout";
  EXPECT_EQ(answer.find("HTTP/1.1"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("apple"), std::string::npos);
  EXPECT_EQ(failures_reaching(1), 1);
  EXPECT_EQ(curl("").exit_code, 0);
}

TEST_F(Tls, garbage_handshake_is_cut_off_and_the_server_keeps_serving) {
  rawhttp::Connection c{port};
  std::string garbage = "\x16\x03\x01\x00\x40";  // a handshake record header, then noise
  for (int i = 0; i < 64; ++i) garbage += static_cast<char>(i * 37 + 11);
  c.send(garbage);
  EXPECT_TRUE(c.closed_by_server(1s));
  EXPECT_EQ(failures_reaching(1), 1);
  EXPECT_EQ(curl("").exit_code, 0);
}

TEST_F(Tls, truncated_client_hello_is_cut_off_within_the_read_timeout) {
  const std::string hello = client_hello();
  ASSERT_GT(hello.size(), 100U);
  rawhttp::Connection c{port};
  const auto start = std::chrono::steady_clock::now();
  c.send(hello.substr(0, hello.size() / 2));  // and nothing more
  EXPECT_TRUE(c.closed_by_server(4s));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, kReadTimeout * 9 / 10) << "waited for the rest, up to the read timeout";
  EXPECT_LT(took, kReadTimeout * 3) << "but not much longer";
  EXPECT_EQ(failures_reaching(1), 1);
}

TEST_F(Tls, client_stalling_mid_handshake_is_cut_off_while_others_are_served) {
  // A whole ClientHello, then silence: the server answers with its flight and waits for
  // the client's Finished, which never comes.
  rawhttp::Connection stalled{port};
  rawhttp::Connection silent{port};  // connects and never says a word
  const auto start = std::chrono::steady_clock::now();
  stalled.send(client_hello());
  const auto served = curl("");
  EXPECT_EQ(served.exit_code, 0) << served.out;
  // Served before both hanging handshakes were cut off one after the other (2 read
  // timeouts): not queued behind them. (Not 1 timeout: a loaded CI machine starts curl slowly.)
  EXPECT_LT(std::chrono::steady_clock::now() - start, kReadTimeout * 19 / 10) << "served while the two hang";
  EXPECT_TRUE(stalled.closed_by_server(4s));
  EXPECT_TRUE(silent.closed_by_server(4s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, kReadTimeout * 3);
  EXPECT_EQ(failures_reaching(2), 2);
  EXPECT_EQ(curl("").exit_code, 0);
}

// A TLS client that leaves while its call runs says close_notify, then FIN: the call is
// cancelled with reason `caller` all the same, as on plaintext.
TEST_F(Tls, client_leaving_with_close_notify_cancels_its_call) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1);
  const std::string request = rawhttp::post("/shop.v1.Inventory/reserve", R"({"sku":"slow","quantity":5000})");
  ASSERT_EQ(SSL_write(ssl, request.data(), static_cast<int>(request.size())), static_cast<int>(request.size()));
  for (int i = 0; i < 2000 && probe.dispatched.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_GT(probe.dispatched.load(), 0);
  SSL_shutdown(ssl);          // close_notify
  ::shutdown(fd, SHUT_WR);    // FIN (a close() with the unread session tickets would be RST)
  for (int i = 0; i < 2000 && !probe.timer_cancelled.load(); ++i) std::this_thread::sleep_for(1ms);
  ::close(fd);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  EXPECT_TRUE(probe.timer_cancelled);
  EXPECT_EQ(probe.cancel_reason, static_cast<int>(pit::CancelReason::caller));
  EXPECT_EQ(curl("").exit_code, 0);
}

TEST_F(Tls, certificate_replaced_on_disk_is_served_to_the_next_connection) {
  EXPECT_EQ(served_certificate(port).serial, 1001);
  install(files().server_renewed);
  Shown shown;
  for (int i = 0; i < 100 && shown.serial != 2002; ++i) {
    std::this_thread::sleep_for(20ms);
    shown = served_certificate(port);
  }
  EXPECT_EQ(shown.serial, 2002);
  EXPECT_EQ(shown.common_name, "pit-test-server-renewed");
  EXPECT_EQ(metric("pit_tls_reloads_total{result=\"ok\"}"), 1);
  EXPECT_EQ(curl("").exit_code, 0);
}

TEST_F(Tls, bad_new_certificate_keeps_the_previous_one) {
  testcerts::write_file(dir + "/server.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
  for (int i = 0; i < 100 && metric("pit_tls_reloads_total{result=\"failed\"}") < 1; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(metric("pit_tls_reloads_total{result=\"failed\"}"), 1);
  EXPECT_EQ(served_certificate(port).serial, 1001);
  EXPECT_EQ(curl("").exit_code, 0);
  EXPECT_EQ(lines_with({"TLS certificate reload failed", "server.pem"}).size(), 1U);
  // A certificate with somebody else's key: refused the same way.
  testcerts::write_file(dir + "/server.pem", files().server_renewed.cert_pem);
  for (int i = 0; i < 100 && metric("pit_tls_reloads_total{result=\"failed\"}") < 2; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(metric("pit_tls_reloads_total{result=\"failed\"}"), 2);
  EXPECT_EQ(served_certificate(port).serial, 1001);
  // The matching key arrives: now it loads.
  testcerts::write_file(dir + "/server.key", files().server_renewed.key_pem);
  Shown shown;
  for (int i = 0; i < 100 && shown.serial != 2002; ++i) {
    std::this_thread::sleep_for(20ms);
    shown = served_certificate(port);
  }
  EXPECT_EQ(shown.serial, 2002);
}

TEST_F(Tls, pit_client_calls_a_pit_tls_server_trusting_a_configured_ca) {
  for (const std::string name : {"127.0.0.1", "localhost"}) {
    pit::HostOptions o;
    o.log_sink = logs;
    o.http.client_ca_file = files().ca_file;
    pit::Host caller{o};
    auto remote = caller.client<Inventory>(url(name));
    caller.start();
    EXPECT_EQ(remote->count({"apple"}).quantity, 42) << name;
    EXPECT_EQ(block_on(remote->reserve({"apple", 1})).remaining, 99) << name;  // over the pooled connection
    caller.stop();
  }
  std::lock_guard lock(seen_mutex);
  EXPECT_TRUE(seen_secure);
}

TEST_F(Tls, pit_client_keeps_its_tls_connection_for_the_next_call) {
  pit::HostOptions o;
  o.log_sink = logs;
  o.http.client_ca_file = files().ca_file;
  o.io_threads = 1;  // connections are kept per I/O thread: both calls on the same one
  pit::Host caller{o};
  auto remote = caller.client<Inventory>(url());
  caller.start();
  EXPECT_EQ(remote->count({"apple"}).quantity, 42);
  // The server now shows a certificate for another name: a new connection would refuse
  // it, the kept one has had its handshake.
  install(files().server_elsewhere);
  for (int i = 0; i < 100 && served_certificate(port).serial != 3003; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(served_certificate(port).serial, 3003);
  EXPECT_EQ(remote->count({"apple"}).quantity, 42) << "the pooled connection was used";
  caller.stop();
}

TEST_F(Tls, pit_client_refuses_a_server_its_trust_store_does_not_vouch_for) {
  pit::HostOptions o;
  o.log_sink = logs;  // the system's store: it has never heard of the test CA
  pit::Host caller{o};
  auto remote = caller.client<Inventory>(url());
  caller.start();
  const auto fault = fault_of([&] { remote->count({"apple"}); });
  EXPECT_EQ(fault.code(), Code::unavailable);
  EXPECT_NE(fault.cause().find("TLS handshake failed"), std::string::npos) << fault.cause();
  caller.stop();
  std::lock_guard lock(seen_mutex);
  EXPECT_EQ(seen_identity, "(no call)") << "no call reached the server";
}

TEST_F(Tls, pit_client_refuses_a_certificate_for_another_name) {
  install(files().server_elsewhere);
  for (int i = 0; i < 100 && served_certificate(port).serial != 3003; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(served_certificate(port).serial, 3003);
  pit::HostOptions o;
  o.log_sink = logs;
  o.http.client_ca_file = files().ca_file;  // trusted CA, wrong name
  pit::Host caller{o};
  auto remote = caller.client<Inventory>(url());
  caller.start();
  const auto fault = fault_of([&] { remote->count({"apple"}); });
  EXPECT_EQ(fault.code(), Code::unavailable);
  EXPECT_NE(fault.cause().find("TLS handshake failed"), std::string::npos) << fault.cause();
  caller.stop();
  // curl agrees: the name is checked, not only the chain.
  EXPECT_NE(curl("").exit_code, 0);
}

TEST_F(Tls, https_client_with_a_missing_ca_file_fails_the_start) {
  pit::HostOptions o;
  o.log_sink = logs;
  o.http.client_ca_file = dir + "/no-such-ca.pem";
  pit::Host caller{o};
  auto remote = caller.client<Inventory>(url());
  try {
    caller.start();
    ADD_FAILURE() << "started";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("http.client_ca_file"), std::string::npos) << e.what();
  }
}

class MutualTls : public Tls {
 protected:
  ClientAuth client_auth() const override { return ClientAuth::required; }
  static std::string cert(const std::string& pair) { return "--cert " + pair + ".pem --key " + pair + ".key"; }
};

TEST_F(MutualTls, client_without_a_certificate_is_refused_at_the_handshake) {
  const auto r = curl("");
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("200"), std::string::npos);
  EXPECT_EQ(identity(), "(no call)");
  EXPECT_EQ(failures_reaching(1), 1);
}

TEST_F(MutualTls, spiffe_id_of_the_client_certificate_reaches_the_call) {
  const auto r = curl(cert(files().client_spiffe));
  EXPECT_NE(r.out.find("200"), std::string::npos) << r.out;
  EXPECT_EQ(identity(), files().spiffe_id);
  {
    std::lock_guard lock(seen_mutex);
    EXPECT_TRUE(seen_secure);
    EXPECT_EQ(seen_credential, inventory_token);
  }
  // With no token, the certificate's holder is the principal.
  const auto alone = who(cert(files().client_spiffe));
  EXPECT_EQ(alone.status, 200) << alone.body;
  EXPECT_EQ(alone.body, R"({"subject":")" + files().spiffe_id + R"(","method":"mtls","actors":[]})");
}

// A token over mutual TLS: its subject is the principal, the certificate's holder acts for it.
TEST_F(MutualTls, token_with_a_client_certificate_makes_the_certificate_the_actor) {
  const auto r = who(cert(files().client_spiffe), whoami_token);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"subject":"alice","method":"bearer","actors":[")" + files().spiffe_id + R"("]})");
  EXPECT_EQ(who(cert(files().client_spiffe), "Bearer t0k3n").status, 401)
      << "a bad token is refused, not replaced by the certificate";
}

TEST_F(MutualTls, subject_common_name_is_the_identity_without_a_spiffe_id) {
  const auto r = curl(cert(files().client_plain));
  EXPECT_NE(r.out.find("200"), std::string::npos) << r.out;
  EXPECT_EQ(identity(), "plain-client");
  const auto alone = who(cert(files().client_plain));
  EXPECT_EQ(alone.status, 200) << alone.body;
  EXPECT_EQ(alone.body, R"({"subject":"plain-client","method":"mtls","actors":[]})");
}

TEST_F(MutualTls, two_spiffe_ids_make_no_identity) {
  const auto r = curl(cert(files().client_two_spiffe));
  EXPECT_NE(r.out.find("200"), std::string::npos) << r.out;
  EXPECT_EQ(identity(), "") << "ambiguous: neither, and not the CN either";
  // No identity is an anonymous caller, not some guess at one.
  EXPECT_EQ(who(cert(files().client_two_spiffe)).status, 401);
  const auto with_token = who(cert(files().client_two_spiffe), whoami_token);
  EXPECT_EQ(with_token.status, 200) << with_token.body;
  EXPECT_EQ(with_token.body, R"({"subject":"alice","method":"bearer","actors":[]})") << "and no actor";
}

TEST_F(MutualTls, expired_or_foreign_client_certificates_are_refused) {
  EXPECT_NE(curl(cert(files().client_expired)).exit_code, 0);
  EXPECT_NE(curl(cert(files().client_of_stranger)).exit_code, 0);
  EXPECT_EQ(identity(), "(no call)");
  EXPECT_EQ(failures_reaching(2), 2);
}

TEST_F(MutualTls, pit_client_presents_its_configured_certificate) {
  pit::HostOptions o;
  o.log_sink = logs;
  o.http.client_ca_file = files().ca_file;
  o.http.client_cert_file = files().client_spiffe + ".pem";
  o.http.client_key_file = files().client_spiffe + ".key";
  pit::Host caller{o};
  auto remote = caller.client<Inventory>(url());
  caller.start();
  EXPECT_EQ(remote->count({"apple"}).quantity, 42);
  caller.stop();
  EXPECT_EQ(identity(), files().spiffe_id);
}

class OptionalMutualTls : public Tls {
 protected:
  ClientAuth client_auth() const override { return ClientAuth::optional; }
};

TEST_F(OptionalMutualTls, client_may_come_without_a_certificate_but_not_with_a_bad_one) {
  EXPECT_NE(curl("").out.find("200"), std::string::npos);
  EXPECT_EQ(identity(), "");
  EXPECT_EQ(who("").status, 401) << "without a certificate or a token: anonymous";
  EXPECT_EQ(who("--cert " + files().client_plain + ".pem --key " + files().client_plain + ".key").body,
            R"({"subject":"plain-client","method":"mtls","actors":[]})");
  EXPECT_NE(curl("--cert " + files().client_plain + ".pem --key " + files().client_plain + ".key").out.find("200"),
            std::string::npos);
  EXPECT_EQ(identity(), "plain-client");
  EXPECT_NE(curl("--cert " + files().client_expired + ".pem --key " + files().client_expired + ".key").exit_code, 0);
}

// The listener's settings that cannot work together, and files that do not load, fail the
// start with a line that names the key.
TEST(TlsSettings, inconsistent_or_unreadable_settings_fail_the_start) {
  const auto start_error = [](const std::function<void(pit::HttpOptions&)>& change) {
    pit::HostOptions o;
    o.log_sink = std::make_shared<pit::log::MemorySink>();
    o.http.listen = "127.0.0.1:0";
    o.http.tls_cert_file = files().client_plain + ".pem";
    o.http.tls_key_file = files().client_plain + ".key";
    change(o.http);
    pit::Host host{o};
    try {
      host.start();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    host.stop();
    return std::string("started");
  };
  EXPECT_EQ(start_error([](auto&) {}), "started");
  EXPECT_NE(start_error([](auto& h) { h.tls_key_file.clear(); }).find("http.tls_key_file"), std::string::npos);
  EXPECT_NE(start_error([](auto& h) { h.tls_client_auth = ClientAuth::required; }).find("http.tls_client_ca_file"),
            std::string::npos);
  EXPECT_NE(start_error([](auto& h) { h.tls_client_ca_file = files().ca_file; }).find("http.tls_client_auth"),
            std::string::npos);
  EXPECT_NE(start_error([](auto& h) { h.tls_cert_file = "/nonexistent.pem"; }).find("/nonexistent.pem"),
            std::string::npos);
  EXPECT_NE(start_error([](auto& h) { h.tls_key_file = files().client_spiffe + ".key"; }).find("key values mismatch"),
            std::string::npos);
}

// Plaintext calls say so, and carry their credential all the same; a bearer token is
// accepted there only with auth.plaintext_bearer (the authentication policy's decision).
class Plaintext : public HostTest {
 protected:
  void start(bool plaintext_bearer) {
    host.reset();
    pit::HostOptions opts;
    opts.log_sink = logs;
    opts.http.listen = "127.0.0.1:0";
    opts.auth.issuer = kIssuer;
    opts.auth.jwks_file = files().jwks_file;
    opts.auth.plaintext_bearer = plaintext_bearer;
    host = std::make_unique<pit::Host>(opts);
    host->serve<Inventory, InventoryService>(probe);
    host->serve<Whoami, WhoamiService>();
    host->use("seen", [this](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
      {
        std::lock_guard lock(m);
        secure = pit::detail::CallAccess::secure_transport(call);
        credential = pit::detail::CallAccess::credential(call);
        identity = pit::detail::CallAccess::peer_identity(call);
      }
      co_return co_await next(call);
    });
    host->start();
  }
  std::string post(const std::string& path, const std::string& body, const std::string& authorization) const {
    rawhttp::Connection c{host->http_port()};
    c.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: " +
           authorization + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    return c.read_response();
  }

  // The audience as the contract's bare name: accepted like urn:pit:<name>.
  const std::string inventory_token = bearer("shop.v1.Inventory");
  std::mutex m;
  bool secure = true;
  std::string credential, identity = "(no call)";
};

TEST_F(Plaintext, call_is_not_secure_and_carries_its_credential) {
  start(/*plaintext_bearer=*/true);
  EXPECT_EQ(rawhttp::status_of(post("/shop.v1.Inventory/count", R"({"sku":"apple"})", inventory_token)), 200);
  {
    std::lock_guard lock(m);
    EXPECT_FALSE(secure);
    EXPECT_EQ(credential, inventory_token);
    EXPECT_EQ(identity, "");
  }
  const std::string answer = post("/test.v1.Whoami/who", R"({"about":"me"})", bearer("test.v1.Whoami"));
  EXPECT_EQ(rawhttp::status_of(answer), 200) << answer;
  EXPECT_NE(answer.find(R"({"subject":"alice","method":"bearer","actors":[]})"), std::string::npos) << answer;
}

TEST_F(Plaintext, bearer_token_is_refused_without_plaintext_bearer) {
  start(/*plaintext_bearer=*/false);
  // The same valid token that TLS accepts, on an operation open to anyone: refused all the
  // same, since whoever saw it on the wire may replay it.
  const std::string answer = post("/shop.v1.Inventory/count", R"({"sku":"apple"})", inventory_token);
  EXPECT_EQ(rawhttp::status_of(answer), 401) << answer;
  EXPECT_NE(answer.find("WWW-Authenticate: Bearer"), std::string::npos) << answer;
  EXPECT_EQ(lines_with({"call refused", "bearer_over_plaintext"}).size(), 1U);
  std::lock_guard lock(m);
  EXPECT_EQ(identity, "(no call)") << "refused before any policy of the user's";
}

}  // namespace
}  // namespace shop
