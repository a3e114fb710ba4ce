// detail::fetch, the identity layer's outbound HTTP: what it sends, what it makes of a reply,
// and that a hostile or absent server costs at most the timeout and the size caps.
#include "transport/http/fetch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using pit::detail::fetch;
using pit::detail::FetchRequest;
using pit::detail::FetchSession;

// A loopback server that answers each connection, one at a time, with `respond`, which
// gets the socket and the request it read (headers and Content-Length body).
class TinyServer {
 public:
  using Respond = std::function<void(tcp::socket&, const std::string& request)>;

  explicit TinyServer(Respond respond)
      : respond_(std::move(respond)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ignored);  // wakes the accept
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

  static void send(tcp::socket& s, const std::string& bytes) {
    boost::system::error_code ignored;
    asio::write(s, asio::buffer(bytes), ignored);
  }

 private:
  void serve() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      const auto request = read_request(socket);
      {
        std::lock_guard lock(mutex_);
        last_request_ = request;
      }
      respond_(socket, request);
    }
  }

 public:
  // One request (headers and Content-Length body); empty when the client closed first.
  static std::string read_request(tcp::socket& socket) {
    std::string data;
    char buf[4096];
    for (;;) {
      const auto end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        if (const auto cl = data.find("Content-Length: "); cl != std::string::npos && cl < end) {
          length = std::stoul(data.substr(cl + 16));
        }
        if (data.size() >= end + 4 + length) return data;
      }
      boost::system::error_code ec;
      const auto n = socket.read_some(asio::buffer(buf), ec);
      if (ec) return data;
      data.append(buf, n);
    }
  }

 private:
  Respond respond_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::string last_request_;
  std::thread thread_;
};

std::string reply(const std::string& status_line, const std::string& body,
                  const std::string& extra_headers = "") {
  return "HTTP/1.1 " + status_line + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra_headers + "\r\n" + body;
}

FetchRequest get(std::string url) {
  FetchRequest r;
  r.url = std::move(url);
  return r;
}

TEST(Fetch, ReturnsStatusAndBodyOfAReply) {
  TinyServer server(
      [](tcp::socket& s, const std::string&) { TinyServer::send(s, reply("200 OK", R"({"a":1})")); });
  const auto r = fetch(get(server.url("/.well-known/openid-configuration")));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"a":1})");
  EXPECT_FALSE(r.retry_after.has_value());
  EXPECT_EQ(server.last_request().rfind("GET /.well-known/openid-configuration HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(server.last_request().find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos);
}

TEST(Fetch, AnErrorStatusIsAnAnswerWithItsRetryAfter) {
  TinyServer server([](tcp::socket& s, const std::string&) {
    TinyServer::send(s, reply("503 Service Unavailable", "busy", "Retry-After: 7\r\n"));
  });
  const auto r = fetch(get(server.url()));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "busy");
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_EQ(*r.retry_after, 7s);
}

TEST(Fetch, RetryAfterAsADateIsNotUsed) {
  TinyServer server([](tcp::socket& s, const std::string&) {
    TinyServer::send(s, reply("429 Too Many Requests", "", "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"));
  });
  const auto r = fetch(get(server.url()));
  EXPECT_EQ(r.status, 429);
  EXPECT_FALSE(r.retry_after.has_value());
}

TEST(Fetch, PostSendsBodyContentTypeAndHeaders) {
  TinyServer server([](tcp::socket& s, const std::string&) { TinyServer::send(s, reply("200 OK", "{}")); });
  FetchRequest req;
  req.method = "POST";
  req.url = server.url("/token?x=1");
  req.body = "grant_type=client_credentials";
  req.content_type = "application/x-www-form-urlencoded";
  req.headers = {{"Authorization", "Basic Z3c6cw=="}};
  const auto r = fetch(req);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  const auto sent = server.last_request();
  EXPECT_EQ(sent.rfind("POST /token?x=1 HTTP/1.1\r\n", 0), 0u) << sent;
  EXPECT_NE(sent.find("Content-Type: application/x-www-form-urlencoded\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("Authorization: Basic Z3c6cw==\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("Content-Length: 29\r\n"), std::string::npos) << sent;
  EXPECT_EQ(sent.substr(sent.size() - 29), "grant_type=client_credentials");
}

TEST(Fetch, ChunkedReplyIsReadWhole) {
  TinyServer server([](tcp::socket& s, const std::string&) {
    TinyServer::send(s,
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  });
  const auto r = fetch(get(server.url()));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.body, "abcde");
}

TEST(Fetch, ReplyLargerThanTheCapIsAnError) {
  TinyServer server([](tcp::socket& s, const std::string&) {
    TinyServer::send(s, reply("200 OK", std::string(2000, 'x')));
  });
  auto req = get(server.url());
  req.max_reply_bytes = 1000;
  const auto r = fetch(req);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "the reply is larger than 1000 bytes");
  req.max_reply_bytes = 2000;  // exactly the cap is fine
  EXPECT_EQ(fetch(req).error, "");
}

