// The identity and evolution checks of the conformance kit: each passes on the good
// service and fails, alone, on a service broken the way a hurried user breaks it — an
// operation added without an access declaration, configuration that closes an operation
// the contract opens, a contract changed under its committed lock.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "pit/testing.hpp"
#include "support/kit_services.hpp"

namespace kit_access {

// A second contract on the good host, whose author gave `restore` its faults and forgot
// who may call it.
struct Restore {
  std::string id;
};
BOOST_DESCRIBE_STRUCT(Restore, (), (id))

class Archive {
 public:
  virtual ~Archive() = default;

 protected:
  virtual kit::Note restore(Restore) = 0;
  virtual kit::Pong ping(kit::Ping) = 0;
};
PIT_CONTRACT(Archive, "kit.v1.Archive", (restore, pit::OpSpec{}.raises(pit::Code::not_found)),
             (ping, pit::OpSpec{}.anonymous("test")));

class ArchiveService final : public Archive {
  kit::Note restore(Restore req) override { return kit::Note{req.id, "restored"}; }
  kit::Pong ping(kit::Ping req) override { return kit::Pong{req.from}; }
};

// A contract open to strangers with no word of why.
class Status {
 public:
  virtual ~Status() = default;

 protected:
  virtual kit::Pong ping(kit::Ping) = 0;
};
PIT_CONTRACT(Status, "kit.v1.Status", (ping, pit::OpSpec{}.anonymous("")));

class StatusService final : public Status {
  kit::Pong ping(kit::Ping req) override { return kit::Pong{req.from}; }
};

// kit.v1.Notes as it was when its lock was written: its notes had an author, which the
// current code no longer sends (field_removed on the reply: old callers read it).
struct OldNote {
  std::string id;
  std::string text;
  std::string author;
};
BOOST_DESCRIBE_STRUCT(OldNote, (), (id, text, author))

class OldNotes {
 public:
  virtual ~OldNotes() = default;

 protected:
  virtual pit::Task<kit::NoteId> add(kit::AddNote) = 0;
  virtual OldNote get(kit::GetNote) = 0;
  virtual kit::Pong ping(kit::Ping) = 0;
};
PIT_CONTRACT(OldNotes, "kit.v1.Notes",
             (add, pit::OpSpec{}
                       .require(pit::scope("notes.write"))
                       .raises(pit::Code::invalid_argument, pit::Code::already_exists)
                       .timeout(std::chrono::seconds(2))),
             (get, pit::OpSpec{}.require(pit::scope("notes.read")).raises(pit::Code::not_found).idempotent()),
             (ping, pit::OpSpec{}.anonymous("a liveness probe for the load balancer").idempotent()));

}  // namespace kit_access

