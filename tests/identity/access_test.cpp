// Access is a guarantee of the pipeline: declared once per operation, checked for every
// call from every entry point, closed by default, and audited. These tests use in-process
// identities (pit::service_identity) and plain HTTP; tokens are tested in jwt_test and,
// with a real identity provider, in the e2e suites.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <memory>
#include <chrono>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "pit/audit.hpp"
#include "support/audit_lines.hpp"
#include "pit/config.hpp"
#include "pit/pit.hpp"
#include "support/raw_http.hpp"

namespace vault {

struct Item {
  std::string name;
};
BOOST_DESCRIBE_STRUCT(Item, (), (name))
struct Seen {
  std::string subject;
  std::string method;
  int actors = 0;
};
BOOST_DESCRIBE_STRUCT(Seen, (), (subject, method, actors))

class Vault {
 public:
  virtual ~Vault() = default;

 protected:
  virtual pit::Task<Seen> open(Item) = 0;
  virtual pit::Task<Seen> read(Item) = 0;
  virtual Seen write(Item) = 0;  // sync: runs on the worker pool
  virtual pit::Task<Seen> sealed(Item) = 0;
  virtual pit::Task<Seen> relay(Item) = 0;
  virtual pit::Task<Seen> inspect(Item) = 0;
};
PIT_CONTRACT(Vault, "test.v1.Vault",
             (open, pit::OpSpec{}.anonymous("a probe anyone may call")),
             (read, pit::OpSpec{}.require(pit::any_of(pit::scope("vault.read"), pit::role("auditor")))),
             (write, pit::OpSpec{}.require(pit::scope("vault.write"))),
             (sealed, pit::OpSpec{}.raises(pit::Code::not_found)),  // declares no access: closed
             // A callee's refusal reaches relay's caller only because relay declares it (else: masked).
             (relay, pit::OpSpec{}.require(pit::scope("vault.relay")).raises(pit::Code::permission_denied)),
             (inspect, pit::OpSpec{}.require(pit::authenticated())));

Seen seen() {
  const pit::Principal& who = pit::caller();
  return {who.subject, std::string{pit::to_string(who.method)}, static_cast<int>(who.actors.size())};
}

class VaultService final : public Vault {
 public:
  explicit VaultService(pit::Ref<Vault> self) : self_(std::move(self)) {}

 protected:
  pit::Task<Seen> open(Item) override { co_return seen(); }
  pit::Task<Seen> read(Item) override { co_return seen(); }
  Seen write(Item) override { return seen(); }
  pit::Task<Seen> sealed(Item) override { co_return seen(); }
  pit::Task<Seen> relay(Item item) override { co_return co_await self_->write_async(item); }
  pit::Task<Seen> inspect(Item item) override {
    pit::authorize(pit::role("owner"), "item " + item.name);
    co_return seen();
  }

