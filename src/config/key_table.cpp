// The configuration keys, their ranges, meanings and where each lands in HostOptions.
// Add a key here and as a row of docs/configuration.md (config_test compares them).
#include "config/key_table.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>

namespace pit::config {
namespace {

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
// A number key's value: an integer in the file is as good as a float.
double as_number(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

constexpr std::array<std::pair<std::string_view, log::Level>, 5> kLevels{{
    {"debug", log::Level::debug},
    {"info", log::Level::info},
    {"warn", log::Level::warn},
    {"error", log::Level::error},
    {"off", log::Level::off},
}};

constexpr std::array<std::pair<std::string_view, HttpOptions::ClientAuth>, 3> kClientAuth{{
    {"none", HttpOptions::ClientAuth::none},
    {"optional", HttpOptions::ClientAuth::optional},
    {"required", HttpOptions::ClientAuth::required},
}};

std::string_view client_auth_name(HttpOptions::ClientAuth mode) {
  for (const auto& [name, m] : kClientAuth) {
    if (m == mode) return name;
  }
  return "none";
}

std::string_view level_name(log::Level level) {
  for (const auto& [name, l] : kLevels) {
    if (l == level) return name;
  }
  return "info";
}

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
  Setting{"host.io_stall_ms", Kind::integer, 0, kHourMs,
          "An I/O thread busy this long in one piece of code is logged (with the blocking call's ids) and counted; 0: not watched.",
          [](HostOptions& o, const Value& v) { o.io_stall_threshold = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.io_stall_threshold); }},
  Setting{"host.shutdown_grace_ms", Kind::integer, 0, kHourMs,
          "On stop, how long calls in flight may take before they are cancelled.",
          [](HostOptions& o, const Value& v) { o.shutdown_grace = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.shutdown_grace); }},
  Setting{"host.service_name", Kind::text, 0, 0,
          "The service's name in its OpenAPI document (info.title); empty: the served contracts' names.",
          [](HostOptions& o, const Value& v) { o.service.name = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.service.name}; }},
  Setting{"host.service_version", Kind::text, 0, 0,
          "The service's version in its OpenAPI document (info.version); empty: \"unversioned\".",
          [](HostOptions& o, const Value& v) { o.service.version = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.service.version}; }},
  Setting{"host.service_license", Kind::text, 0, 0,
          "The SPDX identifier of the service's API license in its OpenAPI document (info.license); empty: none stated.",
          [](HostOptions& o, const Value& v) { o.service.license = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.service.license}; }},
  Setting{"log.level", Kind::level, 0, 0,
          "Lowest level written.",
          [](HostOptions& o, const Value& v) { o.log_level = *parse_level(std::get<std::string>(v)); },
          [](const HostOptions& o) { return Value{std::string{level_name(o.log_level)}}; }},
  Setting{"log.calls", Kind::boolean, 0, 0,
          "One structured line per call.",
          [](HostOptions& o, const Value& v) { o.log_calls = std::get<bool>(v); },
          [](const HostOptions& o) { return Value{o.log_calls}; }},
  Setting{"log.redact", Kind::boolean, 0, 0,
          "Write log fields named like secrets, and card numbers, as \"[redacted]\".",
          [](HostOptions& o, const Value& v) { o.log_redaction.enabled = std::get<bool>(v); },
          [](const HostOptions& o) { return Value{o.log_redaction.enabled}; }},
  Setting{"log.redact_keys", Kind::names, 0, 0,
          "More key names to redact, comma-separated, matched like the built-in ones.",
          [](HostOptions& o, const Value& v) { o.log_redaction.keys = split_names(std::get<std::string>(v)); },
          [](const HostOptions& o) { return Value{join_names(o.log_redaction.keys)}; }},
  Setting{"http.listen", Kind::listen, 0, 0,
          "Address and port of the HTTP listener; empty: none.",
          [](HostOptions& o, const Value& v) { o.http.listen = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.http.listen}; }},
  Setting{"http.max_body_bytes", Kind::integer, 1, kGiB,
          "Largest request body; larger: 413, without reading it.",
          [](HostOptions& o, const Value& v) { o.http.max_body_bytes = as_size(v); },
          [](const HostOptions& o) { return of_size(o.http.max_body_bytes); }},
  Setting{"http.max_reply_bytes", Kind::integer, 1, kGiB,
          "Largest reply body, served or received; larger: internal (masked; the log has the size and the limit).",
          [](HostOptions& o, const Value& v) { o.http.max_reply_bytes = as_size(v); },
          [](const HostOptions& o) { return of_size(o.http.max_reply_bytes); }},
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
  Setting{"http.tls_cert_file", Kind::path, 0, 0,
          "TLS on the listener: the certificate (PEM, the chain after it); set with http.tls_key_file, or neither (plaintext). Re-read when it changes.",
          [](HostOptions& o, const Value& v) { o.http.tls_cert_file = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.http.tls_cert_file}; }},
  Setting{"http.tls_key_file", Kind::path, 0, 0,
          "The private key of http.tls_cert_file (PEM). Re-read when it changes.",
          [](HostOptions& o, const Value& v) { o.http.tls_key_file = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.http.tls_key_file}; }},
  Setting{"http.tls_client_ca_file", Kind::path, 0, 0,
          "Mutual TLS: the CA bundle (PEM) client certificates are verified against; needs http.tls_client_auth optional or required.",
          [](HostOptions& o, const Value& v) { o.http.tls_client_ca_file = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.http.tls_client_ca_file}; }},
  Setting{"http.tls_client_auth", Kind::client_auth, 0, 0,
          "Client certificates: none (not asked for), optional (verified when sent), required (no certificate: refused at the handshake).",
          [](HostOptions& o, const Value& v) { o.http.tls_client_auth = *parse_client_auth(std::get<std::string>(v)); },
          [](const HostOptions& o) { return Value{std::string{client_auth_name(o.http.tls_client_auth)}}; }},
  Setting{"http.tls_reload_ms", Kind::integer, 0, kHourMs,
          "How often the TLS files are checked for a change (and re-read); 0: never.",
          [](HostOptions& o, const Value& v) { o.http.tls_reload_interval = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.http.tls_reload_interval); }},
  Setting{"http.client_ca_file", Kind::path, 0, 0,
          "Outbound https:// calls: the CA bundle (PEM) servers are verified against; empty: the system's trust store.",
          [](HostOptions& o, const Value& v) { o.http.client_ca_file = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.http.client_ca_file}; }},
  Setting{"http.client_cert_file", Kind::path, 0, 0,
          "Outbound https:// calls: the client certificate (PEM) shown to servers that ask; set with http.client_key_file.",
          [](HostOptions& o, const Value& v) { o.http.client_cert_file = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.http.client_cert_file}; }},
  Setting{"http.client_key_file", Kind::path, 0, 0,
          "The private key of http.client_cert_file (PEM).",
          [](HostOptions& o, const Value& v) { o.http.client_key_file = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.http.client_key_file}; }},
  Setting{"admin.listen", Kind::listen, 0, 0,
          "Address and port of /metrics, /healthz, /readyz and the diagnostics pages (docs/diagnostics.md); empty: none. Keep it private.",
          [](HostOptions& o, const Value& v) { o.admin.listen = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.admin.listen}; }},
  Setting{"admin.token", Kind::text, 0, 0,
          "The bearer token the admin listener's state changes (POST) need, and its read-only diagnostics pages when it is not on loopback; empty: state changes are refused (prefer the environment: PIT_ADMIN_TOKEN).",
          [](HostOptions& o, const Value& v) { o.admin.token = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.admin.token}; }},
  Setting{"admin.recent_calls", Kind::integer, 0, 10'000,
          "Calls kept per operation and I/O thread for /calls/recent and /calls/slowest; 0: none kept.",
          [](HostOptions& o, const Value& v) { o.admin.recent_calls = as_size(v); },
          [](const HostOptions& o) { return of_size(o.admin.recent_calls); }},
  Setting{"admin.max_log_level_duration_ms", Kind::integer, 1'000, kDayMs,
          "The longest a log level set with POST /log-level lasts before the configured one comes back.",
          [](HostOptions& o, const Value& v) { o.admin.max_log_level_duration = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.admin.max_log_level_duration); }},
  Setting{"admission.max_in_flight", Kind::integer, 0, 10'000'000,
          "Calls the host serves at once (calls its operations make in-process are not counted again); 0: no host-wide limit.",
          [](HostOptions& o, const Value& v) { o.admission.max_in_flight = as_size(v); },
          [](const HostOptions& o) { return of_size(o.admission.max_in_flight); }},
  Setting{"admission.max_queue", Kind::integer, 0, 10'000'000,
          "Calls that may wait for one of those slots (waiting counts against their deadline); beyond it a call is refused at once: unavailable, HTTP 503 with Retry-After.",
          [](HostOptions& o, const Value& v) { o.admission.max_queue = as_size(v); },
          [](const HostOptions& o) { return of_size(o.admission.max_queue); }},
  Setting{"auth.issuer", Kind::text, 0, 0,
          "The issuer (iss) whose bearer JWT access tokens are accepted; empty: none.",
          [](HostOptions& o, const Value& v) { o.auth.issuer = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.auth.issuer}; }},
  Setting{"auth.jwks_url", Kind::text, 0, 0,
          "The issuer's key set (JWKS) URL: fetched at start, refreshed in the background.",
          [](HostOptions& o, const Value& v) { o.auth.jwks_url = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.auth.jwks_url}; }},
  Setting{"auth.jwks_file", Kind::text, 0, 0,
          "A local JWKS file instead of a URL (development, air-gapped sites); re-read on refresh.",
          [](HostOptions& o, const Value& v) { o.auth.jwks_file = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.auth.jwks_file}; }},
  Setting{"auth.audiences", Kind::text, 0, 0,
          "Audiences (aud) accepted besides the called contract's name, comma-separated (URIs allowed).",
          [](HostOptions& o, const Value& v) { o.auth.audiences = split_names(std::get<std::string>(v)); },
          [](const HostOptions& o) { return Value{join_names(o.auth.audiences)}; }},
  Setting{"auth.leeway_ms", Kind::integer, 0, 300'000,
          "Clock skew allowed when checking exp and nbf.",
          [](HostOptions& o, const Value& v) { o.auth.leeway = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.auth.leeway); }},
  Setting{"auth.max_token_bytes", Kind::integer, 256, 65'536,
          "Longest bearer token; longer: refused before it is decoded.",
          [](HostOptions& o, const Value& v) { o.auth.max_token_bytes = as_size(v); },
          [](const HostOptions& o) { return of_size(o.auth.max_token_bytes); }},
  Setting{"auth.token_cache", Kind::integer, 0, 10'000'000,
          "Verified tokens kept until they expire, so a repeated token costs no signature check; 0: none.",
          [](HostOptions& o, const Value& v) { o.auth.token_cache = as_size(v); },
          [](const HostOptions& o) { return of_size(o.auth.token_cache); }},
  Setting{"auth.jwks_refresh_ms", Kind::integer, 1'000, kDayMs,
          "How often the key set is fetched again in the background.",
          [](HostOptions& o, const Value& v) { o.auth.jwks_refresh = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.auth.jwks_refresh); }},
  Setting{"auth.jwks_min_refetch_ms", Kind::integer, 0, kHourMs,
          "Least time between two fetches caused by an unknown key id (one fetch, shared by every call that waits).",
          [](HostOptions& o, const Value& v) { o.auth.jwks_min_refetch = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.auth.jwks_min_refetch); }},
  Setting{"auth.plaintext_bearer", Kind::boolean, 0, 0,
          "Accept bearer tokens on a listener without TLS (loopback development, a TLS-terminating proxy); logged at start.",
          [](HostOptions& o, const Value& v) { o.auth.plaintext_bearer = std::get<bool>(v); },
          [](const HostOptions& o) { return Value{o.auth.plaintext_bearer}; }},
  Setting{"auth.roles_claim", Kind::text, 0, 0,
          "The claim that holds the caller's roles.",
          [](HostOptions& o, const Value& v) { o.auth.roles_claim = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.auth.roles_claim}; }},
  Setting{"auth.keep_claims", Kind::names, 0, 0,
          "More claims copied into pit::caller().claims, comma-separated.",
          [](HostOptions& o, const Value& v) { o.auth.keep_claims = split_names(std::get<std::string>(v)); },
          [](const HostOptions& o) { return Value{join_names(o.auth.keep_claims)}; }},
  Setting{"auth.token_url", Kind::text, 0, 0,
          "The issuer's token endpoint, for this service's own tokens and token exchange.",
          [](HostOptions& o, const Value& v) { o.auth.token_url = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.auth.token_url}; }},
  Setting{"auth.client_id", Kind::text, 0, 0,
          "This service's client id at the issuer.",
          [](HostOptions& o, const Value& v) { o.auth.client_id = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.auth.client_id}; }},
  Setting{"auth.client_secret", Kind::text, 0, 0,
          "This service's client secret (prefer the environment: PIT_AUTH_CLIENT_SECRET).",
          [](HostOptions& o, const Value& v) { o.auth.client_secret = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.auth.client_secret}; }},
  Setting{"audit.path", Kind::audit_path, 0, 0,
          "The JSON-lines file every authorization decision is appended to; \"-\": standard output.",
          [](HostOptions& o, const Value& v) { o.audit.path = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.audit.path}; }},
  Setting{"audit.when_behind", Kind::when_behind, 0, 0,
          "When the audit queue is full: wait (up to audit.max_wait_ms, then refuse the call: unavailable, 503) or drop (count it and write a gap record).",
          [](HostOptions& o, const Value& v) {
            o.audit.when_behind = std::get<std::string>(v) == "drop" ? AuditOptions::WhenBehind::drop : AuditOptions::WhenBehind::wait;
          },
          [](const HostOptions& o) {
            return Value{std::string{o.audit.when_behind == AuditOptions::WhenBehind::drop ? "drop" : "wait"}};
          }},
  Setting{"audit.max_wait_ms", Kind::integer, 0, 60'000,
          "When behind in wait mode: how long a call waits for room in the audit queue before it is refused.",
          [](HostOptions& o, const Value& v) { o.audit.max_wait = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.audit.max_wait); }},
  Setting{"audit.queue", Kind::integer, 1, 10'000'000,
          "Audit records formatted and not yet written, at most (kept while the sink cannot write).",
          [](HostOptions& o, const Value& v) { o.audit.queue = as_size(v); },
          [](const HostOptions& o) { return of_size(o.audit.queue); }},
  Setting{"tracing.endpoint", Kind::text, 0, 0,
          "The OTLP/HTTP traces URL spans are exported to (JSON encoding; http:// only); empty: no spans (trace context still propagates).",
          [](HostOptions& o, const Value& v) { o.tracing.endpoint = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.tracing.endpoint}; }},
  Setting{"tracing.sample_ratio", Kind::number, 0, 1,
          "The share of root calls sampled (by trace id); a caller's decision is kept for the rest.",
          [](HostOptions& o, const Value& v) { o.tracing.sample_ratio = as_number(v); },
          [](const HostOptions& o) { return Value{o.tracing.sample_ratio}; }},
  Setting{"tracing.max_queue", Kind::integer, 1, 1'000'000,
          "Spans waiting for export, at most; when full, a span is dropped and counted, the call never waits.",
          [](HostOptions& o, const Value& v) { o.tracing.max_queue = as_size(v); },
          [](const HostOptions& o) { return of_size(o.tracing.max_queue); }},
  Setting{"tracing.max_batch", Kind::integer, 1, 1'000'000,
          "Spans per export request; a full batch is sent at once (at most tracing.max_queue).",
          [](HostOptions& o, const Value& v) { o.tracing.max_batch = as_size(v); },
          [](const HostOptions& o) { return of_size(o.tracing.max_batch); }},
  Setting{"tracing.export_interval_ms", Kind::integer, 1, kHourMs,
          "Spans queued are sent at least this often.",
          [](HostOptions& o, const Value& v) { o.tracing.export_interval = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.tracing.export_interval); }},
  Setting{"tracing.export_timeout_ms", Kind::integer, 1, kHourMs,
          "One export request's time limit (connect, send, answer).",
          [](HostOptions& o, const Value& v) { o.tracing.export_timeout = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.tracing.export_timeout); }},
  Setting{"tracing.headers", Kind::pairs, 0, 0,
          "Headers sent with every export request (an API key): \"name=value,name2=value2\", values percent-decoded.",
          [](HostOptions& o, const Value& v) { o.tracing.headers = *parse_pairs(std::get<std::string>(v)); },
          [](const HostOptions& o) { return Value{join_pairs(o.tracing.headers)}; }},
  Setting{"tracing.resource_attributes", Kind::pairs, 0, 0,
          "More resource attributes of every span: \"key=value,key2=value2\".",
          [](HostOptions& o, const Value& v) { o.tracing.resource_attributes = *parse_pairs(std::get<std::string>(v)); },
          [](const HostOptions& o) { return Value{join_pairs(o.tracing.resource_attributes)}; }},
  Setting{"tracing.instance", Kind::text, 0, 0,
          "service.instance.id of the spans; empty: \"<hostname>:<pid>\".",
          [](HostOptions& o, const Value& v) { o.tracing.instance = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.tracing.instance}; }},
  Setting{"tracing.force_token", Kind::text, 0, 0,
          "A caller sending this token in the Pit-Trace-Force header has its call sampled; empty: nobody can force sampling.",
          [](HostOptions& o, const Value& v) { o.tracing.force_token = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.tracing.force_token}; }},
  Setting{"fault_injection.enabled", Kind::boolean, 0, 0,
          "The master switch of the operations' inject_* settings (tests, failure drills); off: they are ignored.",
          [](HostOptions& o, const Value& v) { o.fault_injection = std::get<bool>(v); },
          [](const HostOptions& o) { return Value{o.fault_injection}; }},
  Setting{"durability.store", Kind::dedup_store, 0, 0,
          "Where deduplicated operations keep their claims and settled replies: sqlite (one file per service) or postgres (shared by replicas).",
          [](HostOptions& o, const Value& v) {
            o.durability.store = std::get<std::string>(v) == "postgres" ? DedupStore::postgres : DedupStore::sqlite;
          },
          [](const HostOptions& o) {
            return Value{std::string{o.durability.store == DedupStore::postgres ? "postgres" : "sqlite"}};
          }},
  Setting{"durability.sqlite_path", Kind::path, 0, 0,
          "The SQLite file; empty: \"<service name or first contract>.dedup.sqlite\" in the working directory.",
          [](HostOptions& o, const Value& v) { o.durability.sqlite_path = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.durability.sqlite_path}; }},
  Setting{"durability.sqlite_busy_timeout_ms", Kind::integer, 0, 600'000,
          "How long a write waits for another process's lock on the SQLite file before the call is refused (unavailable).",
          [](HostOptions& o, const Value& v) { o.durability.sqlite_busy_timeout = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.durability.sqlite_busy_timeout); }},
  Setting{"durability.postgres_url", Kind::text, 0, 0,
          "The libpq connection string of the PostgreSQL store (store = postgres); prefer the environment: PIT_DURABILITY_POSTGRES_URL.",
          [](HostOptions& o, const Value& v) { o.durability.postgres_url = std::get<std::string>(v); },
          [](const HostOptions& o) { return Value{o.durability.postgres_url}; }},
  Setting{"durability.postgres_connections", Kind::integer, 1, 1'000,
          "Connections the PostgreSQL store keeps open.",
          [](HostOptions& o, const Value& v) { o.durability.postgres_connections = as_size(v); },
          [](const HostOptions& o) { return of_size(o.durability.postgres_connections); }},
  Setting{"durability.retention_ms", Kind::integer, 1'000, 365 * kDayMs,
          "How long a settled outcome is kept (and replayed) when the operation does not declare its own retention.",
          [](HostOptions& o, const Value& v) { o.durability.retention = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.durability.retention); }},
  Setting{"durability.purge_interval_ms", Kind::integer, 0, kDayMs,
          "How often expired records are deleted in the background; 0: never.",
          [](HostOptions& o, const Value& v) { o.durability.purge_interval = as_ms(v); },
          [](const HostOptions& o) { return of_ms(o.durability.purge_interval); }},
};
// clang-format on

