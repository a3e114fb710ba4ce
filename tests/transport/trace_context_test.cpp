// W3C Trace Context Level 1 over real HTTP, after the official test suite
// (github.com/w3c/trace-context, test/test.py): a raw client sends a pit service the
// headers the suite sends, the service calls a scripted server once per order line (the
// suite's "callback to the harness"), and the test reads the traceparent and tracestate
// the callbacks carried. Each TEST is one rule; the suite's case names are in comments.
// The parsers' corner cases on their own are in http_wire_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/fake_replica.hpp"
#include "support/raw_http.hpp"
#include "support/shop_services.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kTrace = "12345678901234567890123456789012";
constexpr const char* kParent = "1234567890123456";
const std::string kValid = std::string("00-") + kTrace + "-" + kParent + "-01";
const std::string kValidUnsampled = std::string("00-") + kTrace + "-" + kParent + "-00";

// What one callback carried.
struct Callback {
  std::string version, trace_id, parent_id, flags;
  std::string tracestate;  // the fields joined with ',' ("" when none)
  std::size_t tracestate_fields = 0;
};

class TraceContext : public ::testing::Test {
 protected:
  void SetUp() override {
    pit::HostOptions o;
    o.log_sink = logs;
    o.io_threads = 1;
    o.http.listen = "127.0.0.1:0";
    o.clients["shop.v1.Inventory"].retry.backoff_base = 1ms;
    o.clients["shop.v1.Inventory"].retry.backoff_max = 1ms;
    host = std::make_unique<pit::Host>(o);
    host->serve<Orders, OrdersService>(host->client<Inventory>(replica.url()), probe);
    host->start();
  }
  void TearDown() override { host->stop(); }

  // Sends POST /shop.v1.Orders/place with `headers` (as given: names, casing, repeats) and
  // `lines` order lines; returns what each of the service's callbacks carried.
  std::vector<Callback> call(const Headers& headers, int lines = 1, const std::string& note = "") {
    replica.forget();
    std::string extra;
    for (const auto& [name, value] : headers) extra += name + ": " + value + "\r\n";
    std::string body = R"({"items":[)";
    for (int i = 0; i < lines; ++i) body += std::string(i > 0 ? "," : "") + R"({"sku":"apple","quantity":1})";
    body += R"(],"note":")" + note + "\"}";
    rawhttp::Connection c{host->http_port()};
    c.send(rawhttp::post("/shop.v1.Orders/place", body, extra));
    const auto response = c.read_response();
    EXPECT_EQ(rawhttp::status_of(response), 200) << response;
    std::vector<Callback> out;
    static const std::regex kFormat{"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$"};
    for (const auto& r : replica.requests_seen()) {
      Callback cb;
      EXPECT_EQ(r.traceparent.size(), 1U) << "exactly one traceparent on every outbound request";
      std::smatch m;
      if (!r.traceparent.empty() && std::regex_match(r.traceparent[0], m, kFormat)) {
        cb = {m[1], m[2], m[3], m[4], {}, 0};
      } else {
        ADD_FAILURE() << "malformed outbound traceparent: " << (r.traceparent.empty() ? "" : r.traceparent[0]);
      }
      for (const auto& f : r.tracestate) cb.tracestate += (cb.tracestate_fields++ > 0 ? "," : "") + f;
      out.push_back(cb);
    }
    return out;
  }
  // The one callback of a one-line order.
  Callback one(const Headers& headers) {
    auto all = call(headers);
    EXPECT_EQ(all.size(), 1U);
    return all.empty() ? Callback{} : all[0];
  }
  // The trace id the service continued (or started) for `traceparent`.
  std::string trace_of(const std::string& traceparent) { return one({{"traceparent", traceparent}}).trace_id; }
  // What the service sent onward as tracestate for these tracestate fields, under a valid traceparent.
  std::string onward(std::vector<std::string> fields) {
    Headers h{{"traceparent", kValidUnsampled}};
    for (auto& f : fields) h.emplace_back("tracestate", std::move(f));
    const auto cb = one(h);
    EXPECT_LE(cb.tracestate_fields, 1U) << "sent as one field";
    EXPECT_EQ(cb.trace_id, kTrace);
    return cb.tracestate;
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  fake::Replica replica;
  Probe probe;
  std::unique_ptr<pit::Host> host;
};

// ---- traceparent ---------------------------------------------------------------------

// test_both_traceparent_and_tracestate_missing
TEST_F(TraceContext, a_call_without_trace_headers_starts_a_trace_and_sends_no_tracestate) {
  const auto cb = one({});
  EXPECT_EQ(cb.version, "00");
  EXPECT_NE(cb.trace_id, std::string(32, '0'));
  EXPECT_EQ(cb.tracestate_fields, 0U) << "no empty tracestate is sent";
}

