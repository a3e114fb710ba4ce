// The dispatch boundary: executors, exceptions caught once, faults masked by contract.
#include <gtest/gtest.h>

#include "support/admin_fixture.hpp"
#include "support/host_fixture.hpp"
#include "support/raw_http.hpp"

namespace shop {
namespace {

using pit::block_on;
using pit::Code;

class Dispatch : public HostTest {};

TEST_F(Dispatch, coroutine_operation_answers_through_the_proxy) {
  host->start();
  auto reply = block_on(inventory->reserve({"apple", 3}));
  EXPECT_EQ(reply.remaining, 97);
  EXPECT_EQ(probe.dispatched, 1);
}

TEST_F(Dispatch, sync_operation_runs_on_the_worker_pool) {
  host->start();
  auto stock = inventory->count({"apple"});
  EXPECT_EQ(stock.quantity, 42);
  std::lock_guard lock(probe.mutex);
  EXPECT_NE(probe.sync_thread, std::this_thread::get_id());
  EXPECT_NE(probe.sync_thread, std::thread::id{});
}

TEST_F(Dispatch, declared_fault_passes_through_with_code_and_message) {
  host->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"missing", 1})); });
  EXPECT_EQ(fault.code(), Code::not_found);
  EXPECT_EQ(fault.message(), "no such sku");
  EXPECT_FALSE(fault.correlation_id().empty());
}

TEST_F(Dispatch, undeclared_exception_is_masked_and_its_cause_logged_under_the_correlation_id) {
  host->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"secret", 1})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(fault.message(), "internal error");
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
  EXPECT_EQ(fault.message().find("runtime_error"), std::string::npos);
  EXPECT_TRUE(fault.cause().empty()) << "the masked fault carries no cause out";
  auto lines = lines_with({"fault masked", kCanary, "std::runtime_error", fault.correlation_id()});
  EXPECT_EQ(lines.size(), 1U);
  EXPECT_NE(lines.at(0).find(R"("level":"error")"), std::string::npos);
}

TEST_F(Dispatch, undeclared_fault_code_is_masked) {
  host->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"forbidden", 1})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
  EXPECT_EQ(lines_with({"fault masked", "permission_denied", kCanary}).size(), 1U);
}

TEST_F(Dispatch, exception_thrown_after_a_co_await_is_caught_and_masked) {
  host->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"late-secret", 1})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
  EXPECT_EQ(lines_with({"fault masked", "std::logic_error", kCanary}).size(), 1U);
}

TEST_F(Dispatch, exception_of_non_standard_type_is_caught_and_masked) {
  host->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"odd", 1})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(lines_with({"fault masked", "shop::OddError"}).size(), 1U);
}

TEST_F(Dispatch, sync_operation_exception_is_masked) {
  host->start();
  auto fault = fault_of([&] { (void)inventory->count({"secret"}); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
  EXPECT_EQ(lines_with({"fault masked", kCanary}).size(), 1U);
}

TEST_F(Dispatch, host_exception_mapper_decides_the_code_once_for_every_operation) {
  host->map_exception<std::runtime_error>(
      [](const std::runtime_error&) { return pit::Fault::not_found("mapped"); });
  host->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"secret", 1})); });
  EXPECT_EQ(fault.code(), Code::not_found) << "not_found is declared by reserve";
  EXPECT_EQ(fault.message(), "mapped");
  auto sync_fault = fault_of([&] { (void)inventory->count({"secret"}); });
  EXPECT_EQ(sync_fault.code(), Code::internal) << "count declares nothing: the mapped code is masked";
}

TEST_F(Dispatch, declared_fault_of_a_callee_passes_through_a_caller_that_declares_it) {
  host->start();
  auto fault = fault_of([&] { block_on(orders->place(shop::PlaceOrder{{{"missing", 1}}, ""})); });
  EXPECT_EQ(fault.code(), Code::not_found);
  EXPECT_EQ(fault.message(), "no such sku");
}

