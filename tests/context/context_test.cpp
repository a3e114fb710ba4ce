// The ambient context: right after any co_await with thousands of calls interleaved on
// one thread, right on the worker pool, inherited by nested calls, clear outside a call.
#include <gtest/gtest.h>

#include <set>

#include "support/host_fixture.hpp"

namespace sleepy {

struct Nap {
  int ms = 0;
};
BOOST_DESCRIBE_STRUCT(Nap, (), (ms))
struct Napped {
  bool span_stable = false;
  bool trace_stable = false;
  std::string span;
};
BOOST_DESCRIBE_STRUCT(Napped, (), (span_stable, trace_stable, span))
struct Interleave {
  int calls = 0;
};
BOOST_DESCRIBE_STRUCT(Interleave, (), (calls))
struct Interleaved {
  int completed = 0;
  int wrong_context_in_callee = 0;
  int wrong_context_in_caller = 0;
  int distinct_spans = 0;
};
BOOST_DESCRIBE_STRUCT(Interleaved, (), (completed, wrong_context_in_callee, wrong_context_in_caller, distinct_spans))

class Sleepy {
 public:
  virtual ~Sleepy() = default;
 protected:
  virtual pit::Task<Napped> nap(Nap) = 0;
  virtual pit::Task<Interleaved> interleave(Interleave) = 0;
};
PIT_CONTRACT(Sleepy, "test.v1.Sleepy", (nap, pit::OpSpec{}.anonymous("test")), (interleave, pit::OpSpec{}.anonymous("test")));

class SleepyService final : public Sleepy {
 public:
  explicit SleepyService(pit::Ref<Sleepy> self) : self_(std::move(self)) {}

 private:
  pit::Task<Napped> nap(Nap n) override {
    const std::string span{pit::Context::current().span_id()};
    const std::string trace{pit::Context::current().trace_id()};
    boost::asio::steady_timer timer{pit::io_executor(), std::chrono::milliseconds(n.ms)};
    co_await timer.async_wait(pit::use_task);
    co_return Napped{pit::Context::current().span_id() == span,
                     pit::Context::current().trace_id() == trace, span};
  }

  // Starts `calls` nested calls at once on this I/O thread; each sleeps a little, so
  // their resumptions interleave in every order.
  pit::Task<Interleaved> interleave(Interleave req) override {
    Interleaved result;
    std::set<std::string> spans;
    const std::string my_span{pit::Context::current().span_id()};
    for (int i = 0; i < req.calls; ++i) {
      // Starting a coroutine from plain code returns here when it first suspends; the
      // starter keeps its own context (what the runtime does wherever it starts one).
      pit::detail::ContextScope keep(pit::detail::current_context());
      [](SleepyService* self, int i, const std::string& caller_span, Interleaved& out,
         std::set<std::string>& spans) -> pit::detail::Detached {
        Nap nap{(i * 7) % 13};
        Napped reply = co_await self->self_->nap(std::move(nap));
        if (!reply.span_stable || !reply.trace_stable) ++out.wrong_context_in_callee;
        if (pit::Context::current().span_id() != caller_span) ++out.wrong_context_in_caller;
        spans.insert(reply.span);
        ++out.completed;
      }(this, i, my_span, result, spans);
    }
    while (result.completed < req.calls) {
      boost::asio::steady_timer tick{pit::io_executor(), std::chrono::milliseconds(2)};
      co_await tick.async_wait(pit::use_task);
    }
    result.distinct_spans = static_cast<int>(spans.size());
    co_return result;
  }

  pit::Ref<Sleepy> self_;
};

}  // namespace sleepy

