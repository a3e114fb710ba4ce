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

TEST(Traceparent, spaces_and_tabs_around_the_value_are_ignored_and_inside_it_are_not) {
  const std::string v = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  for (const std::string& ok : {" " + v, "\t" + v, v + " ", " \t" + v + "\t "}) EXPECT_TRUE(parse_traceparent(ok)) << ok;
  EXPECT_FALSE(parse_traceparent("00- 0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  EXPECT_FALSE(parse_traceparent("   "));
}

TEST(Traceparent, a_future_version_needs_a_dash_after_the_flags_and_valid_fields) {
  const std::string base = "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  EXPECT_TRUE(parse_traceparent("cc-" + base));
  EXPECT_TRUE(parse_traceparent("cc-" + base + "-"));
  EXPECT_FALSE(parse_traceparent("cc-" + base + "x"));
  EXPECT_FALSE(parse_traceparent("cc-" + base.substr(0, base.size() - 1)));
  EXPECT_FALSE(parse_traceparent("cc-00000000000000000000000000000000-b7ad6b7169203331-01-x"));
  EXPECT_FALSE(parse_traceparent("ff-" + base + "-x"));
  const auto tp = parse_traceparent("fe-" + base.substr(0, base.size() - 2) + "03-more");
  ASSERT_TRUE(tp);
  EXPECT_TRUE(tp->sampled);
}

TEST(Traceparent, only_the_sampled_bit_of_the_flags_is_read_and_written) {
  const std::string base = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-";
  EXPECT_FALSE(parse_traceparent(base + "00")->sampled);
  EXPECT_TRUE(parse_traceparent(base + "01")->sampled);
  EXPECT_FALSE(parse_traceparent(base + "fe")->sampled);
  EXPECT_TRUE(parse_traceparent(base + "ff")->sampled);
  EXPECT_EQ(format_traceparent("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", true), base + "01");
  EXPECT_EQ(format_traceparent("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", false), base + "00");
}

TEST(Tracestate, empty_and_whitespace_only_input_is_an_empty_list) {
  for (const char* v : {"", " ", ",", " , \t,", "\t"}) {
    auto ts = parse_tracestate(v);
    ASSERT_TRUE(ts) << v;
    EXPECT_EQ(*ts, "") << v;
  }
}

TEST(Tracestate, members_are_normalized_without_whitespace_in_order) {
  EXPECT_EQ(parse_tracestate(" a=1 ,\tb=2\t,, c=3 "), "a=1,b=2,c=3");
  EXPECT_EQ(parse_tracestate("a= 1"), "a= 1");
  EXPECT_EQ(parse_tracestate("a=1 2"), "a=1 2");
}

TEST(Tracestate, key_grammar) {
  EXPECT_TRUE(parse_tracestate("a=1"));
  EXPECT_TRUE(parse_tracestate("0=1"));
  EXPECT_TRUE(parse_tracestate("a_-*/@9=1"));
  EXPECT_TRUE(parse_tracestate("tenant@system=1"));
  EXPECT_TRUE(parse_tracestate(std::string(256, 'k') + "=1"));
  for (const std::string& bad : {std::string("=1"), std::string("A=1"), std::string("a.b=1"), std::string("@a=1"),
                                 std::string("_a=1"), std::string("a b=1"), std::string(257, 'k') + "=1",
                                 std::string("caf\xc3\xa9=1"), std::string("a")}) {
    EXPECT_FALSE(parse_tracestate(bad)) << bad;
    EXPECT_FALSE(parse_tracestate("ok=1," + bad)) << "one bad member drops the list: " << bad;
  }
}

TEST(Tracestate, value_grammar) {
  std::string every;
  for (int c = 0x20; c <= 0x7E; ++c) {
    if (c != ',' && c != '=') every += static_cast<char>(c);
  }
  EXPECT_EQ(parse_tracestate("a=" + every), "a=" + every);
  EXPECT_TRUE(parse_tracestate("a=" + std::string(256, 'v')));
  for (const std::string& bad : {std::string("a="), std::string("a=b=c"), std::string("a=\x7f"),
                                 std::string("a=\x01"), std::string("a=x\ty"), std::string("a=\xc3\xa9"),
                                 "a=" + std::string(257, 'v')}) {
    EXPECT_FALSE(parse_tracestate(bad)) << bad;
  }
}

TEST(Tracestate, more_than_32_members_drop_the_list_and_duplicates_do_not_count) {
  std::string list;
  for (int i = 0; i < 32; ++i) list += (i > 0 ? ",k" : "k") + std::to_string(i) + "=1";
  EXPECT_TRUE(parse_tracestate(list));
  EXPECT_TRUE(parse_tracestate(list + ",k0=2")) << "a duplicate is dropped, not counted";
  EXPECT_EQ(*parse_tracestate("a=1,b=2,a=3"), "a=1,b=2");
  EXPECT_FALSE(parse_tracestate(list + ",k32=1"));
}

TEST(Tracestate, the_result_never_exceeds_512_characters) {
  // 40 members of 12 characters ("kNN=" + 8) drop the 32-member rule; 30 of 20 do not.
  std::string list;
  for (int i = 0; i < 30; ++i) list += (i > 0 ? ",k" : "k") + std::to_string(10 + i) + "=" + std::string(16, 'v');
  const auto ts = parse_tracestate(list);  // 30 * 20 + 29 = 629
  ASSERT_TRUE(ts);
  EXPECT_LE(ts->size(), kTracestateLimit);
  EXPECT_EQ(*ts, list.substr(0, 24 * 21 - 1)) << "whole members from the end";
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
