// pit::durable — what a transactional deduplicated operation writes with
// (OpSpec::deduplicated().transactional(), docs/durability.md).
//
//   pit::Task<PlaceReply> place(PlaceRequest r) override {
//     auto& tx = pit::durable::Transaction::current();
//     std::string sql = "UPDATE stock SET n = n - $1 WHERE sku = $2";
//     std::vector<pit::durable::Value> params{r.quantity, r.sku};  // named first: GCC 12
//     co_await tx.execute(std::move(sql), std::move(params));      // (docs/contracts.md)
//     co_return PlaceReply{...};
//   }
//
// The statements run in the same database transaction as the record of the call's settled
// reply: the reply is stored if and only if the writes commit. An exception (or a fault)
// rolls both back, and a retry with the same idempotency key runs the operation again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pit/task.hpp"

namespace pit::durable {

// A statement parameter or a column value: NULL, an integer, a real, or text.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

struct Rows {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  std::int64_t affected = 0;  // rows changed by an INSERT, UPDATE or DELETE
};

class Transaction {
 public:
  // The transaction of the transactional deduplicated call this code runs in. Anywhere
  // else (another operation, outside any call): std::logic_error.
  static Transaction& current();

  // One statement with positional parameters $1, $2, ... (the same text on SQLite and
  // PostgreSQL). A database error is thrown as pit::Fault (internal: masked like any
  // undeclared failure; the call's writes roll back).
  virtual Task<Rows> execute(std::string sql, std::vector<Value> params = {}) = 0;

  Transaction() = default;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 protected:
  virtual ~Transaction() = default;
};

}  // namespace pit::durable
