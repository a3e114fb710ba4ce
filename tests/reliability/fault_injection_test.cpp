// Fault injection: off by default and absent from the pipeline; when switched on, the
// configured share of an operation's calls is delayed and/or failed as if by the
// implementation — so the fault contract and the deadline still decide what callers see.
#include <gtest/gtest.h>

#include <chrono>

#include "support/host_fixture.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;

class Injection : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.fault_injection = true;
    configure(o);
    return o;
  }
  virtual void configure(pit::HostOptions& o) = 0;
};

class InjectDeclared : public Injection {
  void configure(pit::HostOptions& o) override {
    auto& reserve = o.operations["shop.v1.Inventory/reserve"];
    reserve.inject_percent = 100;
    reserve.inject_code = pit::Code::not_found;  // reserve declares not_found
  }
};

TEST_F(InjectDeclared, a_declared_code_reaches_the_caller_and_the_implementation_never_runs) {
  host->start();
  const pit::Fault f = fault_of([&] { pit::block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(f.code(), pit::Code::not_found);
  EXPECT_EQ(f.message(), "injected fault");
  EXPECT_EQ(probe.dispatched, 0);
  EXPECT_NE(host->describe_pipeline().find("fault_injection\n"), std::string::npos);
  EXPECT_EQ(inventory->count({"apple"}).quantity, 42) << "other operations are untouched";
  EXPECT_FALSE(lines_with({"fault injection is on", "shop.v1.Inventory/reserve"}).empty())
      << "every start says which operations get injected faults";
}

class InjectUndeclared : public Injection {
  void configure(pit::HostOptions& o) override {
    auto& reserve = o.operations["shop.v1.Inventory/reserve"];
    reserve.inject_percent = 100;
    reserve.inject_code = pit::Code::unavailable;  // not declared by reserve
  }
};

TEST_F(InjectUndeclared, an_undeclared_code_is_masked_at_every_hop) {
  host->start();
  const pit::Fault direct = fault_of([&] { pit::block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(direct.code(), pit::Code::internal);
  const pit::Fault nested = fault_of([&] { pit::block_on(orders->place(shop::PlaceOrder{{{"apple", 1}}, ""})); });
  EXPECT_EQ(nested.code(), pit::Code::internal);
  EXPECT_FALSE(lines_with({"fault masked", "injected fault"}).empty()) << "the masked fault is logged";
}

class InjectDelay : public Injection {
  void configure(pit::HostOptions& o) override {
    auto& reserve = o.operations["shop.v1.Inventory/reserve"];
    reserve.inject_percent = 100;
    reserve.inject_delay = 10s;
  }
};

TEST_F(InjectDelay, the_deadline_still_bounds_a_call_with_injected_latency) {
  host->start();
  pit::CallerScope scope{{.timeout = 100ms}};
  const auto start = pit::Clock::now();
  const pit::Fault f = fault_of([&] { pit::block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(f.code(), pit::Code::deadline_exceeded);
  EXPECT_LT(pit::Clock::now() - start, 5s) << "answered at the deadline, not after the injected 10 s";
  EXPECT_EQ(probe.dispatched, 0);
}

class InjectHalf : public Injection {
  void configure(pit::HostOptions& o) override {
    auto& inventory = o.operations["shop.v1.Inventory"];  // every operation of the contract
    inventory.inject_percent = 50;
    inventory.inject_code = pit::Code::not_found;
  }
};

TEST_F(InjectHalf, about_the_configured_share_of_calls_is_injected) {
  host->start();
  int injected = 0;
  constexpr int kCalls = 400;
  for (int i = 0; i < kCalls; ++i) {
    try {
      (void)pit::block_on(inventory->reserve({"apple", 1}));
    } catch (const pit::Fault& f) {
      EXPECT_EQ(f.code(), pit::Code::not_found);
      ++injected;
    }
  }
  // Binomial(400, 0.5): outside 120..280 with probability below 1e-15.
  EXPECT_GT(injected, 120);
  EXPECT_LT(injected, 280);
  EXPECT_EQ(probe.dispatched, kCalls - injected);
}

class SwitchedOff : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();  // fault_injection stays false: the default
    auto& reserve = o.operations["shop.v1.Inventory/reserve"];
    reserve.inject_percent = 100;
    reserve.inject_code = pit::Code::not_found;
    return o;
  }
};

TEST_F(SwitchedOff, without_the_master_switch_nothing_is_injected_and_the_policy_is_absent) {
  EXPECT_FALSE(pit::HostOptions{}.fault_injection);
  host->start();
  EXPECT_EQ(pit::block_on(inventory->reserve({"apple", 1})).remaining, 99);
  EXPECT_EQ(host->describe_pipeline().find("fault_injection"), std::string::npos);
}

}  // namespace
}  // namespace shop
