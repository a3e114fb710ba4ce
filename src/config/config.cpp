// HostOptions from embedded defaults, one TOML file and PIT_<SECTION>_<KEY> variables.
//
// One table (kSettings, kOperationSettings) drives everything: the TOML reader, the
// environment reader, the validation and Config::keys(), which docs/configuration.md is
// tested against. A key exists in exactly one place, so the file, the environment and the
// reference cannot disagree about it.
#include "pit/config.hpp"

#include <arpa/inet.h>

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace pit {
namespace {

using namespace std::string_view_literals;

// ---------------------------------------------------------------------------------------
// The keys

using Value = std::variant<std::int64_t, bool, std::string>;

enum class Kind : std::uint8_t { integer, boolean, level, listen, code };

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kGiB = std::int64_t{1} << 30;
constexpr std::int64_t kMiB = std::int64_t{1} << 20;

std::size_t as_size(const Value& v) { return static_cast<std::size_t>(std::get<std::int64_t>(v)); }
std::chrono::milliseconds as_ms(const Value& v) {
  return std::chrono::milliseconds{std::get<std::int64_t>(v)};
}
Value of_size(std::size_t n) { return static_cast<std::int64_t>(n); }
Value of_ms(std::chrono::milliseconds ms) { return static_cast<std::int64_t>(ms.count()); }

constexpr std::array<std::pair<std::string_view, log::Level>, 5> kLevels{{
    {"debug", log::Level::debug},
    {"info", log::Level::info},
    {"warn", log::Level::warn},
    {"error", log::Level::error},
    {"off", log::Level::off},
}};

std::optional<log::Level> parse_level(std::string_view text) {
  for (const auto& [name, level] : kLevels) {
    if (name == text) return level;
  }
  return std::nullopt;
}

std::string_view level_name(log::Level level) {
  for (const auto& [name, l] : kLevels) {
    if (l == level) return name;
  }
  return "info";
}

// A key of the [host], [log], [http] or [admin] section.
struct Setting {
  std::string_view name;  // "section.key"
  Kind kind;
  std::int64_t min;  // integers only
  std::int64_t max;
  std::string_view description;
  void (*apply)(HostOptions&, const Value&);
  Value (*read)(const HostOptions&);  // the default shown by keys() is read from defaults()
};

// clang-format off
const std::array kSettings{
  Setting{"host.io_threads", Kind::integer, 0, 1024,
          "Threads that run coroutine operations, the pipeline and HTTP connections; 0: one per core.",
          [](HostOptions& o, const Value& v) { o.io_threads = as_size(v); },
          [](const HostOptions& o) { return of_size(o.io_threads); }},
  Setting{"host.workers", Kind::integer, 1, 4096,
          "Threads that run sync operations.",
          [](HostOptions& o, const Value& v) { o.workers = as_size(v); },
          [](const HostOptions& o) { return of_size(o.workers); }},
  Setting{"host.worker_queue", Kind::integer, 0, 1'000'000,
          "Sync jobs that may wait for a worker; beyond it a call is rejected (unavailable) at once.",
          [](HostOptions& o, const Value& v) { o.worker_queue = as_size(v); },
          [](const HostOptions& o) { return of_size(o.worker_queue); }},
  Setting{"host.default_timeout_ms", Kind::integer, 1, kDayMs,
          "Deadline of a call that brings none and whose operation sets no timeout.",
          [](HostOptions& o, const Value& v) { o.default_timeout = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.default_timeout); }},
  Setting{"host.shutdown_grace_ms", Kind::integer, 0, kHourMs,
          "On stop, how long calls in flight may take before they are cancelled.",
          [](HostOptions& o, const Value& v) { o.shutdown_grace = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.shutdown_grace); }},
  Setting{"log.level", Kind::level, 0, 0,
          "Lowest level written.",
          [](HostOptions& o, const Value& v) { o.log_level = *parse_level(std::get<std::string>(v)); },
          [](const HostOptions& o) { return Value{std::string{level_name(o.log_level)}}; }},
  Setting{"log.calls", Kind::boolean, 0, 0,
          "One structured line per call.",
          [](HostOptions& o, const Value& v) { o.log_calls = std::get<bool>(v); },
          [](const HostOptions& o) { return Value{o.log_calls}; }},
  Setting{"http.listen", Kind::listen, 0, 0,
          "Address and port of the HTTP listener; empty: none.",
          [](HostOptions& o, const Value& v) { o.http.listen = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.http.listen}; }},
  Setting{"http.max_body_bytes", Kind::integer, 1, kGiB,
          "Largest request body; larger: 413, without reading it.",
          [](HostOptions& o, const Value& v) { o.http.max_body_bytes = as_size(v); },
          [](const HostOptions& o) { return of_size(o.http.max_body_bytes); }},
  Setting{"http.max_header_bytes", Kind::integer, 1024, kMiB,
          "Largest request header block; larger: 431.",
          [](HostOptions& o, const Value& v) { o.http.max_header_bytes = as_size(v); },
          [](const HostOptions& o) { return of_size(o.http.max_header_bytes); }},
  Setting{"http.read_timeout_ms", Kind::integer, 1, kDayMs,
          "A request must arrive whole within it.",
          [](HostOptions& o, const Value& v) { o.http.read_timeout = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.http.read_timeout); }},
  Setting{"http.idle_timeout_ms", Kind::integer, 1, kDayMs,
          "A keep-alive connection idle this long is closed.",
          [](HostOptions& o, const Value& v) { o.http.idle_timeout = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.http.idle_timeout); }},
  Setting{"http.max_connections", Kind::integer, 1, 1'000'000,
          "Open connections; more are accepted and closed at once.",
          [](HostOptions& o, const Value& v) { o.http.max_connections = as_size(v); },
          [](const HostOptions& o) { return of_size(o.http.max_connections); }},
  Setting{"http.client_pool_idle", Kind::integer, 0, 10'000,
          "Outbound calls: idle keep-alive connections kept per target and I/O thread.",
          [](HostOptions& o, const Value& v) { o.http.client_pool_idle = as_size(v); },
          [](const HostOptions& o) { return of_size(o.http.client_pool_idle); }},
  Setting{"admin.listen", Kind::listen, 0, 0,
          "Address and port of /metrics, /healthz, /readyz; empty: none. Keep it private.",
          [](HostOptions& o, const Value& v) { o.admin.listen = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.admin.listen}; }},
  Setting{"admission.max_in_flight", Kind::integer, 0, 10'000'000,
          "Calls the host serves at once (calls its operations make in-process are not counted again); 0: no host-wide limit.",
          [](HostOptions& o, const Value& v) { o.admission.max_in_flight = as_size(v); },
          [](const HostOptions& o) { return of_size(o.admission.max_in_flight); }},
  Setting{"admission.max_queue", Kind::integer, 0, 10'000'000,
          "Calls that may wait for one of those slots (waiting counts against their deadline); beyond it a call is refused at once: unavailable, HTTP 503 with Retry-After.",
          [](HostOptions& o, const Value& v) { o.admission.max_queue = as_size(v); },
          [](const HostOptions& o) { return of_size(o.admission.max_queue); }},
  Setting{"fault_injection.enabled", Kind::boolean, 0, 0,
          "The master switch of the operations' inject_* settings (tests, failure drills); off: they are ignored.",
          [](HostOptions& o, const Value& v) { o.fault_injection = std::get<bool>(v); },
          [](const HostOptions& o) { return Value{o.fault_injection}; }},
};
// clang-format on

