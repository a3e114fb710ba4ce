// Each PIT_EVOLUTION_MISUSE_<n> below is one way to get PIT_ENUM_FALLBACK or PIT_RESERVED
// wrong. CTest builds this file once per case with that macro defined and expects the build
// to fail with the diagnostic named in tests/CMakeLists.txt; it also builds it once with
// none defined and expects that to succeed, so a failure can only come from the misuse.
#include <boost/describe.hpp>

#include <cstdint>
#include <string>

#include "pit/json.hpp"

namespace evolution_misuse {

enum class Colour { unknown, red };
BOOST_DESCRIBE_ENUM(Colour, unknown, red)

enum class Hidden { unknown, secret };
BOOST_DESCRIBE_ENUM(Hidden, unknown)  // `secret` is not described

struct Base {
  std::string trace;
};
BOOST_DESCRIBE_STRUCT(Base, (), (trace))

struct Profile : Base {
  std::string name;
  std::int64_t id = 0;
};
BOOST_DESCRIBE_STRUCT(Profile, (Base), (name, id))

#if defined(PIT_EVOLUTION_MISUSE_1)
// A fallback that is not an enumerator at all.
PIT_ENUM_FALLBACK(Colour, blue)
#elif defined(PIT_EVOLUTION_MISUSE_2)
// An enumerator BOOST_DESCRIBE_ENUM does not list: the codec could never encode it.
PIT_ENUM_FALLBACK(Hidden, secret)
#elif defined(PIT_EVOLUTION_MISUSE_3)
// A reserved name that a member still uses.
PIT_RESERVED(Profile, "nickname", "name")
#elif defined(PIT_EVOLUTION_MISUSE_4)
// A reserved name that a base's member uses.
PIT_RESERVED(Profile, "trace")
#elif defined(PIT_EVOLUTION_MISUSE_5)
// A name listed twice.
PIT_RESERVED(Profile, "nickname", "nickname")
#else
PIT_ENUM_FALLBACK(Colour, unknown)
PIT_RESERVED(Profile, "nickname")
#endif

}  // namespace evolution_misuse

#if defined(PIT_EVOLUTION_MISUSE_6)
namespace elsewhere {
enum class Mood { unknown, calm };
BOOST_DESCRIBE_ENUM(Mood, unknown, calm)
}  // namespace elsewhere
// Outside the enum's namespace, argument-dependent lookup would never find it.
PIT_ENUM_FALLBACK(elsewhere::Mood, unknown)
#elif defined(PIT_EVOLUTION_MISUSE_7)
namespace elsewhere {
struct Ping {
  int n = 0;
};
BOOST_DESCRIBE_STRUCT(Ping, (), (n))
}  // namespace elsewhere
PIT_RESERVED(elsewhere::Ping, "old")
#endif

// The declarations are used, so the build also instantiates the codec for them.
int evolution_misuse_use() {
  return static_cast<int>(pit::json::decode<evolution_misuse::Profile>("{}").id);
}