// test_traceparent_included_tracestate_missing
TEST_F(TraceContext, a_valid_traceparent_is_continued_with_a_new_parent_id) {
  const auto cb = one({{"traceparent", kValid}});
  EXPECT_EQ(cb.trace_id, kTrace);
  EXPECT_NE(cb.parent_id, kParent);
  EXPECT_EQ(cb.tracestate_fields, 0U);
}

// test_traceparent_duplicated
TEST_F(TraceContext, two_traceparent_fields_are_invalid_and_start_a_new_trace) {
  const auto cb = one({{"traceparent", std::string("00-12345678901234567890123456789011-") + kParent + "-01"},
                       {"traceparent", kValid},
                       {"tracestate", "foo=1"}});
  EXPECT_NE(cb.trace_id, "12345678901234567890123456789011");
  EXPECT_NE(cb.trace_id, kTrace);
  EXPECT_EQ(cb.tracestate_fields, 0U) << "the tracestate goes with the invalid traceparent";
}

// test_traceparent_header_name
TEST_F(TraceContext, a_misspelled_header_name_is_not_traceparent) {
  EXPECT_NE(one({{"trace-parent", kValid}}).trace_id, kTrace);
  EXPECT_NE(one({{"trace.parent", kValid}}).trace_id, kTrace);
}

// test_traceparent_header_name_valid_casing
TEST_F(TraceContext, the_traceparent_header_name_is_case_insensitive) {
  for (const char* name : {"TraceParent", "TrAcEpArEnT", "TRACEPARENT"}) {
    EXPECT_EQ(one({{name, kValid}}).trace_id, kTrace) << name;
  }
}

// test_traceparent_version_0x00
TEST_F(TraceContext, version_00_with_anything_after_the_flags_is_invalid) {
  EXPECT_NE(trace_of(kValid + "."), kTrace);
  EXPECT_NE(trace_of(kValid + "-what-the-future-will-be-like"), kTrace);
}

// test_traceparent_version_0xcc
TEST_F(TraceContext, a_future_version_is_read_by_version_00_rules_and_may_go_on_after_a_dash) {
  const std::string future = std::string("cc-") + kTrace + "-" + kParent + "-01";
  EXPECT_EQ(trace_of(future), kTrace);
  EXPECT_EQ(trace_of(future + "-what-the-future-will-be-like"), kTrace);
  EXPECT_NE(trace_of(future + ".what-the-future-will-be-like"), kTrace);
  const auto cb = one({{"traceparent", future + "-what-the-future-will-be-like"}});
  EXPECT_EQ(cb.version, "00") << "pit speaks version 00 onward";
}

// test_traceparent_version_0xff
TEST_F(TraceContext, version_ff_is_invalid) {
  EXPECT_NE(trace_of(std::string("ff-") + kTrace + "-" + kParent + "-01"), kTrace);
}

// test_traceparent_version_illegal_characters, _too_long, _too_short
TEST_F(TraceContext, a_version_that_is_not_two_lowercase_hex_digits_is_invalid) {
  for (const char* version : {".0", "0.", "000", "0000", "0", "0A", "Cc"}) {
    EXPECT_NE(trace_of(std::string(version) + "-" + kTrace + "-" + kParent + "-01"), kTrace) << version;
  }
}

// test_traceparent_trace_id_all_zero
TEST_F(TraceContext, an_all_zero_trace_id_is_invalid) {
  const auto zero = std::string(32, '0');
  EXPECT_NE(trace_of("00-" + zero + "-" + kParent + "-01"), zero);
}

// test_traceparent_trace_id_illegal_characters, _too_long, _too_short; uppercase hex
TEST_F(TraceContext, a_trace_id_that_is_not_32_lowercase_hex_digits_is_invalid) {
  for (const char* id : {".2345678901234567890123456789012", "1234567890123456789012345678901.",
                         "123456789012345678901234567890123", "1234567890123456789012345678901",
                         "ABCDEF78901234567890123456789012"}) {
    const auto got = trace_of(std::string("00-") + id + "-" + kParent + "-01");
    EXPECT_NE(got, kTrace) << id;
    EXPECT_NE(got, "abcdef78901234567890123456789012") << id;
    EXPECT_NE(got, "23456789012345678901234567890123") << id;
  }
}

