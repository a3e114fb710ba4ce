// The property behind the lock's rules, on compiled structs and the real codec: fifteen
// versions of one message (fields added, removed, reserved, renamed, int32 <-> int64,
// T <-> optional<T>, enum values added or removed with or without a fallback, newly
// required, a nested change, a reserved name taken again). For every ordered pair (old,
// new): when the check calls the requests compatible, random old requests (pit::json)
// decode as new ones; when it calls the replies compatible, random new replies decode as
// old ones. And the rule list is not vacuous: every rule fires on some pair, and the
// changes known to be safe are judged compatible.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <boost/mp11.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "pit/json.hpp"
#include "pit/lock.hpp"
#include "pit/pit.hpp"

// The same contract in every version: one operation whose request and reply are Msg.
#define EV_CONTRACT()                                   \
  class Svc {                                           \
   public:                                              \
    virtual ~Svc() = default;                           \
                                                        \
   protected:                                           \
    virtual Msg call(Msg) = 0;                          \
  };                                                    \
  PIT_CONTRACT(Svc, "t.Evolving", (call, pit::OpSpec{}.anonymous("test")))

#define EV_BASE_ENUM()                   \
  enum class Color { red, green };       \
  BOOST_DESCRIBE_ENUM(Color, red, green)

#define EV_BASE_ITEM()                            \
  struct Item {                                   \
    std::string sku;                              \
    std::int32_t qty = 0;                         \
  };                                              \
  BOOST_DESCRIBE_STRUCT(Item, (), (sku, qty))

namespace ev {

namespace v0 {  // the base
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v0

namespace v1 {  // a field added
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
  std::string note;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs, note))
EV_CONTRACT();
}  // namespace v1

namespace v2 {  // `name` removed, not reserved
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v2

namespace v3 {  // `name` removed and reserved
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, color, score, items, attrs))
PIT_RESERVED(Msg, "name")
EV_CONTRACT();
}  // namespace v3

