#include "transport/http/fetch.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <memory>
#include <string_view>

namespace pit::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct Url {
  std::string host;  // without brackets
  std::string port;
  std::string authority;  // the Host header
  std::string target;     // path and query, at least "/"
};

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), s.begin(),
                    [](char want, char c) { return std::tolower(static_cast<unsigned char>(c)) == want; });
}

// Fills `url` or returns why it cannot be fetched.
std::string parse_url(std::string_view text, Url& url) {
  if (starts_with_nocase(text, "https://")) return "https is not supported yet";
  if (!starts_with_nocase(text, "http://")) return "the URL must start with http://";
  auto rest = text.substr(7);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto end = std::min(rest.find('/'), rest.find('?'));
  const auto authority = rest.substr(0, end);
  const auto target = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) return "the URL must not carry credentials";
  std::string_view host = authority;
  std::string_view port = "80";
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "the URL has an unterminated IPv6 address";
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return "the URL has no ':' after its IPv6 address";
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "the URL has no host";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
    return "the URL has an invalid port";
  }
  for (const char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return "the URL's path has a space or control character";
  }
  url.host = std::string(host);
  url.port = std::string(port);
  url.authority = std::string(authority);
  url.target = target.empty() ? "/" : target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return {};
}

bool header_value_ok(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// Retry-After in delta-seconds (RFC 9110 10.2.3); the HTTP-date form is not used.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::chrono::seconds(std::stol(std::string(v)));
}

std::string describe_read_error(const boost::system::error_code& ec, std::size_t max_body) {
  if (ec == http::error::body_limit) return "the reply is larger than " + std::to_string(max_body) + " bytes";
  if (ec == http::error::header_limit) {
    return "the reply's header is larger than " + std::to_string(kFetchMaxHeaderBytes) + " bytes";
  }
  if (ec == http::error::end_of_stream || ec == asio::error::eof)
    return "the server closed the connection without a reply";
  return "reading the reply: " + ec.message();
}

// The socket a FetchSession keeps between requests, and the io_context it lives on.
struct Link {
  asio::io_context io{1};
  tcp::socket socket{io};
  std::string authority;  // what the open socket is connected to
  std::uint64_t opened = 0;
  void close() {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    authority.clear();
  }
};

// Whether a kept-alive socket can carry another request: nothing to read (the peer has not
// closed it, nor sent anything unasked). Checked without waiting.
bool reusable(tcp::socket& socket) {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (ec) return false;
  char byte = 0;
  socket.read_some(asio::buffer(&byte, 1), ec);
  const bool idle = ec == asio::error::would_block || ec == asio::error::try_again;
  boost::system::error_code ignored;
  socket.non_blocking(false, ignored);
  return idle;
}

