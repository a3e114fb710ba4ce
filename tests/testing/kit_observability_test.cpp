// The conformance kit's call_logs, metrics and overload checks: each passes on the good
// service, and each fails, alone and with a message that says what to fix, on a service
// broken in its way — a configuration or a sink a hurried user would write, or, for
// metrics (which no user setting or policy can switch off), a pipeline that lost pit's
// metrics policy.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <future>

#include "pipeline/pipeline.hpp"
#include "pipeline/standard_order.hpp"
#include "support/kit_services.hpp"
#include "testing/checks.hpp"
#include "testing/kit.hpp"

namespace {

using pit::testing::Report;
using pit::testing::Result;
using pit::testing::Verdict;
using pit::testing::detail::HostAccess;
using pit::testing::detail::Kit;

constexpr std::string_view kAdd = "kit.v1.Notes/add";
constexpr std::string_view kGet = "kit.v1.Notes/get";
constexpr std::string_view kPing = "kit.v1.Notes/ping";

using kit::text_of;

// Every result of `check` whatever its target, with the count of each verdict.
std::size_t count(const Report& report, std::string_view check, Verdict verdict, std::string_view target = {}) {
  const auto results = report.of(check, target);
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [&](const Result& r) { return r.verdict == verdict; }));
}

// No check but `check` failed anything on this host: the mutation breaks exactly one guarantee.
void expect_only_failures_of(const Report& report, std::string_view check) {
  for (const auto& r : report.results()) {
    if (r.check != check) {
      EXPECT_NE(r.verdict, Verdict::failed) << r.check << " " << r.target << " (" << r.transport << "): " << r.message;
    }
  }
}

// The messages of the failed results of `check` for `target`, joined.
std::string failures(const Report& report, std::string_view check, std::string_view target) {
  std::string out;
  for (const auto& r : report.of(check, target)) {
    if (r.verdict == Verdict::failed) out += r.message + "\n";
  }
  return out;
}

// One check alone on a started, attached good host: for behaviour that is not a mutation.
Report run_one_check(kit::GoodHost& good, pit::testing::detail::CheckFunction check) {
  pit::testing::attach(*good.host);
  good.host->start();
  Report report;
  Kit k{*good.host, good.hints, report};
  check(k);
  return report;
}

TEST(KitObservability, the_good_service_passes_call_logs_metrics_and_overload_each_way_in) {
  kit::GoodHost good;
  const Report report = pit::testing::check_guarantees(*good.host, good.hints);
  const std::string text = text_of(report);
  // Three operations, each way in; metrics also scrapes /metrics once; overload loads the
  // host-wide limit in-process and probes it over HTTP.
  EXPECT_EQ(count(report, "call_logs", Verdict::passed), 6U) << text;
  EXPECT_EQ(count(report, "metrics", Verdict::passed), 7U) << text;
  EXPECT_EQ(count(report, "overload", Verdict::passed), 2U) << text;
  for (std::string_view check : {"call_logs", "metrics", "overload"}) {
    EXPECT_EQ(report.of(check).size(), count(report, check, Verdict::passed)) << check << "\n" << text;
  }
  const auto http = report.of("overload", "host");
  ASSERT_EQ(http.size(), 2U);
  EXPECT_NE(http[1].message.find("503 with Retry-After"), std::string::npos) << http[1].message;
}

// --- call_logs -----------------------------------------------------------------------------

TEST(KitCallLogs, call_lines_switched_off_for_an_operation_fail_it_naming_the_key) {
  kit::GoodHost bad{[](pit::HostOptions& o) { o.operations[std::string(kGet)].log_calls = false; }};
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  EXPECT_EQ(count(report, "call_logs", Verdict::failed, kGet), 2U) << text_of(report);
  EXPECT_EQ(count(report, "call_logs", Verdict::passed, kAdd), 2U) << text_of(report);
  EXPECT_EQ(count(report, "call_logs", Verdict::passed, kPing), 2U) << text_of(report);
  const std::string message = failures(report, "call_logs", kGet);
  EXPECT_NE(message.find("no call line was written"), std::string::npos) << message;
  EXPECT_NE(message.find(R"(contracts."kit.v1.Notes".operations.get.log_calls (HostOptions::operations["kit.v1.Notes/get"].log_calls) = false)"),
            std::string::npos)
      << message;
  expect_only_failures_of(report, "call_logs");
}