// test_traceparent_parent_id_all_zero, _illegal_characters, _too_long, _too_short; uppercase hex
TEST_F(TraceContext, a_parent_id_that_is_not_16_lowercase_hex_digits_or_is_all_zero_is_invalid) {
  for (const char* id : {"0000000000000000", ".234567890123456", "123456789012345.", "12345678901234567",
                         "123456789012345", "ABCDEF7890123456"}) {
    EXPECT_NE(trace_of(std::string("00-") + kTrace + "-" + id + "-01"), kTrace) << id;
  }
}

// test_traceparent_trace_flags_illegal_characters, _too_long, _too_short; uppercase hex
TEST_F(TraceContext, flags_that_are_not_two_lowercase_hex_digits_are_invalid) {
  for (const char* flags : {".0", "0.", "001", "1", "0F"}) {
    EXPECT_NE(trace_of(std::string("00-") + kTrace + "-" + kParent + "-" + flags), kTrace) << flags;
  }
}

// test_traceparent_ows_handling
TEST_F(TraceContext, spaces_and_tabs_around_traceparent_are_ignored) {
  for (const std::string& v : {" " + kValid, "\t" + kValid, kValid + " ", kValid + "\t", "\t " + kValid + " \t"}) {
    EXPECT_EQ(trace_of(v), kTrace) << "[" << v << "]";
  }
}

// Level 1 3.2.2.5: only `sampled` is acted on; for version 00 the other bits are not sent on.
TEST_F(TraceContext, only_the_sampled_flag_is_propagated) {
  const std::string prefix = std::string("00-") + kTrace + "-" + kParent + "-";
  EXPECT_EQ(one({{"traceparent", prefix + "01"}}).flags, "01");
  EXPECT_EQ(one({{"traceparent", prefix + "00"}}).flags, "00");
  EXPECT_EQ(one({{"traceparent", prefix + "ff"}}).flags, "01");
  EXPECT_EQ(one({{"traceparent", prefix + "02"}}).flags, "00");
  EXPECT_EQ(one({{"traceparent", std::string("cc-") + kTrace + "-" + kParent + "-09-x"}}).flags, "01");
}

// AdvancedTest.test_multiple_requests_with_valid_traceparent
TEST_F(TraceContext, every_outbound_call_of_a_call_continues_its_trace_with_its_own_parent_id) {
  const auto callbacks = call({{"traceparent", kValid}}, 3);
  ASSERT_EQ(callbacks.size(), 3U);
  std::set<std::string> traces, parents;
  for (const auto& cb : callbacks) {
    traces.insert(cb.trace_id);
    parents.insert(cb.parent_id);
  }
  EXPECT_EQ(traces, std::set<std::string>{kTrace});
  EXPECT_EQ(parents.size(), 3U);
}

// AdvancedTest.test_multiple_requests_without_traceparent, _with_illegal_traceparent
TEST_F(TraceContext, a_new_trace_is_one_trace_across_the_calls_outbound_calls) {
  for (const Headers& h : {Headers{}, Headers{{"traceparent", "00-" + std::string(32, '0') + "-" + kParent + "-01"}}}) {
    const auto callbacks = call(h, 3);
    ASSERT_EQ(callbacks.size(), 3U);
    std::set<std::string> traces, parents;
    for (const auto& cb : callbacks) {
      traces.insert(cb.trace_id);
      parents.insert(cb.parent_id);
    }
    EXPECT_EQ(traces.size(), 1U);
    EXPECT_EQ(traces.count(std::string(32, '0')), 0U);
    EXPECT_EQ(parents.size(), 3U);
  }
}

// ---- tracestate ----------------------------------------------------------------------

// test_tracestate_included_traceparent_missing
TEST_F(TraceContext, tracestate_without_traceparent_is_dropped) {
  EXPECT_EQ(one({{"tracestate", "foo=1"}}).tracestate_fields, 0U);
  EXPECT_EQ(one({{"tracestate", "foo=1,bar=2"}}).tracestate_fields, 0U);
}

// An invalid traceparent: a new trace, and the tracestate that came with it is not carried.
TEST_F(TraceContext, tracestate_with_an_invalid_traceparent_is_dropped) {
  const auto cb = one({{"traceparent", std::string("ff-") + kTrace + "-" + kParent + "-01"}, {"tracestate", "foo=1"}});
  EXPECT_NE(cb.trace_id, kTrace);
  EXPECT_EQ(cb.tracestate_fields, 0U);
}

// test_tracestate_included_traceparent_included
TEST_F(TraceContext, tracestate_goes_onward_with_its_traceparent) {
  EXPECT_EQ(onward({"foo=1,bar=2"}), "foo=1,bar=2");
}

