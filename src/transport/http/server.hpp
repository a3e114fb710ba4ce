// The HTTP/1.1 entry point (Boost.Beast): POST /{contract}/{operation} with a JSON body.
// Every request that names an operation enters the host's one pipeline; limits, routing
// and header validation happen before it, with a problem+json answer for each refusal.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/host_state.hpp"

namespace pit::detail {

class HttpServer {
 public:
  // api: POST /{contract}/{operation} into the pipeline. admin: GET /metrics, /healthz,
  // /readyz, /openapi.json — on a separate listener, so operators' probes never compete
  // with traffic.
  enum class Mode : std::uint8_t { api, admin };

  HttpServer(Host::State& host, const HttpOptions& options, Mode mode = Mode::api);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (throws std::runtime_error naming the address if it cannot) and starts
  // accepting; connections are spread over the host's I/O threads.
  void start();
  void stop();  // stops accepting
  // Closes every open connection (at shutdown, after the calls are answered): their
  // coroutines end on their home threads, which must still run. Connections that start
  // later end at once. connections() counts those whose coroutines have not ended yet.
  void close_connections();
  [[nodiscard]] std::size_t connections() const noexcept;
  // Serves an already-connected stream socket as if the listener had accepted it (the
  // listener's own path): ownership of `fd` passes to the server, which closes it when
  // the connection ends. Needs no start(); the fuzzer feeds one end of a socketpair here.
  void adopt(int fd);
  [[nodiscard]] std::uint16_t port() const noexcept { return port_.load(); }

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  std::atomic<std::uint16_t> port_{0};
};

}  // namespace pit::detail
