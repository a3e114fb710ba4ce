// Each PIT_REQUIRED_MISUSE_<n> below is one way to get PIT_REQUIRED wrong. CTest builds this
// file once per case with that macro defined and expects the build to fail with the
// diagnostic named in tests/CMakeLists.txt; it also builds it once with none defined and
// expects that to succeed, so a failure can only come from the misuse itself.
#include <boost/describe.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "pit/json.hpp"

namespace required_misuse {

struct Base {
  std::string trace;
};
BOOST_DESCRIBE_STRUCT(Base, (), (trace))
PIT_REQUIRED(Base, trace)

struct Get : Base {
  std::int64_t id = 0;
  std::optional<std::string> note;
  std::string undescribed;

 private:
  std::string secret_;
};
BOOST_DESCRIBE_STRUCT(Get, (Base), (id, note))

#if defined(PIT_REQUIRED_MISUSE_1)
// A member the struct does not have.
PIT_REQUIRED(Get, idd)
#elif defined(PIT_REQUIRED_MISUSE_2)
// An optional member is optional by its type.
PIT_REQUIRED(Get, note)
#elif defined(PIT_REQUIRED_MISUSE_3)
// A base's member is declared required on the base.
PIT_REQUIRED(Get, trace)
#elif defined(PIT_REQUIRED_MISUSE_4)
// A member the codec never reads (not in BOOST_DESCRIBE_STRUCT).
PIT_REQUIRED(Get, undescribed)
#elif defined(PIT_REQUIRED_MISUSE_5)
// A private member is not part of the message.
PIT_REQUIRED(Get, secret_)
#else
PIT_REQUIRED(Get, id)
#endif

}  // namespace required_misuse

#if defined(PIT_REQUIRED_MISUSE_6)
namespace elsewhere {
struct Ping {
  int n = 0;
};
BOOST_DESCRIBE_STRUCT(Ping, (), (n))
}  // namespace elsewhere
// Outside the struct's namespace, argument-dependent lookup would never find it.
PIT_REQUIRED(elsewhere::Ping, n)
#endif

int main() {
  auto get = pit::json::decode<required_misuse::Get>(R"({"trace":"t","id":1})");
  return get.id == 1 ? 0 : 1;
}
