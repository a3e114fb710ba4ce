// Snippets of docs/deadlines.md: effective deadlines, cancellation of Asio waits, sync
// operations that poll, callers outside any call.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/describe.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "pit/asio.hpp"
#include "pit/pit.hpp"

using namespace std::chrono_literals;

namespace shop {

struct Lookup {
  std::string sku;
};
BOOST_DESCRIBE_STRUCT(Lookup, (), (sku))

struct Stock {
  int quantity = 0;
};
BOOST_DESCRIBE_STRUCT(Stock, (), (quantity))

struct ReportRequest {
  int pages = 1;
};
BOOST_DESCRIBE_STRUCT(ReportRequest, (), (pages))

struct Report {
  int pages = 0;
};
BOOST_DESCRIBE_STRUCT(Report, (), (pages))

// [contract]
class Warehouse {
 public:
  virtual ~Warehouse() = default;
 protected:
  virtual pit::Task<Stock> lookup(Lookup) = 0;  // waits on I/O: cancelled at the deadline
  virtual Report report(ReportRequest) = 0;     // CPU work on a worker: polls cancellation
  virtual Report legacy_report(ReportRequest) = 0;  // never looks: the caller is answered anyway
};
PIT_CONTRACT(Warehouse, "shop.v1.Warehouse",
             (lookup, pit::OpSpec{}.anonymous("guide example").timeout(std::chrono::milliseconds(500))),
             (report, pit::OpSpec{}.anonymous("guide example").timeout(std::chrono::seconds(5))),
             (legacy_report, pit::OpSpec{}.anonymous("guide example")));  // no timeout of its own: the host default (10 s) applies
// [/contract]

// What the tests observe of the implementation.
struct Probe {
  std::atomic<int> pages_rendered{0};
};

class WarehouseService final : public Warehouse {
 public:
  explicit WarehouseService(Probe& probe, std::chrono::milliseconds store_latency)
      : probe_(probe), store_latency_(store_latency) {}

 private:
  // [asio]
  pit::Task<Stock> lookup(Lookup l) override {
    // Stands in for any Asio operation: a socket read, a resolve, a timer.
    boost::asio::steady_timer store{pit::io_executor(), store_latency_};
    try {
      co_await store.async_wait(pit::use_task);
    } catch (const boost::system::system_error&) {  // operation_aborted: the call was cancelled
      pit::log::warn("lookup abandoned", {{"why", pit::to_string(pit::this_call::cancel_reason())}});
      throw;
    }
    co_return Stock{l.sku == "apple" ? 7 : 0};
  }
  // [/asio]

  // [poll]
  Report report(ReportRequest r) override {
    Report out;
    for (int page = 0; page < r.pages; ++page) {
      if (pit::this_call::cancelled()) {
        // Nobody waits for the result any more: stop, and give the worker back.
        throw pit::Fault::cancelled("report abandoned");
      }
      render_page(out);
    }
    return out;
  }
  // [/poll]

  Report legacy_report(ReportRequest r) override {
    Report out;
    for (int page = 0; page < r.pages; ++page) render_page(out);
    return out;
  }

  void render_page(Report& out) {
    std::this_thread::sleep_for(10ms);
    ++out.pages;
    ++probe_.pages_rendered;
  }

  Probe& probe_;
  std::chrono::milliseconds store_latency_;
};

}  // namespace shop

namespace {

template <class F>
pit::Fault fault_of(F&& f) {
  try {
    f();
  } catch (const pit::Fault& fault) {
    return fault;
  }
  ADD_FAILURE() << "expected a pit::Fault";
  return pit::Fault::unknown("no fault");
}

template <class P>
bool eventually(P&& predicate) {
  for (int i = 0; i < 2000 && !predicate(); ++i) std::this_thread::sleep_for(1ms);
  return predicate();
}

class DeadlinesGuide : public ::testing::Test {
 protected:
  void SetUp() override {
    pit::HostOptions options;
    options.log_sink = logs;
    host = std::make_unique<pit::Host>(options);
    host->serve<shop::Warehouse, shop::WarehouseService>(probe, 5000ms);
    host->start();
    warehouse = host->client<shop::Warehouse>();
  }
  void TearDown() override { host->stop(); }