constexpr std::array<std::string_view, 6> kSections{"host", "log", "http", "admin", "admission", "fault_injection"};

// A key of [contracts."<contract>"] and [contracts."<contract>".operations.<operation>].
struct OperationSetting {
  std::string_view name;
  Kind kind;
  std::int64_t min;
  std::int64_t max;
  std::string_view description;
  void (*apply)(OperationOptions&, const Value&);
};

// clang-format off
const std::array kOperationSettings{
  OperationSetting{"timeout_ms", Kind::integer, 1, kDayMs,
                   "the timeout of its calls; replaces the declared one.",
                   [](OperationOptions& o, const Value& v) { o.timeout = as_ms(v); }},
  OperationSetting{"log_calls", Kind::boolean, 0, 0,
                   "one log line per call or none; replaces log.calls.",
                   [](OperationOptions& o, const Value& v) { o.log_calls = std::get<bool>(v); }},
  OperationSetting{"max_body_bytes", Kind::integer, 1, kGiB,
                   "the largest HTTP request body; replaces http.max_body_bytes.",
                   [](OperationOptions& o, const Value& v) { o.max_body_bytes = as_size(v); }},
  OperationSetting{"max_in_flight", Kind::integer, 1, 10'000'000,
                   "a limit of its own on calls in flight (per operation), checked before the host-wide one.",
                   [](OperationOptions& o, const Value& v) { o.max_in_flight = as_size(v); }},
  OperationSetting{"max_queue", Kind::integer, 0, 10'000'000,
                   "calls that may wait for a slot of its max_in_flight (unset: 0, none waits).",
                   [](OperationOptions& o, const Value& v) { o.max_queue = as_size(v); }},
  OperationSetting{"inject_percent", Kind::integer, 0, 100,
                   "fault injection (with fault_injection.enabled): the share of calls that are delayed and/or failed.",
                   [](OperationOptions& o, const Value& v) { o.inject_percent = static_cast<int>(std::get<std::int64_t>(v)); }},
  OperationSetting{"inject_delay_ms", Kind::integer, 0, kHourMs,
                   "fault injection: how long an injected call waits first (the deadline still bounds it).",
                   [](OperationOptions& o, const Value& v) { o.inject_delay = as_ms(v); }},
  OperationSetting{"inject_code", Kind::code, 0, 0,
                   "fault injection: the code an injected call then fails with, as if raised by the implementation; unset: delay only.",
                   [](OperationOptions& o, const Value& v) { o.inject_code = code_from_string(std::get<std::string>(v)); }},
};
// clang-format on