 private:
  pit::Ref<Vault> self_;
};

using AuditLines = testing_support::AuditLines;

class Access : public ::testing::Test {
 protected:
  virtual pit::HostOptions options() {
    pit::HostOptions o;
    o.log_sink = logs;
    o.http.listen = "127.0.0.1:0";
    o.audit.sink = audit;
    return o;
  }
  void start() {
    host = std::make_unique<pit::Host>(options());
    host->serve<Vault, VaultService>(host->client<Vault>());
    vault = host->client<Vault>();
    host->start();
  }
  void TearDown() override {
    if (host) host->stop();
  }
  template <class F>
  static pit::Code code_of(F&& f) {
    try {
      f();
    } catch (const pit::Fault& fault) {
      return fault.code();
    }
    return pit::Code::ok;
  }
  static std::shared_ptr<const pit::Principal> as(std::vector<std::string> scopes, std::vector<std::string> roles = {}) {
    return pit::service_identity("tester", std::move(scopes), std::move(roles));
  }
  std::vector<std::string> logged(std::string_view needle) const {
    pit::log::flush();
    std::vector<std::string> out;
    for (const auto& l : logs->lines()) {
      if (l.find(needle) != std::string::npos) out.push_back(l);
    }
    return out;
  }
  std::string post(const std::string& op, const std::string& extra_headers = {}) {
    rawhttp::Connection c(host->http_port());
    const std::string body = R"({"name":"x"})";
    c.send("POST /test.v1.Vault/" + op + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    return c.read_response();
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  std::shared_ptr<AuditLines> audit = std::make_shared<AuditLines>();
  std::unique_ptr<pit::Host> host;
  pit::Ref<Vault> vault;
};

TEST_F(Access, an_operation_that_declares_nothing_refuses_an_anonymous_caller_unauthenticated) {
  start();
  EXPECT_EQ(code_of([&] { pit::block_on(vault->sealed({"x"})); }), pit::Code::unauthenticated);
}

TEST_F(Access, an_operation_that_declares_nothing_refuses_every_identity_permission_denied) {
  start();
  pit::CallerScope scope{{.identity = as({"vault.read", "vault.write", "vault.relay"}, {"auditor", "owner", "admin"})}};
  EXPECT_EQ(code_of([&] { pit::block_on(vault->sealed({"x"})); }), pit::Code::permission_denied);
  const auto records = audit->with(R"("operation":"sealed")", 1);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_NE(records[0].find("undeclared"), std::string::npos);
}

TEST_F(Access, start_names_each_operation_without_access_once_and_counts_them) {
  start();
  const auto lines = logged("operation declares no access");
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find("test.v1.Vault/sealed"), std::string::npos);
}

class AccessNarrowed : public Access {
 protected:
  pit::HostOptions options() override {
    auto o = Access::options();
    o.operations["test.v1.Vault/read"].require_scopes = {"vault.extra"};
    o.operations["test.v1.Vault/sealed"].require_scopes = {"vault.read"};  // tries to open it
    o.operations["test.v1.Vault/open"].require_roles = {"prober"};
    return o;
  }
};

TEST_F(AccessNarrowed, configuration_adds_requirements_to_a_declared_operation) {
  start();
  {
    pit::CallerScope scope{{.identity = as({"vault.read"})}};
    EXPECT_EQ(code_of([&] { pit::block_on(vault->read({"x"})); }), pit::Code::permission_denied);
  }
  pit::CallerScope scope{{.identity = as({"vault.read", "vault.extra"})}};
  EXPECT_EQ(code_of([&] { pit::block_on(vault->read({"x"})); }), pit::Code::ok);
}

TEST_F(AccessNarrowed, configuration_never_opens_an_operation_the_code_leaves_closed) {
  start();
  pit::CallerScope scope{{.identity = as({"vault.read", "vault.extra"}, {"prober"})}};
  EXPECT_EQ(code_of([&] { pit::block_on(vault->sealed({"x"})); }), pit::Code::permission_denied);
}

TEST_F(AccessNarrowed, configuration_can_close_an_anonymous_operation_to_strangers) {
  start();
  EXPECT_EQ(code_of([&] { pit::block_on(vault->open({"x"})); }), pit::Code::unauthenticated);
  pit::CallerScope scope{{.identity = as({}, {"prober"})}};
  EXPECT_EQ(code_of([&] { pit::block_on(vault->open({"x"})); }), pit::Code::ok);
}

TEST(AccessConfig, there_is_no_configuration_key_that_opens_an_operation) {
  for (const char* key : {"anonymous = true", "access = \"anonymous\"", "require_scopes = \"\"", "allow = true"}) {
    const std::string toml = std::string{"[contracts.\"test.v1.Vault\".operations.sealed]\n"} + key + "\n";
    try {
      const auto o = pit::Config::from_toml(toml, "<test>", nullptr);
      // The only key that parses narrows (an empty list adds nothing): the operation stays closed.
      EXPECT_TRUE(o.operations.at("test.v1.Vault/sealed").require_scopes.empty()) << key;
    } catch (const pit::ConfigError&) {
      // refused: good
    }
  }
}

TEST_F(Access, a_declared_scope_admits_its_holders_and_refuses_others) {
  start();
  EXPECT_EQ(code_of([&] { vault->write({"x"}); }), pit::Code::unauthenticated);
  {
    pit::CallerScope scope{{.identity = as({"vault.read"})}};
    EXPECT_EQ(code_of([&] { vault->write({"x"}); }), pit::Code::permission_denied);
  }
  pit::CallerScope scope{{.identity = as({"vault.write"})}};
  EXPECT_EQ(vault->write({"x"}).subject, "tester");
}

TEST_F(Access, any_of_admits_either_alternative) {
  start();
  {
    pit::CallerScope scope{{.identity = as({}, {"auditor"})}};
    EXPECT_EQ(code_of([&] { pit::block_on(vault->read({"x"})); }), pit::Code::ok);
  }
  pit::CallerScope scope{{.identity = as({"vault.read"})}};
  EXPECT_EQ(code_of([&] { pit::block_on(vault->read({"x"})); }), pit::Code::ok);
}

TEST_F(Access, an_anonymous_operation_is_open_to_strangers) {
  start();
  const Seen s = pit::block_on(vault->open({"x"}));
  EXPECT_EQ(s.method, "none");
  EXPECT_EQ(audit->with("anonymous_operation", 1).size(), 1U);
}

TEST_F(Access, a_nested_in_process_call_is_checked_against_the_callees_declaration) {
  start();
  {
    pit::CallerScope scope{{.identity = as({"vault.relay"})}};
    EXPECT_EQ(code_of([&] { pit::block_on(vault->relay({"x"})); }), pit::Code::permission_denied);
  }
  pit::CallerScope scope{{.identity = as({"vault.relay", "vault.write"})}};
  EXPECT_EQ(pit::block_on(vault->relay({"x"})).subject, "tester");  // the callee saw the same caller
  EXPECT_EQ(audit->with(R"("operation":"write")", 2).size(), 2U);
}

TEST_F(Access, code_outside_any_call_acts_under_the_identity_of_its_scope) {
  start();
  EXPECT_FALSE(pit::caller().authenticated());
  pit::CallerScope scope{{.identity = pit::service_identity("nightly-job", {"vault.write"})}};
  EXPECT_EQ(pit::caller().subject, "nightly-job");
  const Seen s = vault->write({"x"});
  EXPECT_EQ(s.subject, "nightly-job");
  EXPECT_EQ(s.method, "service");
}

TEST_F(Access, authorize_inside_an_operation_refuses_and_is_audited_with_its_resource) {
  start();
  {
    pit::CallerScope scope{{.identity = as({})}};
    EXPECT_EQ(code_of([&] { pit::block_on(vault->inspect({"7"})); }), pit::Code::permission_denied);
  }
  pit::CallerScope scope{{.identity = as({}, {"owner"})}};
  EXPECT_EQ(pit::block_on(vault->inspect({"7"})).subject, "tester");
  const auto records = audit->with(R"("resource":"item 7")", 2);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_NE(records[0].find(R"("decision":"deny")"), std::string::npos);
  EXPECT_NE(records[1].find(R"("decision":"allow")"), std::string::npos);
}

TEST_F(Access, every_decision_leaves_one_audit_record_with_the_callers_ids) {
  start();
  {
    pit::CallerScope scope{{.correlation_id = "job-77", .identity = as({"vault.write"})}};
    (void)vault->write({"x"});
    EXPECT_EQ(code_of([&] { pit::block_on(vault->sealed({"x"})); }), pit::Code::permission_denied);
  }
  const auto records = audit->with("job-77", 2);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_NE(records[0].find(R"("subject":"tester")"), std::string::npos);
  EXPECT_NE(records[0].find(R"("rule":"scope:vault.write")"), std::string::npos);
}

TEST_F(Access, over_http_a_caller_without_credentials_gets_401_with_a_bearer_challenge) {
  start();
  const auto response = post("write");
  EXPECT_NE(response.find("HTTP/1.1 401"), std::string::npos) << response;
  EXPECT_NE(response.find("WWW-Authenticate: Bearer\r\n"), std::string::npos) << response;
}

TEST_F(Access, over_plaintext_a_bearer_token_is_refused_unless_allowed_and_the_reason_stays_private) {
  start();
  const auto response = post("write", "Authorization: Bearer abc.def.ghi\r\n");
  EXPECT_NE(response.find("HTTP/1.1 401"), std::string::npos) << response;
  EXPECT_NE(response.find(R"(WWW-Authenticate: Bearer error="invalid_token")"), std::string::npos) << response;
  EXPECT_EQ(response.find("plaintext"), std::string::npos) << response;  // the why is for the audit log
  EXPECT_EQ(audit->with("bearer_over_plaintext", 1).size(), 1U);
  EXPECT_EQ(audit->with("abc.def.ghi", 0).size(), 0U);  // never the token
}

TEST_F(Access, over_http_an_undeclared_operation_refuses_with_403_when_a_credential_was_checked) {
  start();
  // A token that cannot be verified never reaches authorization: 401, not 403.
  const auto response = post("sealed", "Authorization: Basic dXNlcjpwdw==\r\n");
  EXPECT_NE(response.find("HTTP/1.1 401"), std::string::npos) << response;
  EXPECT_NE(post("open").find("HTTP/1.1 200"), std::string::npos);
}

}  // namespace vault