constexpr std::array<std::string_view, 10> kSections{"host",      "log",   "http",    "admin",           "admission",
                                                    "auth",      "audit", "tracing", "fault_injection", "durability"};

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
  OperationSetting{"max_reply_bytes", Kind::integer, 1, kGiB,
                   "the largest reply body, served or received; replaces http.max_reply_bytes.",
                   [](OperationOptions& o, const Value& v) { o.max_reply_bytes = as_size(v); }},
  OperationSetting{"max_in_flight", Kind::integer, 1, 10'000'000,
                   "a limit of its own on calls in flight (per operation), checked before the host-wide one.",
                   [](OperationOptions& o, const Value& v) { o.max_in_flight = as_size(v); }},
  OperationSetting{"max_queue", Kind::integer, 0, 10'000'000,
                   "calls that may wait for a slot of its max_in_flight (unset: 0, none waits).",
                   [](OperationOptions& o, const Value& v) { o.max_queue = as_size(v); }},
  OperationSetting{"require_scopes", Kind::names, 0, 0,
                   "scopes a caller must also hold, comma-separated: narrows the declared access, never opens it.",
                   [](OperationOptions& o, const Value& v) { o.require_scopes = split_names(std::get<std::string>(v)); }},
  OperationSetting{"require_roles", Kind::names, 0, 0,
                   "roles a caller must also hold, comma-separated: narrows the declared access, never opens it.",
                   [](OperationOptions& o, const Value& v) { o.require_roles = split_names(std::get<std::string>(v)); }},
  OperationSetting{"outbound_identity", Kind::identity, 0, 0,
                   "as a client of it: \"exchange\", \"forward\", \"own\" or \"none\" (unset: exchange with auth.token_url, else forward).",
                   [](OperationOptions& o, const Value& v) { o.outbound_identity = parse_outbound_identity(std::get<std::string>(v)); }},
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

