// The wire format's parsers on their own: every header value pit reads, hostile ones first.
#include <gtest/gtest.h>

#include "transport/http/wire.hpp"

namespace pit::http_wire {
namespace {

using namespace std::chrono_literals;

TEST(RequestId, accepts_the_documented_charset_only) {
  EXPECT_TRUE(valid_request_id("abc-123_x.y:z"));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id(std::string(129, 'a')));
  EXPECT_TRUE(valid_request_id(std::string(128, 'a')));
  for (const char* bad : {"a b", "a\r\nb", "a\nb", "a\x01", "a\"b", "a{b}", "caf\xc3\xa9"}) {
    EXPECT_FALSE(valid_request_id(bad)) << bad;
  }
}

TEST(Traceparent, parses_valid_and_rejects_malformed) {
  auto tp = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(tp->parent_span_id, "b7ad6b7169203331");
  EXPECT_TRUE(tp->sampled);
  for (const char* bad : {"", "00", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
                          "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                          "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
                          "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                          "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
                          "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                          "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333g-01"}) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
  EXPECT_TRUE(parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future"));
}

TEST(Timeout, parses_grpc_timeout_format) {
  EXPECT_EQ(parse_timeout("100m"), std::chrono::nanoseconds(100ms));
  EXPECT_EQ(parse_timeout("2S"), std::chrono::nanoseconds(2s));
  EXPECT_EQ(parse_timeout("1H"), std::chrono::nanoseconds(1h));
  EXPECT_EQ(parse_timeout("99999999n"), std::chrono::nanoseconds(99999999));
  for (const char* bad : {"", "m", "100", "123456789m", "1.5S", "-1S", "1s", "1 S", "١S"}) {
    EXPECT_FALSE(parse_timeout(bad)) << bad;
  }
}

// Found by http_headers_fuzz: 99999999H is more nanoseconds than int64 holds.
TEST(Timeout, more_hours_than_nanoseconds_hold_count_as_the_most_that_do) {
  const auto most = std::chrono::duration_cast<std::chrono::hours>(std::chrono::nanoseconds::max());
  EXPECT_EQ(most.count(), 2562047);
  EXPECT_EQ(parse_timeout("99999999H"), std::chrono::nanoseconds(most));
  EXPECT_EQ(parse_timeout("2562048H"), std::chrono::nanoseconds(most));
  EXPECT_EQ(parse_timeout("2562047H"), std::chrono::nanoseconds(most));
  EXPECT_EQ(parse_timeout("99999999M"), std::chrono::nanoseconds(std::chrono::minutes(99999999)));
  EXPECT_EQ(format_timeout(std::chrono::nanoseconds::max()), "2562047H");
}

TEST(Timeout, formats_within_eight_digits_never_longer_than_given) {
  EXPECT_EQ(format_timeout(1500ms), "1500000u");
  EXPECT_EQ(format_timeout(std::chrono::nanoseconds(5)), "5n");
  EXPECT_EQ(format_timeout(std::chrono::hours(100)), "360000S");
  EXPECT_EQ(format_timeout(-5ms), "0n");
  for (std::chrono::milliseconds d : {1ms, 999ms, 10000ms, 3600000ms}) {
    auto back = parse_timeout(format_timeout(d));
    ASSERT_TRUE(back);
    EXPECT_LE(*back, std::chrono::nanoseconds(d));
  }
}

TEST(StatusTable, follows_the_grpc_http_mapping_both_ways) {
  EXPECT_EQ(status_of(Code::not_found), 404U);
  EXPECT_EQ(status_of(Code::deadline_exceeded), 504U);
  EXPECT_EQ(status_of(Code::unavailable), 503U);
  EXPECT_EQ(status_of(Code::invalid_argument), 400U);
  EXPECT_EQ(status_of(Code::unauthenticated), 401U);
  EXPECT_EQ(code_of_status(503), Code::unavailable);
  EXPECT_EQ(code_of_status(418), Code::unknown);
}

TEST(Problem, round_trips_code_message_flags_and_details_but_no_cause) {
  Fault f = Fault::unavailable("try later").with(Fault::retryable).with_cause("SECRET").with_detail("k", "v\"q");
  f.set_correlation_id("c-1");
  auto body = problem_json(f, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(body.find("SECRET"), std::string::npos);
  auto back = fault_of_problem(503, body);
  EXPECT_EQ(back.code(), Code::unavailable);
  EXPECT_EQ(back.message(), "try later");
  EXPECT_TRUE(back.has(Fault::retryable));
  EXPECT_EQ(back.correlation_id(), "c-1");
  ASSERT_EQ(back.details().size(), 1U);
  EXPECT_EQ(back.details()[0].value, "v\"q");
}

TEST(Problem, a_peers_malformed_correlation_id_is_not_taken) {
  auto f = fault_of_problem(500, R"({"code":"internal","detail":"x","correlation_id":"bad id\n{\"x\":1}"})");
  EXPECT_TRUE(f.correlation_id().empty());
}

TEST(Problem, masked_flag_round_trips_on_internal_only) {
  Fault masked = Fault::internal("internal error").with(Fault::masked);
  EXPECT_TRUE(fault_of_problem(500, problem_json(masked, "")).has(Fault::masked));
  EXPECT_FALSE(fault_of_problem(500, problem_json(Fault::internal("x"), "")).has(Fault::masked));
  // The flag stands for "recorded where it was masked", which only an internal can be.
  EXPECT_FALSE(fault_of_problem(404, R"({"code":"not_found","masked":true})").has(Fault::masked));
  EXPECT_EQ(problem_json(Fault::not_found("x").with(Fault::masked), "").find("masked"), std::string::npos);
}

TEST(Problem, non_problem_body_maps_by_status) {
  auto f = fault_of_problem(502, "<html>bad gateway</html>");
  EXPECT_EQ(f.code(), Code::unavailable);
  EXPECT_EQ(f.message(), "HTTP 502");
  EXPECT_EQ(fault_of_problem(500, R"({"code":"ok"})").code(), Code::internal) << "a problem cannot claim ok";
}

}  // namespace
}  // namespace pit::http_wire