namespace shop {
namespace {

using pit::block_on;

TEST(ContextOutsideACall, says_so_instead_of_returning_another_calls_values) {
  const auto& ctx = pit::Context::current();
  EXPECT_FALSE(ctx.in_call());
  EXPECT_TRUE(ctx.correlation_id().empty());
  EXPECT_TRUE(ctx.trace_id().empty());
  EXPECT_EQ(ctx.deadline(), pit::Clock::time_point::max());
  EXPECT_FALSE(pit::this_call::cancelled());
}

class ContextTest : public HostTest {};

TEST_F(ContextTest, is_right_after_every_co_await_with_two_thousand_calls_interleaved_on_one_thread) {
  host->serve<sleepy::Sleepy, sleepy::SleepyService>(host->client<sleepy::Sleepy>());
  host->start();
  auto s = host->client<sleepy::Sleepy>();
  auto result = block_on(s->interleave({2000}));
  EXPECT_EQ(result.completed, 2000);
  EXPECT_EQ(result.wrong_context_in_callee, 0);
  EXPECT_EQ(result.wrong_context_in_caller, 0);
  EXPECT_EQ(result.distinct_spans, 2000) << "every nested call has its own span";
}

TEST_F(ContextTest, sync_operation_on_the_worker_pool_sees_the_calls_context) {
  host->start();
  pit::CallerScope scope{{.correlation_id = "job-42"}};
  (void)inventory->count({"apple"});
  std::lock_guard lock(probe.mutex);
  EXPECT_EQ(probe.seen_correlation, "job-42");
}

TEST_F(ContextTest, nested_call_keeps_correlation_and_trace_and_gets_a_child_span) {
  host->start();
  pit::CallerScope scope{{.correlation_id = "corr-abc"}};
  block_on(orders->place(shop::PlaceOrder{{{"apple", 1}}, ""}));
  std::lock_guard lock(probe.mutex);
  EXPECT_EQ(probe.seen_correlation, "corr-abc") << "the inventory call saw the outer correlation id";
  auto place_lines = lines_with({R"("msg":"call")", R"("operation":"place")"});
  auto reserve_lines = lines_with({R"("msg":"call")", R"("operation":"reserve")"});
  ASSERT_EQ(place_lines.size(), 1U);
  ASSERT_EQ(reserve_lines.size(), 1U);
  auto field = [](const std::string& line, const std::string& key) {
    auto at = line.find("\"" + key + "\":\"");
    if (at == std::string::npos) return std::string{};
    at += key.size() + 4;
    return line.substr(at, line.find('"', at) - at);
  };
  EXPECT_EQ(field(place_lines[0], "trace_id"), probe.seen_trace);
  EXPECT_EQ(field(reserve_lines[0], "trace_id"), probe.seen_trace);
  EXPECT_EQ(field(reserve_lines[0], "parent_span_id"), field(place_lines[0], "span_id"));
  EXPECT_NE(field(reserve_lines[0], "span_id"), field(place_lines[0], "span_id"));
  EXPECT_EQ(field(place_lines[0], "parent_span_id"), "") << "the outer call is a root span";
}

TEST_F(ContextTest, nested_call_inherits_the_earliest_deadline) {
  host->start();
  const auto start = pit::Clock::now();
  pit::CallerScope scope{{.timeout = std::chrono::milliseconds(700)}};
  block_on(orders->place(shop::PlaceOrder{{{"apple", 1}}, ""}));
  std::lock_guard lock(probe.mutex);
  // place's own timeout is 2 s and the host default 10 s; the caller's 700 ms wins.
  EXPECT_LE(probe.seen_deadline, start + std::chrono::milliseconds(700) + std::chrono::milliseconds(5));
  EXPECT_GT(probe.seen_deadline, start + std::chrono::milliseconds(500));
}

TEST_F(ContextTest, caller_scope_baggage_flows_into_calls) {
  host->serve<sleepy::Sleepy, sleepy::SleepyService>(host->client<sleepy::Sleepy>());
  host->use("baggage-check", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    if (call.context().baggage("tenant") != std::optional<std::string_view>{"acme"}) {
      co_return pit::Fault::failed_precondition("no tenant").from(pit::Fault::Origin::runtime);
    }
    co_return co_await next(call);
  });
  host->start();
  pit::CallerScope scope{{.baggage = {{"tenant", "acme"}}}};
  EXPECT_NO_THROW(block_on(orders->place(shop::PlaceOrder{{{"apple", 1}}, ""})));
}

}  // namespace
}  // namespace shop
