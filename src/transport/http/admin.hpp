// The admin listener's diagnostics pages (docs/diagnostics.md): /status, /config, /calls,
// /calls/recent, /calls/slowest, /clients and /log-level, each one JSON object. The HTTP
// server hands them a request without Beast types, so neither this header nor its users
// see Beast.
//
// Who may ask: anything that changes state needs POST and admin.token as a bearer
// credential (none configured: refused, 403); the read-only pages are open on a loopback
// listener and need the token elsewhere.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "pit/task.hpp"
#include "runtime/host_state.hpp"

namespace pit::detail {

struct AdminRequest {
  std::string_view method;         // "GET", "HEAD", "POST", ...
  std::string_view path;           // the target without its query
  std::size_t authorizations = 0;  // Authorization headers sent
  std::string_view authorization;  // the first one's value
  std::string_view content_type;
  std::string_view body;
};

struct AdminResponse {
  unsigned status = 200;
  std::string body;                // one JSON object
  std::string allow;               // for 405: the methods the page answers
  std::string www_authenticate;    // for 401
};

class AdminPages {
 public:
  // `loopback`: the admin listener is bound to a loopback address.
  AdminPages(Host::State& host, bool loopback);
  ~AdminPages();
  AdminPages(const AdminPages&) = delete;
  AdminPages& operator=(const AdminPages&) = delete;

  // Whether `path` is one of these pages (the listener serves the others: /metrics, ...).
  [[nodiscard]] static bool serves(std::string_view path) noexcept;
  // Runs on an I/O thread of the host; `req` lives until the answer.
  Task<AdminResponse> serve(const AdminRequest& req);
  // The host stops: a log level set at run time reverts now.
  void stop();

  // The page list for the listener's "not found" answer.
  static constexpr std::string_view kPaths =
      "/status, /config, /calls, /calls/recent, /calls/slowest, /clients, /log-level";

  struct LogLevel;

 private:
  Host::State& host_;
  bool loopback_;
  std::string token_digest_;  // SHA-256 of admin.token; empty: no token configured
  std::shared_ptr<LogLevel> log_level_;
};

}  // namespace pit::detail
