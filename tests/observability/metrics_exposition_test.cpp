// /metrics in both exposition formats: Prometheus text 0.0.4 by default and without
// exemplars; OpenMetrics 1.0.0 when the scraper's Accept asks for it, with the latency
// histograms' exemplars {trace_id, span_id} of sampled calls. The real Prometheus reads
// both in tests/ops/test_operability.py.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "observability/metrics.hpp"
#include "support/admin_fixture.hpp"
#include "support/raw_http.hpp"

namespace shop {
namespace {

using pit::detail::Exemplar;
using pit::detail::Exposition;
using pit::detail::exposition_for;
using pit::detail::MetricsRegistry;
using pit::detail::OperationMetrics;
using namespace std::chrono_literals;

constexpr const char* kTrace = "0af7651916cd43dd8448eb211c80319c";
constexpr const char* kSpan = "b7ad6b7169203331";

std::vector<std::string> lines_of(const std::string& page, const std::string& prefix) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < page.size()) {
    const auto end = std::min(page.find('\n', at), page.size());
    const auto line = page.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
    at = end + 1;
  }
  return out;
}

TEST(Exposition, prometheus_accept_header_gets_openmetrics) {
  // What Prometheus 2.x sends.
  EXPECT_EQ(exposition_for("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                           "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            Exposition::openmetrics);
  EXPECT_EQ(exposition_for("application/openmetrics-text"), Exposition::openmetrics);
  EXPECT_EQ(exposition_for("Application/OpenMetrics-Text; Version=1.0.0"), Exposition::openmetrics);
  EXPECT_EQ(exposition_for("text/plain;q=0.5, application/openmetrics-text; version=1.0.0; q=0.6"),
            Exposition::openmetrics);
}

TEST(Exposition, anything_else_gets_the_text_format) {
  for (const char* accept : {"", "*/*", "text/plain", "text/plain;version=0.0.4", "application/json",
                             "application/openmetrics-text;version=0.0.1",
                             "application/openmetrics-text;version=2.0.0",
                             "application/openmetrics-text;q=0", "application/openmetrics-text;q=junk",
                             "application/openmetrics-text;version=1.0.0;q=0.4,text/plain;q=0.9"}) {
    EXPECT_EQ(exposition_for(accept), Exposition::prometheus_text) << accept;
  }
}

TEST(Exposition, text_format_has_no_exemplars_and_no_eof) {
  MetricsRegistry registry;
  registry.operation("shop.v1.Inventory", "reserve", "server")
      .record(pit::Code::ok, OperationMetrics::http, 3ms, kTrace, kSpan);
  const auto page = registry.render();
  EXPECT_EQ(page.find(kTrace), std::string::npos);
  EXPECT_EQ(page.find(" # {"), std::string::npos);
  EXPECT_EQ(page.find("# EOF"), std::string::npos);
  EXPECT_NE(page.find("# TYPE pit_calls_total counter\n"), std::string::npos);
}

TEST(Exposition, openmetrics_names_counter_families_without_total_and_ends_with_eof) {
  MetricsRegistry registry;
  registry.operation("shop.v1.Inventory", "reserve", "server").record(pit::Code::ok, OperationMetrics::http, 3ms);
  registry.add_section([](std::string& out) {
    out.append("# HELP pit_section_things_total Things.\n# TYPE pit_section_things_total counter\n"
               "pit_section_things_total 2\n");
  });
  const auto page = registry.render(Exposition::openmetrics);
  EXPECT_NE(page.find("# TYPE pit_calls counter\n"), std::string::npos);
  EXPECT_NE(page.find("# HELP pit_calls Calls finished"), std::string::npos);
  EXPECT_FALSE(lines_of(page, "pit_calls_total{").empty()) << "samples keep _total";
  EXPECT_NE(page.find("# TYPE pit_section_things counter\npit_section_things_total 2\n"), std::string::npos)
      << "sections follow the rule too";
  EXPECT_NE(page.find("# TYPE process_cpu_seconds counter\n"), std::string::npos);
  EXPECT_NE(page.find("# TYPE pit_call_duration_seconds histogram\n"), std::string::npos);
  EXPECT_EQ(page.find("_total counter"), std::string::npos);
  ASSERT_GE(page.size(), 6U);
  EXPECT_EQ(page.substr(page.size() - 6), "# EOF\n");
  EXPECT_EQ(page.find("# EOF"), page.size() - 6) << "once, at the end";
}

TEST(Exposition, a_sampled_call_is_the_exemplar_of_its_latency_bucket_in_openmetrics) {
  MetricsRegistry registry;
  auto& m = registry.operation("shop.v1.Inventory", "reserve", "server");
  m.record(pit::Code::ok, OperationMetrics::http, 3ms, kTrace, kSpan);  // bucket le="0.005"
  const auto page = registry.render(Exposition::openmetrics);
  const auto with = lines_of(page, "pit_call_duration_seconds_bucket{");
  std::vector<std::string> exemplars;
  for (const auto& l : with) {
    if (l.find(" # {") != std::string::npos) exemplars.push_back(l);
  }
  ASSERT_EQ(exemplars.size(), 1U) << page;
  const auto& line = exemplars[0];
  EXPECT_NE(line.find(R"(le="0.005"} 1 # {trace_id=")" + std::string(kTrace) + R"(",span_id=")" + kSpan + R"("} 0.003 )"),
            std::string::npos)
      << line;
  // The label set is within OpenMetrics' 128 characters.
  const auto open = line.find(" # {");
  const auto labels = line.substr(open + 4, line.find('}', open) - open - 4);
  EXPECT_LE(labels.size(), 128U);
  // A timestamp in seconds with milliseconds, near now.
  const auto ts = std::stod(line.substr(line.rfind(' ') + 1));
  const auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(ts, now, 60.0);
}

TEST(Exposition, an_unsampled_call_leaves_no_exemplar_and_the_latest_sampled_one_wins) {
  MetricsRegistry registry;
  auto& m = registry.operation("shop.v1.Inventory", "reserve", "server");
  m.record(pit::Code::ok, OperationMetrics::http, 3ms);
  EXPECT_EQ(registry.render(Exposition::openmetrics).find(" # {"), std::string::npos);
  m.record(pit::Code::ok, OperationMetrics::http, 3ms, kTrace, kSpan);
  m.record(pit::Code::ok, OperationMetrics::http, 4ms, "11111111111111111111111111111111", "2222222222222222");
  const auto page = registry.render(Exposition::openmetrics);
  EXPECT_EQ(page.find(kTrace), std::string::npos);
  EXPECT_NE(page.find(R"(# {trace_id="11111111111111111111111111111111",span_id="2222222222222222"} 0.004 )"),
            std::string::npos);
}

// Writers on two threads, a reader alongside: a read is one writer's exemplar, never a mix
// of two (each writer writes one digit everywhere). A torn read is rare on two shared
// cores (removing the sequence check did not trip this here in three runs); the TSan
// build is what fails if a field stops being an atomic.
TEST(Exposition, an_exemplar_read_while_written_is_whole_and_race_free) {
  Exemplar exemplar;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      const std::string trace(32, static_cast<char>('1' + w));
      const std::string span(16, static_cast<char>('1' + w));
      while (!stop.load(std::memory_order_relaxed)) {
        exemplar.offer(trace, span, static_cast<std::uint64_t>(w + 1), w + 1);
      }
    });
  }
  int reads = 0;
  // 100 ms of reads once the first exemplar is in (at most 2 s waiting for it).
  const auto give_up = std::chrono::steady_clock::now() + 2s;
  auto until = give_up;
  while (std::chrono::steady_clock::now() < until) {
    const auto v = exemplar.read();
    if (!v) continue;
    if (reads++ == 0) until = std::min(give_up, std::chrono::steady_clock::now() + 100ms);
    const char digit = v->trace_id[0];
    for (char c : v->trace_id) ASSERT_EQ(c, digit);
    for (char c : v->span_id) ASSERT_EQ(c, digit);
    ASSERT_EQ(v->elapsed_ns, static_cast<std::uint64_t>(digit - '0'));
    ASSERT_EQ(v->unix_ms, digit - '0');
  }
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_GT(reads, 0);
}

