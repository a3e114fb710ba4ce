// Snippets of docs/testing.md: the conformance kit in a user's test — the one line, the
// hints, a fixture that starts the host itself, and reading the report.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <iostream>
#include <sstream>
#include <string>

#include "pit/pit.hpp"
#include "pit/testing.hpp"
#include "pit/testing/gtest.hpp"

namespace greeter {

struct Greet {
  std::string name;
};
BOOST_DESCRIBE_STRUCT(Greet, (), (name))
struct Greeting {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(Greeting, (), (text))
struct Ping {};
BOOST_DESCRIBE_STRUCT(Ping, (), ())

class Greeter {
 public:
  virtual ~Greeter() = default;

 protected:
  virtual pit::Task<Greeting> greet(Greet) = 0;
  virtual Ping ping(Ping) = 0;
};
PIT_CONTRACT(Greeter, "docs.v1.Greeter",
             (greet, pit::OpSpec{}.require(pit::scope("greeter.use")).raises(pit::Code::invalid_argument)),
             (ping, pit::OpSpec{}.anonymous("load balancer probe").idempotent()));

class GreeterService final : public Greeter {
  pit::Task<Greeting> greet(Greet req) override {
    if (req.name.empty()) throw pit::Fault::invalid_argument("whom should I greet?");
    pit::log::info("greeting", {{"name", req.name}});
    co_return Greeting{"hello " + req.name};
  }
  Ping ping(Ping) override { return {}; }
};

// What main() does before host.run(): the configuration, then what the host serves.
pit::HostOptions options() {
  pit::HostOptions o = pit::Config::defaults();
  // In-process only here: over HTTP the kit needs a token too (Hints::authorization).
  o.http.listen = "";
  o.admin.listen = "";
  o.log_sink = std::make_shared<pit::log::MemorySink>();  // keeps the test's output short
  return o;
}
void serve(pit::Host& host) { host.serve<Greeter, GreeterService>(); }

}  // namespace greeter

namespace {

// [one-line]
TEST(Greeter, KeepsPitsGuarantees) {
  pit::Host host{greeter::options()};   // the host main() builds, with its configuration,
  greeter::serve(host);                 // serving what main() serves; not started
  pit::testing::Hints hints;            // what the kit cannot guess:
  hints.requests["docs.v1.Greeter/greet"] = R"({"name":"Ada"})";                // a valid request
  hints.identity = pit::service_identity("greeter-test", {"greeter.use"});     // a caller who may
  pit::testing::expect_guarantees(host, hints);
}
// [/one-line]

// [fixture]
class GreeterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    greeter::serve(host_);
    pit::testing::attach(host_);  // before start(): the kit's fault injection and log tap
    host_.start();
  }
  pit::Host host_{greeter::options()};
};

TEST_F(GreeterTest, KeepsPitsGuarantees) {
  pit::testing::Hints hints;
  hints.requests["docs.v1.Greeter/greet"] = R"({"name":"Ada"})";
  hints.identity = pit::service_identity("greeter-test", {"greeter.use"});
  hints.skip_checks["overload"] = "the load test in bench/ covers admission";  // printed
  pit::testing::expect_guarantees(host_, hints);
}
// [/fixture]

TEST(Greeter, ReportIsReadable) {
  pit::Host host{greeter::options()};
  greeter::serve(host);
  pit::testing::Hints hints;
  hints.requests["docs.v1.Greeter/greet"] = R"({"name":"Ada"})";
  hints.identity = pit::service_identity("greeter-test", {"greeter.use"});
  // [report]
  const pit::testing::Report report = pit::testing::check_guarantees(host, hints);
  for (const pit::testing::Result& r : report.of("identity")) {
    std::cout << r.target << " (" << r.transport << "): " << to_string(r.verdict) << ", " << r.message << "\n";
  }
  std::cout << report;  // every failed and skipped result, one line each, then the counts
  EXPECT_TRUE(report.passed());
  // [/report]
  std::ostringstream text;
  text << report;
  EXPECT_NE(text.str().find(" passed, "), std::string::npos);
  EXPECT_EQ(report.of("identity").size(), 2U);  // two operations, in-process only
}

}  // namespace
