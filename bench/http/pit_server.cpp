// pit_server — the HTTP load-test target for pit: one trivial coroutine operation
// (bench.v1.Echo/echo) served through pit's full default pipeline (correlation → call_log
// → fault_shaping → deadline → dispatch) by pit's HTTP/1.1 transport on one I/O thread.
//
//   pit_server PORT [--log discard|stdout|off]
//
//   discard (default): the per-call log line is formatted, then dropped by
//                      pit::log::discard_sink() — the cost of logging without the I/O.
//   stdout:            the default asynchronous stdout sink (redirect stdout to /dev/null);
//                      its writer thread shares the pinned core with the server.
//   off:               log_calls = false.
//
// Listens on 127.0.0.1:PORT until SIGTERM/SIGINT. See bench/README.md ("HTTP load").
#include <boost/describe.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

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
  virtual pit::Task<EchoReply> echo(EchoRequest) = 0;  // coroutine operation (I/O thread)
};
PIT_CONTRACT(Echo, "bench.v1.Echo", (echo, pit::OpSpec{}.anonymous("bench")));

class EchoService final : public Echo {
 private:
  // The same work as beast_server.cpp and grpc_server.cpp: echo the text, n + 1.
  pit::Task<EchoReply> echo(EchoRequest req) override { co_return EchoReply{std::move(req.text), req.n + 1}; }
};

}  // namespace bench::v1

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::string_view{argv[2]} == "--log")) {
    std::cerr << "usage: pit_server PORT [--log discard|stdout|off]\n";
    return 2;
  }
  const std::string_view log_mode = argc == 4 ? argv[3] : "discard";

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

  pit::Host host{options};
  host.serve<bench::v1::Echo, bench::v1::EchoService>();
  return host.run();
}
