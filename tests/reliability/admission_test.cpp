// Admission control: a bounded number of calls in flight, host-wide and per operation,
// each with a bounded wait queue; past both a call is refused at once and never runs.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "support/host_fixture.hpp"
#include "support/raw_http.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;

// A reserve call that holds its slot for `ms` (the "slow" sku sleeps that long, cancellably).
std::future<pit::Code> hold(pit::Ref<Inventory> inventory, int ms, std::chrono::milliseconds timeout = 0ms) {
  return std::async(std::launch::async, [inventory, ms, timeout] {
    pit::CallerScope scope{{.timeout = timeout}};
    try {
      pit::block_on(inventory->reserve({"slow", ms}));
      return pit::Code::ok;
    } catch (const pit::Fault& f) {
      return f.code();
    }
  });
}

template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 2000 && !pred(); ++i) std::this_thread::sleep_for(1ms);
  return pred();
}

bool still_running(std::future<pit::Code>& f) { return f.wait_for(0ms) == std::future_status::timeout; }

class HostLimit : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.admission.max_in_flight = 2;
    o.admission.max_queue = 1;
    return o;
  }
};

TEST_F(HostLimit, past_the_limit_and_the_queue_a_call_is_refused_at_once_and_never_dispatched) {
  host->start();
  auto a = hold(inventory, 2000);
  auto b = hold(inventory, 2000);
  ASSERT_TRUE(eventually([&] { return probe.dispatched == 2; }));
  auto queued = hold(inventory, 1);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(probe.dispatched, 2) << "the third call waits for a slot";

  const pit::Fault refused = fault_of([&] { pit::block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(refused.code(), pit::Code::unavailable);
  EXPECT_TRUE(refused.has(pit::Fault::rejected));
  EXPECT_TRUE(refused.has(pit::Fault::retryable));
  // Answered while every slot is still taken: the refusal did not wait for one.
  EXPECT_TRUE(still_running(a) && still_running(b) && still_running(queued));
  EXPECT_EQ(probe.dispatched, 2);

  EXPECT_EQ(a.get(), pit::Code::ok);
  EXPECT_EQ(b.get(), pit::Code::ok);
  EXPECT_EQ(queued.get(), pit::Code::ok) << "the queued call runs when a slot frees";
  EXPECT_EQ(probe.dispatched, 3);
  EXPECT_EQ(lines_with({"\"code\":\"unavailable\"", "shop.v1.Inventory"}).size(), 1U) << "the refusal is logged";
}

TEST_F(HostLimit, a_queued_call_whose_deadline_passes_leaves_the_queue_and_is_not_dispatched) {
  host->start();
  auto a = hold(inventory, 1500);
  auto b = hold(inventory, 1500);
  ASSERT_TRUE(eventually([&] { return probe.dispatched == 2; }));
  auto expires = hold(inventory, 1, 100ms);
  EXPECT_EQ(expires.get(), pit::Code::deadline_exceeded);
  EXPECT_TRUE(still_running(a));
  // Its place in the queue is free again: the next call waits instead of being refused.
  auto waits = hold(inventory, 1);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(still_running(waits));
  EXPECT_EQ(a.get(), pit::Code::ok);
  EXPECT_EQ(b.get(), pit::Code::ok);
  EXPECT_EQ(waits.get(), pit::Code::ok);
  EXPECT_EQ(probe.dispatched, 3) << "the expired call never ran";
}

class ShortGrace : public HostLimit {
 protected:
  pit::HostOptions options() override {
    auto o = HostLimit::options();
    o.shutdown_grace = 100ms;
    return o;
  }
};

TEST_F(ShortGrace, queued_calls_are_answered_unavailable_when_the_host_stops) {
  host->start();
  auto a = hold(inventory, 5000);
  auto b = hold(inventory, 5000);
  ASSERT_TRUE(eventually([&] { return probe.dispatched == 2; }));
  auto queued = hold(inventory, 1);
  std::this_thread::sleep_for(50ms);
  std::thread stopper([&] { host->stop(); });
  EXPECT_EQ(queued.get(), pit::Code::unavailable);
  EXPECT_EQ(a.get(), pit::Code::unavailable);
  EXPECT_EQ(b.get(), pit::Code::unavailable);
  stopper.join();
  EXPECT_EQ(probe.dispatched, 2);
}

class OneSlot : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.admission.max_in_flight = 1;
    o.admission.max_queue = 0;
    return o;
  }
};