// clang-format off
const std::array kClientSettings{
  ClientSetting{"endpoints", Kind::urls, 0, 0,
                "The endpoints, base URLs (\"http://10.0.0.5:8081\", ...); they replace the URL given in code.",
                [](ClientOptions& o, const Value& v) { o.endpoints = std::get<std::vector<std::string>>(v); },
                [](const ClientOptions& o) { return Value{o.endpoints}; }},
  ClientSetting{"dns", Kind::url, 0, 0,
                "Or a DNS name (\"http://inventory.internal:8081\"): every address it resolves to is an endpoint.",
                [](ClientOptions& o, const Value& v) { o.dns = std::get<std::string>(v); },
                [](const ClientOptions& o) { return Value{o.dns}; }},
  ClientSetting{"resolve_interval_ms", Kind::integer, 1, kDayMs,
                "How often the dns name is resolved again (and, at most once a second, after connect failures).",
                [](ClientOptions& o, const Value& v) { o.resolve_interval = as_ms(v); },
                [](const ClientOptions& o) { return of_ms(o.resolve_interval); }},
  ClientSetting{"balancer", Kind::balancer, 0, 0,
                "p2c: the less loaded (and less failing) of two endpoints drawn at random; round_robin: in turn.",
                [](ClientOptions& o, const Value& v) { o.balancer = *parse_balancer(std::get<std::string>(v)); },
                [](const ClientOptions& o) {
                  return Value{std::string{o.balancer == Balancer::p2c ? "p2c" : "round_robin"}};
                }},
  ClientSetting{"max_in_flight", Kind::integer, 1, 10'000'000,
                "Calls of this client in flight at once; past it a call fails at once with resource_exhausted.",
                [](ClientOptions& o, const Value& v) { o.max_in_flight = as_size(v); },
                [](const ClientOptions& o) { return of_size(o.max_in_flight); }},
  ClientSetting{"retry_max_attempts", Kind::integer, 1, 100,
                "Attempts of one call, the first included; 1: never retried.",
                [](ClientOptions& o, const Value& v) { o.retry.max_attempts = as_size(v); },
                [](const ClientOptions& o) { return of_size(o.retry.max_attempts); }},
  ClientSetting{"retry_backoff_base_ms", Kind::integer, 0, kHourMs,
                "Retry n waits uniform(0, min(max, base * 2^(n-1))) (full jitter).",
                [](ClientOptions& o, const Value& v) { o.retry.backoff_base = as_ms(v); },
                [](const ClientOptions& o) { return of_ms(o.retry.backoff_base); }},
  ClientSetting{"retry_backoff_max_ms", Kind::integer, 0, kHourMs,
                "The longest backoff (a callee's Retry-After may ask for more).",
                [](ClientOptions& o, const Value& v) { o.retry.backoff_max = as_ms(v); },
                [](const ClientOptions& o) { return of_ms(o.retry.backoff_max); }},
  ClientSetting{"retry_budget_percent", Kind::number, 0, 100,
                "Retries and requeues may be at most this percent of the requests of the last window (integer or float).",
                [](ClientOptions& o, const Value& v) { o.retry.budget_percent = as_number(v); },
                [](const ClientOptions& o) { return Value{o.retry.budget_percent}; }},
  ClientSetting{"retry_budget_per_second", Kind::number, 0, 1'000'000,
                "Plus this many per second of the window, so a quiet client can still retry (integer or float).",
                [](ClientOptions& o, const Value& v) { o.retry.budget_per_second = as_number(v); },
                [](const ClientOptions& o) { return Value{o.retry.budget_per_second}; }},
  ClientSetting{"retry_budget_window_ms", Kind::integer, 1, kHourMs,
                "The window over which the retry budget counts requests and retries.",
                [](ClientOptions& o, const Value& v) { o.retry.budget_window = as_ms(v); },
                [](const ClientOptions& o) { return of_ms(o.retry.budget_window); }},
  ClientSetting{"hedge", Kind::hedge, 0, 0,
                "Idempotent operations only: off, fixed (one more attempt after hedge_delay_ms) or p95 (after the observed p95, at least hedge_delay_ms).",
                [](ClientOptions& o, const Value& v) { o.hedge.mode = *parse_hedge(std::get<std::string>(v)); },
                [](const ClientOptions& o) {
                  return Value{std::string{o.hedge.mode == Hedge::off ? "off" : o.hedge.mode == Hedge::fixed ? "fixed" : "p95"}};
                }},
  ClientSetting{"hedge_delay_ms", Kind::integer, 0, kHourMs,
                "How long a call waits before it is hedged.",
                [](ClientOptions& o, const Value& v) { o.hedge.delay = as_ms(v); },
                [](const ClientOptions& o) { return of_ms(o.hedge.delay); }},
  ClientSetting{"outlier_consecutive_failures", Kind::integer, 0, 1'000'000,
                "Connect failures or unavailable answers in a row that eject an endpoint; 0: never ejected.",
                [](ClientOptions& o, const Value& v) { o.outlier.consecutive_failures = as_size(v); },
                [](const ClientOptions& o) { return of_size(o.outlier.consecutive_failures); }},
  ClientSetting{"outlier_base_ejection_ms", Kind::integer, 0, kDayMs,
                "An endpoint is ejected for this long times its ejections in a row.",
                [](ClientOptions& o, const Value& v) { o.outlier.base_ejection = as_ms(v); },
                [](const ClientOptions& o) { return of_ms(o.outlier.base_ejection); }},
  ClientSetting{"outlier_max_ejection_ms", Kind::integer, 0, kDayMs,
                "The longest ejection.",
                [](ClientOptions& o, const Value& v) { o.outlier.max_ejection = as_ms(v); },
                [](const ClientOptions& o) { return of_ms(o.outlier.max_ejection); }},
  ClientSetting{"outlier_max_ejected_percent", Kind::integer, 0, 100,
                "At most this share of the endpoints is ejected at once (rounded down), never the last one.",
                [](ClientOptions& o, const Value& v) { o.outlier.max_ejected_percent = static_cast<int>(std::get<std::int64_t>(v)); },
                [](const ClientOptions& o) { return Value{static_cast<std::int64_t>(o.outlier.max_ejected_percent)}; }},
};

