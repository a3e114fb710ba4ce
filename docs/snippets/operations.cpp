// Snippets of docs/operations.md: readiness checks on a service's dependencies.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/describe.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "pit/pit.hpp"

using namespace std::chrono_literals;

namespace shop {

struct Lookup {
  std::string sku;
};
BOOST_DESCRIBE_STRUCT(Lookup, (), (sku))

struct Stock {
  int quantity = 0;
};
BOOST_DESCRIBE_STRUCT(Stock, (), (quantity))

class Warehouse {
 public:
  virtual ~Warehouse() = default;
 protected:
  virtual pit::Task<Stock> lookup(Lookup) = 0;
};
PIT_CONTRACT(Warehouse, "shop.v1.Warehouse", (lookup, pit::OpSpec{}.anonymous("guide example").raises(pit::Code::not_found)));

class WarehouseService final : public Warehouse {
  pit::Task<Stock> lookup(Lookup) override { co_return Stock{7}; }
};

// Stands in for a database client.
struct Database {
  std::atomic<bool> reachable{true};
  bool ping() const { return reachable.load(); }
};

// GET /readyz on the admin port: the status line and the body.
std::string readyz(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n = 0; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  const auto body = reply.find("\r\n\r\n");
  return reply.substr(0, reply.find("\r\n")) + "\n" + (body == std::string::npos ? "" : reply.substr(body + 4));
}

TEST(Operations, readiness_checks_name_the_dependency_that_is_not_ready) {
  Database database;
  pit::HostOptions options;
  options.admin.listen = "127.0.0.1:0";
  options.log_sink = std::make_shared<pit::log::MemorySink>();
  pit::Host host{options};
  host.serve<Warehouse, WarehouseService>();
  // [readiness]
  // A sync check may block (it runs on a thread of its own): a database ping.
  host.readiness_check("database", [&database] { return database.ping(); }, 500ms);
  // A coroutine check may call a service, here or in another process, through a proxy.
  host.readiness_check("warehouse", [warehouse = host.client<Warehouse>()]() -> pit::Task<bool> {
    Lookup apple{"apple"};
    const Stock stock = co_await warehouse->lookup(apple);
    co_return stock.quantity >= 0;
  });
  // [/readiness]
  host.start();
  std::string answer;
  for (int i = 0; i < 100 && answer.find("200 OK") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
    answer = readyz(host.admin_port());
  }
  EXPECT_EQ(answer, "HTTP/1.1 200 OK\nready\ndatabase: ok\nwarehouse: ok\n");

  database.reachable = false;
  std::this_thread::sleep_for(1100ms);  // results are reused for a second
  EXPECT_EQ(readyz(host.admin_port()),
            "HTTP/1.1 503 Service Unavailable\nnot ready\ndatabase: not ready\nwarehouse: ok\n");
  host.stop();
}

}  // namespace shop