// Over the admin listener: the scraper's Accept decides; a call's traceparent flag decides
// whether it can be an exemplar.
class MetricsExposition : public HostWithAdminTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostWithAdminTest::options();
    o.http.listen = "127.0.0.1:0";
    return o;
  }
  void SetUp() override {
    HostWithAdminTest::SetUp();
    host->start();
  }
  void call_with(const std::string& traceparent) {
    rawhttp::Connection c{host->http_port()};
    c.send(rawhttp::post("/shop.v1.Inventory/reserve", R"({"sku":"apple","quantity":1})",
                         "traceparent: " + traceparent + "\r\n"));
    EXPECT_EQ(rawhttp::status_of(c.read_response()), 200);
  }
  std::string scrape(const std::string& accept) {
    rawhttp::Connection c{host->admin_port()};
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n" + (accept.empty() ? "" : "Accept: " + accept + "\r\n") +
           "Connection: close\r\n\r\n");
    return c.read_response();
  }
};

TEST_F(MetricsExposition, openmetrics_scrape_carries_the_sampled_calls_trace_and_the_text_scrape_does_not) {
  const std::string sampled = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string unsampled = "5bf92f3577b34da6a3ce929d0e0e4736";
  call_with("00-" + unsampled + "-00f067aa0ba902b7-00");
  call_with("00-" + sampled + "-00f067aa0ba902b7-01");

  const auto om = scrape("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
  EXPECT_EQ(rawhttp::header_of(om, "Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  const auto om_body = rawhttp::body_of(om);
  EXPECT_NE(om_body.find(R"(# {trace_id=")" + sampled + "\""), std::string::npos) << om_body;
  EXPECT_EQ(om_body.find(unsampled), std::string::npos) << "an unsampled call is no exemplar";
  EXPECT_EQ(om_body.substr(om_body.size() - 6), "# EOF\n");

  for (const std::string accept : {"", "*/*", "text/plain"}) {
    const auto text = scrape(accept);
    EXPECT_EQ(rawhttp::header_of(text, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8") << accept;
    const auto body = rawhttp::body_of(text);
    EXPECT_EQ(body.find(sampled), std::string::npos) << accept;
    EXPECT_EQ(body.find(" # {"), std::string::npos) << accept;
    EXPECT_EQ(body.find("# EOF"), std::string::npos) << accept;
  }
}

}  // namespace
}  // namespace shop
