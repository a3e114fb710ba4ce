// Snippets of docs/evolution.md: a contract that evolved safely, and the lock test that
// keeps it so.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

#include "pit/lock.hpp"
#include "pit/pit.hpp"

namespace profiles::v1 {

// [safe-change]
enum class Tier { unknown, free, pro };          // `unknown` catches tiers added later
BOOST_DESCRIBE_ENUM(Tier, unknown, free, pro)
PIT_ENUM_FALLBACK(Tier, unknown)

struct GetProfile {
  std::int64_t id = 0;                           // was int32: widening a request is safe
  std::optional<std::string> locale;             // new and optional: old callers omit it
};
BOOST_DESCRIBE_STRUCT(GetProfile, (), (id, locale))

struct Profile {
  std::string name;
  Tier tier = Tier::free;
  std::int32_t age = 0;                          // was int64: narrowing a reply is safe
};
BOOST_DESCRIBE_STRUCT(Profile, (), (name, tier, age))
PIT_RESERVED(Profile, "nickname")                // removed; its name is never reused
// [/safe-change]

class Profiles {
 public:
  virtual ~Profiles() = default;

 protected:
  virtual Profile get(GetProfile) = 0;
};
PIT_CONTRACT(Profiles, "profiles.v1.Profiles",
             (get, pit::OpSpec{}.anonymous("docs example").idempotent().raises(pit::Code::not_found)));

class ProfilesService final : public Profiles {
  Profile get(GetProfile) override { return {}; }
};

}  // namespace profiles::v1

namespace {

TEST(Evolution, the_contracts_honour_the_committed_lock) {
  // In a real project the lock is committed beside the code; here it is written first.
  const std::string path =
      (std::filesystem::temp_directory_path() / ("evolution_" + std::to_string(::getpid()) + ".lock")).string();
  {
    pit::Host host;
    host.serve<profiles::v1::Profiles, profiles::v1::ProfilesService>();
    ASSERT_EQ(pit::lock::write(host, path).exit_code(), 0);
  }
  // [lock-test]
  pit::Host host;
  host.serve<profiles::v1::Profiles, profiles::v1::ProfilesService>();
  EXPECT_EQ(pit::lock::check(host, path).failures(), "");   // prints every breaking change
  // [/lock-test]
  std::filesystem::remove(path);
}

TEST(Evolution, a_lock_that_is_not_there_fails_the_check) {
  pit::Host host;
  host.serve<profiles::v1::Profiles, profiles::v1::ProfilesService>();
  const auto report = pit::lock::check(host, "/nonexistent/contracts.lock");
  EXPECT_EQ(report.exit_code(), 2);
  EXPECT_NE(report.failures().find("/nonexistent/contracts.lock: cannot be read"), std::string::npos);
}

}  // namespace