TEST_F(Dispatch, masked_failure_deep_inside_stays_masked_at_every_hop) {
  host->start();
  auto fault = fault_of([&] { block_on(orders->place(shop::PlaceOrder{{{"secret", 1}}, ""})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
}

class DispatchWithAdmin : public HostWithAdminTest {
 protected:
  long masked_total() const { return metric("pit_faults_masked_total"); }
};

TEST_F(DispatchWithAdmin, masked_fault_of_a_nested_call_is_logged_and_counted_once) {
  host->start();
  // place → reserve: reserve masks its failure (a record with the cause); place gets the
  // masked fault back and passes it on as internal, with no second record and no count.
  pit::CallerScope scope{{.correlation_id = "nested-mask-1"}};
  auto fault = fault_of([&] { block_on(orders->place(shop::PlaceOrder{{{"secret", 1}}, ""})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(fault.message(), "internal error");
  EXPECT_EQ(fault.correlation_id(), "nested-mask-1");
  EXPECT_TRUE(fault.cause().empty());
  EXPECT_TRUE(fault.has(pit::Fault::masked));
  EXPECT_EQ(lines_with({"fault masked"}).size(), 1U);
  EXPECT_EQ(lines_with({"fault masked", kCanary, "nested-mask-1", "shop.v1.Inventory"}).size(), 1U);
  EXPECT_EQ(masked_total(), 1);
}

TEST_F(DispatchWithAdmin, implementation_cannot_skip_the_masked_record_by_setting_the_flag) {
  host->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"self-masked", 1})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(fault.message(), "internal error");
  EXPECT_EQ(lines_with({"fault masked", kCanary}).size(), 1U);
  EXPECT_EQ(masked_total(), 1);
}

TEST_F(Dispatch, blocking_on_an_io_thread_is_refused_not_deadlocked) {
  host->start();
  // A coroutine operation that calls a sync operation through its blocking proxy would
  // stall its I/O thread; the runtime refuses (it does not deadlock), the operation fails,
  // and its caller sees the masked fault while the log says why.
  auto fault = fault_of([&] { block_on(orders->place(shop::PlaceOrder{{{"apple", 1}}, "count-inline"})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(lines_with({"fault masked", "blocking wait on a pit I/O thread"}).size(), 1U);
}

TEST_F(Dispatch, a_coroutine_operation_awaits_a_sync_operation_through_its_async_form) {
  host->start();
  auto placed = block_on(orders->place(shop::PlaceOrder{{{"apple", 1}}, "count-awaited"}));
  EXPECT_EQ(placed.lines, 1);
  std::lock_guard lock(probe.mutex);
  EXPECT_NE(probe.sync_thread, std::thread::id{}) << "count ran on a worker";
}

class SmallPool : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.workers = 1;
    o.worker_queue = 1;
    return o;
  }
};

TEST_F(SmallPool, full_worker_pool_rejects_at_once_with_unavailable) {
  host->start();
  // Occupy the only worker and the only queue slot with calls that wait for cancellation.
  auto occupy = [&] {
    pit::CallerScope scope{{.timeout = std::chrono::milliseconds(1000)}};
    (void)fault_of([&] { (void)inventory->count({"polite"}); });
  };
  std::thread a(occupy);
  while (probe.dispatched.load() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread b(occupy);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto start = pit::Clock::now();
  auto fault = fault_of([&] { (void)inventory->count({"apple"}); });
  EXPECT_LT(pit::Clock::now() - start, std::chrono::milliseconds(500)) << "rejected, not queued";
  EXPECT_EQ(fault.code(), Code::unavailable);
  EXPECT_TRUE(fault.has(pit::Fault::rejected));
  EXPECT_TRUE(fault.has(pit::Fault::retryable));
  a.join();
  b.join();
}

}  // namespace

// A sync operation that calls a sync operation of the same host.
class Ledger {
 public:
  virtual ~Ledger() = default;
 protected:
  virtual Stock total(Count) = 0;
};
PIT_CONTRACT(Ledger, "test.v1.Ledger", (total, pit::OpSpec{}.anonymous("test").raises(pit::Code::unavailable)));

class LedgerService final : public Ledger {
 public:
  explicit LedgerService(pit::Ref<Inventory> inventory) : inventory_(std::move(inventory)) {}
  std::atomic<std::thread::id>* ran_on = nullptr;

 private:
  Stock total(Count c) override {
    if (ran_on != nullptr) ran_on->store(std::this_thread::get_id());
    Stock s = inventory_->count(c);  // sync → sync: this worker waits for it
    return Stock{s.quantity + 1};
  }
  pit::Ref<Inventory> inventory_;
};

namespace {

TEST_F(SmallPool, a_sync_operation_calling_a_sync_operation_runs_it_on_its_own_worker_not_the_queue) {
  host->serve<Ledger, LedgerService>(host->client<Inventory>());
  host->start();
  auto ledger = host->client<Ledger>();
  pit::CallerScope scope{{.timeout = std::chrono::seconds(2)}};
  const auto start = pit::Clock::now();
  // One worker: queued behind its own caller, the inner call would wait for the deadline.
  const Stock s = ledger->total({"apple"});
  EXPECT_EQ(s.quantity, 43);
  EXPECT_LT(pit::Clock::now() - start, std::chrono::milliseconds(1000)) << "no wait on itself";
  // And twice in a row, nested twice (the worker serves each level of waiting).
  EXPECT_EQ(ledger->total({"apple"}).quantity, 43);
}

TEST_F(SmallPool, a_nested_sync_call_answered_at_its_deadline_leaves_nothing_waiting) {
  host->serve<Ledger, LedgerService>(host->client<Inventory>());
  host->start();
  auto ledger = host->client<Ledger>();
  pit::CallerScope scope{{.timeout = std::chrono::milliseconds(50)}};
  // The inner call ignores cancellation for 300 ms on the same worker; the outer caller is
  // answered at the deadline, and the host still stops cleanly afterwards (TearDown).
  auto fault = fault_of([&] { (void)ledger->total({"stubborn"}); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
}

}  // namespace
}  // namespace shop