std::string environment_name(std::string_view key) {
  std::string name = "PIT_";
  for (const char c : key)
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// ---------------------------------------------------------------------------------------
// Validation, shared by the file and the environment

std::string type_name(Kind kind) {
  switch (kind) {
    case Kind::integer:
      return "integer";
    case Kind::boolean:
      return "boolean";
    case Kind::level:
    case Kind::listen:
    case Kind::code:
      return "string";
  }
  return "string";
}

std::string with_article(Kind kind) { return kind == Kind::integer ? "an integer" : "a " + type_name(kind); }

std::string range_text(Kind kind, std::int64_t min, std::int64_t max) {
  switch (kind) {
    case Kind::integer:
      return std::to_string(min) + ".." + std::to_string(max);
    case Kind::boolean:
      return "true, false";
    case Kind::level: {
      std::string text;
      for (const auto& [name, level] : kLevels)
        text += (text.empty() ? "\"" : ", \"") + std::string{name} + "\"";
      return text;
    }
    case Kind::listen:
      return "\"address:port\" or \"\"";
    case Kind::code:
      return "a fault code: \"unavailable\", \"internal\", \"not_found\", ...";
  }
  return {};
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string show(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return quoted(std::get<std::string>(v));
}

// "address:port": an IPv4 address or a bracketed IPv6 one, and a port 0..65535.
bool valid_listen(std::string_view text) {
  if (text.empty()) return true;  // no listener
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) return false;
  std::string_view address = text.substr(0, colon);
  std::array<unsigned char, 16> buffer{};
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
    return inet_pton(AF_INET6, std::string{address.substr(1, address.size() - 2)}.c_str(), buffer.data()) ==
           1;
  }
  return inet_pton(AF_INET, std::string{address}.c_str(), buffer.data()) == 1;
}

