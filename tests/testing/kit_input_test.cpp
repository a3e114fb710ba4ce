// The conformance kit's input checks (bad_input, codec_round_trip): each passes on the good
// service, and each fails — alone, with a message that says what is wrong and where — on a
// service broken the way a hurried user would break it.
#include <gtest/gtest.h>

#include <boost/describe.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pit/testing.hpp"
#include "support/kit_services.hpp"
#include "testing/message_generator.hpp"

// Contracts of the tests' own: one that uses every kind the codec supports (the round trip
// must pass on it), and two whose messages the codec cannot read back as it wrote them.
namespace kitin {

enum class Shade { light, dark, unknown };
BOOST_DESCRIBE_ENUM(Shade, light, dark, unknown)
PIT_ENUM_FALLBACK(Shade, unknown)

struct Leaf {
  std::string label;
  std::optional<Shade> shade;
};
BOOST_DESCRIBE_STRUCT(Leaf, (), (label, shade))

struct Tree {
  std::string name;
  std::vector<Tree> children;  // recursive
  std::optional<Leaf> leaf;
};
BOOST_DESCRIBE_STRUCT(Tree, (), (name, children, leaf))

struct Base {
  std::int64_t id = 0;
};
BOOST_DESCRIBE_STRUCT(Base, (), (id))

struct Everything : Base {
  bool flag = false;
  std::int8_t i8 = 0;
  std::uint8_t u8 = 0;
  std::int16_t i16 = 0;
  std::uint16_t u16 = 0;
  std::int32_t i32 = 0;
  std::uint32_t u32 = 0;
  std::uint64_t u64 = 0;
  float f = 0;
  double d = 0;
  std::string s;
  Shade shade = Shade::light;
  std::optional<std::int64_t> maybe;
  std::vector<std::optional<int>> holes;
  std::map<std::string, std::vector<Shade>> shades;
  std::map<std::string, std::optional<double>> gauges;
  std::vector<bool> bits;
  Tree tree;
  std::optional<Leaf> leaf;
};
BOOST_DESCRIBE_STRUCT(Everything, (Base), (flag, i8, u8, i16, u16, i32, u32, u64, f, d, s, shade, maybe, holes,
                                           shades, gauges, bits, tree, leaf))
PIT_REQUIRED(Base, id)

class Mirror {
 public:
  virtual ~Mirror() = default;

 protected:
  virtual Everything echo(Everything) = 0;
};
PIT_CONTRACT(Mirror, "kitin.v1.Mirror", (echo, pit::OpSpec{}.anonymous("test").idempotent()));
class MirrorService final : public Mirror {
  Everything echo(Everything e) override { return e; }
};

// A hurried user renamed a tier and kept the old name as an alias, for old callers.
enum class Tier { basic, standard, silver = standard, premium };
BOOST_DESCRIBE_ENUM(Tier, basic, standard, silver, premium)

struct Upgrade {
  std::string account;
  Tier tier = Tier::basic;
};
BOOST_DESCRIBE_STRUCT(Upgrade, (), (account, tier))
struct Upgraded {
  bool done = false;
};
BOOST_DESCRIBE_STRUCT(Upgraded, (), (done))

class Plans {
 public:
  virtual ~Plans() = default;

 protected:
  virtual Upgraded upgrade(Upgrade) = 0;
};
PIT_CONTRACT(Plans, "kitin.v1.Plans", (upgrade, pit::OpSpec{}.anonymous("test")));
class PlansService final : public Plans {
  Upgraded upgrade(Upgrade) override { return {true}; }
};

// A reply that keeps each account's plan history: the alias reaches the reply, nested.
struct History {
  std::string account;
};
BOOST_DESCRIBE_STRUCT(History, (), (account))
struct Plan {
  std::map<std::string, std::vector<Tier>> by_year;
};
BOOST_DESCRIBE_STRUCT(Plan, (), (by_year))

class Ledger {
 public:
  virtual ~Ledger() = default;

 protected:
  virtual Plan history(History) = 0;
};
PIT_CONTRACT(Ledger, "kitin.v1.Ledger", (history, pit::OpSpec{}.anonymous("test").idempotent()));
class LedgerService final : public Ledger {
  Plan history(History) override { return {}; }
};

}  // namespace kitin

