// The conformance kit on a service that keeps every guarantee: every check passes (none
// is skipped for want of a hint), and the kit leaves the host running and disarmed.
#include <gtest/gtest.h>

#include <sstream>

#include "pit/testing/gtest.hpp"
#include "support/kit_services.hpp"
#include "support/test_certificates.hpp"
#include "testing/kit.hpp"

namespace {

using pit::testing::detail::Kit;
using pit::testing::detail::Via;

// The kit's own machinery, which every check stands on: calls both ways, drills, the tap.
TEST(Kit, calls_each_way_and_drills_reach_the_operation) {
  kit::GoodHost good;
  pit::testing::attach(*good.host);
  good.host->start();
  pit::testing::Report report;
  Kit k{*good.host, good.hints, report};
  ASSERT_EQ(k.targets().size(), 3U);
  ASSERT_TRUE(k.attached());
  const auto& add = k.targets()[0];
  for (Via via : k.ways()) {
    SCOPED_TRACE(std::string(to_string(via)));
    const auto mark = k.log_mark();
    auto ok = k.call(add, via);
    EXPECT_TRUE(ok.ok()) << ok.summary();
    EXPECT_NE(ok.body.find("\"id\""), std::string::npos) << ok.body;
    EXPECT_FALSE(ok.correlation_id.empty());
    bool call_line = false;
    for (const auto& line : k.log_since(mark)) {
      call_line = call_line || (pit::testing::detail::log_field(line, "correlation_id") == ok.correlation_id &&
                                line.find("\"msg\":\"call\"") != std::string::npos);
    }
    EXPECT_TRUE(call_line);
    const std::string secret = k.canary();
    {
      auto armed = k.arm(add, {.exception = "db failed: " + secret});
      auto masked = k.call(add, via);
      EXPECT_EQ(masked.code, pit::Code::internal) << masked.summary();
      EXPECT_EQ(masked.everything().find(secret), std::string::npos) << masked.everything();
    }
    auto after = k.call(add, via);
    EXPECT_TRUE(after.ok()) << after.summary();
    auto anonymous = k.call(add, via, {.credential = false});
    EXPECT_EQ(anonymous.code, pit::Code::unauthenticated) << anonymous.summary();
  }
  EXPECT_GT(Kit::sample_value(k.metrics_text(), "pit_calls_total", {{"contract", "kit.v1.Notes"}, {"operation", "add"}}), 0.0)
      << k.metrics_text().substr(0, 2000);
}

TEST(Kit, passes_on_a_service_that_keeps_every_guarantee) {
  kit::GoodHost good;
  const pit::testing::Report report = pit::testing::expect_guarantees(*good.host, good.hints);
  std::ostringstream text;
  text << report;
  EXPECT_TRUE(report.passed()) << text.str();
  EXPECT_GT(report.count(pit::testing::Verdict::passed), 0U);
  EXPECT_EQ(report.count(pit::testing::Verdict::skipped), 0U) << text.str();
  // Every check ran and said something about the service.
  for (const auto& check : pit::testing::checks()) {
    EXPECT_FALSE(report.of(check.name).empty()) << check.name;
  }
}

TEST(Kit, lists_its_checks_with_what_each_proves) {
  const auto& checks = pit::testing::checks();
  ASSERT_GE(checks.size(), 9U);
  for (const auto& c : checks) {
    EXPECT_FALSE(c.name.empty());
    EXPECT_FALSE(c.proves.empty()) << c.name;
  }
}

TEST(Kit, a_host_that_cannot_start_is_one_failed_result) {
  kit::GoodHost bad{[](pit::HostOptions& o) { o.workers = 0; }};
  const pit::testing::Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  ASSERT_EQ(report.results().size(), 1U);
  EXPECT_EQ(report.results()[0].verdict, pit::testing::Verdict::failed);
  EXPECT_NE(report.results()[0].message.find("did not start"), std::string::npos);
}

TEST(Kit, leaves_the_host_serving_on_loopback_with_nothing_armed) {
  kit::GoodHost good{[](pit::HostOptions& o) { o.http.listen = "0.0.0.0:0"; }};
  (void)pit::testing::check_guarantees(*good.host, good.hints);
  EXPECT_NE(good.host->http_port(), 0);
  pit::CallerScope scope{{.identity = good.hints.identity}};
  auto notes = good.host->client<kit::Notes>();
  EXPECT_EQ(notes->ping({"me"}).to, "me");
}

// The kit's HTTP client speaks plain HTTP: on a TLS listener every check runs in-process,
// and the report says, once, that the transport was not checked.
TEST(Kit, a_tls_listener_is_checked_in_process_and_the_report_says_http_was_not) {
  const testcerts::Authority ca{"kit test CA"};
  const auto issued = ca.issue({"kit-server", "DNS:localhost,IP:127.0.0.1", 7, -3600, 86'400});
  const std::string base = "/tmp/pit-kit-tls-" + std::to_string(::getpid());
  testcerts::write_file(base + ".crt", issued.cert_pem);
  testcerts::write_file(base + ".key", issued.key_pem);
  {
    kit::GoodHost good{[&](pit::HostOptions& o) {
      o.http.tls_cert_file = base + ".crt";
      o.http.tls_key_file = base + ".key";
    }};
    const pit::testing::Report report = pit::testing::check_guarantees(*good.host, good.hints);
    std::ostringstream text;
    text << report;
    EXPECT_TRUE(report.passed()) << text.str();
    std::size_t http_skips = 0;
    for (const auto& r : report.results()) {
      if (r.transport != "http") continue;
      EXPECT_EQ(r.verdict, pit::testing::Verdict::skipped) << r.check << " " << r.target << ": " << r.message;
      http_skips += 1;
      EXPECT_NE(r.message.find("TLS"), std::string::npos) << r.message;
    }
    EXPECT_EQ(http_skips, 1U) << text.str();
    EXPECT_FALSE(report.of("fault_masking").empty());
  }
  std::remove((base + ".crt").c_str());
  std::remove((base + ".key").c_str());
}

TEST(Kit, attaching_after_start_is_a_logic_error) {
  kit::GoodHost good;
  good.host->start();
  EXPECT_THROW(pit::testing::attach(*good.host), std::logic_error);
}

}  // namespace
