// The configuration keys: one table for the host's sections (kSettings), one for the
// keys of contracts' and operations' tables (kOperationSettings), and two for the
// downstream clients' tables (kClientSettings, kClientOperationSettings), all in
// key_table.cpp.
//
// That table drives everything: the TOML reader, the environment reader, the validation
// and Config::keys(), which docs/configuration.md is tested against. A key exists in
// exactly one place, so the file, the environment and the reference cannot disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "pit/host.hpp"

namespace pit::config {

// number: a key that takes an integer or a float (stored as double); strings: a TOML array
// of strings (clients' endpoints).
using Value = std::variant<std::int64_t, bool, std::string, double, std::vector<std::string>>;

// What a key holds and how it is checked (value_check.hpp).
// text: any string (a URL, a name); checked by the part that uses it. identity: an
// OutboundIdentity name. path: a file path or "" (checked at start); audit_path: a file
// name or "-" (standard output), never ""; when_behind: "wait" or "drop"
// (audit.when_behind); client_auth: http.tls_client_auth's values. number: an integer or a
// float within min..max. url: a client base URL (outbound::parse_url); urls: a non-empty
// array of them. balancer: "p2c" or "round_robin"; hedge: "off", "fixed" or "p95". pairs:
// "key=value,key2=value2" (values percent-decoded; tracing.headers, OTEL_* style).
// dedup_store: "sqlite" or "postgres" (durability.store).
enum class Kind : std::uint8_t {
  integer, boolean, level, listen, code, names, text, identity, path, audit_path, when_behind, client_auth,
  number, url, urls, balancer, hedge, pairs, dedup_store
};

// A key of the [host], [log], [http], [admin], [admission], [fault_injection], [audit] or
// [durability] section.
struct Setting {
  std::string_view name;  // "section.key"
  Kind kind;
  std::int64_t min;  // integers only
  std::int64_t max;
  std::string_view description;
  void (*apply)(HostOptions&, const Value&);
  Value (*read)(const HostOptions&);  // the default shown by keys() is read from defaults()
};

// A key of [contracts."<contract>"] and [contracts."<contract>".operations.<operation>].
struct OperationSetting {
  std::string_view name;
  Kind kind;
  std::int64_t min;
  std::int64_t max;
  std::string_view description;
  void (*apply)(OperationOptions&, const Value&);
};

// A key of [clients."<contract>"]: how this host calls that contract over HTTP.
struct ClientSetting {
  std::string_view name;
  Kind kind;
  std::int64_t min;
  std::int64_t max;
  std::string_view description;
  void (*apply)(ClientOptions&, const Value&);
  Value (*read)(const ClientOptions&);  // the default keys() shows, read from ClientOptions{}
};

// A key of [clients."<contract>".operations.<operation>].
struct ClientOperationSetting {
  std::string_view name;
  Kind kind;
  std::int64_t min;
  std::int64_t max;
  std::string_view description;
  void (*apply)(ClientOperationOptions&, const Value&);
};

std::span<const Setting> settings();                     // kSettings
std::span<const OperationSetting> operation_settings();  // kOperationSettings
std::span<const ClientSetting> client_settings();                    // kClientSettings
std::span<const ClientOperationSetting> client_operation_settings();  // kClientOperationSettings
// The sections of kSettings, as they head a table in the file.
std::span<const std::string_view> sections();
// The prefixes of the variables that are configuration ("PIT_HOST_", ...): one per section.
std::span<const std::string_view> environment_prefixes();

// log.level's values, in order of severity.
std::span<const std::pair<std::string_view, log::Level>> levels();
std::optional<log::Level> parse_level(std::string_view text);
std::optional<OutboundIdentity> parse_outbound_identity(std::string_view text);
std::optional<Balancer> parse_balancer(std::string_view text);
std::optional<Hedge> parse_hedge(std::string_view text);

// http.tls_client_auth's values.
std::span<const std::pair<std::string_view, HttpOptions::ClientAuth>> client_auth_modes();
std::optional<HttpOptions::ClientAuth> parse_client_auth(std::string_view text);

// "a, b,c" → {"a", "b", "c"}: a comma-separated list of names (Kind::names), spaces around
// them ignored; a trailing comma gives an empty name (refused by the check).
std::vector<std::string> split_names(std::string_view text);
std::string join_names(const std::vector<std::string>& names);

// "k=v, k2=v2" → {{"k","v"},{"k2","v2"}} (Kind::pairs, and OTEL_EXPORTER_OTLP_HEADERS /
// OTEL_RESOURCE_ATTRIBUTES): spaces around keys and values trimmed, values percent-decoded.
// nullopt for an entry without '=' or with an empty key, or a key or value with a control
// character (a header line break).
std::optional<std::vector<std::pair<std::string, std::string>>> parse_pairs(std::string_view text);
std::string join_pairs(const std::vector<std::pair<std::string, std::string>>& pairs);

// "http.listen" → "PIT_HTTP_LISTEN".
std::string environment_name(std::string_view key);

}  // namespace pit::config
