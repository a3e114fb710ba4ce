#include "config/otel_environment.hpp"

#include <charconv>
#include <string_view>
#include <system_error>

#include "config/key_table.hpp"
#include "pit/config.hpp"

namespace pit::config {
namespace {

// The OTLP/HTTP default, used when OTEL_TRACES_EXPORTER=otlp names no endpoint.
constexpr std::string_view kDefaultEndpoint = "http://localhost:4318/v1/traces";

[[noreturn]] void fail(std::string_view variable, std::string_view why) {
  throw ConfigError("environment " + std::string(variable) + ": " + std::string(why));
}

const std::string* find(const std::map<std::string, std::string>& variables, const char* name) {
  const auto it = variables.find(name);
  return it == variables.end() || it->second.empty() ? nullptr : &it->second;
}

std::int64_t non_negative(std::string_view variable, const std::string& text) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 0) fail(variable, "expected a non-negative integer");
  return n;
}

std::chrono::milliseconds positive_ms(std::string_view variable, const std::string& text) {
  const auto n = non_negative(variable, text);
  if (n == 0) fail(variable, "expected milliseconds, more than 0");
  return std::chrono::milliseconds{n};
}

std::vector<std::pair<std::string, std::string>> pairs(std::string_view variable, const std::string& text) {
  auto parsed = parse_pairs(text);
  if (!parsed) fail(variable, "expected key=value pairs separated by commas");
  return std::move(*parsed);
}

double ratio(const std::map<std::string, std::string>& variables) {
  const auto* arg = find(variables, "OTEL_TRACES_SAMPLER_ARG");
  if (arg == nullptr) return 1.0;
  double r = 0;
  const auto [end, ec] = std::from_chars(arg->data(), arg->data() + arg->size(), r);
  if (ec != std::errc{} || end != arg->data() + arg->size() || !(r >= 0.0 && r <= 1.0)) {
    fail("OTEL_TRACES_SAMPLER_ARG", "expected a ratio 0..1");
  }
  return r;
}

}  // namespace

void apply_otel_environment(const std::map<std::string, std::string>& variables, HostOptions& options) {
  TracingOptions& t = options.tracing;
  if (const auto* v = find(variables, "OTEL_RESOURCE_ATTRIBUTES")) {
    t.resource_attributes = pairs("OTEL_RESOURCE_ATTRIBUTES", *v);
    for (const auto& [key, value] : t.resource_attributes) {
      if (key == "service.name") options.service.name = value;
    }
  }
  // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES (as in the SDKs).
  if (const auto* v = find(variables, "OTEL_SERVICE_NAME")) options.service.name = *v;

  if (const auto* v = find(variables, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    t.endpoint = *v;  // the traces URL, used as given
  } else if (const auto* base = find(variables, "OTEL_EXPORTER_OTLP_ENDPOINT")) {
    std::string url = *base;  // the base URL: the signal's path is appended
    if (!url.ends_with('/')) url.push_back('/');
    t.endpoint = url + "v1/traces";
  }
  if (const auto* v = find(variables, "OTEL_EXPORTER_OTLP_HEADERS")) t.headers = pairs("OTEL_EXPORTER_OTLP_HEADERS", *v);
  if (const auto* v = find(variables, "OTEL_EXPORTER_OTLP_TRACES_HEADERS")) {
    t.headers = pairs("OTEL_EXPORTER_OTLP_TRACES_HEADERS", *v);
  }
  if (const auto* v = find(variables, "OTEL_EXPORTER_OTLP_TIMEOUT")) t.export_timeout = positive_ms("OTEL_EXPORTER_OTLP_TIMEOUT", *v);
  if (const auto* v = find(variables, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")) {
    t.export_timeout = positive_ms("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", *v);
  }
  if (const auto* v = find(variables, "OTEL_EXPORTER_OTLP_PROTOCOL"); v != nullptr && *v == "grpc") {
    fail("OTEL_EXPORTER_OTLP_PROTOCOL", "\"grpc\" is not supported: pit exports OTLP/HTTP with the JSON encoding");
  }

  if (const auto* v = find(variables, "OTEL_BSP_SCHEDULE_DELAY")) t.export_interval = positive_ms("OTEL_BSP_SCHEDULE_DELAY", *v);
  if (const auto* v = find(variables, "OTEL_BSP_EXPORT_TIMEOUT")) t.export_timeout = positive_ms("OTEL_BSP_EXPORT_TIMEOUT", *v);
  if (const auto* v = find(variables, "OTEL_BSP_MAX_QUEUE_SIZE")) {
    t.max_queue = static_cast<std::size_t>(non_negative("OTEL_BSP_MAX_QUEUE_SIZE", *v));
    if (t.max_queue == 0) fail("OTEL_BSP_MAX_QUEUE_SIZE", "expected at least 1");
    if (t.max_batch > t.max_queue) t.max_batch = t.max_queue;
  }
  if (const auto* v = find(variables, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")) {
    t.max_batch = static_cast<std::size_t>(non_negative("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", *v));
    if (t.max_batch == 0 || t.max_batch > t.max_queue) fail("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "expected 1..OTEL_BSP_MAX_QUEUE_SIZE");
  }

  // pit's sampling is always parent-based: a caller's decision is kept; these set the
  // ratio of root calls.
  if (const auto* v = find(variables, "OTEL_TRACES_SAMPLER")) {
    const std::string_view sampler = *v;
    if (sampler == "always_on" || sampler == "parentbased_always_on") {
      t.sample_ratio = 1.0;
    } else if (sampler == "always_off" || sampler == "parentbased_always_off") {
      t.sample_ratio = 0.0;
    } else if (sampler == "traceidratio" || sampler == "parentbased_traceidratio") {
      t.sample_ratio = ratio(variables);
    } else {
      fail("OTEL_TRACES_SAMPLER", "\"" + *v + "\" is not a sampler pit has (always_on, always_off, traceidratio, "
                                              "and their parentbased_ forms)");
    }
  }

  if (const auto* v = find(variables, "OTEL_TRACES_EXPORTER")) {
    if (*v == "none") {
      t.endpoint.clear();
    } else if (*v == "otlp") {
      if (t.endpoint.empty()) t.endpoint = kDefaultEndpoint;
    } else {
      fail("OTEL_TRACES_EXPORTER", "\"" + *v + "\" is not an exporter pit has (otlp, none)");
    }
  }
  // Last: the SDK switched off means no spans, whatever else is set.
  if (const auto* v = find(variables, "OTEL_SDK_DISABLED"); v != nullptr && (*v == "true" || *v == "TRUE" || *v == "True")) {
    t.endpoint.clear();
  }
}

}  // namespace pit::config
