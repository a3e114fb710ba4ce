// Two builds of one contract side by side (docs/contracts-json.md "Evolution"): the wire
// contract "people.v1.Profiles" as an older build (rev1) and a newer one (rev2) that added
// fields, retired one with PIT_RESERVED and added an enum value, in two hosts of this
// process calling each other over real HTTP in both directions; and the incompatible
// successor "people.v2.Profiles", served by the newer host beside the old name.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/describe.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pit/pit.hpp"
#include "support/raw_http.hpp"

// The older build: what the deployed callers and servers were compiled from.
namespace people::rev1 {

enum class Tier { unknown, basic, gold };
BOOST_DESCRIBE_ENUM(Tier, unknown, basic, gold)
// Declared before any newer build added a tier: a name this build does not know reads as
// `unknown` instead of failing the whole reply.
PIT_ENUM_FALLBACK(Tier, unknown)

struct GetProfile {
  std::int64_t id = 0;
  std::string locale = "en";  // retired by rev2
};
BOOST_DESCRIBE_STRUCT(GetProfile, (), (id, locale))
PIT_REQUIRED(GetProfile, id)

struct Profile {
  std::int64_t id = 0;
  std::string name;
  std::string nickname;  // retired by rev2
  Tier tier = Tier::basic;
};
BOOST_DESCRIBE_STRUCT(Profile, (), (id, name, nickname, tier))

class Profiles {
 public:
  virtual ~Profiles() = default;

 protected:
  virtual Profile get(GetProfile) = 0;
};
PIT_CONTRACT(Profiles, "people.v1.Profiles", (get, pit::OpSpec{}.anonymous("test").idempotent()));

}  // namespace people::rev1

// The newer build of the same wire contract, and the incompatible successor under a new name.
namespace people::rev2 {

enum class Tier { unknown, basic, gold, platinum };  // platinum: new
BOOST_DESCRIBE_ENUM(Tier, unknown, basic, gold, platinum)
PIT_ENUM_FALLBACK(Tier, unknown)

struct GetProfile {
  std::int64_t id = 0;
  bool with_email = false;  // new
};
BOOST_DESCRIBE_STRUCT(GetProfile, (), (id, with_email))
PIT_REQUIRED(GetProfile, id)
PIT_RESERVED(GetProfile, "locale")

struct Profile {
  std::int64_t id = 0;
  std::string name;
  Tier tier = Tier::basic;
  std::optional<std::string> email;  // new
};
BOOST_DESCRIBE_STRUCT(Profile, (), (id, name, tier, email))
PIT_RESERVED(Profile, "nickname")

class Profiles {
 public:
  virtual ~Profiles() = default;

 protected:
  virtual Profile get(GetProfile) = 0;
};
PIT_CONTRACT(Profiles, "people.v1.Profiles", (get, pit::OpSpec{}.anonymous("test").idempotent()));

// A break (the key became a handle) is a new contract name; the old name keeps serving.
struct GetProfileByHandle {
  std::string handle;
};
BOOST_DESCRIBE_STRUCT(GetProfileByHandle, (), (handle))
PIT_REQUIRED(GetProfileByHandle, handle)

struct ProfileByHandle {
  std::string handle;
  std::string name;
  Tier tier = Tier::basic;
};
BOOST_DESCRIBE_STRUCT(ProfileByHandle, (), (handle, name, tier))

class ProfilesV2 {
 public:
  virtual ~ProfilesV2() = default;

 protected:
  virtual ProfileByHandle get(GetProfileByHandle) = 0;
};
PIT_CONTRACT(ProfilesV2, "people.v2.Profiles", (get, pit::OpSpec{}.anonymous("test").idempotent()));

}  // namespace people::rev2

namespace {

using namespace people;

// What each server was last asked, to show what it saw of the caller's request.
struct Seen {
  std::mutex mutex;
  std::optional<rev1::GetProfile> rev1;
  std::optional<rev2::GetProfile> rev2;
};

class Rev1Profiles final : public rev1::Profiles {
 public:
  explicit Rev1Profiles(Seen& seen) : seen_(seen) {}

 private:
  rev1::Profile get(rev1::GetProfile request) override {
    {
      std::lock_guard lock(seen_.mutex);
      seen_.rev1 = request;
    }
    return {request.id, "Bob", "bobby", rev1::Tier::gold};
  }
  Seen& seen_;
};

class Rev2Profiles final : public rev2::Profiles {
 public:
  explicit Rev2Profiles(Seen& seen) : seen_(seen) {}

