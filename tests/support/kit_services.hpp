// A small service that keeps every guarantee, for the conformance kit's own tests: the
// kit must pass on it (tests/testing/kit_test.cpp), and each mutation test breaks it in
// exactly one way (a configuration, a policy, a mapper, a sink) and sees exactly one
// check fail. Served over HTTP and the admin listener on loopback, with bearer tokens
// from a DevSigner key and in-process calls as a service identity.
#pragma once

#include <boost/describe.hpp>

#include <chrono>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "identity/dev_signer.hpp"
#include "pit/lock.hpp"
#include "pit/pit.hpp"
#include "pit/testing.hpp"

namespace kit {

// A report as the kit prints it: every failed and skipped result, then the counts (for a
// failed assertion's message).
inline std::string text_of(const pit::testing::Report& report) {
  std::ostringstream out;
  out << report;
  return out.str();
}

enum class Mood { calm, busy, away };
BOOST_DESCRIBE_ENUM(Mood, calm, busy, away)

struct Author {
  std::string name;
  int age = 0;
};
BOOST_DESCRIBE_STRUCT(Author, (), (name, age))

struct AddNote {
  std::string text;
  std::vector<std::string> tags;
  std::optional<int> priority;
  Author author;
  Mood mood = Mood::calm;
  std::map<std::string, double> weights;
  bool pinned = false;
};
BOOST_DESCRIBE_STRUCT(AddNote, (), (text, tags, priority, author, mood, weights, pinned))
struct NoteId {
  std::string id;
};
BOOST_DESCRIBE_STRUCT(NoteId, (), (id))
struct GetNote {
  std::string id;
};
BOOST_DESCRIBE_STRUCT(GetNote, (), (id))
struct Note {
  std::string id;
  std::string text;
};
BOOST_DESCRIBE_STRUCT(Note, (), (id, text))
struct Ping {
  std::string from;
};
BOOST_DESCRIBE_STRUCT(Ping, (), (from))
struct Pong {
  std::string to;
};
BOOST_DESCRIBE_STRUCT(Pong, (), (to))

class Notes {
 public:
  virtual ~Notes() = default;

 protected:
  virtual pit::Task<NoteId> add(AddNote) = 0;  // coroutine: the I/O threads
  virtual Note get(GetNote) = 0;               // sync: the worker pool
  virtual Pong ping(Ping) = 0;                 // open to anyone
};
PIT_CONTRACT(Notes, "kit.v1.Notes",
             (add, pit::OpSpec{}
                       .require(pit::scope("notes.write"))
                       .raises(pit::Code::invalid_argument, pit::Code::already_exists)
                       .timeout(std::chrono::seconds(2))),
             (get, pit::OpSpec{}.require(pit::scope("notes.read")).raises(pit::Code::not_found).idempotent()),
             (ping, pit::OpSpec{}.anonymous("a liveness probe for the load balancer").idempotent()));

// Naive and well-behaved: refuses an empty text (declared), logs through pit::log.
class NotesService final : public Notes {
  pit::Task<NoteId> add(AddNote req) override {
    if (req.text.empty()) throw pit::Fault::invalid_argument("text must not be empty");
    pit::log::info("note added", {{"tags", static_cast<std::int64_t>(req.tags.size())}});
    co_return NoteId{"n-" + std::to_string(req.text.size())};
  }
  Note get(GetNote req) override {
    if (req.id.empty()) throw pit::Fault::not_found("no such note");
    return Note{req.id, "hello"};
  }
  Pong ping(Ping req) override { return Pong{req.from}; }
};

inline constexpr std::string_view kIssuer = "https://idp.kit.test";

// The key whose tokens the host accepts, and its JWKS in a file the host reads.
struct Keys {
  pit::detail::identity::DevSigner signer{pit::detail::identity::DevSigner::Alg::ES256, "kit-1"};
  std::string jwks_path;
  Keys() {
    char name[] = "/tmp/pit-kit-jwks-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp");
    ::close(fd);
    jwks_path = name;
    std::ofstream{jwks_path} << signer.jwks();
  }
  ~Keys() { std::remove(jwks_path.c_str()); }
  Keys(const Keys&) = delete;
  Keys& operator=(const Keys&) = delete;
  [[nodiscard]] std::string bearer(std::string_view scope = "notes.write notes.read") const {
    return "Bearer " + signer.access_token(kIssuer, "kit.v1.Notes", "kit-tester", scope, std::chrono::hours(1));
  }
};

// The options of the good host: HTTP and admin on loopback, tokens of `keys` accepted on
// plaintext (loopback), logs in memory (and so in the kit's tap in front of them).
inline pit::HostOptions good_options(const Keys& keys, std::shared_ptr<pit::log::MemorySink> logs) {
  pit::HostOptions o;
  o.io_threads = 2;
  o.http.listen = "127.0.0.1:0";
  o.admin.listen = "127.0.0.1:0";
  o.auth.issuer = std::string(kIssuer);
  o.auth.jwks_file = keys.jwks_path;
  o.auth.plaintext_bearer = true;
  o.admission.max_in_flight = 64;
  o.admission.max_queue = 16;
  o.log_sink = std::move(logs);
  return o;
}

// What the kit needs to know about the good service: credentials and a valid add.
inline pit::testing::Hints good_hints(const Keys& keys) {
  pit::testing::Hints h;
  h.authorization = keys.bearer();
  h.identity = pit::service_identity("kit-tester", {"notes.write", "notes.read"});
  h.requests["kit.v1.Notes/add"] = R"({"text":"buy milk","tags":["home"],"author":{"name":"ann","age":30}})";
  h.requests["kit.v1.Notes/get"] = R"({"id":"n-1"})";
  return h;
}

// A file under /tmp, removed with this.
struct TempFile {
  std::string path;
  TempFile() {
    char name[] = "/tmp/pit-kit-file-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp");
    ::close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

// A good host, not started, with one change made by `mutate` (a mutation test's breakage)
// before the service is served. Its compatibility lock, written from the contracts it
// serves (what the service's repository commits), is in hints.lock_file.
struct GoodHost {
  TempFile lock;
  Keys keys;
  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  std::unique_ptr<pit::Host> host;
  pit::testing::Hints hints = good_hints(keys);

  explicit GoodHost(const std::function<void(pit::HostOptions&)>& mutate = {}) {
    pit::HostOptions o = good_options(keys, logs);
    if (mutate) mutate(o);
    host = std::make_unique<pit::Host>(std::move(o));
    host->serve<Notes, NotesService>();
    std::ofstream{lock.path} << pit::lock::snapshot(host->contracts());
    hints.lock_file = lock.path;
  }
  ~GoodHost() {
    if (host) host->stop();
  }
  GoodHost(const GoodHost&) = delete;
  GoodHost& operator=(const GoodHost&) = delete;
};

}  // namespace kit