TEST(Fetch, EndlessChunkedReplyStopsAtTheCap) {
  TinyServer server([](tcp::socket& s, const std::string&) {
    TinyServer::send(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "400\r\n" + std::string(1024, 'y') + "\r\n";
    for (int i = 0; i < 64; ++i) TinyServer::send(s, chunk);  // 64 KiB, no end
  });
  auto req = get(server.url());
  req.max_reply_bytes = 16 * 1024;
  const auto r = fetch(req);
  EXPECT_EQ(r.error, "the reply is larger than 16384 bytes");
}

TEST(Fetch, HeaderLargerThanTheCapIsAnError) {
  TinyServer server([](tcp::socket& s, const std::string&) {
    TinyServer::send(
        s, reply("200 OK", "", "X-Big: " + std::string(pit::detail::kFetchMaxHeaderBytes, 'h') + "\r\n"));
  });
  const auto r = fetch(get(server.url()));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "the reply's header is larger than 16384 bytes");
}

TEST(Fetch, SilentServerCostsTheTimeoutAndNoMore) {
  std::atomic<bool> release{false};
  TinyServer server([&](tcp::socket&, const std::string&) {
    while (!release) std::this_thread::sleep_for(5ms);  // reads the request, never answers
  });
  auto req = get(server.url());
  req.timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  const auto r = fetch(req);
  const auto took = std::chrono::steady_clock::now() - start;
  release = true;
  EXPECT_EQ(r.error, "no reply within 200 ms");
  EXPECT_EQ(r.status, 0);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1500ms);
}

TEST(Fetch, SlowTrickleIsBoundedByTheTotalTimeout) {
  std::atomic<bool> release{false};
  TinyServer server([&](tcp::socket& s, const std::string&) {
    TinyServer::send(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    while (!release) {  // one byte every 20 ms: each read makes progress, the whole never ends
      TinyServer::send(s, "z");
      std::this_thread::sleep_for(20ms);
    }
  });
  auto req = get(server.url());
  req.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const auto r = fetch(req);
  const auto took = std::chrono::steady_clock::now() - start;
  release = true;
  EXPECT_EQ(r.error, "no reply within 300 ms");
  EXPECT_LT(took, 1500ms);
}

TEST(Fetch, ServerClosingWithoutAReplyIsAnError) {
  TinyServer server([](tcp::socket& s, const std::string&) { s.close(); });
  const auto r = fetch(get(server.url()));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "the server closed the connection without a reply");
}

TEST(Fetch, NothingListeningIsAnErrorAtOnce) {
  unsigned short port = 0;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  const auto r = fetch(get("http://127.0.0.1:" + std::to_string(port) + "/jwks"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error.rfind("connecting to 127.0.0.1:" + std::to_string(port) + ": ", 0), 0u) << r.error;
}

TEST(Fetch, HostNamesAreResolved) {
  TinyServer server(
      [](tcp::socket& s, const std::string&) { TinyServer::send(s, reply("204 No Content", "")); });
  const auto r = fetch(get("http://localhost:" + std::to_string(server.port()) + "/x"));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 204);
}

TEST(Fetch, RefusesWhatItCannotOrMustNotSend) {
  const std::pair<std::string, std::string> cases[] = {
      {"https://idp.example/jwks", "https is not supported yet"},
      {"HTTPS://idp.example/jwks", "https is not supported yet"},
      {"ftp://idp.example/", "the URL must start with http://"},
      {"idp.example/jwks", "the URL must start with http://"},
      {"http://user:pw@127.0.0.1:1/", "the URL must not carry credentials"},
      {"http://127.0.0.1:0/", "the URL has an invalid port"},
      {"http://127.0.0.1:99999/", "the URL has an invalid port"},
      {"http://127.0.0.1:8a/", "the URL has an invalid port"},
      {"http:///jwks", "the URL has no host"},
      {"http://[::1/jwks", "the URL has an unterminated IPv6 address"},
      {"http://127.0.0.1:1/a b", "the URL's path has a space or control character"},
      {"http://127.0.0.1:1/a\r\nX-Injected: 1", "the URL's path has a space or control character"},
  };
  for (const auto& [url, error] : cases) {
    const auto r = fetch(get(url));
    EXPECT_EQ(r.error, error) << url;
    EXPECT_EQ(r.status, 0) << url;
  }
  auto req = get("http://127.0.0.1:1/");
  req.headers = {{"X-A", "1\r\nX-Injected: 1"}};
  EXPECT_EQ(fetch(req).error, "a request header has an empty name or a line break");
  req = get("http://127.0.0.1:1/");
  req.method = "BREW";
  EXPECT_EQ(fetch(req).error, "unknown HTTP method 'BREW'");
}

