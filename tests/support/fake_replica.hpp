// A scripted HTTP server for the outbound client's tests: each request gets the reply a
// test function decides (status, body, headers, a delay), and the replica counts what it
// saw: connections accepted, requests, Pit-Attempt values, and requests whose caller
// closed the connection before the answer (a cancelled attempt), and every request's
// trace context headers (each field as it arrived).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fake {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct Request {
  std::string target;
  std::string attempt;  // the Pit-Attempt header
  std::string timeout;  // the Pit-Timeout header
  std::string body;
  std::vector<std::string> traceparent;  // every traceparent field, in order
  std::vector<std::string> tracestate;   // every tracestate field, in order
  std::string idempotency_key;  // the Idempotency-Key header, as sent
};

struct Reply {
  unsigned status = 200;
  std::string body = "{}";
  std::string retry_after;
  std::chrono::milliseconds delay{0};
  bool drop = false;  // close the connection instead of answering (an answer lost after the write)
};

// A reply of pit's problem+json for `code`.
inline Reply problem(unsigned status, const std::string& code, bool retryable, std::string retry_after = {}) {
  Reply r;
  r.status = status;
  r.body = R"({"type":"urn:pit:fault:)" + code + R"(","status":)" + std::to_string(status) +
           R"(,"detail":"scripted","code":")" + code + "\"" + (retryable ? R"(,"retryable":true)" : "") + "}";
  r.retry_after = std::move(retry_after);
  return r;
}

// The answers of the shop test contracts (tests/support/shop.hpp).
inline Reply ok_reply(const Request& req) {
  Reply r;
  if (req.target == "/shop.v1.Inventory/count") r.body = R"({"quantity":42})";
  if (req.target == "/shop.v1.Inventory/reserve") r.body = R"({"remaining":99})";
  if (req.target == "/shop.v1.Orders/place") r.body = R"({"order_id":"o-1","lines":1})";
  return r;
}

class Replica {
 public:
  using Script = std::function<Reply(const Request&)>;

  explicit Replica(Script script = ok_reply) : script_(std::move(script)), acceptor_(io_) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~Replica() { stop(); }
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
      for (auto* s : sockets_) {
        boost::system::error_code ignored;
        s->shutdown(tcp::socket::shutdown_both, ignored);
      }
    }
    wake_.notify_all();
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void script(Script s) {
    std::lock_guard lock(mutex_);
    script_ = std::move(s);
  }
  std::atomic<int> accepted{0};
  std::atomic<int> requests{0};
  std::atomic<int> abandoned{0};  // the caller closed the connection while the reply waited
  std::vector<std::string> attempts_seen() {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  std::vector<std::string> timeouts_seen() {
    std::lock_guard lock(mutex_);
    return timeouts_;
  }
  // Every request seen so far, in arrival order; forget() starts the list afresh.
  std::vector<Request> requests_seen() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void forget() {
    std::lock_guard lock(mutex_);
    requests_.clear();
  }
  // The first traceparent field of every request seen so far, in arrival order.
  std::vector<std::string> traceparents_seen() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& r : requests_) out.push_back(r.traceparent.empty() ? std::string{} : r.traceparent.front());
    return out;
  }

 private:
  void accept_loop() {
    for (;;) {
      auto socket = std::make_unique<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      std::lock_guard lock(mutex_);
      if (ec || stopped_) return;
      accepted.fetch_add(1);
      sockets_.push_back(socket.get());
      threads_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  // True if the peer closed the connection (reads EOF) — polled while a reply waits.
  static bool peer_closed(tcp::socket& s) {
    char byte = 0;
    const auto n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  void serve(std::unique_ptr<tcp::socket> s) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(*s, buffer, req, ec);
      if (ec) break;
      requests.fetch_add(1);
      Request r{std::string(req.target()), std::string(req["Pit-Attempt"]), std::string(req["Pit-Timeout"]), req.body(),
                {}, {}, std::string(req["Idempotency-Key"])};
      for (auto [it, end] = req.equal_range("traceparent"); it != end; ++it) r.traceparent.emplace_back(it->value());
      for (auto [it, end] = req.equal_range("tracestate"); it != end; ++it) r.tracestate.emplace_back(it->value());
      Script script;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(r);
        attempts_.push_back(r.attempt);
        timeouts_.push_back(r.timeout);
        script = script_;
      }
      Reply reply = script(r);
      bool gone = false;
      const auto until = std::chrono::steady_clock::now() + reply.delay;
      while (std::chrono::steady_clock::now() < until) {
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, std::chrono::milliseconds(5), [this] { return stopped_; })) break;
        lock.unlock();
        if (peer_closed(*s)) {
          gone = true;
          break;
        }
      }
      if (gone) {
        abandoned.fetch_add(1);
        break;
      }
      if (reply.drop) break;
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      res.set(http::field::content_type, reply.status == 200 ? "application/json" : "application/problem+json");
      if (!reply.retry_after.empty()) res.set(http::field::retry_after, reply.retry_after);
      res.body() = reply.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(*s, res, ec);
      if (ec || !req.keep_alive()) break;
    }
    std::lock_guard lock(mutex_);
    std::erase(sockets_, s.get());
    boost::system::error_code ignored;
    s->shutdown(tcp::socket::shutdown_both, ignored);
    s->close(ignored);
  }

  Script script_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread accept_thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::vector<tcp::socket*> sockets_;
  std::vector<std::thread> threads_;
  std::vector<std::string> attempts_;
  std::vector<std::string> timeouts_;
  std::vector<Request> requests_;
};

// A loopback port nothing listens on: connecting to it is refused.
inline unsigned short refused_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

}  // namespace fake
