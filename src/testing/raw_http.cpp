#include "testing/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace pit::testing::detail {
namespace {

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

int remaining_ms(std::chrono::steady_clock::time_point end) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// The response so far, if its header section is whole: status, fields, and where the body starts.
struct Head {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t body_at = 0;
  std::optional<std::size_t> content_length;
};

std::optional<Head> parse_head(const std::string& in) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  Head head;
  head.body_at = end + 4;
  const auto first = in.find("\r\n");
  const std::string status_line = in.substr(0, first);
  if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return head;
  head.status = std::atoi(status_line.c_str() + 9);
  std::size_t pos = first + 2;
  while (pos < end) {
    auto eol = in.find("\r\n", pos);
    const std::string line = in.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(value.begin());
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-length") head.content_length = static_cast<std::size_t>(std::strtoull(value.c_str(), nullptr, 10));
    head.headers.emplace_back(std::move(name), std::move(value));
  }
  return head;
}

}  // namespace

RawReply raw_http_exchange(std::uint16_t port, std::string_view request, std::chrono::milliseconds timeout) {
  RawReply reply;
  const auto end = std::chrono::steady_clock::now() + timeout;
  Socket socket;
  if (socket.fd() < 0) {
    reply.error = std::string("socket: ") + std::strerror(errno);
    return reply;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    reply.error = "connecting to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    return reply;
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    pollfd p{socket.fd(), POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(end)) <= 0) {
      reply.error = "the request could not be written within " + std::to_string(timeout.count()) + " ms";
      return reply;
    }
    const auto n = ::send(socket.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;  // the server may have answered and closed already: read what it sent
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string in;
  char buffer[4096];
  for (;;) {
    if (auto head = parse_head(in); head && head->content_length && in.size() >= head->body_at + *head->content_length) {
      break;
    }
    pollfd p{socket.fd(), POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(end));
    if (ready <= 0) {
      if (in.empty()) {
        reply.error = "no answer within " + std::to_string(timeout.count()) + " ms";
        return reply;
      }
      break;
    }
    const auto n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // closed (or reset) by the server
    in.append(buffer, static_cast<std::size_t>(n));
  }
  auto head = parse_head(in);
  if (!head || head->status == 0) {
    reply.error = in.empty() ? "the connection closed without an answer" : "the answer is not HTTP";
    return reply;
  }
  reply.status = head->status;
  reply.headers = std::move(head->headers);
  reply.body = in.substr(head->body_at, head->content_length.value_or(std::string::npos));
  return reply;
}

}  // namespace pit::testing::detail