// test_tracestate_header_name
TEST_F(TraceContext, a_misspelled_header_name_is_not_tracestate) {
  EXPECT_EQ(one({{"traceparent", kValid}, {"trace-state", "foo=1"}}).tracestate_fields, 0U);
  EXPECT_EQ(one({{"traceparent", kValid}, {"trace.state", "foo=1"}}).tracestate_fields, 0U);
}

// test_tracestate_header_name_valid_casing
TEST_F(TraceContext, the_tracestate_header_name_is_case_insensitive) {
  for (const char* name : {"TraceState", "TrAcEsTaTe", "TRACESTATE"}) {
    EXPECT_EQ(one({{"traceparent", kValid}, {name, "foo=1"}}).tracestate, "foo=1") << name;
  }
}

// test_tracestate_empty_header
TEST_F(TraceContext, an_empty_tracestate_field_is_accepted_and_not_sent_on) {
  const auto cb = one({{"traceparent", kValid}, {"tracestate", ""}});
  EXPECT_EQ(cb.trace_id, kTrace);
  EXPECT_EQ(cb.tracestate_fields, 0U);
  EXPECT_EQ(onward({"foo=1", ""}), "foo=1");
  EXPECT_EQ(onward({"", "foo=1"}), "foo=1");
  EXPECT_EQ(onward({",, ,\t,foo=1,,"}), "foo=1") << "empty members are ignored";
}