namespace {

using pit::testing::Report;
using pit::testing::Result;
using pit::testing::Verdict;

using kit::text_of;

// The results of `check` that failed, and every other check's failures (which must be none).
std::vector<Result> failures(const Report& report, std::string_view check) {
  std::vector<Result> out;
  for (const auto& r : report.of(check)) {
    if (r.verdict == Verdict::failed) out.push_back(r);
  }
  return out;
}
void expect_no_other_failure(const Report& report, std::string_view check) {
  for (const auto& r : report.results()) {
    if (r.check != check) {
      EXPECT_NE(r.verdict, Verdict::failed) << r.check << " " << r.target << " (" << r.transport << "): " << r.message;
    }
  }
}

TEST(KitInput, good_service_passes_bad_input_and_the_round_trip_both_ways_in) {
  kit::GoodHost good;
  const Report report = pit::testing::check_guarantees(*good.host, good.hints);
  const std::string text = text_of(report);
  for (const auto check : {"bad_input", "codec_round_trip"}) {
    const auto results = report.of(check);
    ASSERT_FALSE(results.empty()) << check;
    for (const auto& r : results) EXPECT_EQ(r.verdict, Verdict::passed) << text;
  }
  // One result per operation and way in: three operations, in-process and over HTTP.
  EXPECT_EQ(report.of("bad_input").size(), 6U) << text;
  EXPECT_EQ(report.of("codec_round_trip").size(), 3U) << text;
  EXPECT_NE(report.of("bad_input", "kit.v1.Notes/add")[0].message.find("refused"), std::string::npos);
}


// ---- bad_input ----

// A small body limit: bad bodies larger than it are the oversize case (413), not bad JSON;
// the nesting is made to fit.
TEST(KitInput, bad_input_passes_with_a_small_body_limit) {
  kit::GoodHost good{[](pit::HostOptions& o) { o.http.max_body_bytes = 512; }};
  const Report report = pit::testing::check_guarantees(*good.host, good.hints);
  const std::string text = text_of(report);
  ASSERT_EQ(report.of("bad_input").size(), 6U) << text;
  for (const auto& r : report.of("bad_input")) EXPECT_EQ(r.verdict, Verdict::passed) << text;
}

// A host started before the kit could attach: no drill marks the dispatch boundary, and
// the check still judges what the callers got.
TEST(KitInput, bad_input_checks_a_host_started_without_the_kit) {
  kit::GoodHost good;
  good.host->start();
  const Report report = pit::testing::check_guarantees(*good.host, good.hints);
  const std::string text = text_of(report);
  ASSERT_EQ(report.of("bad_input").size(), 6U) << text;
  for (const auto& r : report.of("bad_input")) EXPECT_EQ(r.verdict, Verdict::passed) << text;
}

// "Attachments can be large": the host-wide body limit raised to the most the
// configuration allows. Every operation now takes 1 GiB per request over HTTP.
TEST(KitInput, bad_input_fails_over_http_when_the_body_limit_is_configured_huge) {
  kit::GoodHost bad{[](pit::HostOptions& o) { o.http.max_body_bytes = std::size_t{1} << 30U; }};
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  const std::string text = text_of(report);
  const auto failed = failures(report, "bad_input");
  ASSERT_EQ(failed.size(), 3U) << text;  // every operation, over HTTP only
  for (const auto& r : failed) {
    EXPECT_EQ(r.transport, "http") << text;
    EXPECT_NE(r.message.find("an oversize body is not refused"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("http.max_body_bytes"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("1 GiB"), std::string::npos) << r.message;
  }
  expect_no_other_failure(report, "bad_input");
}

// The same raised for one operation only: the message names that operation's key.
TEST(KitInput, bad_input_names_the_operations_own_body_limit_key) {
  kit::GoodHost bad{[](pit::HostOptions& o) { o.operations["kit.v1.Notes/add"].max_body_bytes = std::size_t{256} << 20U; }};
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  const std::string text = text_of(report);
  const auto failed = failures(report, "bad_input");
  ASSERT_EQ(failed.size(), 1U) << text;
  EXPECT_EQ(failed[0].target, "kit.v1.Notes/add");
  EXPECT_EQ(failed[0].transport, "http");
  EXPECT_NE(failed[0].message.find(R"(contracts."kit.v1.Notes".operations.add.max_body_bytes)"), std::string::npos)
      << failed[0].message;
  EXPECT_NE(failed[0].message.find("256 MiB"), std::string::npos) << failed[0].message;
  expect_no_other_failure(report, "bad_input");
}

// "A lookup with a bad id is simply not found": a policy that answers the codec's refusal
// of a lookup with not_found (declared by get, so nothing else notices).
TEST(KitInput, bad_input_fails_when_a_policy_answers_bad_input_with_another_code) {
  kit::GoodHost bad;
  bad.host->use("bad_lookups_are_not_found", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);
    if (call.operation().name == "get" && outcome.code() == pit::Code::invalid_argument) {
      co_return pit::Fault::not_found("no such note");
    }
    co_return outcome;
  });
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  const std::string text = text_of(report);
  const auto failed = failures(report, "bad_input");
  ASSERT_EQ(failed.size(), 2U) << text;  // get, both ways in
  for (const auto& r : failed) {
    EXPECT_EQ(r.target, "kit.v1.Notes/get");
    EXPECT_NE(r.message.find("malformed JSON"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("not_found"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("not " + std::string(r.transport == "http" ? "400 " : "") + "invalid_argument"),
              std::string::npos)
        << r.message;
    EXPECT_NE(r.message.find("changed the codec's refusal"), std::string::npos) << r.message;
  }
  expect_no_other_failure(report, "bad_input");
}

// "The load balancer's probe must never fail, whatever it sends": a policy that answers
// success for the probe's refused bodies.
TEST(KitInput, bad_input_fails_when_a_policy_turns_bad_input_into_success) {
  kit::GoodHost bad;
  bad.host->use("probes_always_succeed", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);
    if (call.operation().name == "ping" && outcome.code() == pit::Code::invalid_argument) {
      co_return pit::Outcome::success();
    }
    co_return outcome;
  });
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  const std::string text = text_of(report);
  const auto failed = failures(report, "bad_input");
  ASSERT_EQ(failed.size(), 2U) << text;
  for (const auto& r : failed) {
    EXPECT_EQ(r.target, "kit.v1.Notes/ping");
    EXPECT_NE(r.message.find("turned the refusal into a success"), std::string::npos) << r.message;
  }
  expect_no_other_failure(report, "bad_input");
}

// "Support wants to know where a request was refused": a policy that adds the source
// location to the runtime's refusals. The reply now shows how the service is built.
TEST(KitInput, bad_input_fails_when_a_refusal_shows_internals) {
  kit::GoodHost bad;
  bad.host->use("where_refused", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);
    if (outcome.code() == pit::Code::invalid_argument && outcome.fault().origin() == pit::Fault::Origin::runtime) {
      outcome.fault().with_detail("refused_at", std::string(__FILE__) + ":" + std::to_string(__LINE__));
    }
    co_return outcome;
  });
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  const std::string text = text_of(report);
  const auto failed = failures(report, "bad_input");
  ASSERT_EQ(failed.size(), 6U) << text;  // every operation, both ways in
  for (const auto& r : failed) {
    EXPECT_NE(r.message.find("shows the service's internals"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(".cpp"), std::string::npos) << r.message;
  }
  expect_no_other_failure(report, "bad_input");
}