  bool logged(std::string_view a, std::string_view b) const {
    pit::log::flush();
    for (const auto& line : logs->lines()) {
      if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
    }
    return false;
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  shop::Probe probe;
  std::unique_ptr<pit::Host> host;
  pit::Ref<shop::Warehouse> warehouse;
};

TEST_F(DeadlinesGuide, caller_gets_deadline_exceeded_at_the_deadline_and_the_wait_is_cancelled) {
  const auto start = pit::Clock::now();
  // [caller-scope]
  // A batch job, a main(), a test: code outside any call gives its calls a deadline.
  pit::CallerScope scope{{.correlation_id = "nightly-stock-check", .timeout = 100ms}};
  shop::Lookup request{"apple"};
  try {
    pit::block_on(warehouse->lookup(std::move(request)));
  } catch (const pit::Fault& fault) {
    // The earliest of 100 ms (ours), 500 ms (lookup's timeout) and 10 s (host default).
    EXPECT_EQ(fault.code(), pit::Code::deadline_exceeded);
    EXPECT_TRUE(fault.has(pit::Fault::deadline));
    EXPECT_EQ(fault.correlation_id(), "nightly-stock-check");
  }
  // [/caller-scope]
  const auto elapsed = pit::Clock::now() - start;
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 400ms) << "answered at the caller's deadline, not the operation's";
  EXPECT_TRUE(eventually([&] { return logged("lookup abandoned", R"("why":"deadline")"); }));
}

TEST_F(DeadlinesGuide, operation_timeout_applies_when_the_caller_brings_none) {
  const auto start = pit::Clock::now();
  auto fault = fault_of([&] {
    shop::Lookup request{"apple"};
    pit::block_on(warehouse->lookup(std::move(request)));
  });
  EXPECT_EQ(fault.code(), pit::Code::deadline_exceeded);
  const auto elapsed = pit::Clock::now() - start;
  EXPECT_GE(elapsed, 500ms);
  EXPECT_LT(elapsed, 2000ms);
}

TEST_F(DeadlinesGuide, call_whose_deadline_has_passed_is_not_dispatched) {
  pit::CallerScope scope{{.timeout = 1ms}};
  std::this_thread::sleep_for(5ms);
  auto fault = fault_of([&] { (void)warehouse->report({1}); });
  EXPECT_EQ(fault.code(), pit::Code::deadline_exceeded);
  EXPECT_EQ(fault.message(), "deadline exceeded before the call was dispatched");
  EXPECT_EQ(probe.pages_rendered.load(), 0);
}

TEST_F(DeadlinesGuide, sync_operation_that_polls_stops_soon_after_the_deadline) {
  pit::CallerScope scope{{.timeout = 100ms}};
  auto fault = fault_of([&] { (void)warehouse->report({1000}); });
  EXPECT_EQ(fault.code(), pit::Code::deadline_exceeded);
  std::this_thread::sleep_for(100ms);
  const int rendered = probe.pages_rendered;
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(probe.pages_rendered.load(), rendered) << "the worker stopped rendering";
  EXPECT_LT(rendered, 100);
}

TEST_F(DeadlinesGuide, caller_is_answered_on_time_even_when_the_implementation_ignores_it) {
  pit::CallerScope scope{{.timeout = 100ms}};
  const auto start = pit::Clock::now();
  auto fault = fault_of([&] { (void)warehouse->legacy_report({40}); });  // ~400 ms of work
  EXPECT_EQ(fault.code(), pit::Code::deadline_exceeded);
  EXPECT_LT(pit::Clock::now() - start, 400ms);
}

}  // namespace