// FetchSession: the trace exporter's kept-alive connection.

FetchRequest post(std::string url, std::string body) {
  FetchRequest r;
  r.method = "POST";
  r.url = std::move(url);
  r.body = std::move(body);
  r.content_type = "application/json";
  return r;
}

TEST(FetchSession, SuccessiveRequestsShareOneConnection) {
  std::atomic<int> connections{0};
  std::atomic<int> requests{0};
  TinyServer server([&](tcp::socket& s, const std::string& first) {
    ++connections;
    for (std::string request = first; !request.empty(); request = TinyServer::read_request(s)) {
      EXPECT_EQ(request.find("Connection: close"), std::string::npos);
      TinyServer::send(s, reply("200 OK", std::to_string(++requests)));
    }
  });
  FetchSession session;
  for (int i = 1; i <= 3; ++i) {
    const auto r = session(post(server.url("/v1/traces"), "{}"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, std::to_string(i));
  }
  EXPECT_EQ(session.connections_opened(), 1u);
  EXPECT_EQ(connections.load(), 1);
}

TEST(FetchSession, ReconnectsWhenTheServerClosedTheIdleConnection) {
  std::atomic<int> connections{0};
  TinyServer server([&](tcp::socket& s, const std::string&) {
    ++connections;
    TinyServer::send(s, reply("200 OK", "ok"));
    s.close();  // an idle timeout, before the client's next request
  });
  FetchSession session;
  for (int i = 0; i < 3; ++i) {
    const auto r = session(post(server.url(), "{}"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    // The closed connection is noticed before the next request, which goes on a new one.
    if (i < 2) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(session.connections_opened(), 3u);
  EXPECT_EQ(connections.load(), 3);
}

TEST(FetchSession, AReplySayingCloseEndsTheConnection) {
  std::atomic<int> connections{0};
  TinyServer server([&](tcp::socket& s, const std::string&) {
    ++connections;
    TinyServer::send(s, reply("200 OK", "ok", "Connection: close\r\n"));
    // Kept open by the server: the client must not send on it again.
    EXPECT_EQ(TinyServer::read_request(s), "");
  });
  FetchSession session;
  EXPECT_EQ(session(post(server.url(), "{}")).status, 200);
  EXPECT_EQ(session(post(server.url(), "{}")).status, 200);
  EXPECT_EQ(session.connections_opened(), 2u);
  EXPECT_EQ(connections.load(), 2);
}

TEST(FetchSession, ARequestLostOnAReusedConnectionIsSentOnceMoreOnANewOne) {
  // Each connection answers its first request and closes on its second without a reply
  // (the server's idle timeout racing the request). The second request is sent again on a
  // new connection and answered; a request that fails on a new connection is not resent.
  std::atomic<int> connections{0};
  TinyServer server([&](tcp::socket& s, const std::string&) {
    ++connections;
    TinyServer::send(s, reply("200 OK", "ok"));
    if (!TinyServer::read_request(s).empty()) s.close();
  });
  FetchSession session;
  EXPECT_EQ(session(post(server.url(), "{}")).status, 200);
  const auto r = session(post(server.url(), "{}"));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(session.connections_opened(), 2u);

  TinyServer silent([&](tcp::socket& s, const std::string&) { s.close(); });
  const auto lost = session(post(silent.url(), "{}"));
  EXPECT_EQ(lost.error, "the server closed the connection without a reply");
  EXPECT_EQ(session.connections_opened(), 3u);
}

TEST(FetchSession, ATimedOutExchangeClosesTheConnection) {
  std::atomic<int> connections{0};
  std::atomic<bool> release{false};
  TinyServer server([&](tcp::socket& s, const std::string&) {
    if (++connections == 1) {
      TinyServer::send(s, reply("200 OK", "ok"));
      if (TinyServer::read_request(s).empty()) return;
      while (!release) std::this_thread::sleep_for(5ms);  // never answers the second
      return;
    }
    TinyServer::send(s, reply("200 OK", "again"));
    TinyServer::read_request(s);
  });
  FetchSession session;
  EXPECT_EQ(session(post(server.url(), "{}")).status, 200);
  auto slow = post(server.url(), "{}");
  slow.timeout = 200ms;
  EXPECT_EQ(session(slow).error, "no reply within 200 ms");
  release = true;
  // A late reply on the old connection can never be taken for the next request's.
  const auto r = session(post(server.url(), "{}"));
  EXPECT_EQ(r.body, "again");
  EXPECT_EQ(session.connections_opened(), 2u);
}

}  // namespace