// ---- codec_round_trip ----

// Runs the kit with PIT_KIT_SEED set (before any host thread exists, unset after).
struct Seed {
  explicit Seed(const char* seed) { ::setenv("PIT_KIT_SEED", seed, 1); }  // NOLINT(concurrency-mt-unsafe)
  ~Seed() { ::unsetenv("PIT_KIT_SEED"); }                                 // NOLINT(concurrency-mt-unsafe)
  Seed(const Seed&) = delete;
  Seed& operator=(const Seed&) = delete;
};

// The good host's bearer token names kit.v1.Notes; a host that serves the tests' contracts
// too accepts it for them.
void accept_the_kits_token(pit::HostOptions& o) { o.auth.audiences.emplace_back("kit.v1.Notes"); }

TEST(KitInput, round_trip_passes_on_every_kind_the_codec_supports) {
  kit::GoodHost good{accept_the_kits_token};
  good.host->serve<kitin::Mirror, kitin::MirrorService>();
  const Report report = pit::testing::check_guarantees(*good.host, good.hints);
  const std::string text = text_of(report);
  EXPECT_TRUE(report.passed()) << text;
  const auto echo = report.of("codec_round_trip", "kitin.v1.Mirror/echo");
  ASSERT_EQ(echo.size(), 1U) << text;
  EXPECT_EQ(echo[0].verdict, Verdict::passed) << echo[0].message;
  EXPECT_NE(echo[0].message.find("seed"), std::string::npos) << echo[0].message;
  for (const auto& r : report.of("bad_input", "kitin.v1.Mirror/echo")) EXPECT_EQ(r.verdict, Verdict::passed) << r.message;
}