// Empty when `value` is acceptable for a key of this kind and range; else the reason.
std::string check(Kind kind, std::int64_t min, std::int64_t max, const Value& value) {
  switch (kind) {
    case Kind::integer: {
      const auto n = std::get<std::int64_t>(value);
      if (n < min || n > max) {
        return std::to_string(n) + " is out of range (" + range_text(kind, min, max) + ")";
      }
      return {};
    }
    case Kind::boolean:
      return {};
    case Kind::level:
      if (parse_level(std::get<std::string>(value))) return {};
      return show(value) + " is not a level (" + range_text(kind, min, max) + ")";
    case Kind::listen:
      if (valid_listen(std::get<std::string>(value))) return {};
      return show(value) +
             " is not \"address:port\" (an IP address, IPv6 in brackets, and a port 0..65535; \"\": no "
             "listener)";
    case Kind::code: {
      const auto& name = std::get<std::string>(value);
      if (name != "ok" && code_from_string(name)) return {};
      std::string codes;
      for (int c = 1; c < code_count; ++c) {
        codes += (codes.empty() ? "" : ", ") + std::string{to_string(static_cast<Code>(c))};
      }
      return show(value) + " is not a fault code (" + codes + ")";
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// Did you mean...?

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "unknown key", and the nearest candidate when one is near enough to be the intended one:
// a typo (a few edits) or a unit left off or added (timeout → timeout_ms).
std::string unknown(std::string_view noun, std::string_view what,
                    const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(what, candidate);
    if (best == nullptr || d < best_distance) {
      best = &candidate;
      best_distance = d;
    }
  }
  if (best != nullptr && best_distance > (what.size() >= 12 ? 3U : 2U)) {
    best = nullptr;
    for (const auto& candidate : candidates) {
      if (what.size() >= 4 && (candidate.starts_with(what) || what.starts_with(candidate))) {
        best = &candidate;
        break;
      }
    }
  }
  std::string message = "unknown " + std::string{noun};
  if (best != nullptr) message += " (did you mean " + *best + "?)";
  return message;
}

// ---------------------------------------------------------------------------------------
// The file

[[noreturn]] void fail_at(std::string_view source, const toml::source_region& where, std::string_view key,
                          std::string_view reason) {
  std::ostringstream out;
  out << source << ':' << where.begin.line << ':' << where.begin.column << ": " << key << ": " << reason;
  throw ConfigError(out.str());
}

std::string node_type(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A key as it would be written in a TOML file: segments that are not bare keys quoted.
std::string key_path(const std::vector<std::string_view>& segments) {
  std::string path;
  for (const auto segment : segments) {
    if (!path.empty()) path += '.';
    const bool bare = !segment.empty() && std::all_of(segment.begin(), segment.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
    path += bare ? std::string{segment} : quoted(segment);
  }
  return path;
}

class FileReader {
 public:
  FileReader(std::string_view source, HostOptions& options) : source_(source), options_(options) {}

  void read(const toml::table& root) {
    for (const auto& [key, node] : root) {
      const std::string_view section = key.str();
      if (section == "contracts") {
        read_contracts(key, node);
        continue;
      }
      if (std::find(kSections.begin(), kSections.end(), section) == kSections.end()) {
        std::vector<std::string> candidates{kSections.begin(), kSections.end()};
        candidates.emplace_back("contracts");
        fail_at(source_, key.source(), key_path({section}), unknown("key", section, candidates));
      }
      const auto* table = node.as_table();
      if (table == nullptr) {
        fail_at(source_, node.source(), section, "expected a table, got " + node_type(node));
      }
      for (const auto& [name, value] : *table) read_setting(section, name, value);
    }
  }

 private:
  void read_setting(std::string_view section, const toml::key& name, const toml::node& node) {
    const std::string full = key_path({section, name.str()});
    const auto found =
        std::find_if(kSettings.begin(), kSettings.end(), [&](const Setting& s) { return s.name == full; });
    if (found == kSettings.end()) {
      std::vector<std::string> candidates;
      candidates.reserve(kSettings.size());
      for (const auto& s : kSettings) candidates.emplace_back(s.name);
      fail_at(source_, name.source(), full, unknown("key", full, candidates));
    }
    found->apply(options_, value_of(full, found->kind, found->min, found->max, node));
  }

  void read_contracts(const toml::key& key, const toml::node& node) {
    const auto* contracts = node.as_table();
    if (contracts == nullptr) {
      fail_at(source_, node.source(), key.str(), "expected a table, got " + node_type(node));
    }
    for (const auto& [name, contract] : *contracts) {
      const std::string_view contract_name = name.str();
      const std::string where = key_path({"contracts", contract_name});
      const bool valid =
          !contract_name.empty() && std::all_of(contract_name.begin(), contract_name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_';
          });
      if (!valid) {
        fail_at(source_, name.source(), where, "not a contract name (letters, digits, '.' and '_')");
      }
      const auto* table = contract.as_table();
      if (table == nullptr) {
        fail_at(source_, contract.source(), where, "expected a table, got " + node_type(contract));
      }
      const std::string contract_key{contract_name};
      options_.operations[contract_key];  // kept even when empty: the host validates the names at start
      for (const auto& [setting, value] : *table) {
        if (setting.str() == "operations") {
          read_operations(contract_key, value);
        } else {
          read_operation_setting(contract_key, {"contracts", contract_name}, setting, value, true);
        }
      }
    }
  }

  void read_operations(const std::string& contract, const toml::node& node) {
    const std::string where = key_path({"contracts", contract, "operations"});
    const auto* operations = node.as_table();
    if (operations == nullptr) {
      fail_at(source_, node.source(), where, "expected a table, got " + node_type(node));
    }
    for (const auto& [name, operation] : *operations) {
      const std::string_view operation_name = name.str();
      const std::string op_where = key_path({"contracts", contract, "operations", operation_name});
      const bool identifier =
          !operation_name.empty() && std::isdigit(static_cast<unsigned char>(operation_name.front())) == 0 &&
          std::all_of(operation_name.begin(), operation_name.end(),
                      [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
      if (!identifier) fail_at(source_, name.source(), op_where, "not an operation name (an identifier)");
      const auto* table = operation.as_table();
      if (table == nullptr) {
        fail_at(source_, operation.source(), op_where, "expected a table, got " + node_type(operation));
      }
      const std::string operation_key = contract + "/" + std::string{operation_name};
      options_.operations[operation_key];
      for (const auto& [setting, value] : *table) {
        read_operation_setting(operation_key, {"contracts", contract, "operations", operation_name}, setting,
                               value, false);
      }
    }
  }

  // A key of a contract's table (contract_level) or of one of its operations' tables.
  void read_operation_setting(const std::string& target, std::vector<std::string_view> path,
                              const toml::key& key, const toml::node& node, bool contract_level) {
    path.push_back(key.str());
    const std::string full = key_path(path);
    const auto found = std::find_if(kOperationSettings.begin(), kOperationSettings.end(),
                                    [&](const OperationSetting& s) { return s.name == key.str(); });
    if (found == kOperationSettings.end()) {
      std::vector<std::string> candidates;
      candidates.reserve(kOperationSettings.size() + 1);
      for (const auto& s : kOperationSettings) candidates.emplace_back(s.name);
      if (contract_level) candidates.emplace_back("operations");
      fail_at(source_, key.source(), full,
              unknown("key", key.str(), candidates));  // suggested: the key alone
    }
    found->apply(options_.operations[target], value_of(full, found->kind, found->min, found->max, node));
  }

  Value value_of(const std::string& key, Kind kind, std::int64_t min, std::int64_t max,
                 const toml::node& node) {
    Value value;
    if (kind == Kind::integer && node.is_integer()) {
      value = node.as_integer()->get();
    } else if (kind == Kind::boolean && node.is_boolean()) {
      value = node.as_boolean()->get();
    } else if ((kind == Kind::level || kind == Kind::listen || kind == Kind::code) && node.is_string()) {
      value = node.as_string()->get();
    } else {
      fail_at(source_, node.source(), key, "expected " + with_article(kind) + ", got " + node_type(node));
    }
    if (auto reason = check(kind, min, max, value); !reason.empty()) {
      fail_at(source_, node.source(), key, reason);
    }
    return value;
  }

  std::string_view source_;
  HostOptions& options_;
};

void apply_file(std::string_view text, std::string_view source, HostOptions& options) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream out;
    out << source << ':' << e.source().begin.line << ':' << e.source().begin.column << ": "
        << e.description();
    throw ConfigError(out.str());
  }
  FileReader{source, options}.read(root);
}

// ---------------------------------------------------------------------------------------
// The environment

// Only these prefixes are configuration; other PIT_* variables (PIT_CONFIG, and the
// scripts' PIT_E2E_*, PIT_DEMO_*, PIT_SHOP_BIN...) are not ours to judge.
constexpr std::array<std::string_view, 6> kEnvironmentPrefixes{"PIT_HOST_",      "PIT_LOG_",
                                                               "PIT_HTTP_",      "PIT_ADMIN_",
                                                               "PIT_ADMISSION_", "PIT_FAULT_INJECTION_"};

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text{*entry};
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    variables.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return variables;
}

[[noreturn]] void fail_variable(std::string_view variable, std::string_view reason) {
  throw ConfigError("environment " + std::string{variable} + ": " + std::string{reason});
}

void apply_environment(const std::map<std::string, std::string>& variables, HostOptions& options) {
  for (const auto& entry : variables) {
    const std::string& variable = entry.first;  // named, not a structured binding: lambdas capture it
    const std::string& text = entry.second;
    const bool ours = std::any_of(kEnvironmentPrefixes.begin(), kEnvironmentPrefixes.end(),
                                  [&](std::string_view prefix) { return variable.starts_with(prefix); });
    if (!ours) continue;
    const auto found = std::find_if(kSettings.begin(), kSettings.end(),
                                    [&](const Setting& s) { return environment_name(s.name) == variable; });
    if (found == kSettings.end()) {
      std::vector<std::string> candidates;
      candidates.reserve(kSettings.size());
      for (const auto& s : kSettings) candidates.push_back(environment_name(s.name));
      fail_variable(variable, unknown("variable", variable, candidates));
    }
    Value value;
    switch (found->kind) {
      case Kind::integer: {
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
          fail_variable(variable, "expected an integer, got " + quoted(text));
        }
        value = n;
        break;
      }
      case Kind::boolean:
        if (text != "true" && text != "false") {
          fail_variable(variable, "expected true or false, got " + quoted(text));
        }
        value = text == "true";
        break;
      case Kind::level:
      case Kind::listen:
      case Kind::code:
        value = text;
        break;
    }
    if (auto reason = check(found->kind, found->min, found->max, value); !reason.empty()) {
      fail_variable(variable, reason);
    }
    found->apply(options, value);
  }
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read the configuration file");
  return text.str();
}

HostOptions load(const std::optional<std::string>& path,
                 const std::map<std::string, std::string>& environment) {
  HostOptions options = Config::defaults();
  if (path) {
    const std::string text = read_whole_file(*path);
    apply_file(text, *path, options);
  }
  apply_environment(environment, options);
  return options;
}

}  // namespace