const std::array kClientOperationSettings{
  ClientOperationSetting{"retry_max_attempts", Kind::integer, 1, 100,
                         "attempts of one call; replaces the client's (1 for an operation that must never be re-sent after it was written).",
                         [](ClientOperationOptions& o, const Value& v) { o.retry_max_attempts = as_size(v); }},
  ClientOperationSetting{"hedge", Kind::hedge, 0, 0,
                         "replaces the client's hedge (only idempotent operations are hedged).",
                         [](ClientOperationOptions& o, const Value& v) { o.hedge = parse_hedge(std::get<std::string>(v)); }},
  ClientOperationSetting{"hedge_delay_ms", Kind::integer, 0, kHourMs,
                         "replaces the client's hedge_delay_ms.",
                         [](ClientOperationOptions& o, const Value& v) { o.hedge_delay = as_ms(v); }},
};
// clang-format on

// Only these prefixes are configuration; other PIT_* variables (PIT_CONFIG, and the
// scripts' PIT_E2E_*, PIT_DEMO_*, PIT_SHOP_BIN...) are not ours to judge.
constexpr std::array<std::string_view, 10> kEnvironmentPrefixes{"PIT_HOST_",      "PIT_LOG_",
                                                               "PIT_HTTP_",      "PIT_ADMIN_",
                                                               "PIT_ADMISSION_", "PIT_AUTH_",
                                                                "PIT_AUDIT_",     "PIT_TRACING_",
                                                                "PIT_DURABILITY_",
                                                               "PIT_FAULT_INJECTION_"};

}  // namespace

