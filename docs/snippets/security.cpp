// Snippets of docs/security.md: access declarations, identities outside calls,
// per-resource checks, and the audit log.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pit/audit.hpp"
#include "pit/pit.hpp"

namespace shop {

struct OrderId {
  std::string id;
};
BOOST_DESCRIBE_STRUCT(OrderId, (), (id))
struct Order {
  std::string id;
  std::string owner;
};
BOOST_DESCRIBE_STRUCT(Order, (), (id, owner))
struct Ping {};
BOOST_DESCRIBE_STRUCT(Ping, (), ())

// [declare]
class Orders {
 public:
  virtual ~Orders() = default;
 protected:
  virtual pit::Task<Order> get(OrderId) = 0;
  virtual pit::Task<Order> cancel(OrderId) = 0;
  virtual Ping ping(Ping) = 0;
  virtual Order purge(OrderId) = 0;
};
PIT_CONTRACT(Orders, "shop.v1.Orders",
             (get, pit::OpSpec{}.require(pit::any_of(pit::scope("orders.read"), pit::role("support")))),
             (cancel, pit::OpSpec{}.require(pit::scope("orders.write")).raises(pit::Code::not_found)),
             (ping, pit::OpSpec{}.anonymous("load balancer probe")),
             (purge));  // declares nothing: refused to every caller
// [/declare]

// [authorize]
class OrdersService final : public Orders {
 protected:
  pit::Task<Order> get(OrderId req) override {
    Order order{req.id, "alice"};  // from the database
    // The declaration let the caller in; whether *this* order is theirs is the code's call.
    if (order.owner != pit::caller().subject) pit::authorize(pit::role("support"), "order " + req.id);
    co_return order;
  }
  // [/authorize]
  pit::Task<Order> cancel(OrderId req) override { co_return Order{req.id, pit::caller().subject}; }
  Ping ping(Ping) override { return {}; }
  Order purge(OrderId req) override { return {req.id, {}}; }
};

}  // namespace shop

namespace {

// [sink]
// A sink of one's own: batches of JSON lines, written off the call path.
class AuditToMemory final : public pit::AuditSink {
 public:
  bool write(const std::vector<std::string>& lines) override {
    std::lock_guard lock(mutex_);
    lines_.insert(lines_.end(), lines.begin(), lines.end());
    return true;  // false (or a throw): the log is unhealthy, /readyz turns red, lines are kept
  }
  // [/sink]
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

template <class F>
pit::Code code_of(F&& f) {
  try {
    f();
  } catch (const pit::Fault& fault) {
    return fault.code();
  }
  return pit::Code::ok;
}

TEST(SecurityGuide, callers_get_what_the_declaration_says_and_each_decision_is_audited) {
  auto audit = std::make_shared<AuditToMemory>();
  pit::HostOptions options;
  options.log_sink = std::make_shared<pit::log::MemorySink>();
  options.audit.sink = audit;
  pit::Host host{options};
  host.serve<shop::Orders, shop::OrdersService>();
  auto orders = host.client<shop::Orders>();
  host.start();

  EXPECT_EQ(code_of([&] { orders->ping({}); }), pit::Code::ok);  // anonymous: open
  EXPECT_EQ(code_of([&] { pit::block_on(orders->get({"7"})); }), pit::Code::unauthenticated);
  // [identity]
  // A job, a test, start-up code: calls act under an explicit identity, checked like any.
  pit::CallerScope as_job{{.identity = pit::service_identity("nightly-report", {"orders.read"})}};
  // [/identity]
  EXPECT_EQ(code_of([&] { pit::block_on(orders->get({"7"})); }), pit::Code::permission_denied);  // not the owner
  EXPECT_EQ(code_of([&] { pit::block_on(orders->cancel({"7"})); }), pit::Code::permission_denied);
  EXPECT_EQ(code_of([&] { orders->purge({"7"}); }), pit::Code::permission_denied);
  host.stop();

  const auto lines = audit->lines();
  // ping (open), get refused to a stranger, get let in + its authorize refused, cancel, purge
  ASSERT_EQ(lines.size(), 6U);
  EXPECT_NE(lines[3].find(R"("resource":"order 7")"), std::string::npos) << lines[3];
  EXPECT_NE(lines[5].find(R"("reason":"undeclared")"), std::string::npos) << lines[5];
}

TEST(SecurityGuide, a_support_engineer_reads_any_order) {
  pit::HostOptions options;
  options.log_sink = std::make_shared<pit::log::MemorySink>();
  options.audit.sink = std::make_shared<AuditToMemory>();
  pit::Host host{options};
  host.serve<shop::Orders, shop::OrdersService>();
  auto orders = host.client<shop::Orders>();
  host.start();
  pit::CallerScope as_support{{.identity = pit::service_identity("bob", {}, {"support"})}};
  EXPECT_EQ(pit::block_on(orders->get({"7"})).owner, "alice");
  host.stop();
}

}  // namespace
