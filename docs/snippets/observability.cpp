// Snippets of docs/observability.md: trace export configured in code, checked against a
// loopback OTLP/HTTP endpoint that records what it receives.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/describe.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pit/pit.hpp"

using namespace std::chrono_literals;

namespace shop {

struct PriceQuery {
  std::string sku;
};
BOOST_DESCRIBE_STRUCT(PriceQuery, (), (sku))

struct Price {
  int cents = 0;
};
BOOST_DESCRIBE_STRUCT(Price, (), (cents))

class Catalog {
 public:
  virtual ~Catalog() = default;
 protected:
  virtual pit::Task<Price> price(PriceQuery) = 0;
};
PIT_CONTRACT(Catalog, "shop.v1.Catalog", (price, pit::OpSpec{}.anonymous("guide example")));

class CatalogService final : public Catalog {
  pit::Task<Price> price(PriceQuery) override { co_return Price{250}; }
};

// Stands in for an OpenTelemetry collector: answers every POST 200 "{}" and keeps the
// bodies. One connection at a time (the exporter keeps one).
class Collector {
 public:
  Collector() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length);
    ::listen(listener_, 4);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      for (int fd; (fd = ::accept(listener_, nullptr, nullptr)) >= 0; ::close(fd)) serve(fd);
    });
  }
  ~Collector() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }
  std::string received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  void serve(int fd) {
    std::string in;
    char buf[16384];
    for (;;) {
      const auto head = in.find("\r\n\r\n");
      if (head != std::string::npos) {
        const auto at = in.find("Content-Length:");
        const std::size_t length = at < head ? std::strtoull(in.c_str() + at + 15, nullptr, 10) : 0;
        if (in.size() >= head + 4 + length) {
          {
            std::lock_guard lock(mutex_);
            received_ += in.substr(head + 4, length);
          }
          in.erase(0, head + 4 + length);
          const std::string ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
          ::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL);
          continue;
        }
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
    }
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::string received_;
};

TEST(Observability, spans_of_calls_reach_the_configured_endpoint_at_the_latest_when_the_host_stops) {
  Collector collector;
  pit::HostOptions options;
  options.log_sink = std::make_shared<pit::log::MemorySink>();
  // [tracing_options]
  options.tracing.endpoint = collector.url();  // "http://otel-collector:4318/v1/traces"
  options.tracing.sample_ratio = 0.25;         // a quarter of the root calls; callers' decisions are kept
  options.tracing.export_interval = 1s;        // queued spans are sent at least this often
  options.tracing.resource_attributes = {{"deployment.environment", "staging"}};
  // [/tracing_options]
  options.tracing.sample_ratio = 1.0;  // this test wants every call
  {
    pit::Host host{options};
    host.serve<Catalog, CatalogService>();
    auto catalog = host.client<Catalog>();
    host.start();
    for (int i = 0; i < 3; ++i) {
      PriceQuery apple{"apple"};
      EXPECT_EQ(pit::block_on(catalog->price(std::move(apple))).cents, 250);
    }
    host.stop();  // flushes what is still queued
  }
  const std::string body = collector.received();
  EXPECT_NE(body.find(R"("name":"shop.v1.Catalog/price")"), std::string::npos) << body;
  EXPECT_NE(body.find("deployment.environment"), std::string::npos) << body;
  std::size_t spans = 0;
  for (auto at = body.find(R"("spanId")"); at != std::string::npos; at = body.find(R"("spanId")", at + 1)) ++spans;
  EXPECT_GE(spans, 3u) << body;
}

}  // namespace shop