// A sink that keeps only warnings and errors, to keep the log small: it refuses the info
// lines (returning false, as a Sink does for a line it drops), call lines among them.
class WarningsOnlySink final : public pit::log::Sink {
 public:
  explicit WarningsOnlySink(std::shared_ptr<pit::log::Sink> next) : next_(std::move(next)) {}
  bool write(std::string_view line) override {
    if (line.find(R"("level":"warn")") == std::string_view::npos && line.find(R"("level":"error")") == std::string_view::npos) {
      return false;
    }
    return next_->write(line);
  }

 private:
  std::shared_ptr<pit::log::Sink> next_;
};

TEST(KitCallLogs, a_sink_that_refuses_the_call_lines_fails_every_operation_saying_so) {
  kit::GoodHost bad{[](pit::HostOptions& o) { o.log_sink = std::make_shared<WarningsOnlySink>(o.log_sink); }};
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  EXPECT_EQ(count(report, "call_logs", Verdict::failed), 6U) << text_of(report);
  for (const auto& r : report.of("call_logs")) {
    EXPECT_NE(r.message.find("the host's log sink refused"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("log.level"), std::string::npos) << r.message;
  }
  expect_only_failures_of(report, "call_logs");
}

// pit never redacts the call ids (docs/logging.md, "Redaction"): a redaction key that
// matches their names ("id" is in correlation_id and trace_id) hides fields of the
// application's only, and the check passes with the ids intact.
TEST(KitCallLogs, a_redaction_key_matching_the_id_names_leaves_the_call_ids_alone) {
  kit::GoodHost good{[](pit::HostOptions& o) { o.log_redaction.keys = {"id"}; }};
  const Report report = run_one_check(good, &pit::testing::detail::check_call_logs);
  EXPECT_EQ(count(report, "call_logs", Verdict::passed), 6U) << text_of(report);
  for (const auto& line : good.logs->lines()) {
    EXPECT_EQ(line.find(R"("correlation_id":"[redacted]")"), std::string::npos) << line;
    EXPECT_EQ(line.find(R"("trace_id":"[redacted]")"), std::string::npos) << line;
  }
}

TEST(KitCallLogs, a_host_started_without_the_kit_fails_saying_how_to_attach) {
  kit::GoodHost good;
  good.host->start();
  Report report;
  Kit k{*good.host, good.hints, report};
  pit::testing::detail::check_call_logs(k);
  ASSERT_EQ(report.of("call_logs").size(), 1U) << text_of(report);
  EXPECT_EQ(report.of("call_logs")[0].verdict, Verdict::failed);
  EXPECT_NE(report.of("call_logs")[0].message.find("pit::testing::attach"), std::string::npos);
}

// --- metrics -------------------------------------------------------------------------------

// No user setting or policy can stop pit counting a call: the metrics policy sits outside
// every user policy and has no switch. So this mutation is a regression of pit itself —
// the host's pipeline rebuilt without its metrics policy — which the check must catch.
std::unique_ptr<pit::Pipeline> drop_metrics_policy(pit::Host& host) {
  auto& s = HostAccess::state(host);
  auto policies = pit::detail::standard_inbound(s.options, s.limiters->host(), s.authenticator.get(), s.audit.get(),
                                                {}, s.tracer.get(), false, s.dedup_store.get(), s.drills.get(),
                                                &s.mappers);
  std::erase_if(policies, [](const auto& p) { return p->name() == "metrics"; });
  auto previous = std::exchange(s.pipeline, std::make_unique<pit::Pipeline>(std::move(policies), *s.dispatcher));
  // Each I/O thread runs a handler posted after the swap before it reads the pipeline again.
  for (const auto& thread : s.io_threads) {
    std::promise<void> seen;
    boost::asio::post(thread->io(), [&seen] { seen.set_value(); });
    seen.get_future().wait();
  }
  return previous;
}

TEST(KitMetrics, a_pipeline_that_does_not_count_calls_fails_every_operation_each_way_in) {
  kit::GoodHost bad;
  pit::testing::attach(*bad.host);
  bad.host->start();
  const auto previous = drop_metrics_policy(*bad.host);
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  EXPECT_EQ(count(report, "metrics", Verdict::failed), 6U) << text_of(report);
  const std::string message = failures(report, "metrics", kAdd);
  EXPECT_NE(message.find("a call (the caller got ok) was counted 0 times in pit_calls_total{contract=\"kit.v1.Notes\","
                         "operation=\"add\",code=\"ok\",transport=\"inproc\",kind=\"server\"}"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("a call failed inside (the caller got internal) was counted 0 times"), std::string::npos) << message;
  EXPECT_NE(message.find("no pit_calls_total sample changed"), std::string::npos) << message;
  EXPECT_NE(message.find("pit_call_duration_seconds"), std::string::npos) << message;
  // /metrics still serves what the host keeps.
  EXPECT_EQ(count(report, "metrics", Verdict::passed, "host"), 1U) << text_of(report);
  expect_only_failures_of(report, "metrics");
}

// --- overload ------------------------------------------------------------------------------

TEST(KitOverload, no_host_wide_limit_fails_saying_calls_queue_without_bound) {
  kit::GoodHost bad{[](pit::HostOptions& o) { o.admission.max_in_flight = 0; }};
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  const auto results = report.of("overload");
  ASSERT_EQ(results.size(), 1U) << text_of(report);
  const Result& r = results[0];
  EXPECT_EQ(r.verdict, Verdict::failed);
  EXPECT_EQ(r.target, "host");
  EXPECT_NE(r.message.find("calls queue without bound"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("admission.max_in_flight = 0"), std::string::npos) << r.message;
  expect_only_failures_of(report, "overload");
}

TEST(KitOverload, an_operation_limit_with_a_huge_queue_fails_for_that_operation) {
  kit::GoodHost bad{[](pit::HostOptions& o) {
    o.operations[std::string(kGet)].max_in_flight = 4;
    o.operations[std::string(kGet)].max_queue = 100'000;
  }};
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  const auto results = report.of("overload", kGet);
  ASSERT_EQ(results.size(), 1U) << text_of(report);
  const Result& r = results[0];
  EXPECT_EQ(r.verdict, Verdict::failed);
  EXPECT_NE(r.message.find("calls queue without bound"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("holds no slot of the host-wide limit"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(R"(contracts."kit.v1.Notes".operations.get.max_queue (HostOptions::operations["kit.v1.Notes/get"].max_queue))"),
            std::string::npos)
      << r.message;
  // The host-wide limit is still proven, on another operation.
  EXPECT_EQ(count(report, "overload", Verdict::passed, "host"), 2U) << text_of(report);
  expect_only_failures_of(report, "overload");
}

// An operation's own limit is proven under load, in-process and over HTTP, like the host's.
TEST(KitOverload, an_operation_limit_is_loaded_and_refuses_the_excess_each_way_in) {
  kit::GoodHost good{[](pit::HostOptions& o) {
    o.operations["kit.v1.Notes"].max_in_flight = 2;
    o.operations["kit.v1.Notes"].max_queue = 1;
  }};
  const Report report = run_one_check(good, &pit::testing::detail::check_overload);
  const std::string text = text_of(report);
  for (std::string_view op : {kAdd, kGet, kPing}) {
    EXPECT_EQ(count(report, "overload", Verdict::passed, op), 2U) << op << "\n" << text;
  }
  EXPECT_EQ(count(report, "overload", Verdict::passed, "host"), 1U) << text;
  for (const auto& r : report.of("overload", kGet)) {
    if (r.transport == "inproc") {
      EXPECT_NE(r.message.find("11 calls of kit.v1.Notes/get at once"), std::string::npos) << r.message;
      EXPECT_NE(r.message.find("8 refused unavailable (rejected, retryable)"), std::string::npos) << r.message;
      EXPECT_NE(r.message.find(R"(contracts."kit.v1.Notes".max_in_flight)"), std::string::npos) << r.message;
    }
  }
  // Nothing is left armed or in flight.
  EXPECT_EQ(HostAccess::state(*good.host).limiters->host()->in_flight(), 0U);
  pit::CallerScope scope{{.identity = good.hints.identity}};
  EXPECT_EQ(good.host->client<kit::Notes>()->get({"n-7"}).id, "n-7");
}

// Limits too large to fill in a test are judged by their configuration, and say so.
TEST(KitOverload, limits_too_large_to_load_pass_on_their_configuration_saying_no_load_ran) {
  kit::GoodHost good{[](pit::HostOptions& o) { o.admission.max_in_flight = 100'000; }};
  const Report report = run_one_check(good, &pit::testing::detail::check_overload);
  ASSERT_EQ(report.of("overload").size(), 1U) << text_of(report);
  EXPECT_EQ(report.of("overload")[0].verdict, Verdict::passed);
  EXPECT_NE(report.of("overload")[0].message.find("no load was run"), std::string::npos)
      << report.of("overload")[0].message;
}

}  // namespace
