// The lock file as data: described structs, so the file is read by pit's own strict JSON
// decoder (duplicate keys, wrong types and missing required keys are refused with the path
// of the offending key) and written by its encoder. Members are declared in alphabetical
// order: the encoder writes them in declaration order, so every object's keys are sorted.
//
// Types are written as short expressions (lock_types.hpp): "int32", "uint8[0..9]",
// "optional<array<shop::v1::Item>>"; a bare name refers to an entry of `messages` or `enums`.
#pragma once

#include <boost/describe.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pit/json.hpp"

namespace pit::lock::file {

inline constexpr std::string_view kFormat = "pit-contract-lock";
inline constexpr std::int32_t kVersion = 1;

struct Field {
  std::string default_value;  // compact JSON: what a decoder fills in when the field is absent
  std::string name;           // the JSON name
  bool required = false;
  std::string type;
};
BOOST_DESCRIBE_STRUCT(Field, (), (default_value, name, required, type))
PIT_REQUIRED(Field, default_value, name, required, type)

struct Message {
  std::vector<Field> fields;  // sorted by name
  std::string name;
  std::vector<std::string> reserved;  // sorted
};
BOOST_DESCRIBE_STRUCT(Message, (), (fields, name, reserved))
PIT_REQUIRED(Message, fields, name, reserved)

struct Enum {
  std::optional<std::string> fallback;
  std::string name;
  std::vector<std::string> values;  // sorted
};
BOOST_DESCRIBE_STRUCT(Enum, (), (fallback, name, values))
PIT_REQUIRED(Enum, name, values)

struct Operation {
  std::string access;  // "anonymous: <why>", "scope(a) and role(b) or ...", "authenticated", "undeclared"
  bool idempotent = false;
  std::string name;
  std::vector<std::string> raises;  // sorted code names
  std::string reply;                // a message name
  std::string request;              // a message name
  std::uint32_t timeout_ms = 0;     // 0: the host default
  // Deduplicated operations only (absent otherwise): "key required" or "key optional".
  std::optional<std::string> deduplicated;
};
BOOST_DESCRIBE_STRUCT(Operation, (), (access, deduplicated, idempotent, name, raises, reply, request, timeout_ms))
PIT_REQUIRED(Operation, access, idempotent, name, raises, reply, request, timeout_ms)

struct Contract {
  std::string name;
  std::vector<Operation> operations;  // sorted by name
};
BOOST_DESCRIBE_STRUCT(Contract, (), (name, operations))
PIT_REQUIRED(Contract, name, operations)

// An intentional break: the finding with exactly this rule and where passes, for `reason`.
struct Acknowledgement {
  std::string reason;
  std::string rule;
  std::string where;
};
BOOST_DESCRIBE_STRUCT(Acknowledgement, (), (reason, rule, where))
PIT_REQUIRED(Acknowledgement, reason, rule, where)

struct Lock {
  std::vector<Acknowledgement> acknowledgements;
  std::vector<Contract> contracts;  // sorted by name
  std::vector<Enum> enums;          // sorted by name
  std::string format;               // kFormat
  std::vector<Message> messages;    // sorted by name
  std::int32_t version = 0;         // kVersion
};
BOOST_DESCRIBE_STRUCT(Lock, (), (acknowledgements, contracts, enums, format, messages, version))
PIT_REQUIRED(Lock, contracts, enums, format, messages, version)

// The lock as text: pretty-printed, two spaces, one array element a line.
std::string to_text(const Lock& lock);

// Reads and validates a lock. Throws LockProblem ("<what is wrong>", without the file name)
// for text that is not JSON, not a lock, of another version, or inconsistent: a duplicate
// name, a type that does not parse or names no message or enum, a fallback not among its
// values, an unknown fault code or acknowledged rule.
struct LockProblem : std::runtime_error {
  using std::runtime_error::runtime_error;
};
Lock from_text(std::string_view text);

}  // namespace pit::lock::file
