// One outbound HTTP request for the identity layer's background work (key sets, tokens):
// blocking, bounded in time and size, its own io_context per call, so it never touches the
// host's I/O threads. Not for calls between services (that is HttpChannel, client.hpp).
#pragma once

#include <cstddef>

#include "identity/http_fetch.hpp"

namespace pit::detail {

// The reply's header section may be at most this large; a larger one is an error.
inline constexpr std::size_t kFetchMaxHeaderBytes = 16 * 1024;

// http:// only (https:// answers the error "https is not supported yet"). Whatever goes wrong
// (a bad URL, no connection, the timeout, a reply over max_reply_bytes or over
// kFetchMaxHeaderBytes, a malformed reply) comes back in FetchResult::error; never throws.
// Blocking: call it from a background thread, never from an I/O thread.
[[nodiscard]] FetchResult fetch(const FetchRequest& request);

}  // namespace pit::detail