namespace {

using pit::testing::Report;
using pit::testing::Result;
using pit::testing::Verdict;

using kit::text_of;

// Every result of `check`, on `target` when given, has that verdict (and there is one).
void expect_all(const Report& report, std::string_view check, std::string_view target, Verdict verdict) {
  const auto results = report.of(check, target);
  EXPECT_FALSE(results.empty()) << check << " " << target;
  for (const Result& r : results) {
    EXPECT_EQ(r.verdict, verdict) << r.check << " " << r.target << " (" << r.transport << "): " << r.message;
  }
}

// Nothing but `check` failed anywhere, and it failed only on `broken` (empty: the host).
void expect_only_failure(const Report& report, std::string_view check, std::string_view broken) {
  for (const Result& r : report.results()) {
    if (r.verdict != Verdict::failed) continue;
    EXPECT_EQ(r.check, check) << "another check failed too: " << r.check << " " << r.target << ": " << r.message;
    EXPECT_EQ(r.target, broken.empty() ? "host" : broken) << r.message;
  }
}

// The checks other than `keep`, left out (for tests about one branch of one check).
pit::testing::Hints only(pit::testing::Hints hints, std::string_view keep) {
  for (const auto& c : pit::testing::checks()) {
    if (c.name != keep) hints.skip_checks[std::string(c.name)] = "not this test's subject";
  }
  return hints;
}

TEST(KitIdentity, passes_on_the_good_service_each_way_and_shows_why_an_operation_is_anonymous) {
  kit::GoodHost good;
  const Report report = pit::testing::check_guarantees(*good.host, only(good.hints, "identity"));
  ASSERT_EQ(report.of("identity").size(), 6U) << text_of(report);  // 3 operations, in-process and HTTP
  expect_all(report, "identity", "", Verdict::passed);
  for (const Result& r : report.of("identity", "kit.v1.Notes/ping")) {
    EXPECT_NE(r.message.find("a liveness probe for the load balancer"), std::string::npos) << r.message;
  }
  for (const Result& r : report.of("identity", "kit.v1.Notes/add")) {
    EXPECT_NE(r.message.find("scope:notes.write"), std::string::npos) << r.message;
  }
}

TEST(KitIdentity, fails_an_operation_declared_without_access_and_nothing_else) {
  kit::GoodHost good;
  good.host->serve<kit_access::Archive, kit_access::ArchiveService>();
  const Report report = pit::testing::check_guarantees(*good.host, good.hints);
  const auto failed = report.of("identity", "kit.v1.Archive/restore");
  ASSERT_EQ(failed.size(), 2U) << text_of(report);
  for (const Result& r : failed) {
    EXPECT_EQ(r.verdict, Verdict::failed) << r.message;
    EXPECT_NE(r.message.find("declares no access"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(".require("), std::string::npos) << r.message;  // how to fix it
    // The kit also saw pit refuse a caller with a credential, as closed-by-default promises.
    EXPECT_NE(r.message.find("and so is one with"), std::string::npos) << r.message;
  }
  expect_all(report, "identity", "kit.v1.Archive/ping", Verdict::passed);
  // Every other check passes on every other operation. (An undeclared operation refuses
  // the kit's own calls, so what other checks say about it is not asserted here.)
  for (const Result& r : report.results()) {
    if (r.target == "kit.v1.Archive/restore") continue;
    EXPECT_NE(r.verdict, Verdict::failed) << r.check << " " << r.target << " (" << r.transport << "): " << r.message;
  }
}

TEST(KitIdentity, fails_an_anonymous_operation_configuration_closes_to_strangers_and_nothing_else) {
  // Scopes required of the whole contract in configuration: the intended callers hold
  // them, but the load balancer's probe has no credential and is now refused.
  kit::GoodHost good{[](pit::HostOptions& o) { o.operations["kit.v1.Notes"].require_scopes = {"notes.read"}; }};
  const Report report = pit::testing::check_guarantees(*good.host, good.hints);
  const auto failed = report.of("identity", "kit.v1.Notes/ping");
  ASSERT_EQ(failed.size(), 2U) << text_of(report);
  for (const Result& r : failed) {
    EXPECT_EQ(r.verdict, Verdict::failed) << r.message;
    EXPECT_NE(r.message.find("declares the operation anonymous"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("scope notes.read"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("require_scopes"), std::string::npos) << r.message;
  }
  expect_only_failure(report, "identity", "kit.v1.Notes/ping");
}

TEST(KitIdentity, fails_an_anonymous_operation_without_a_reason) {
  kit::GoodHost good;
  good.host->serve<kit_access::Status, kit_access::StatusService>();
  const Report report = pit::testing::check_guarantees(*good.host, only(good.hints, "identity"));
  const auto failed = report.of("identity", "kit.v1.Status/ping");
  ASSERT_EQ(failed.size(), 2U) << text_of(report);
  for (const Result& r : failed) {
    EXPECT_EQ(r.verdict, Verdict::failed) << r.message;
    EXPECT_NE(r.message.find("no reason"), std::string::npos) << r.message;
  }
  expect_only_failure(report, "identity", "kit.v1.Status/ping");
}

TEST(KitIdentity, fails_when_configuration_shuts_out_the_hints_credential) {
  // A role the service's real callers (the hints' credential) do not have.
  kit::GoodHost good{[](pit::HostOptions& o) { o.operations["kit.v1.Notes/get"].require_roles = {"support"}; }};
  const Report report = pit::testing::check_guarantees(*good.host, only(good.hints, "identity"));
  const auto failed = report.of("identity", "kit.v1.Notes/get");
  ASSERT_EQ(failed.size(), 2U) << text_of(report);
  for (const Result& r : failed) {
    EXPECT_EQ(r.verdict, Verdict::failed) << r.message;
    EXPECT_NE(r.message.find("was refused"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("role support"), std::string::npos) << r.message;
  }
  expect_only_failure(report, "identity", "kit.v1.Notes/get");
}

TEST(KitIdentity, without_credentials_in_the_hints_still_checks_every_refusal) {
  kit::GoodHost good;
  pit::testing::Hints hints = only(good.hints, "identity");
  hints.authorization.clear();
  hints.identity.reset();
  const Report report = pit::testing::check_guarantees(*good.host, hints);
  expect_all(report, "identity", "", Verdict::passed);
  for (const Result& r : report.of("identity", "kit.v1.Notes/add")) {
    EXPECT_NE(r.message.find("not checked with a credential"), std::string::npos) << r.message;
  }
}

TEST(KitEvolution, passes_when_the_contracts_honour_the_lock_in_the_hints) {
  kit::GoodHost good;
  const Report report = pit::testing::check_guarantees(*good.host, only(good.hints, "evolution"));
  expect_all(report, "evolution", "host", Verdict::passed);
}

TEST(KitEvolution, fails_a_contract_changed_under_its_lock_and_nothing_else) {
  kit::GoodHost good;
  // The lock as committed before the reply lost its field.
  std::ofstream{good.lock.path} << pit::lock::snapshot(pit::lock::contracts<kit_access::OldNotes>());
  const Report report = pit::testing::check_guarantees(*good.host, good.hints);
  const auto results = report.of("evolution");
  ASSERT_EQ(results.size(), 1U) << text_of(report);
  EXPECT_EQ(results[0].verdict, Verdict::failed);
  EXPECT_NE(results[0].message.find("field_removed"), std::string::npos) << results[0].message;
  EXPECT_NE(results[0].message.find("kit.v1.Notes/get reply: author"), std::string::npos) << results[0].message;
  EXPECT_NE(results[0].message.find("--contract-lock write " + good.lock.path), std::string::npos)
      << results[0].message;
  expect_only_failure(report, "evolution", "");
}

TEST(KitEvolution, fails_when_the_lock_in_the_hints_is_missing) {
  kit::GoodHost good;
  pit::testing::Hints hints = only(good.hints, "evolution");
  hints.lock_file = good.lock.path + ".gone";
  const Report report = pit::testing::check_guarantees(*good.host, hints);
  expect_all(report, "evolution", "host", Verdict::failed);
  EXPECT_NE(report.of("evolution")[0].message.find("could not be used"), std::string::npos)
      << report.of("evolution")[0].message;
}

// Runs `body` with the working directory a fresh temporary one, then restores it.
template <class Body>
void in_temp_dir(Body body) {
  const auto before = std::filesystem::current_path();
  char name[] = "/tmp/pit-kit-cwd-XXXXXX";
  ASSERT_NE(mkdtemp(name), nullptr);
  std::filesystem::current_path(name);
  body();
  std::filesystem::current_path(before);
  std::filesystem::remove_all(name);
}

TEST(KitEvolution, reads_contracts_lock_in_the_working_directory_else_skips_saying_how_to_write_one) {
  kit::GoodHost good;
  pit::testing::Hints hints = only(good.hints, "evolution");
  hints.lock_file.clear();
  in_temp_dir([&] {
    const Report none = pit::testing::check_guarantees(*good.host, hints);
    expect_all(none, "evolution", "host", Verdict::skipped);
    EXPECT_NE(none.of("evolution")[0].message.find("pit::lock::write(host, \"contracts.lock\")"), std::string::npos)
        << none.of("evolution")[0].message;
    std::filesystem::copy_file(good.lock.path, "contracts.lock");
    const Report found = pit::testing::check_guarantees(*good.host, hints);
    expect_all(found, "evolution", "host", Verdict::passed);
    EXPECT_NE(found.of("evolution")[0].message.find("contracts.lock"), std::string::npos);
  });
}

}  // namespace
