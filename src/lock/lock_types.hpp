// A type as the lock writes it, and back: "bool", "string", "float32", "float64",
// "int32" (or "int32[0..100]" when the bounds are narrower than the width's), "uint64",
// "optional<T>", "array<T>", "map<T>" (a JSON object with string keys), or the name of a
// message or enum of the lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pit/schema.hpp"

namespace pit::lock::types {

struct Expr {
  schema::Kind kind = schema::Kind::message;  // message or enumeration: a named reference
  bool is_signed = false;
  int bits = 0;
  std::int64_t min = 0;
  std::uint64_t max = 0;
  std::string name;                // message or enumeration
  std::unique_ptr<Expr> element;   // optional, array, map
};

// The text of a model type (a message or enum is written by its name).
std::string render(const schema::Type& type);

// The text of a parsed type (render(parse(x)) == x for every valid x).
std::string render(const Expr& type);

// Parses a type's text. A bare name comes back as kind message; the caller resolves it
// against the lock's messages and enums. Throws std::invalid_argument naming the problem.
Expr parse(std::string_view text);

}  // namespace pit::lock::types