// An enum alias: "silver" reads as standard and is written back as "standard".
TEST(KitInput, round_trip_fails_on_an_enum_alias_naming_the_field_the_value_and_the_seed) {
  std::string first;
  for (int run = 0; run < 2; ++run) {
    const Seed seed{"20261202"};
    kit::GoodHost bad{accept_the_kits_token};
    bad.host->serve<kitin::Plans, kitin::PlansService>();
    const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
    const std::string text = text_of(report);
    const auto failed = failures(report, "codec_round_trip");
    ASSERT_EQ(failed.size(), 1U) << text;
    const std::string& m = failed[0].message;
    EXPECT_EQ(failed[0].target, "kitin.v1.Plans/upgrade");
    EXPECT_NE(m.find("request's field 'tier'"), std::string::npos) << m;
    EXPECT_NE(m.find(R"(sent "silver", the codec gave back "standard")"), std::string::npos) << m;
    EXPECT_NE(m.find("alias"), std::string::npos) << m;
    EXPECT_NE(m.find("PIT_KIT_SEED=20261202"), std::string::npos) << m;
    expect_no_other_failure(report, "codec_round_trip");
    // The same seed replays the same messages: the same failure, word for word.
    if (run == 0) {
      first = m;
    } else {
      EXPECT_EQ(m, first);
    }
  }
}

// The same alias in a reply, inside a map of arrays: the path leads to the element.
TEST(KitInput, round_trip_fails_on_a_reply_the_codec_cannot_read_back) {
  const Seed seed{"7"};
  kit::GoodHost bad{accept_the_kits_token};
  bad.host->serve<kitin::Ledger, kitin::LedgerService>();
  const Report report = pit::testing::check_guarantees(*bad.host, bad.hints);
  const std::string text = text_of(report);
  const auto failed = failures(report, "codec_round_trip");
  ASSERT_EQ(failed.size(), 1U) << text;
  const std::string& m = failed[0].message;
  EXPECT_EQ(failed[0].target, "kitin.v1.Ledger/history");
  EXPECT_NE(m.find("the reply's field 'by_year"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(sent "silver", the codec gave back "standard")"), std::string::npos) << m;
  expect_no_other_failure(report, "codec_round_trip");
}

// ---- the generator ----

TEST(KitInput, generated_messages_cover_every_kind_and_replay_from_their_seed) {
  using pit::testing::detail::MessageGenerator;
  const pit::schema::Type& type = pit::schema::type_of<kitin::Everything>();
  MessageGenerator a{7};
  MessageGenerator b{7};
  MessageGenerator c{8};
  std::string all;
  bool differs = false;
  for (int i = 0; i < 300; ++i) {
    const auto m = a.message(type);
    EXPECT_EQ(m.text, b.message(type).text);
    differs = differs || m.text != c.message(type).text;
    // Valid: the codec takes every one of them.
    EXPECT_NO_THROW((void)pit::json::decode<kitin::Everything>(m.text)) << m.text;
    all += m.text;
    all += '\n';
  }
  EXPECT_TRUE(differs);
  for (const std::string_view seen :
       {R"("id":-9223372036854775808)", R"("id":9223372036854775807)", R"("id":")",
        R"("u64":18446744073709551615)", R"("i8":-128)", R"("u8":255)", R"("maybe":null)", R"(\ud83d\ude00)", R"(\u0000)",
        R"("children":[{)", R"("shade":"unknown")", "null]", R"("bits":[true)"}) {
    EXPECT_NE(all.find(seen), std::string::npos) << seen;
  }
}

TEST(KitInput, compare_reads_numbers_by_value_and_null_members_as_absent) {
  using pit::testing::detail::compare;
  using pit::testing::detail::parse_exact;
  const pit::schema::Type& type = pit::schema::type_of<kitin::Everything>();
  boost::system::error_code ec;
  const auto expected = parse_exact(R"({"id":3,"f":0.1,"d":1e300,"maybe":null,"tree":{"name":"x","children":[]}})", ec);
  ASSERT_FALSE(ec);
  EXPECT_FALSE(compare(type, expected, parse_exact(R"({"id":3.0,"f":0.100000001,"d":1E300,"tree":{"name":"x","children":[]}})", ec)));
  const auto d = compare(type, expected, parse_exact(R"({"id":3,"f":0.1,"d":1e300,"tree":{"name":"y","children":[]}})", ec));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->path, "tree.name");
  EXPECT_EQ(d->expected, R"("x")");
  EXPECT_EQ(d->got, R"("y")");
  const auto extra = compare(type, expected, parse_exact(R"({"id":3,"f":0.1,"d":1e300,"x":1,"tree":{"name":"x","children":[]}})", ec));
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->path, "x");
}

}  // namespace
