// The one pipeline: fixed order, built once at start, a user policy in one line applies
// to every operation of every service, results travel as outcomes.
#include <gtest/gtest.h>

#include <set>

#include "support/host_fixture.hpp"

namespace shop {
namespace {

using pit::block_on;
using pit::Code;

class PipelineTest : public HostTest {};

TEST_F(PipelineTest, policy_added_after_the_services_sees_every_operation_of_every_service) {
  std::mutex mutex;
  std::multiset<std::string> seen;
  // The services are already registered (fixture); one line adds the rule for all.
  host->use("observer", [&](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    {
      std::lock_guard lock(mutex);
      seen.insert(call.operation().full_name);
    }
    co_return co_await next(call);
  });
  host->start();
  block_on(inventory->reserve({"apple", 1}));
  (void)inventory->count({"apple"});
  block_on(orders->place(shop::PlaceOrder{{{"pear", 1}}, ""}));

  // Every operation of every contract the host serves, enumerated from the contracts.
  std::set<std::string> all;
  for (const auto* contract : {&pit::detail::declaration_of<Inventory>::info(),
                               &pit::detail::declaration_of<Orders>::info()}) {
    for (const auto& op : contract->operations) all.insert(op.full_name);
  }
  std::lock_guard lock(mutex);
  for (const auto& name : all) EXPECT_GE(seen.count(name), 1U) << name << " bypassed the policy";
  EXPECT_EQ(seen.count("shop.v1.Inventory/reserve"), 2U) << "the nested call went through it too";
}

TEST_F(PipelineTest, policy_can_answer_without_dispatching) {
  host->use("closed", [](pit::Call&, pit::Next) -> pit::Task<pit::Outcome> {
    co_return pit::Fault::unavailable("closed for maintenance").from(pit::Fault::Origin::runtime);
  });
  host->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(fault.code(), Code::unavailable);
  EXPECT_EQ(fault.message(), "closed for maintenance");
  EXPECT_EQ(probe.dispatched, 0);
}

TEST_F(PipelineTest, policy_sees_the_outcome_as_a_value_not_an_exception) {
  std::atomic<int> faults{0};
  host->use("count-faults", [&](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);  // never throws
    if (!outcome.ok()) ++faults;
    co_return outcome;
  });
  host->start();
  (void)fault_of([&] { block_on(inventory->reserve({"secret", 1})); });
  (void)fault_of([&] { block_on(inventory->reserve({"missing", 1})); });
  EXPECT_EQ(faults, 2);
}

TEST_F(PipelineTest, standard_order_is_fixed_and_printable) {
  host->use("audit", [](pit::Call& call, pit::Next next) { return next(call); });
  const std::string expected =
      "1. correlation\n2. call_log\n3. metrics\n4. fault_shaping\n5. deadline\n6. admission\n7. authentication\n8. authorization\n9. audit\n10. dispatch\n";
  EXPECT_EQ(host->describe_pipeline(), expected);
  host->start();
  EXPECT_EQ(host->describe_pipeline(), expected);
}

TEST_F(PipelineTest, policies_and_services_are_fixed_once_the_host_starts) {
  host->start();
  EXPECT_THROW(host->use("late", [](pit::Call& c, pit::Next n) { return n(c); }), std::logic_error);
  EXPECT_THROW((host->serve<Inventory, InventoryService>(probe)), std::logic_error);
}

TEST_F(PipelineTest, a_policy_name_twice_fails_the_start) {
  host->use("same", [](pit::Call& c, pit::Next n) { return n(c); });
  host->use("same", [](pit::Call& c, pit::Next n) { return n(c); });
  EXPECT_THROW(host->start(), std::invalid_argument);
}

TEST_F(PipelineTest, calls_before_start_and_after_stop_are_refused_with_unavailable) {
  auto before = fault_of([&] { block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(before.code(), Code::unavailable);
  host->start();
  host->stop();
  auto after = fault_of([&] { block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(after.code(), Code::unavailable);
  EXPECT_EQ(probe.dispatched, 0);
}

TEST(HostAlone, a_proxy_that_outlives_its_host_answers_unavailable) {
  Probe probe;
  pit::Ref<Inventory> inventory;
  {
    pit::HostOptions o;
    o.log_sink = std::make_shared<pit::log::MemorySink>();
    pit::Host host{o};
    host.serve<Inventory, InventoryService>(probe);
    inventory = host.client<Inventory>();
    host.start();
  }
  try {
    pit::block_on(inventory->reserve({"apple", 1}));
    FAIL() << "expected a fault";
  } catch (const pit::Fault& f) {
    EXPECT_EQ(f.code(), Code::unavailable);
  }
}

TEST(HostAlone, a_contract_served_twice_is_refused) {
  Probe probe;
  pit::Host host;
  host.serve<Inventory, InventoryService>(probe);
  // Kept, not thrown, before the start (the documented main has no try): start() throws it.
  EXPECT_NO_THROW((host.serve<Inventory, InventoryService>(probe)));
  EXPECT_THROW(host.start(), std::logic_error);
}

class ThrowingInventory final : public Inventory {
 public:
  explicit ThrowingInventory(Probe&) { throw std::runtime_error("database unreachable"); }

 private:
  pit::Task<Reserved> reserve(Reserve) override { co_return Reserved{}; }
  Stock count(Count) override { return {}; }
};

TEST(HostAlone, an_implementation_whose_constructor_throws_fails_the_start_with_its_error) {
  Probe probe;
  pit::Host host;
  EXPECT_NO_THROW((host.serve<Inventory, ThrowingInventory>(probe)));
  EXPECT_NO_THROW(host.client<Inventory>("ftp://nowhere"));  // a second mistake: the first one wins
  try {
    host.start();
    FAIL() << "expected the start to fail";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "database unreachable");
  }
}

TEST(HostAlone, a_bad_client_url_fails_the_start_and_a_call_on_its_proxy_is_unavailable) {
  pit::Host host;
  auto inventory = host.client<Inventory>("ftp://nowhere");
  EXPECT_THROW(host.start(), std::invalid_argument);
  try {
    pit::block_on(inventory->reserve({"apple", 1}));
    FAIL() << "expected a fault";
  } catch (const pit::Fault& f) {
    EXPECT_EQ(f.code(), Code::unavailable);
  }
}

TEST(HostAlone, a_contract_that_is_not_served_answers_unimplemented) {
  pit::HostOptions o;
  o.log_sink = std::make_shared<pit::log::MemorySink>();
  pit::Host host{o};
  auto inventory = host.client<Inventory>();
  host.start();
  try {
    pit::block_on(inventory->reserve({"apple", 1}));
    FAIL() << "expected a fault";
  } catch (const pit::Fault& f) {
    EXPECT_EQ(f.code(), Code::unimplemented);
  }
}

TEST(HostAlone, invalid_options_are_refused_at_start_not_at_construction) {
  pit::HostOptions o;
  o.io_threads = 5000;
  pit::Host many{o};  // no throw: `pit::Host host{options};` in main must not terminate
  EXPECT_THROW(many.start(), std::invalid_argument);
  EXPECT_THROW(many.start(), std::invalid_argument);  // and never starts later either
  o = {};
  o.default_timeout = std::chrono::milliseconds(0);
  pit::Host zero{o};
  EXPECT_THROW(zero.start(), std::invalid_argument);
}

}  // namespace
}  // namespace shop

namespace shop {
namespace {

TEST_F(PipelineTest, a_policy_that_throws_becomes_a_masked_fault_not_a_crash) {
  host->use("buggy", [](pit::Call&, pit::Next) -> pit::Task<pit::Outcome> {
    throw std::runtime_error(std::string("policy bug ") + kCanary);
    co_return pit::Outcome::success();
  });
  host->use("buggy-sync", [](pit::Call& c, pit::Next n) -> pit::Task<pit::Outcome> {
    if (c.operation().name == "count") throw std::logic_error("thrown before any co_await");
    return n(c);
  });
  host->start();
  auto fault = fault_of([&] { pit::block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
  EXPECT_EQ(lines_with({"fault masked", kCanary}).size(), 1U);
  EXPECT_EQ(probe.dispatched, 0);
}

// A pit::Fault a policy throws is shaped like one it returns: a code the operation does not
// declare is masked to internal, and its message goes to the log only.
TEST_F(PipelineTest, a_fault_a_policy_throws_is_shaped_like_one_it_returns) {
  host->use("thrower", [](pit::Call&, pit::Next) -> pit::Task<pit::Outcome> {
    throw pit::Fault::data_loss(std::string("disk said ") + kCanary);
    co_return pit::Outcome::success();
  });
  host->start();
  auto fault = fault_of([&] { pit::block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
  EXPECT_EQ(lines_with({"fault masked", "data_loss", kCanary}).size(), 1U);
  EXPECT_EQ(probe.dispatched, 0);
}

TEST_F(PipelineTest, a_declared_faults_cause_is_logged_and_never_handed_to_the_caller) {
  host->use("cause", [](pit::Call& c, pit::Next n) -> pit::Task<pit::Outcome> {
    pit::Outcome out = co_await n(c);
    if (!out.ok()) out.fault().with_cause(std::string("detail for ops: ") + kCanary);
    co_return out;
  });
  host->start();
  auto fault = fault_of([&] { pit::block_on(inventory->reserve({"missing", 1})); });
  EXPECT_EQ(fault.code(), pit::Code::not_found);
  EXPECT_TRUE(fault.cause().empty());
  EXPECT_EQ(lines_with({"fault cause", kCanary}).size(), 1U);
}

}  // namespace
}  // namespace shop