 private:
  rev2::Profile get(rev2::GetProfile request) override {
    {
      std::lock_guard lock(seen_.mutex);
      seen_.rev2 = request;
    }
    rev2::Profile p{request.id, "Ann", rev2::Tier::platinum, std::nullopt};
    if (request.with_email) p.email = "ann@example.org";
    return p;
  }
  Seen& seen_;
};

class Rev2ProfilesByHandle final : public rev2::ProfilesV2 {
  rev2::ProfileByHandle get(rev2::GetProfileByHandle request) override {
    return {request.handle, "Ann", rev2::Tier::platinum};
  }
};

// A loopback port free a moment ago. Each host's outbound proxy must be made before it
// starts, so one of two hosts that call each other needs its peer's port in advance.
std::uint16_t free_loopback_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  return acceptor.local_endpoint().port();
}

// One sample of a host's /metrics (`name{labels}`), -1 if absent.
long sample(std::uint16_t admin_port, const std::string& series) {
  rawhttp::Connection c{admin_port};
  c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string page = rawhttp::body_of(c.read_response());
  const auto at = page.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stol(page.substr(at + series.size() + 2));
}

std::string unknown_fields(std::string_view direction) {
  return R"(pit_unknown_fields_total{contract="people.v1.Profiles",operation="get",direction=")" +
         std::string{direction} + R"("})";
}

// Host `older` runs the rev1 build, host `newer` the rev2 build; each serves over HTTP and
// holds an HTTP proxy to the other.
class ContractVersions : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::uint16_t newer_port = free_loopback_port();
    pit::HostOptions o;
    o.http.listen = "127.0.0.1:0";
    o.admin.listen = "127.0.0.1:0";
    older = std::make_unique<pit::Host>(o);
    older->serve<rev1::Profiles, Rev1Profiles>(seen);
    older_to_newer = older->client<rev1::Profiles>("http://127.0.0.1:" + std::to_string(newer_port));
    older->start();

    o.http.listen = "127.0.0.1:" + std::to_string(newer_port);
    newer = std::make_unique<pit::Host>(o);
    newer->serve<rev2::Profiles, Rev2Profiles>(seen);
    newer->serve<rev2::ProfilesV2, Rev2ProfilesByHandle>();
    newer_to_older = newer->client<rev2::Profiles>("http://127.0.0.1:" + std::to_string(older->http_port()));
    newer_v2_to_self = newer->client<rev2::ProfilesV2>("http://127.0.0.1:" + std::to_string(newer_port));
    newer_to_self = newer->client<rev2::Profiles>("http://127.0.0.1:" + std::to_string(newer_port));
    newer->start();
  }
  void TearDown() override {
    newer->stop();
    older->stop();
  }

  std::string post(std::uint16_t port, const std::string& target, const std::string& body) {
    rawhttp::Connection c{port};
    c.send(rawhttp::post(target, body));
    return c.read_response();
  }

  Seen seen;
  std::unique_ptr<pit::Host> older;
  std::unique_ptr<pit::Host> newer;
  pit::Ref<rev1::Profiles> older_to_newer;
  pit::Ref<rev2::Profiles> newer_to_older;
  pit::Ref<rev2::ProfilesV2> newer_v2_to_self;
  pit::Ref<rev2::Profiles> newer_to_self;
};

TEST_F(ContractVersions, older_caller_reads_a_newer_reply_and_the_newer_server_ignores_a_retired_field) {
  const rev1::Profile reply = older_to_newer->get({.id = 7, .locale = "fr"});
  // What the rev1 caller sees of a rev2 reply {"id":7,"name":"Ann","tier":"platinum"}:
  EXPECT_EQ(reply.id, 7);
  EXPECT_EQ(reply.name, "Ann");
  EXPECT_EQ(reply.tier, rev1::Tier::unknown);  // a tier it does not know: its fallback
  EXPECT_EQ(reply.nickname, "");               // retired: missing, so its default
  // What the rev2 server saw of the rev1 request {"id":7,"locale":"fr"}: "locale" (reserved)
  // was ignored, and with_email (unknown to rev1) kept its default.
  {
    std::lock_guard lock(seen.mutex);
    ASSERT_TRUE(seen.rev2.has_value());
    EXPECT_EQ(seen.rev2->id, 7);
    EXPECT_FALSE(seen.rev2->with_email);
  }
  EXPECT_EQ(sample(newer->admin_port(), unknown_fields("request")), 1);  // "locale"
  EXPECT_EQ(sample(older->admin_port(), unknown_fields("reply")), 0);    // rev2 sent nothing rev1 lacks
}

