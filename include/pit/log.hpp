// Structured logs: one JSON object per line, carrying the ambient call ids by themselves.
//
//   pit::log::info("order placed", {{"sku", req.sku}, {"quantity", req.quantity}});
//
// Lines are formatted on the calling thread and handed to a bounded, asynchronous sink:
// the call path never blocks on logging. When the sink is full, lines are dropped and
// counted (pit::log::dropped()). Keys and values are JSON-escaped, so no value can forge
// a line or a field; values of fields named like secrets, and card numbers, are written
// as "[redacted]" (Redaction below).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pit::log {

enum class Level : std::uint8_t { debug = 0, info, warn, error, off };
std::string_view to_string(Level level) noexcept;

// One key/value of a log line.
class Field {
 public:
  enum class Kind : std::uint8_t { string, signed_integer, unsigned_integer, floating, boolean };

  Field(std::string_view key, std::string_view v) noexcept : key_(key), kind_(Kind::string), s_(v) {}
  Field(std::string_view key, const char* v) noexcept : Field(key, std::string_view{v}) {}
  Field(std::string_view key, const std::string& v) noexcept : Field(key, std::string_view{v}) {}
  Field(std::string_view key, bool v) noexcept : key_(key), kind_(Kind::boolean), i_(v ? 1 : 0) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && std::is_signed_v<I>)
  Field(std::string_view key, I v) noexcept : key_(key), kind_(Kind::signed_integer), i_(v) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && std::is_unsigned_v<I>)
  Field(std::string_view key, I v) noexcept
      : key_(key), kind_(Kind::unsigned_integer), u_(static_cast<std::uint64_t>(v)) {}
  Field(std::string_view key, double v) noexcept : key_(key), kind_(Kind::floating), d_(v) {}

  [[nodiscard]] std::string_view key() const noexcept { return key_; }
  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] std::string_view as_string() const noexcept { return s_; }
  [[nodiscard]] std::int64_t as_signed() const noexcept { return i_; }
  [[nodiscard]] std::uint64_t as_unsigned() const noexcept { return u_; }
  [[nodiscard]] double as_double() const noexcept { return d_; }

 private:
  std::string_view key_;
  Kind kind_;
  std::string_view s_;
  union {
    std::int64_t i_ = 0;
    std::uint64_t u_;
    double d_;
  };
};

using Fields = std::initializer_list<Field>;

// Where finished lines go. write() is called from any thread and must not block.
class Sink {
 public:
  virtual ~Sink() = default;
  // Takes one complete line (without the trailing newline). Returns false if it was dropped.
  virtual bool write(std::string_view line) = 0;
  // Blocks until every line accepted so far is written.
  virtual void flush() {}
};

// The default: a bounded queue drained to a file descriptor (stdout) by a background thread.
std::shared_ptr<Sink> stdout_sink(std::size_t capacity_lines = 16384);
std::shared_ptr<Sink> fd_sink(int fd, std::size_t capacity_lines = 16384);
// Formats nothing anywhere: for benchmarks.
std::shared_ptr<Sink> discard_sink();

// Keeps lines in memory: for tests that assert what was logged.
class MemorySink final : public Sink {
 public:
  bool write(std::string_view line) override;
  [[nodiscard]] std::vector<std::string> lines() const;
  void clear();

 private:
  struct State;
  std::shared_ptr<State> state_ = make_state();
  static std::shared_ptr<State> make_state();
};

// Which fields are written as "[redacted]" (docs/logging.md). On by default: a text field
// whose key is named like a secret (password, passwd, passphrase, secret, token, api_key,
// access_key, private_key, authorization, cookie, credential, card_number, anywhere in the
// key, case and '_', '-', '.' ignored), and in any text field each number that is a
// payment card's (13-19 digits, spaces or dashes between them allowed, a card network's
// prefix, Luhn-valid). Numbers and booleans are never redacted by their key's name.
struct Redaction {
  bool enabled = true;
  // More names, matched like the built-in ones ("ssn", "session_id").
  std::vector<std::string> keys;
};

// Process-wide logger settings (the host sets them at start from its options).
void configure(std::shared_ptr<Sink> sink, Level min_level);
void configure_redaction(const Redaction& redaction);
[[nodiscard]] bool enabled(Level level) noexcept;
// Lines dropped because the sink was full, since the process started.
[[nodiscard]] std::uint64_t dropped() noexcept;
void flush();

void write(Level level, std::string_view message, Fields fields = {});
inline void debug(std::string_view message, Fields fields = {}) {
  if (enabled(Level::debug)) write(Level::debug, message, fields);
}
inline void info(std::string_view message, Fields fields = {}) {
  if (enabled(Level::info)) write(Level::info, message, fields);
}
inline void warn(std::string_view message, Fields fields = {}) {
  if (enabled(Level::warn)) write(Level::warn, message, fields);
}
inline void error(std::string_view message, Fields fields = {}) {
  if (enabled(Level::error)) write(Level::error, message, fields);
}

}  // namespace pit::log