std::span<const Setting> settings() { return kSettings; }
std::span<const OperationSetting> operation_settings() { return kOperationSettings; }
std::span<const ClientSetting> client_settings() { return kClientSettings; }
std::span<const ClientOperationSetting> client_operation_settings() { return kClientOperationSettings; }
std::span<const std::string_view> sections() { return kSections; }
std::span<const std::string_view> environment_prefixes() { return kEnvironmentPrefixes; }
std::span<const std::pair<std::string_view, log::Level>> levels() { return kLevels; }

std::optional<OutboundIdentity> parse_outbound_identity(std::string_view text) {
  if (text == "exchange") return OutboundIdentity::exchange;
  if (text == "forward") return OutboundIdentity::forward;
  if (text == "own") return OutboundIdentity::own;
  if (text == "none") return OutboundIdentity::none;
  return std::nullopt;
}

std::optional<Balancer> parse_balancer(std::string_view text) {
  if (text == "p2c") return Balancer::p2c;
  if (text == "round_robin") return Balancer::round_robin;
  return std::nullopt;
}

std::optional<Hedge> parse_hedge(std::string_view text) {
  if (text == "off") return Hedge::off;
  if (text == "fixed") return Hedge::fixed;
  if (text == "p95") return Hedge::p95;
  return std::nullopt;
}

