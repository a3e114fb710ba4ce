// Snippets of docs/pipeline.md: user policies, the printed order, outcomes.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/describe.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pit/pit.hpp"

namespace shop {

struct Reserve {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(Reserve, (), (sku, quantity))

struct Reserved {
  int remaining = 0;
};
BOOST_DESCRIBE_STRUCT(Reserved, (), (remaining))

class Inventory {
 public:
  virtual ~Inventory() = default;
 protected:
  virtual pit::Task<Reserved> reserve(Reserve) = 0;
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory", (reserve, pit::OpSpec{}.anonymous("guide example").raises(pit::Code::not_found)));

class InventoryService final : public Inventory {
 public:
  explicit InventoryService(std::atomic<int>& dispatched) : dispatched_(dispatched) {}

 private:
  pit::Task<Reserved> reserve(Reserve r) override {
    ++dispatched_;
    if (r.sku == "missing") throw pit::Fault::not_found("no such sku");
    co_return Reserved{100 - r.quantity};
  }
  std::atomic<int>& dispatched_;
};

// [class-policy]
// Refuses calls that carry no tenant, for every operation of every service.
class RequireTenant final : public pit::Policy {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "require_tenant"; }

  pit::Task<pit::Outcome> handle(pit::Call& call, pit::Next next) override {
    if (!call.context().baggage("tenant")) {
      // A refusal is a value, not an exception. Origin runtime: it is part of every
      // operation's contract, so fault shaping lets it through.
      co_return pit::Fault::failed_precondition("a tenant is required")
          .with(pit::Fault::rejected)
          .from(pit::Fault::Origin::runtime);
    }
    co_return co_await next(call);
  }
};
// [/class-policy]

}  // namespace shop

namespace {

// Records what every call came to.
class Audit {
 public:
  void record(std::string_view operation, pit::Code code) {
    std::lock_guard lock(mutex_);
    entries_.emplace_back(std::string(operation), code);
  }
  std::vector<std::pair<std::string, pit::Code>> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, pit::Code>> entries_;
};

pit::HostOptions quiet() {
  pit::HostOptions options;
  options.log_sink = std::make_shared<pit::log::MemorySink>();
  return options;
}

void add_policies(pit::Host& host, Audit& audit) {
  // [use]
  host.use("audit", [&audit](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);  // the rest of the pipeline, then dispatch
    audit.record(call.operation().full_name, outcome.code());  // a fault is a value here
    co_return outcome;
  });
  host.use(std::make_unique<shop::RequireTenant>());
  // [/use]
}

class PipelineGuide : public ::testing::Test {
 protected:
  void SetUp() override {
    host = std::make_unique<pit::Host>(quiet());
    host->serve<shop::Inventory, shop::InventoryService>(dispatched);
    add_policies(*host, audit);
    host->start();
    inventory = host->client<shop::Inventory>();
  }
  void TearDown() override { host->stop(); }

  pit::Code reserve(std::string sku) {
    shop::Reserve request{std::move(sku), 1};
    try {
      (void)pit::block_on(inventory->reserve(std::move(request)));
      return pit::Code::ok;
    } catch (const pit::Fault& fault) {
      last = fault;
      return fault.code();
    }
  }

  Audit audit;
  std::atomic<int> dispatched{0};
  std::unique_ptr<pit::Host> host;
  pit::Ref<shop::Inventory> inventory;
  std::optional<pit::Fault> last;
};

TEST(PipelineGuideOrder, describe_pipeline_prints_the_order_every_call_takes) {
  pit::Host host{quiet()};
  Audit audit;
  add_policies(host, audit);
  const std::string before_start = host.describe_pipeline();
  host.start();
  // [describe]
  EXPECT_EQ(host.describe_pipeline(),
            "1. correlation\n"
            "2. call_log\n"
            "3. metrics\n"
            "4. fault_shaping\n"
            "5. deadline\n"
            "6. admission\n"
            "7. authentication\n"
            "8. authorization\n"
            "9. audit\n"
            "10. require_tenant\n"
            "11. dispatch\n");
  // [/describe]
  EXPECT_EQ(before_start, host.describe_pipeline());
  host.stop();
}

TEST_F(PipelineGuide, policy_refusal_reaches_the_caller_and_the_call_is_not_dispatched) {
  EXPECT_EQ(reserve("apple"), pit::Code::failed_precondition);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->message(), "a tenant is required");
  EXPECT_TRUE(last->has(pit::Fault::rejected));
  EXPECT_EQ(dispatched.load(), 0);
  using Entry = std::pair<std::string, pit::Code>;
  EXPECT_EQ(audit.entries(),
            (std::vector<Entry>{{"shop.v1.Inventory/reserve", pit::Code::failed_precondition}}))
      << "audit sits outside require_tenant: it saw the refusal";
}

TEST_F(PipelineGuide, policies_see_every_outcome_as_a_value) {
  pit::CallerScope scope{{.baggage = {{"tenant", "acme"}}}};
  EXPECT_EQ(reserve("apple"), pit::Code::ok);
  EXPECT_EQ(reserve("missing"), pit::Code::not_found);
  EXPECT_EQ(dispatched.load(), 2);
  using Entry = std::pair<std::string, pit::Code>;
  EXPECT_EQ(audit.entries(), (std::vector<Entry>{{"shop.v1.Inventory/reserve", pit::Code::ok},
                                                 {"shop.v1.Inventory/reserve", pit::Code::not_found}}));
}

// A user policy sits inside fault shaping: a fault it raises as an implementation would
// (the default origin) must be declared by the operation, like any other.
TEST(PipelineGuideShaping, undeclared_fault_of_a_user_policy_is_masked) {
  pit::Host host{quiet()};
  std::atomic<int> dispatched{0};
  host.serve<shop::Inventory, shop::InventoryService>(dispatched);
  host.use("deny_all", [](pit::Call& /*call*/, pit::Next /*next*/) -> pit::Task<pit::Outcome> {
    co_return pit::Fault::permission_denied("nobody may call");
  });
  host.start();
  auto inventory = host.client<shop::Inventory>();
  shop::Reserve request{"apple", 1};
  try {
    (void)pit::block_on(inventory->reserve(std::move(request)));
    ADD_FAILURE() << "expected a fault";
  } catch (const pit::Fault& fault) {
    EXPECT_EQ(fault.code(), pit::Code::internal);
  }
  EXPECT_EQ(dispatched.load(), 0);
  host.stop();
}

}  // namespace
