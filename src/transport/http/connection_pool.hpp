// Outbound connections, pooled per endpoint and shared by every proxy of the host: two
// contracts served by one process reuse one set of keep-alive connections to it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "executors/executors.hpp"
#include "transport/tls/contexts.hpp"

namespace pit::detail {

// One connection to an endpoint: TCP, and TLS over it for an https:// endpoint. The TCP
// stream keeps the timeouts; the TLS stream, when there is one, carries the requests.
struct HttpConnection {
  explicit HttpConnection(boost::asio::io_context& io) : tcp(io) {}
  boost::beast::tcp_stream tcp;
  std::optional<boost::asio::ssl::stream<boost::beast::tcp_stream&>> tls;
};

// Where an endpoint is and how to speak to it.
struct EndpointAddress {
  bool tls = false;
  std::string host;       // a name or an address, what is connected to
  std::string port;
  std::string authority;  // the Host header
  std::string base;       // "http://host:port", for messages and logs
  // https://: the name the server's certificate must carry (and SNI); the host when empty.
  // A DNS-discovered endpoint is connected to by address and verified by the DNS name.
  std::string tls_name;
};

// One endpoint's idle keep-alive connections, kept per I/O thread: a connection is only
// ever used by calls whose home is the thread it was made on.
class EndpointPool {
 public:
  EndpointPool(EndpointAddress address, std::shared_ptr<tls::SslContext> tls, std::size_t max_idle)
      : address_(std::move(address)), tls_(std::move(tls)), max_idle_(max_idle) {}

  [[nodiscard]] const EndpointAddress& address() const noexcept { return address_; }
  // null for http://
  [[nodiscard]] tls::SslContext* tls() const noexcept { return tls_.get(); }
  [[nodiscard]] const std::string& server_name() const noexcept {
    return address_.tls_name.empty() ? address_.host : address_.tls_name;
  }

  std::unique_ptr<HttpConnection> take(IoThread* home);
  // Kept for reuse unless the thread's share is full (then closed).
  void give(IoThread* home, std::unique_ptr<HttpConnection> connection);
  void close_idle();
  // Idle connections kept, all threads together (the diagnostics page of clients).
  [[nodiscard]] std::size_t idle();

 private:
  EndpointAddress address_;
  std::shared_ptr<tls::SslContext> tls_;
  std::size_t max_idle_;
  std::mutex mutex_;
  std::unordered_map<IoThread*, std::vector<std::unique_ptr<HttpConnection>>> idle_;
};

// The host's pools, one per endpoint (scheme, host, port and TLS name), handed to every
// client that targets it. Pools live while a client uses them.
class ConnectionPools {
 public:
  explicit ConnectionPools(const HttpOptions& options) : options_(options) {}
  // Throws std::invalid_argument when an https:// endpoint's TLS files do not load.
  std::shared_ptr<EndpointPool> pool(const EndpointAddress& address);
  // The idle connections of every pool are closed (Host::stop, once the I/O threads stopped).
  void close_idle();

 private:
  HttpOptions options_;
  std::mutex mutex_;
  std::shared_ptr<tls::SslContext> tls_;  // made with the first https:// endpoint
  std::map<std::string, std::weak_ptr<EndpointPool>> pools_;
};

}  // namespace pit::detail
