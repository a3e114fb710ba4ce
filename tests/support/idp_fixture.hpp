// The tests' identity provider (tests/idp/idp.mjs, npm oidc-provider) from a C++ test: a node
// child process on a free loopback port, with the configuration a test gives it (JSON,
// tests/idp/README.md), stopped (SIGTERM, then SIGKILL) when the object goes. The child dies
// with the test process, even if that is killed.
//
//   pit::testing::IdentityProvider idp(R"({"resources": {...}, "clients": [...]})");
//   if (!idp.started()) GTEST_SKIP() << idp.why_not();   // only when node is missing
//   idp.issuer();   // http://127.0.0.1:PORT
//
// Needs PIT_SOURCE_DIR (the repository root) defined for the test target, node on PATH (or
// $PIT_NODE) and tests/idp/node_modules (the CTest fixture idp_install).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "transport/http/fetch.hpp"

namespace pit::testing {

class IdentityProvider {
 public:
  // Throws std::runtime_error when node is there but the provider does not start.
  explicit IdentityProvider(const std::string& config_json) {
    node_ = find_node();
    if (node_.empty()) {
      why_not_ = "node is not installed (scripts/deps.sh installs it)";
      return;
    }
    const std::string script = std::string(PIT_SOURCE_DIR) + "/tests/idp/idp.mjs";
    if (!exists(std::string(PIT_SOURCE_DIR) + "/tests/idp/node_modules/oidc-provider")) {
      throw std::runtime_error("tests/idp/node_modules is missing: run tests/idp/install.sh");
    }
    char dir_template[] = "/tmp/pit-idp-XXXXXX";
    if (!::mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
    config_ = dir_ + "/idp.json";
    std::ofstream(config_) << config_json;
    start(script);
  }
  ~IdentityProvider() {
    stop();
    if (!dir_.empty()) {
      ::unlink(config_.c_str());
      ::unlink((dir_ + "/idp.stderr").c_str());
      ::rmdir(dir_.c_str());
    }
  }
  IdentityProvider(const IdentityProvider&) = delete;
  IdentityProvider& operator=(const IdentityProvider&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0; }
  [[nodiscard]] const std::string& why_not() const { return why_not_; }
  [[nodiscard]] unsigned short port() const { return port_; }
  [[nodiscard]] std::string issuer() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string token_endpoint() const { return issuer() + "/token"; }
  [[nodiscard]] std::string jwks_uri() const { return issuer() + "/jwks"; }

  // SIGTERM, then SIGKILL after 10 s; returns the exit status (waitpid's), or -1 if not running.
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1000; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  // The test-only controls (tests/idp/README.md): the body of the answer, "" on failure.
  std::string rotate(bool drop_old = false) {
    return control("POST", drop_old ? "/__test/rotate?drop_old=1" : "/__test/rotate");
  }
  std::string stats() { return control("GET", "/__test/stats"); }
  std::string fail_next(int count, int status = 503) {
    return control("POST",
                   "/__test/fail?status=" + std::to_string(status) + "&count=" + std::to_string(count));
  }
  // A number from stats(), e.g. "token_requests" or "jwks_fetches"; -1 if absent.
  long stat(const std::string& name) {
    const auto body = stats();
    const auto at = body.find("\"" + name + "\":");
    return at == std::string::npos ? -1 : std::stol(body.substr(at + name.size() + 3));
  }

 private:
  static bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }
  static std::string find_node() {
    if (const char* n = std::getenv("PIT_NODE"); n && *n) return n;
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t begin = 0;
    while (begin <= dirs.size()) {
      const auto end = std::min(dirs.find(':', begin), dirs.size());
      const auto candidate = dirs.substr(begin, end - begin) + "/node";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      begin = end + 1;
    }
    return {};
  }

  void start(const std::string& script) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const std::string err = dir_ + "/idp.stderr";
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out[1], 1);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (e >= 0) ::dup2(e, 2);
      const char* argv[] = {node_.c_str(), script.c_str(), config_.c_str(), "0", nullptr};
      ::execv(node_.c_str(), const_cast<char* const*>(argv));
      ::_exit(127);
    }
    ::close(out[1]);
    // The first stdout line: "listening 127.0.0.1:PORT".
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{out[0], POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[256];
      const auto n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    constexpr std::string_view prefix = "listening 127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) {
      stop();
      std::ifstream in(err);
      const std::string errors((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      throw std::runtime_error("the identity provider did not start: " + line + errors);
    }
    port_ = static_cast<unsigned short>(std::stoul(line.substr(prefix.size())));
  }

  std::string control(const std::string& method, const std::string& path) {
    pit::detail::FetchRequest req;
    req.method = method;
    req.url = issuer() + path;
    req.timeout = std::chrono::seconds(20);
    const auto r = pit::detail::fetch(req);
    return r.status == 200 ? r.body : std::string();
  }

  std::string node_;
  std::string dir_;
  std::string config_;
  std::string why_not_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

}  // namespace pit::testing
