// pit_server — the HTTP load-test target for pit: one trivial coroutine operation
// (bench.v1.Echo/echo) served through pit's full default pipeline (correlation → call_log
// → metrics → fault_shaping → deadline → admission → authentication → authorization →
// dispatch) by pit's HTTP/1.1 transport on one I/O thread.
//
//   pit_server PORT [--log discard|stdout|off] [--auth DIR]
//
//   discard (default): the per-call log line is formatted, then dropped by
//                      pit::log::discard_sink() — the cost of logging without the I/O.
//   stdout:            the default asynchronous stdout sink (redirect stdout to /dev/null);
//                      its writer thread shares the pinned core with the server.
//   off:               log_calls = false.
//   --auth DIR:        an issuer of bearer tokens: a fresh RSA key whose JWKS goes to
//                      DIR/jwks.json, and one RS256 access token for bench.v1.Echo with
//                      scope x written to DIR/token (before the port opens), for
//                      bench.v1.Echo/echo_scoped, which requires scope x. Bearer tokens are
//                      accepted over plaintext (loopback). echo stays anonymous.
//
// Every call is audited: the records go to the default file sink, a JSON-lines file in a
// directory of its own under $TMPDIR (or /tmp), removed at exit.
//
// Listens on 127.0.0.1:PORT until SIGTERM/SIGINT. See bench/README.md ("HTTP load",
// "Identity").
#include <boost/describe.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

#include "identity/dev_signer.hpp"
#include "pit/pit.hpp"

namespace bench::v1 {

struct EchoRequest {
  std::string text;
  int n = 0;
};
BOOST_DESCRIBE_STRUCT(EchoRequest, (), (text, n))

struct EchoReply {
  std::string text;
  int n = 0;
};
BOOST_DESCRIBE_STRUCT(EchoReply, (), (text, n))

class Echo {
 public:
  virtual ~Echo() = default;
 protected:
  virtual pit::Task<EchoReply> echo(EchoRequest) = 0;         // coroutine operation (I/O thread)
  virtual pit::Task<EchoReply> echo_scoped(EchoRequest) = 0;  // the same, for callers with scope x
};
PIT_CONTRACT(Echo, "bench.v1.Echo", (echo, pit::OpSpec{}.anonymous("bench")),
             (echo_scoped, pit::OpSpec{}.require(pit::scope("x"))));

class EchoService final : public Echo {
 private:
  // The same work as beast_server.cpp and grpc_server.cpp: echo the text, n + 1.
  pit::Task<EchoReply> echo(EchoRequest req) override { co_return EchoReply{std::move(req.text), req.n + 1}; }
  pit::Task<EchoReply> echo_scoped(EchoRequest req) override { co_return EchoReply{std::move(req.text), req.n + 1}; }
};

}  // namespace bench::v1

namespace {

// Writes DIR/jwks.json and DIR/token (see the top of the file).
void make_issuer(const std::filesystem::path& dir, pit::HostOptions& options) {
  using pit::detail::identity::DevSigner;
  const DevSigner signer{DevSigner::Alg::RS256, "bench-rsa"};
  std::filesystem::create_directories(dir);
  const auto jwks = (dir / "jwks.json").string();
  std::ofstream{jwks} << signer.jwks();
  options.auth.issuer = "https://id.example";
  options.auth.jwks_file = jwks;
  options.auth.plaintext_bearer = true;
  // A token of a realistic size: scopes, roles and an actor (as identity_bench's).
  std::ofstream{dir / "token"} << signer.access_token(options.auth.issuer, "bench.v1.Echo", "orders-service",
                                                      "x inventory.read inventory.reserve", std::chrono::hours{12},
                                                      R"({"roles":["service"],"act":{"sub":"gateway"}})");
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view log_mode = "discard";
  std::string auth_dir;
  bool usage = argc < 2 || argc % 2 != 0;
  for (int i = 2; !usage && i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--log") {
      log_mode = argv[i + 1];
    } else if (flag == "--auth") {
      auth_dir = argv[i + 1];
    } else {
      usage = true;
    }
  }
  if (usage) {
    std::cerr << "usage: pit_server PORT [--log discard|stdout|off] [--auth DIR]\n";
    return 2;
  }

  pit::HostOptions options;
  options.io_threads = 1;
  options.http.listen = std::string("127.0.0.1:") + argv[1];
  if (log_mode == "discard") {
    options.log_sink = pit::log::discard_sink();
  } else if (log_mode == "off") {
    options.log_sink = pit::log::discard_sink();
    options.log_calls = false;
  } else if (log_mode != "stdout") {  // stdout: leave log_sink null (the async stdout sink)
    std::cerr << "pit_server: --log must be discard, stdout or off\n";
    return 2;
  }
  if (!auth_dir.empty()) make_issuer(auth_dir, options);
  const char* tmp = std::getenv("TMPDIR");
  const auto audit_dir = std::filesystem::path{tmp != nullptr && *tmp != '\0' ? tmp : "/tmp"} /
                         ("pit_server_audit_" + std::to_string(::getpid()));
  std::filesystem::create_directories(audit_dir);
  options.audit.path = (audit_dir / "audit.jsonl").string();

  int status = 0;
  {
    pit::Host host{options};
    host.serve<bench::v1::Echo, bench::v1::EchoService>();
    status = host.run();
  }
  std::error_code ignored;
  std::filesystem::remove_all(audit_dir, ignored);
  return status;
}
