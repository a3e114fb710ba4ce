// The conformance kit's machinery (pit/testing.hpp, docs/testing.md): what every check
// uses to reach the host — its operations, calls in-process and over real HTTP on
// loopback, drills (the kit's own fault injection), the log lines the host wrote, its
// metrics — and to record results. The checks themselves are in checks/, one file per
// family, listed in checks.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/policies/fault_injection.hpp"
#include "pit/host.hpp"
#include "pit/log.hpp"
#include "pit/testing.hpp"
#include "runtime/host_state.hpp"

namespace pit::testing::detail {

struct HostAccess {
  static Host::State& state(Host& host) noexcept { return *host.state_; }
};

// The log lines the host hands to its sink, kept for the kit (and passed on to that sink
// unchanged): the tap the kit puts in front of the configured sink when it attaches.
class LogTap final : public log::Sink {
 public:
  explicit LogTap(std::shared_ptr<log::Sink> next) : next_(std::move(next)) {}
  bool write(std::string_view line) override;
  void flush() override { next_->flush(); }
  // Lines are numbered from the tap's start; a check takes a mark before its call and
  // reads what came after it. At most kMaxLines are kept (the oldest go first).
  [[nodiscard]] std::size_t mark() const;
  [[nodiscard]] std::vector<std::string> since(std::size_t mark) const;
  [[nodiscard]] const std::shared_ptr<log::Sink>& next() const noexcept { return next_; }
  static constexpr std::size_t kMaxLines = 100'000;

 private:
  std::shared_ptr<log::Sink> next_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  std::size_t dropped_ = 0;  // lines before lines_.front()
};

// What the kit leaves on a host it attached to (Host::State::testing_kit).
struct Attachment {
  std::shared_ptr<LogTap> tap;
};

// One operation the kit checks.
struct Target {
  const ContractInfo* contract = nullptr;
  const OperationInfo* operation = nullptr;
  const pit::detail::OperationSettings* settings = nullptr;  // the host's, for served calls
  void* implementation = nullptr;
  [[nodiscard]] const std::string& name() const noexcept { return operation->full_name; }
};

// The two ways into the pipeline.
enum class Via : std::uint8_t { inproc, http };
std::string_view to_string(Via via) noexcept;

// How one call of the kit is made. The defaults: the operation's sample request, no
// deadline of the caller's own, the hints' credential, a fresh idempotency key for a
// deduplicated operation.
struct CallSpec {
  std::optional<std::string> body{};  // the request as sent (JSON, or anything over HTTP)
  std::chrono::milliseconds timeout{0};
  bool credential = true;
  std::string idempotency_key{};  // empty: a fresh one when the operation is deduplicated
  // HTTP only: more header fields, the Content-Type, how long the client waits.
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string content_type = "application/json";
  std::chrono::milliseconds client_timeout{10'000};
  // In-process only: the credential to carry instead of the hints' (with credential set).
  std::shared_ptr<const Principal> identity{};
};

// What the caller got.
struct Answer {
  Code code = Code::ok;
  int status = 0;  // HTTP status (http); 0 in-process or without an answer
  // http: the reply body as sent; inproc: the reply's JSON, or the fault's public message.
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // http
  std::optional<Fault> fault;                                // inproc: what the caller caught
  std::string correlation_id;  // Pit-Request-Id (http), the call's id (inproc)
  std::string trace_id;
  std::string transport_error;  // http: no usable answer (then code is unavailable)
  std::chrono::nanoseconds elapsed{};

  [[nodiscard]] bool ok() const noexcept { return code == Code::ok && transport_error.empty(); }
  // The first header field of that name (any case); empty when there is none.
  [[nodiscard]] std::string header(std::string_view name) const;
  // Everything the caller can read: body, every header, the fault's message, details and
  // cause — where a secret must never be.
  [[nodiscard]] std::string everything() const;
  // "200 ok", "500 internal: internal error", "no answer: ...": for messages.
  [[nodiscard]] std::string summary() const;
};

class Kit {
 public:
  Kit(Host& host, const Hints& hints, Report& report);

  [[nodiscard]] Host& host() const noexcept { return *host_; }
  [[nodiscard]] Host::State& state() const noexcept { return HostAccess::state(*host_); }
  [[nodiscard]] const Hints& hints() const noexcept { return *hints_; }