TEST_F(ContractVersions, newer_caller_reads_an_older_reply_and_the_older_server_ignores_a_new_field) {
  const rev2::Profile reply = newer_to_older->get({.id = 8, .with_email = true});
  // What the rev2 caller sees of a rev1 reply {"id":8,"name":"Bob","nickname":"bobby","tier":"gold"}:
  EXPECT_EQ(reply.id, 8);
  EXPECT_EQ(reply.name, "Bob");
  EXPECT_EQ(reply.tier, rev2::Tier::gold);
  EXPECT_FALSE(reply.email.has_value());  // the older server has none to give
  // What the rev1 server saw of the rev2 request {"id":8,"with_email":true}:
  {
    std::lock_guard lock(seen.mutex);
    ASSERT_TRUE(seen.rev1.has_value());
    EXPECT_EQ(seen.rev1->id, 8);
    EXPECT_EQ(seen.rev1->locale, "en");  // not sent by rev2: its default
  }
  EXPECT_EQ(sample(older->admin_port(), unknown_fields("request")), 1);  // "with_email"
  EXPECT_EQ(sample(newer->admin_port(), unknown_fields("reply")), 1);    // "nickname", reserved
}

TEST_F(ContractVersions, a_new_field_crosses_when_both_sides_have_it_and_counts_nothing) {
  const rev2::Profile reply = newer_to_self->get({.id = 9, .with_email = true});
  EXPECT_EQ(reply.email, "ann@example.org");
  EXPECT_EQ(reply.tier, rev2::Tier::platinum);
  EXPECT_EQ(sample(newer->admin_port(), unknown_fields("request")), 0);
  EXPECT_EQ(sample(newer->admin_port(), unknown_fields("reply")), 0);
}

TEST_F(ContractVersions, the_successor_contract_is_served_beside_the_old_name_and_refuses_old_bodies) {
  // One host, both names: the old callers keep their contract, new ones use the new name.
  EXPECT_EQ(newer_v2_to_self->get({"ann"}).handle, "ann");
  EXPECT_EQ(older_to_newer->get({.id = 1}).name, "Ann");
  // A rev1 body sent to the new name is refused, not silently read with defaults.
  const std::string refused = post(newer->http_port(), "/people.v2.Profiles/get", R"({"id":1})");
  EXPECT_EQ(rawhttp::status_of(refused), 400);
  EXPECT_NE(rawhttp::body_of(refused).find("field 'handle': required, but missing"), std::string::npos) << refused;
}

TEST_F(ContractVersions, a_javascript_client_sends_a_64_bit_id_as_a_string_and_null_for_absent) {
  // 2^53 + 1, which a JavaScript number cannot hold; "locale": null means absent.
  const std::string response =
      post(older->http_port(), "/people.v1.Profiles/get", R"({"id":"9007199254740993","locale":null})");
  ASSERT_EQ(rawhttp::status_of(response), 200) << response;
  EXPECT_EQ(rawhttp::body_of(response), R"({"id":9007199254740993,"name":"Bob","nickname":"bobby","tier":"gold"})");
  {
    std::lock_guard lock(seen.mutex);
    ASSERT_TRUE(seen.rev1.has_value());
    EXPECT_EQ(seen.rev1->id, 9007199254740993LL);
    EXPECT_EQ(seen.rev1->locale, "en");
  }
  // Out of range as a string: refused with the field's path, like the number would be.
  const std::string refused = post(older->http_port(), "/people.v1.Profiles/get", R"({"id":"9223372036854775808"})");
  EXPECT_EQ(rawhttp::status_of(refused), 400);
  EXPECT_NE(rawhttp::body_of(refused).find("field 'id': 9223372036854775808 is out of range for int64"),
            std::string::npos)
      << refused;
  // null for a required member is still refused.
  const std::string null_id = post(older->http_port(), "/people.v1.Profiles/get", R"({"id":null})");
  EXPECT_EQ(rawhttp::status_of(null_id), 400);
  EXPECT_NE(rawhttp::body_of(null_id).find("field 'id': required, but null"), std::string::npos) << null_id;
}

}  // namespace
