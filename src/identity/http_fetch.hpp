// What the identity layer needs of HTTP: one blocking request/reply, injected as a function.
// Identity sits below transport (src/README.md), so the types live here and transport
// implements them (transport/http/fetch.hpp: detail::fetch); tests inject their own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pit::detail {

struct FetchRequest {
  std::string method = "GET";
  std::string url;   // http://host[:port][/path][?query]
  std::string body;  // sent when not empty, with content_type
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{2000};  // the whole exchange: connect, send, the reply
  std::size_t max_reply_bytes = 1 << 20;    // the reply body; a larger one is an error
  // Set by another thread: the exchange ends at once, as if timed out (a flush cut short
  // at shutdown). Checked every few milliseconds; null: never.
  const std::atomic<bool>* abandon = nullptr;
};

struct FetchResult {
  int status = 0;  // the HTTP status, when there was an answer
  std::string body;
  std::string error;  // not empty: there was no (usable) HTTP answer; status is 0
  std::optional<std::chrono::seconds> retry_after;  // the reply's Retry-After in seconds, if any
  std::vector<std::pair<std::string, std::string>> headers{};  // every header field of the reply, in order
};

// Blocking: called from background threads only, never from an I/O thread.
using HttpFetch = std::function<FetchResult(const FetchRequest&)>;

}  // namespace pit::detail