  // The operations checked: every one served, in order, but those the hints skip.
  [[nodiscard]] const std::vector<Target>& targets() const noexcept { return targets_; }
  // The ways in: in-process always, HTTP when the host has a listener the kit's client
  // can speak to (plain HTTP: a TLS listener is left out, and the report says so).
  [[nodiscard]] std::vector<Via> ways() const;
  [[nodiscard]] bool has_http() const noexcept { return host_->http_port() != 0 && !http_is_tls(); }
  [[nodiscard]] bool http_is_tls() const noexcept { return !host_->options().http.tls_cert_file.empty(); }
  [[nodiscard]] bool has_admin() const noexcept { return host_->admin_port() != 0; }
  // The kit attached before start: drills and the log tap exist.
  [[nodiscard]] bool attached() const noexcept;
  // A failure message for a check that needs the attachment on a host started without it.
  [[nodiscard]] static std::string not_attached_message();

  // The request the kit sends when a check needs a valid one: the hint, else the
  // default-constructed request as JSON.
  [[nodiscard]] std::string sample_request(const Target& target) const;
  // One call, blocking, from a thread of the test (never an I/O thread of the host).
  Answer call(const Target& target, Via via, const CallSpec& spec = {});
  // A raw HTTP exchange with the service listener (path "/shop.v1.Orders/place"), for
  // checks of what arrives before any operation is known; `admin`: the admin listener.
  Answer http(std::string_view method, std::string_view path, const CallSpec& spec, bool admin = false);

  // Arms a drill on the target until the returned guard goes (at most one at a time).
  class Armed {
   public:
    explicit Armed(pit::detail::DrillBoard* board) noexcept : board_(board) {}
    Armed(Armed&& o) noexcept : board_(std::exchange(o.board_, nullptr)) {}
    Armed(const Armed&) = delete;
    Armed& operator=(const Armed&) = delete;
    Armed& operator=(Armed&&) = delete;
    ~Armed() {
      if (board_ != nullptr) board_->disarm();
    }

   private:
    pit::detail::DrillBoard* board_;
  };
  // Throws std::logic_error when the kit is not attached (check attached() first).
  [[nodiscard]] Armed arm(const Target& target, pit::detail::Drill drill);

  // The log lines written since a mark (the tap's; empty and 0 when not attached). The
  // host's logger hands lines to the sink synchronously, so a call's lines are there
  // when the call has returned.
  [[nodiscard]] std::size_t log_mark() const;
  [[nodiscard]] std::vector<std::string> log_since(std::size_t mark) const;

  // The host's metrics as /metrics serves them (Prometheus text), read in-process.
  [[nodiscard]] std::string metrics_text() const;
  // The value of one sample of that text: `name{labels}` exactly as written there, e.g.
  // sample_value(text, "pit_calls_total", {{"contract","shop.v1.Orders"},{"operation","place"},{"code","ok"}})
  // matches a sample whose labels include those; 0 when none matches (summed when several).
  [[nodiscard]] static double sample_value(std::string_view text, std::string_view name,
                                           const std::vector<std::pair<std::string, std::string>>& labels);

  // A secret-looking text no guarantee allows out of the process: unique per call of this.
  [[nodiscard]] std::string canary();

  // Results. `target`: null for the host; `via`: nullopt when the check is about neither.
  void pass(std::string_view check, const Target* target, std::optional<Via> via, std::string message = {});
  void fail(std::string_view check, const Target* target, std::optional<Via> via, std::string message);
  void skip(std::string_view check, const Target* target, std::optional<Via> via, std::string message);

 private:
  void add(std::string_view check, const Target* target, std::optional<Via> via, Verdict verdict, std::string message);
  Answer call_inproc(const Target& target, const CallSpec& spec);
  Answer call_http(const Target& target, const CallSpec& spec);

  Host* host_;
  const Hints* hints_;
  Report* report_;
  std::vector<Target> targets_;
  std::shared_ptr<LogTap> tap_;
  std::uint64_t canaries_ = 0;
};

// The JSON object in a log line, parsed loosely: the value of a top-level string field
// ("correlation_id"), empty when absent.
[[nodiscard]] std::string log_field(std::string_view line, std::string_view key);

}  // namespace pit::testing::detail
