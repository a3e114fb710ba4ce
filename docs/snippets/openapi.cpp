// Snippets of docs/openapi.md: a contract's OpenAPI document, from a host and in a test.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pit/pit.hpp"

namespace shop::v1 {

// [messages]
enum class Colour { red, green, unknown };
BOOST_DESCRIBE_ENUM(Colour, red, green, unknown)
PIT_ENUM_FALLBACK(Colour, unknown)  // a newer caller's colour reads as `unknown`

struct PlaceOrder {
  std::string sku;
  int quantity = 1;                // request: optional, default 1, null allowed
  std::optional<Colour> colour;    // absent or null
  std::int64_t customer = 0;       // request: a number or a decimal string
};
BOOST_DESCRIBE_STRUCT(PlaceOrder, (), (sku, quantity, colour, customer))
PIT_REQUIRED(PlaceOrder, sku)      // request: required, never null

struct OrderPlaced {
  std::string order_id;            // reply: always present
  std::vector<std::string> notes;  // reply: always present (maybe [])
};
BOOST_DESCRIBE_STRUCT(OrderPlaced, (), (order_id, notes))

class Orders {
 public:
  virtual ~Orders() = default;
 protected:
  virtual pit::Task<OrderPlaced> place(PlaceOrder) = 0;
};
PIT_CONTRACT(Orders, "shop.v1.Orders",
             (place, pit::OpSpec{}
                         .require(pit::scope("orders.write"))
                         .raises(pit::Code::not_found)
                         .timeout(std::chrono::seconds(2))));
// [/messages]

class OrdersService final : public Orders {
  pit::Task<OrderPlaced> place(PlaceOrder) override { co_return OrderPlaced{"o-1", {}}; }
};

}  // namespace shop::v1

namespace {

TEST(OpenApiGuide, the_document_of_a_host_before_it_starts) {
  // [host]
  pit::HostOptions options;
  options.service = {.name = "orders", .version = "1.4.0", .license = ""};
  pit::Host host{options};
  host.serve<shop::v1::Orders, shop::v1::OrdersService>();
  const std::string document = host.openapi();  // compact JSON; nothing started
  // [/host]
  EXPECT_NE(document.find(R"("/shop.v1.Orders/place":{"post":)"), std::string::npos);
  EXPECT_NE(document.find(R"("x-pit-timeout-ms":2000)"), std::string::npos);
  EXPECT_NE(document.find(R"("security":[{"bearer":["orders.write"]}])"), std::string::npos);
  EXPECT_NE(document.find(R"("x-pit-fallback":"unknown")"), std::string::npos);
  EXPECT_NE(document.find(R"("title":"orders","version":"1.4.0")"), std::string::npos);
}

}  // namespace
