// A deliberately dumb HTTP client for hostile-input tests: it sends exactly the bytes it is
// given over a blocking loopback socket and reads whatever comes back.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

namespace rawhttp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Connection {
 public:
  explicit Connection(unsigned short port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};  // no test waits longer than this for a byte
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  // Reads one response: headers, then Content-Length bytes of body. Empty if the server
  // closed the connection (or said nothing for 5 s) first.
  std::string read_response() {
    std::string out;
    for (;;) {
      const auto end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        const auto cl = lower(pending_.substr(0, end)).find("content-length:");
        if (cl != std::string::npos) length = std::stoul(pending_.substr(cl + 15));
        while (pending_.size() < end + 4 + length && fill()) {
        }
        const auto total = std::min(pending_.size(), end + 4 + length);
        out = pending_.substr(0, total);
        pending_.erase(0, total);
        return out;
      }
      if (!fill()) return {};
    }
  }

  // True if the server closed the connection (reads EOF) within `wait`.
  bool closed_by_server(std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      if (!pending_.empty()) pending_.clear();
      boost::system::error_code ec;
      char buf[4096];
      const auto n = socket_.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return true;
      if (n == 0 && !ec) continue;
    }
    return false;
  }
  // Everything the server sends until it closes the connection (or is silent for 5 s).
  std::string read_until_closed() {
    while (fill()) {
    }
    return std::exchange(pending_, {});
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  static std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  bool fill() {
    char buf[8192];
    boost::system::error_code ec;
    const auto n = socket_.read_some(asio::buffer(buf), ec);
    if (ec) return false;
    pending_.append(buf, n);
    return true;
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::string pending_;
};

inline std::string post(const std::string& target, const std::string& body,
                        const std::string& extra_headers = "",
                        const std::string& content_type = "application/json") {
  std::string req = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  req += extra_headers;
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return req;
}

inline int status_of(const std::string& response) {
  if (response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

inline std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string{} : response.substr(at + 4);
}

inline std::string header_of(const std::string& response, const std::string& name) {
  std::string lower_resp = response.substr(0, response.find("\r\n\r\n"));
  std::string key = "\r\n" + name + ": ";
  for (auto& c : lower_resp) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower_resp.find(key);
  if (at == std::string::npos) return {};
  const auto start = at + key.size();
  return response.substr(start, response.find("\r\n", start) - start);
}

// The sum of every sample of the counter `name` (all label sets) on an admin listener's
// /metrics; -1 if the page could not be read.
inline long metric_sum(unsigned short admin_port, const std::string& name) {
  Connection c{admin_port};
  c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string page = body_of(c.read_response());
  if (page.empty()) return -1;
  long sum = 0;
  std::size_t at = 0;
  while (at < page.size()) {
    const auto end = std::min(page.find('\n', at), page.size());
    const std::string line = page.substr(at, end - at);
    at = end + 1;
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    sum += std::stol(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace rawhttp
