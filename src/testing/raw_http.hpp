// One HTTP exchange written byte for byte, for what a well-behaved client cannot send: a
// header that announces a body the kit never sends (the server must refuse it from the
// header alone). Loopback only, blocking, bounded in time; from a thread of the test.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pit::testing::detail {

struct RawReply {
  int status = 0;  // 0: no answer (see error)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error;  // why there is no answer
};

// Connects to 127.0.0.1:port, writes `request` as it is, and reads one response (its
// Content-Length, or up to the server closing) within `timeout`.
[[nodiscard]] RawReply raw_http_exchange(std::uint16_t port, std::string_view request, std::chrono::milliseconds timeout);

}  // namespace pit::testing::detail
