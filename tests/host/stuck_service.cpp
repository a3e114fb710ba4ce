// A service whose sync operation ignores cancellation: tests/host/test_stuck_shutdown.py
// proves on it that SIGTERM still ends the process in bounded time.
//   stuck_service GRACE_MS     (listens on 127.0.0.1:0; the log's "listening" line says where)
#include <boost/describe.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "pit/pit.hpp"

namespace stuck {

struct Sleep {
  int ms = 0;
};
BOOST_DESCRIBE_STRUCT(Sleep, (), (ms))
struct Slept {
  int ms = 0;
};
BOOST_DESCRIBE_STRUCT(Slept, (), (ms))

class Hang {
 public:
  virtual ~Hang() = default;
 protected:
  virtual Slept hang(Sleep) = 0;
};
PIT_CONTRACT(Hang, "test.v1.Hang", (hang, pit::OpSpec{}.anonymous("test").timeout(std::chrono::minutes(5))));

class HangService final : public Hang {
  Slept hang(Sleep s) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(s.ms));  // never looks at cancelled()
    return {s.ms};
  }
};

}  // namespace stuck

int main(int argc, char** argv) {
  pit::HostOptions options;
  options.http.listen = "127.0.0.1:0";
  options.shutdown_grace = std::chrono::milliseconds(argc > 1 ? std::stoi(argv[1]) : 200);
  pit::Host host{options};
  host.serve<stuck::Hang, stuck::HangService>();
  return host.run();
}
