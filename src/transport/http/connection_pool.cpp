#include "transport/http/connection_pool.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace pit::detail {

std::unique_ptr<HttpConnection> EndpointPool::take(IoThread* home) {
  std::lock_guard lock(mutex_);
  auto it = idle_.find(home);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  auto connection = std::move(it->second.back());
  it->second.pop_back();
  return connection;
}

void EndpointPool::give(IoThread* home, std::unique_ptr<HttpConnection> connection) {
  std::lock_guard lock(mutex_);
  auto& v = idle_[home];
  if (v.size() < max_idle_) v.push_back(std::move(connection));
}

void EndpointPool::close_idle() {
  decltype(idle_) closing;
  {
    std::lock_guard lock(mutex_);
    closing.swap(idle_);
  }
  for (auto& [home, connections] : closing) {
    for (auto& c : connections) {
      boost::system::error_code ignored;
      c->tcp.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
      c->tcp.close();
    }
  }
}

std::shared_ptr<EndpointPool> ConnectionPools::pool(const EndpointAddress& address) {
  std::string key = address.tls ? "https://" : "http://";
  key.append(address.host).append(":").append(address.port);
  if (address.tls) key.append("#").append(address.tls_name);
  std::lock_guard lock(mutex_);
  if (auto it = pools_.find(key); it != pools_.end()) {
    if (auto existing = it->second.lock()) return existing;
  }
  // Its files are read now: one that does not load fails the host's start, not a call.
  if (address.tls && !tls_) tls_ = tls::client_context(options_);
  for (auto it = pools_.begin(); it != pools_.end();) {
    it = it->second.expired() ? pools_.erase(it) : std::next(it);
  }
  auto made = std::make_shared<EndpointPool>(address, address.tls ? tls_ : nullptr, options_.client_pool_idle);
  pools_[key] = made;
  return made;
}

void ConnectionPools::close_idle() {
  std::vector<std::shared_ptr<EndpointPool>> live;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, weak] : pools_) {
      if (auto p = weak.lock()) live.push_back(std::move(p));
    }
  }
  for (const auto& p : live) p->close_idle();
}

std::size_t EndpointPool::idle() {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [thread, connections] : idle_) n += connections.size();
  return n;
}

}  // namespace pit::detail