// One exchange on `link`: over its open socket when `reuse`, else over a new connection.
// `reply_started`: whether any byte of a reply arrived (a request that failed before that
// on a reused connection may be sent again on a new one).
FetchResult exchange(Link& link, const Url& url, http::request<http::string_body>& message,
                     const FetchRequest& request, std::chrono::steady_clock::time_point end, bool reuse,
                     bool& reply_started) {
  FetchResult result;
  auto& io = link.io;
  auto& socket = link.socket;
  io.restart();
  tcp::resolver resolver(io);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kFetchMaxHeaderBytes));
  parser.body_limit(static_cast<std::uint64_t>(request.max_reply_bytes));
  if (message.method() == http::verb::head) parser.skip(true);
  bool done = false;
  std::string failure;

  auto on_read = [&](boost::system::error_code ec, std::size_t) {
    done = true;
    if (ec) failure = describe_read_error(ec, request.max_reply_bytes);
  };
  auto on_write = [&](boost::system::error_code ec, std::size_t) {
    if (ec) {
      done = true;
      failure = "sending the request: " + ec.message();
      return;
    }
    http::async_read(socket, buffer, parser, on_read);
  };
  auto on_connect = [&](boost::system::error_code ec, const tcp::endpoint&) {
    if (ec) {
      done = true;
      failure = "connecting to " + url.authority + ": " + ec.message();
      return;
    }
    ++link.opened;
    link.authority = url.authority;
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    http::async_write(socket, message, on_write);
  };
  auto on_resolve = [&](boost::system::error_code ec, const tcp::resolver::results_type& endpoints) {
    if (ec) {
      done = true;
      failure = "resolving " + url.host + ": " + ec.message();
      return;
    }
    asio::async_connect(socket, endpoints, on_connect);
  };

  if (reuse) {
    http::async_write(socket, message, on_write);
  } else {
    // A numeric host needs no resolver (whose getaddrinfo runs on a thread of its own and
    // cannot be cancelled).
    boost::system::error_code numeric_error;
    const auto address = asio::ip::make_address(url.host, numeric_error);
    if (!numeric_error) {
      on_resolve({}, tcp::resolver::results_type::create(
                         tcp::endpoint(address, static_cast<unsigned short>(std::stoul(url.port))), url.host,
                         url.port));
    } else {
      resolver.async_resolve(url.host, url.port, on_resolve);
    }
  }

  for (auto now = std::chrono::steady_clock::now();
       !done && now < end && (request.abandon == nullptr || !request.abandon->load());
       now = std::chrono::steady_clock::now()) {
    // Without `abandon` nothing needs checking in between: one wait for the whole exchange.
    const std::chrono::steady_clock::duration slice =
        request.abandon == nullptr ? end - now : std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(5), end - now);
    io.run_for(slice);
  }
  reply_started = parser.got_some() || buffer.size() > 0;
  if (!done) {
    // The deadline passed: cancel what is pending and let the aborted handlers run, so
    // nothing still refers to this frame when it ends.
    resolver.cancel();
    link.close();
    io.restart();
    io.run();
    result.error = "no reply within " + std::to_string(request.timeout.count()) + " ms";
    return result;
  }
  if (!failure.empty()) {
    link.close();
    result.error = std::move(failure);
    return result;
  }
  auto reply = parser.release();
  // Kept only when both sides meant to keep it and nothing unasked followed the reply.
  if (!reply.keep_alive() || !message.keep_alive() || buffer.size() > 0) link.close();
  result.status = static_cast<int>(reply.result_int());
  if (const auto it = reply.find(http::field::retry_after); it != reply.end()) {
    result.retry_after = parse_retry_after(it->value());
  }
  for (const auto& field : reply) {
    result.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  result.body = std::move(reply.body());
  return result;
}

FetchResult fetch_on(Link& link, const FetchRequest& request, bool keep_alive) {
  FetchResult result;
  Url url;
  if (auto why = parse_url(request.url, url); !why.empty()) {
    result.error = std::move(why);
    return result;
  }
  const auto verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    result.error = "unknown HTTP method '" + request.method + "'";
    return result;
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || !header_value_ok(name) || !header_value_ok(value)) {
      result.error = "a request header has an empty name or a line break";
      return result;
    }
  }
  if (!header_value_ok(request.content_type)) {
    result.error = "the content type has a line break";
    return result;
  }

  http::request<http::string_body> message{verb, url.target, 11};
  message.set(http::field::host, url.authority);
  message.set(http::field::user_agent, "pit");
  // HTTP/1.1 keeps the connection without saying so.
  if (!keep_alive) message.set(http::field::connection, "close");
  for (const auto& [name, value] : request.headers) message.set(name, value);
  if (!request.body.empty() || verb == http::verb::post || verb == http::verb::put) {
    if (!request.content_type.empty()) message.set(http::field::content_type, request.content_type);
    message.body() = request.body;
    message.prepare_payload();
  }

  const auto end = std::chrono::steady_clock::now() + request.timeout;
  if (link.socket.is_open() && (link.authority != url.authority || !reusable(link.socket))) link.close();
  const bool reuse = link.socket.is_open();
  bool reply_started = false;
  result = exchange(link, url, message, request, end, reuse, reply_started);
  // A kept-alive connection the server closed just as the request went out (its idle
  // timeout): the request never reached it, so it goes once more on a new connection.
  if (reuse && !result.error.empty() && !reply_started && !link.socket.is_open() &&
      result.error.rfind("no reply within", 0) != 0 && std::chrono::steady_clock::now() < end &&
      (request.abandon == nullptr || !request.abandon->load())) {
    result = exchange(link, url, message, request, end, false, reply_started);
  }
  return result;
}

}  // namespace

FetchResult fetch(const FetchRequest& request) {
  Link link;
  return fetch_on(link, request, false);
}

struct FetchSession::State {
  Link link;
};

FetchSession::FetchSession() : state_(std::make_unique<State>()) {}
FetchSession::~FetchSession() = default;

FetchResult FetchSession::operator()(const FetchRequest& request) { return fetch_on(state_->link, request, true); }

std::uint64_t FetchSession::connections_opened() const noexcept { return state_->link.opened; }

HttpFetch keep_alive_fetch() {
  auto session = std::make_shared<FetchSession>();
  return [session](const FetchRequest& request) { return (*session)(request); };
}

}  // namespace pit::detail