std::vector<std::string> split_names(std::string_view text) {
  std::vector<std::string> names;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    names.emplace_back(name);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) names.emplace_back();  // a trailing comma: an empty name, refused
  }
  return names;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
  return text;
}

std::optional<log::Level> parse_level(std::string_view text) {
  for (const auto& [name, level] : kLevels) {
    if (name == text) return level;
  }
  return std::nullopt;
}

std::span<const std::pair<std::string_view, HttpOptions::ClientAuth>> client_auth_modes() { return kClientAuth; }

std::optional<HttpOptions::ClientAuth> parse_client_auth(std::string_view text) {
  for (const auto& [name, mode] : kClientAuth) {
    if (name == text) return mode;
  }
  return std::nullopt;
}

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> parse_pairs(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (trimmed(text).empty()) return pairs;
  for (;;) {
    const auto comma = text.find(',');
    const std::string_view entry = text.substr(0, comma);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = trimmed(entry.substr(0, eq));
    const std::string_view raw = trimmed(entry.substr(eq + 1));
    std::string value;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size() && hex_digit(raw[i + 1]) >= 0 && hex_digit(raw[i + 2]) >= 0) {
        value.push_back(static_cast<char>(hex_digit(raw[i + 1]) * 16 + hex_digit(raw[i + 2])));
        i += 2;
      } else {
        value.push_back(raw[i]);
      }
    }
    if (key.empty() || has_control(key) || has_control(value)) return std::nullopt;
    pairs.emplace_back(std::string(key), std::move(value));
    if (comma == std::string_view::npos) return pairs;
    text.remove_prefix(comma + 1);
  }
}

std::string join_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string text;
  for (const auto& [key, value] : pairs) text += (text.empty() ? "" : ",") + key + "=" + value;
  return text;
}

std::string environment_name(std::string_view key) {
  std::string name = "PIT_";
  for (const char c : key)
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace pit::config