namespace v4 {  // `name` renamed `title`
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string title;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, title, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v4

namespace v5 {  // id int32 -> int64
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int64_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v5

namespace v6 {  // id int32 -> optional<int32>
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::optional<std::int32_t> id;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v6

namespace v7 {  // score optional<int32> -> int32
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::int32_t score = 0;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v7

namespace v8 {  // Color gains `blue`, no fallback
enum class Color { red, green, blue };
BOOST_DESCRIBE_ENUM(Color, red, green, blue)
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v8

namespace v9 {  // Color gains `blue` and a fallback
enum class Color { red, green, blue };
BOOST_DESCRIBE_ENUM(Color, red, green, blue)
PIT_ENUM_FALLBACK(Color, red)
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v9

namespace v10 {  // the base with a fallback declared
enum class Color { red, green };
BOOST_DESCRIBE_ENUM(Color, red, green)
PIT_ENUM_FALLBACK(Color, red)
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v10

namespace v11 {  // Color loses `green`
enum class Color { red };
BOOST_DESCRIBE_ENUM(Color, red)
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v11

namespace v12 {  // `name` newly required
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
PIT_REQUIRED(Msg, name)
EV_CONTRACT();
}  // namespace v12

namespace v13 {  // a nested change: Item.qty int32 -> int64
EV_BASE_ENUM()
struct Item {
  std::string sku;
  std::int64_t qty = 0;
};
BOOST_DESCRIBE_STRUCT(Item, (), (sku, qty))
struct Msg {
  std::int32_t id = 0;
  std::string name;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v13

namespace v14 {  // the name v3 reserved, taken again with another type
EV_BASE_ENUM()
EV_BASE_ITEM()
struct Msg {
  std::int32_t id = 0;
  std::int32_t name = 0;
  Color color = Color::red;
  std::optional<std::int32_t> score;
  std::vector<Item> items;
  std::map<std::string, std::int32_t> attrs;
};
BOOST_DESCRIBE_STRUCT(Msg, (), (id, name, color, score, items, attrs))
EV_CONTRACT();
}  // namespace v14

}  // namespace ev

namespace {

template <int N, class Contract, class Message>
struct Version {
  static constexpr int number = N;
  using contract = Contract;
  using message = Message;
};
using Versions = boost::mp11::mp_list<
    Version<0, ev::v0::Svc, ev::v0::Msg>, Version<1, ev::v1::Svc, ev::v1::Msg>, Version<2, ev::v2::Svc, ev::v2::Msg>,
    Version<3, ev::v3::Svc, ev::v3::Msg>, Version<4, ev::v4::Svc, ev::v4::Msg>, Version<5, ev::v5::Svc, ev::v5::Msg>,
    Version<6, ev::v6::Svc, ev::v6::Msg>, Version<7, ev::v7::Svc, ev::v7::Msg>, Version<8, ev::v8::Svc, ev::v8::Msg>,
    Version<9, ev::v9::Svc, ev::v9::Msg>, Version<10, ev::v10::Svc, ev::v10::Msg>,
    Version<11, ev::v11::Svc, ev::v11::Msg>, Version<12, ev::v12::Svc, ev::v12::Msg>,
    Version<13, ev::v13::Svc, ev::v13::Msg>, Version<14, ev::v14::Svc, ev::v14::Msg>>;

// Random instances, typed: integers favour their bounds, strings their escapes.
template <class T>
void randomize(T& value, std::mt19937_64& rng) {
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  if constexpr (std::is_same_v<T, bool>) {
    value = pick(2) == 0;
  } else if constexpr (std::is_integral_v<T>) {
    using L = std::numeric_limits<T>;
    switch (pick(5)) {
      case 0: value = L::min(); break;
      case 1: value = L::max(); break;
      case 2: value = 0; break;
      default: value = static_cast<T>(rng()); break;
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    static constexpr std::string_view alphabet = "ab\"\\/\n\x01 \xc3\xa9z";
    value.clear();
    for (std::size_t n = pick(6); n > 0; --n) {
      const std::size_t i = pick(alphabet.size());
      if (alphabet[i] == '\xc3') {
        value += "\xc3\xa9";  // é, whole
      } else if (alphabet[i] != '\xa9') {
        value += alphabet[i];
      }
    }
  } else if constexpr (std::is_enum_v<T>) {
    std::vector<T> all;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto e) { all.push_back(e.value); });
    value = all[pick(all.size())];
  } else if constexpr (pit::json::detail::is_optional<T>::value) {
    if (pick(2) == 0) {
      value.reset();
    } else {
      randomize(value.emplace(), rng);
    }
  } else if constexpr (pit::json::detail::is_vector<T>::value) {
    value.resize(pick(4));
    for (auto& e : value) randomize(e, rng);
  } else if constexpr (pit::json::detail::is_string_map<T>::value) {
    value.clear();
    for (std::size_t n = pick(4); n > 0; --n) {
      std::string key;
      randomize(key, rng);
      randomize(value[key], rng);
    }
  } else {
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto member) { randomize(value.*member.pointer, rng); });
  }
}

bool breaks(const pit::lock::Report& report, pit::lock::Side side) {
  for (const auto& f : report.findings()) {
    if (f.side == side && f.severity == pit::lock::Severity::breaking) return true;
  }
  return false;
}

struct Outcome {
  bool request_compatible;
  bool reply_compatible;
};

constexpr int kInstances = 150;

TEST(LockEvolution, what_the_check_calls_compatible_decodes_across_both_versions_with_the_real_codec) {
  std::map<std::pair<int, int>, Outcome> judged;
  std::set<std::string> rules_seen;
  std::mt19937_64 rng(20261201);
  boost::mp11::mp_for_each<Versions>([&](auto old_version) {
    using Old = decltype(old_version);
    const std::string lock = pit::lock::snapshot(pit::lock::contracts<typename Old::contract>());
    boost::mp11::mp_for_each<Versions>([&](auto new_version) {
      using New = decltype(new_version);
      const auto report =
          pit::lock::compare(pit::lock::contracts<typename New::contract>(), lock, "evolution.lock");
      ASSERT_TRUE(report.lock_error().empty()) << report;
      for (const auto& f : report.findings()) rules_seen.insert(f.rule);
      const Outcome outcome{!breaks(report, pit::lock::Side::request), !breaks(report, pit::lock::Side::reply)};
      judged[{Old::number, New::number}] = outcome;
      const std::string pair = "v" + std::to_string(Old::number) + " -> v" + std::to_string(New::number);
      if (outcome.request_compatible) {  // old callers' requests reach the new code
        for (int i = 0; i < kInstances; ++i) {
          typename Old::message request{};
          randomize(request, rng);
          const std::string text = pit::json::encode(request);
          EXPECT_NO_THROW((void)pit::json::decode<typename New::message>(text)) << pair << " request " << text << "\n"
                                                                                << report;
        }
      }
      if (outcome.reply_compatible) {  // the new code's replies reach old callers
        for (int i = 0; i < kInstances; ++i) {
          typename New::message reply{};
          randomize(reply, rng);
          const std::string text = pit::json::encode(reply);
          EXPECT_NO_THROW((void)pit::json::decode<typename Old::message>(text)) << pair << " reply " << text << "\n"
                                                                               << report;
        }
      }
    });
  });

  // Not vacuous one way: every message rule fires on some pair...
  for (const char* rule : {"field_removed", "reserved_name_reused", "type_changed", "field_newly_required",
                           "reply_field_made_optional", "enum_value_removed", "enum_value_added"}) {
    EXPECT_EQ(rules_seen.count(rule), 1U) << rule << " fired on no pair";
  }
  // ...nor the other: the safe changes are judged compatible (a check that calls
  // everything breaking would pass the loop above).
  const auto compatible = [&](int o, int n, bool request) {
    const Outcome& x = judged.at({o, n});
    return request ? x.request_compatible : x.reply_compatible;
  };
  for (int v = 0; v <= 14; ++v) {
    EXPECT_TRUE(compatible(v, v, true) && compatible(v, v, false)) << "v" << v << " against itself";
  }
  EXPECT_TRUE(compatible(0, 1, true) && compatible(0, 1, false));  // a field added
  EXPECT_TRUE(compatible(0, 3, true));    // removed with its name reserved: requests
  EXPECT_FALSE(compatible(0, 3, false));  // ...but reply readers lose it
  EXPECT_FALSE(compatible(0, 2, true));   // removed, not reserved
  EXPECT_FALSE(compatible(0, 4, true));   // renamed
  EXPECT_TRUE(compatible(0, 5, true));    // int32 -> int64 in a request
  EXPECT_FALSE(compatible(0, 5, false));  // ...not in a reply
  EXPECT_TRUE(compatible(5, 0, false));   // int64 -> int32 in a reply
  EXPECT_FALSE(compatible(5, 0, true));   // ...not in a request
  EXPECT_TRUE(compatible(0, 6, true));    // T -> optional<T> in a request
  EXPECT_FALSE(compatible(0, 6, false));  // ...not in a reply
  EXPECT_TRUE(compatible(6, 0, false));   // optional<T> -> T in a reply
  EXPECT_TRUE(compatible(0, 7, false));   // optional<T> -> T in a reply (score)
  EXPECT_TRUE(compatible(0, 8, true));    // an enum value added: requests
  EXPECT_FALSE(compatible(0, 8, false));  // ...replies, the old enum has no fallback
  EXPECT_TRUE(compatible(10, 8, false));  // ...it has one
  EXPECT_FALSE(compatible(0, 9, false));  // the new enum's fallback does not help old readers
  EXPECT_FALSE(compatible(0, 11, true));  // an enum value removed: requests
  EXPECT_TRUE(compatible(0, 11, false));  // ...replies never send it
  EXPECT_FALSE(compatible(0, 12, true));  // newly required
  EXPECT_TRUE(compatible(0, 12, false));
  EXPECT_TRUE(compatible(0, 13, true));   // nested widening in a request
  EXPECT_FALSE(compatible(0, 13, false));
  EXPECT_FALSE(compatible(3, 14, true));  // a reserved name taken again
}

}  // namespace