TEST_F(OneSlot, calls_an_operation_makes_in_process_do_not_need_a_second_host_slot) {
  host->start();
  // place (one slot) reserves each item through the in-process proxy: nested calls are
  // part of the admitted call, or this would refuse (or deadlock with a queue).
  const auto placed = pit::block_on(orders->place(shop::PlaceOrder{{{"apple", 1}, {"pear", 2}}, ""}));
  EXPECT_EQ(placed.lines, 2);
}

class OneSlotOverHttp : public OneSlot {
 protected:
  pit::HostOptions options() override {
    auto o = OneSlot::options();
    o.http.listen = "127.0.0.1:0";
    return o;
  }
};

TEST_F(OneSlotOverHttp, a_refusal_is_a_503_problem_with_retry_after) {
  host->start();
  auto held = hold(inventory, 1500);
  ASSERT_TRUE(eventually([&] { return probe.dispatched == 1; }));
  rawhttp::Connection c{host->http_port()};
  const std::string body = R"({"sku":"apple","quantity":1})";
  c.send("POST /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string response = c.read_response();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 503 ")) << response;
  EXPECT_NE(response.find("Retry-After: 1\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("application/problem+json"), std::string::npos) << response;
  EXPECT_NE(response.find(R"("code":"unavailable")"), std::string::npos) << response;
  EXPECT_NE(response.find(R"("retryable":true)"), std::string::npos) << response;
  EXPECT_TRUE(still_running(held)) << "refused at once, not after the slot freed";
  EXPECT_EQ(held.get(), pit::Code::ok);
  EXPECT_EQ(probe.dispatched, 1);
}

class OperationLimit : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.operations["shop.v1.Inventory/reserve"].max_in_flight = 1;  // queue: 0 unless set
    return o;
  }
};

TEST_F(OperationLimit, an_operation_at_its_own_limit_refuses_while_others_still_run) {
  host->start();
  auto held = hold(inventory, 1500);
  ASSERT_TRUE(eventually([&] { return probe.dispatched == 1; }));
  const pit::Fault refused = fault_of([&] { pit::block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(refused.code(), pit::Code::unavailable);
  EXPECT_TRUE(refused.has(pit::Fault::rejected));
  EXPECT_EQ(inventory->count({"apple"}).quantity, 42) << "another operation is not limited";
  EXPECT_TRUE(still_running(held));
  EXPECT_EQ(held.get(), pit::Code::ok);
  EXPECT_EQ(pit::block_on(inventory->reserve({"apple", 1})).remaining, 99) << "the slot is free again";
}

TEST_F(OperationLimit, admission_is_in_the_pipeline_after_the_deadline) {
  EXPECT_NE(host->describe_pipeline().find("5. deadline\n6. admission\n"), std::string::npos)
      << host->describe_pipeline();
}

class Unlimited : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.admission.max_in_flight = 0;
    return o;
  }
};

TEST_F(Unlimited, without_any_limit_admission_is_not_in_the_pipeline) {
  EXPECT_EQ(host->describe_pipeline().find("admission"), std::string::npos) << host->describe_pipeline();
}

TEST(AdmissionDefaults, a_host_has_a_limit_and_a_queue_by_default) {
  const pit::HostOptions o;
  EXPECT_EQ(o.admission.max_in_flight, 1000U);
  EXPECT_EQ(o.admission.max_queue, 1000U);
}

}  // namespace
}  // namespace shop
