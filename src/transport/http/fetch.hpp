// One outbound HTTP request for the identity layer and the trace exporter's background work (key sets, tokens):
// blocking, bounded in time and size, its own io_context per call, so it never touches the
// host's I/O threads. Not for calls between services (that is HttpChannel, client.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "identity/http_fetch.hpp"

namespace pit::detail {

// The reply's header section may be at most this large; a larger one is an error.
inline constexpr std::size_t kFetchMaxHeaderBytes = 16 * 1024;

// http:// only (https:// answers the error "https is not supported yet"). Whatever goes wrong
// (a bad URL, no connection, the timeout, a reply over max_reply_bytes or over
// kFetchMaxHeaderBytes, a malformed reply) comes back in FetchResult::error; never throws.
// Blocking: call it from a background thread, never from an I/O thread.
[[nodiscard]] FetchResult fetch(const FetchRequest& request);

// fetch, but the connection stays open for the next request to the same host and port
// (HTTP/1.1 keep-alive): a background sender that posts often (the trace exporter) pays
// one TCP connection, not one per request. It is closed and a new one opened when the
// server closed it (checked before each request), an exchange failed or timed out, the
// reply said `Connection: close`, or the URL's authority changed. A request that fails on
// a reused connection before any byte of the reply (the server's idle timeout closed it
// as the request went out) is sent once more on a new connection, within the same
// timeout. One caller at a time.
class FetchSession {
 public:
  FetchSession();
  ~FetchSession();
  FetchSession(const FetchSession&) = delete;
  FetchSession& operator=(const FetchSession&) = delete;

  [[nodiscard]] FetchResult operator()(const FetchRequest& request);
  // TCP connections opened so far.
  [[nodiscard]] std::uint64_t connections_opened() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// An HttpFetch over one FetchSession of its own (copies share it: one caller at a time).
[[nodiscard]] HttpFetch keep_alive_fetch();

}  // namespace pit::detail