// test_tracestate_multiple_headers_different_keys
TEST_F(TraceContext, several_tracestate_fields_are_combined_in_order) {
  EXPECT_EQ(onward({"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}), "foo=1,bar=2,rojo=1,congo=2,baz=3");
}

// test_tracestate_duplicated_keys: the suite expects the list kept, with the duplicates
// kept or one of them dropped (the spec lets a vendor discard duplicates it did not make).
TEST_F(TraceContext, a_duplicated_key_keeps_its_first_member_and_the_rest_of_the_list) {
  EXPECT_EQ(onward({"foo=1,foo=1"}), "foo=1");
  EXPECT_EQ(onward({"foo=1,foo=2"}), "foo=1");
  EXPECT_EQ(onward({"foo=1", "foo=1"}), "foo=1");
  EXPECT_EQ(onward({"foo=1", "bar=3", "foo=2"}), "foo=1,bar=3");
}

// test_tracestate_all_allowed_characters
TEST_F(TraceContext, every_allowed_character_of_keys_and_values_goes_onward_unchanged) {
  std::string key;
  for (char c = 'a'; c <= 'z'; ++c) key += c;
  key += "0123456789_-*/";
  std::string value;
  for (int c = 0x20; c <= 0x7E; ++c) {
    if (c != ',' && c != '=') value += static_cast<char>(c);
  }
  EXPECT_EQ(onward({key + "=" + value}), key + "=" + value);
  const std::string vendor_key = key + "@a-z0-9_-*/";
  EXPECT_EQ(onward({vendor_key + "=" + value}), vendor_key + "=" + value);
}

// test_tracestate_ows_handling
TEST_F(TraceContext, spaces_and_tabs_around_members_are_ignored) {
  EXPECT_EQ(onward({"foo=1 \t , \t bar=2, \t baz=3"}), "foo=1,bar=2,baz=3");
  EXPECT_EQ(onward({"foo=1\t \t,\t \tbar=2,\t \tbaz=3"}), "foo=1,bar=2,baz=3");
  for (const char* v : {" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"}) {
    EXPECT_EQ(onward({v}), "foo=1") << "[" << v << "]";
  }
  EXPECT_EQ(onward({"foo= 1"}), "foo= 1") << "a value's leading space is part of it";
}

// test_tracestate_key_illegal_characters
TEST_F(TraceContext, a_key_with_an_illegal_character_drops_the_whole_list) {
  for (const char* v : {"foo =1", "FOO=1", "foo.bar=1", "bar=2,foo.bar=1", "_foo=1", "-foo=1"}) {
    EXPECT_EQ(onward({v}), "") << v;
  }
  EXPECT_EQ(onward({"bar=2", "FOO=1"}), "") << "a bad member in any field drops every field";
}

// test_tracestate_key_illegal_vendor_format (the suite after w3c/trace-context#584: a key
// may hold '@' anywhere after its first character, which covers tenant@system)
TEST_F(TraceContext, a_key_may_hold_at_signs_after_its_first_character) {
  EXPECT_EQ(onward({"foo@=1,bar=2"}), "foo@=1,bar=2");
  EXPECT_EQ(onward({"@foo=1,bar=2"}), "");
  EXPECT_EQ(onward({"foo@@bar=1,bar=2"}), "foo@@bar=1,bar=2");
  EXPECT_EQ(onward({"foo@bar@baz=1,bar=2"}), "foo@bar@baz=1,bar=2");
  EXPECT_EQ(onward({"tenant@system=1,1tenant@sys=2"}), "tenant@system=1,1tenant@sys=2");
}

// test_tracestate_member_count_limit
TEST_F(TraceContext, thirty_two_members_go_onward_and_thirty_three_drop_the_list) {
  std::vector<std::string> fields;
  std::string expected;
  for (int i = 1; i <= 32; ++i) {
    char m[16];
    std::snprintf(m, sizeof m, "bar%02d=%02d", i, i);
    if ((i - 1) % 10 == 0) fields.emplace_back();
    fields.back() += (fields.back().empty() ? "" : ",") + std::string(m);
    expected += (expected.empty() ? "" : ",") + std::string(m);
  }
  EXPECT_EQ(onward(fields), expected);
  fields.back() += ",bar33=33";
  EXPECT_EQ(onward(fields), "");
}

// test_tracestate_key_length_limit
TEST_F(TraceContext, a_key_of_256_characters_goes_onward_and_257_drops_the_list) {
  EXPECT_EQ(onward({"foo=1", std::string(256, 'z') + "=1"}), "foo=1," + std::string(256, 'z') + "=1");
  EXPECT_EQ(onward({"foo=1", std::string(257, 'z') + "=1"}), "");
  for (const std::string& key : {std::string(241, 't') + "@" + std::string(14, 'v'), std::string(242, 't') + "@v",
                                 "t@" + std::string(15, 'v')}) {
    EXPECT_EQ(onward({"foo=1", key + "=1"}), "foo=1," + key + "=1") << key.size();
  }
}

// test_tracestate_value_illegal_characters; the value's length limit
TEST_F(TraceContext, an_illegal_or_empty_or_overlong_value_drops_the_whole_list) {
  EXPECT_EQ(onward({"foo=bar=baz"}), "");
  EXPECT_EQ(onward({"foo=,bar=3"}), "");
  EXPECT_EQ(onward({"foo=a\tb"}), "");
  EXPECT_EQ(onward({"foo=" + std::string(256, 'v')}), "foo=" + std::string(256, 'v'));
  EXPECT_EQ(onward({"foo=" + std::string(257, 'v')}), "");
}

// Level 1 3.3.1.5: over 512 characters, members longer than 128 go first, then from the end.
TEST_F(TraceContext, an_overlong_tracestate_loses_long_members_first_then_members_from_the_end) {
  const std::string long1 = "long1=" + std::string(200, 'x');  // 206 characters
  const std::string long2 = "long2=" + std::string(200, 'y');
  std::vector<std::string> small;
  for (int i = 0; i < 8; ++i) small.push_back("s" + std::to_string(i) + "=" + std::string(60, 'a'));  // 63 each
  // 206 + 206 + 63 = 477 fits; with the smalls it does not: long2 (the last long one) goes,
  // then long1, then the smalls fit (8*63 + 7 = 511).
  std::string fits;
  for (const auto& s : small) fits += (fits.empty() ? "" : ",") + s;
  std::string all = long1 + "," + fits + "," + long2;
  EXPECT_EQ(onward({all}), fits);
  // Nine smalls (575) lose the last one.
  EXPECT_EQ(onward({fits + ",s8=" + std::string(60, 'a')}), fits);
  // Short enough: untouched, long members included.
  EXPECT_EQ(onward({long1 + "," + long2}), long1 + "," + long2);
}

// The caller's tracestate goes onward on every attempt, the retry too.
TEST_F(TraceContext, every_attempt_of_an_outbound_call_carries_the_tracestate) {
  std::atomic<bool> failed_once{false};  // read on the replica's connection threads
  replica.script([&failed_once](const fake::Request& r) {
    if (r.target == "/shop.v1.Inventory/count" && !failed_once.exchange(true)) {
      return fake::problem(503, "unavailable", true);
    }
    return fake::ok_reply(r);
  });
  const auto callbacks = call({{"traceparent", kValid}, {"tracestate", "congo=t61rcWkgMzE"}}, 1, "count-awaited");
  ASSERT_EQ(callbacks.size(), 3U) << "count twice (a retry), then reserve";
  for (const auto& cb : callbacks) {
    EXPECT_EQ(cb.trace_id, kTrace);
    EXPECT_EQ(cb.tracestate, "congo=t61rcWkgMzE");
  }
}

}  // namespace
}  // namespace shop