// ---------------------------------------------------------------------------------------

HostOptions Config::defaults() {
  HostOptions options;
  options.http.listen = "127.0.0.1:8080";
  options.admin.listen = "127.0.0.1:9901";
  return options;
}

HostOptions Config::from_toml(std::string_view text, std::string_view source_name,
                              const std::map<std::string, std::string>* environment) {
  HostOptions options = defaults();
  apply_file(text, source_name, options);
  apply_environment(environment != nullptr ? *environment : process_environment(), options);
  return options;
}

HostOptions Config::from_file(const std::string& path) { return load(path, process_environment()); }

namespace {

HostOptions options_from_args(int argc, char** argv) {
  const auto environment = process_environment();
  std::optional<std::string> path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config") {
      if (i + 1 >= argc) throw ConfigError("--config: expects a file name");
      path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      path = std::string{arg.substr("--config="sv.size())};
    }
  }
  if (!path) {
    if (const auto it = environment.find("PIT_CONFIG"); it != environment.end() && !it->second.empty()) {
      path = it->second;
    }
  }
  if (path && path->empty()) throw ConfigError("--config: expects a file name");
  return load(path, environment);
}

}  // namespace

// from_args is main's first line, where an exception has no one to catch it and would end
// in std::terminate (an abort, a core dump, a line nobody reads). A configuration error is
// the operator's to fix, not the program's: one line on stderr and exit code 2 (a usage
// error), before any thread or listener exists. Programs that want to handle it call
// from_file or from_toml, which throw ConfigError.
HostOptions Config::from_args(int argc, char** argv) {
  try {
    return options_from_args(argc, argv);
  } catch (const ConfigError& e) {
    std::string line = "pit: configuration: ";
    line.append(e.what());
    std::replace(line.begin(), line.end(), '\n', ' ');
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    std::exit(2);
  }
}

const std::vector<Config::Key>& Config::keys() {
  static const std::vector<Key> all = [] {
    std::vector<Key> keys;
    keys.reserve(kSettings.size() + 2 * kOperationSettings.size());
    const HostOptions defaults = Config::defaults();
    for (const auto& s : kSettings) {
      keys.push_back({std::string{s.name}, type_name(s.kind), show(s.read(defaults)),
                      range_text(s.kind, s.min, s.max), environment_name(s.name),
                      std::string{s.description}});
    }
    const std::array<std::pair<std::string_view, std::string_view>, 2> scopes{{
        {"contracts.<contract>.", "Every operation of the contract: "},
        {"contracts.<contract>.operations.<operation>.", "This operation: "},
    }};
    for (const auto& [prefix, scope] : scopes) {
      for (const auto& s : kOperationSettings) {
        keys.push_back({std::string{prefix} + std::string{s.name}, type_name(s.kind), "(unset)",
                        range_text(s.kind, s.min, s.max), "",
                        std::string{scope} + std::string{s.description}});
      }
    }
    return keys;
  }();
  return all;
}

}  // namespace pit
