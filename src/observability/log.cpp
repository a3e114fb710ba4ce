#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <vector>

#include "observability/log_format.hpp"
#include "observability/log_level.hpp"
#include "observability/log_redaction.hpp"
#include "pit/json.hpp"
#include "pit/log.hpp"

namespace pit {
namespace {

struct Logger {
  std::mutex mutex;  // guards replacing the sink; writers use the raw pointer
  std::shared_ptr<log::Sink> sink;
  // Replaced sinks are kept alive: a writer may still hold the old pointer.
  std::vector<std::shared_ptr<log::Sink>> retired;
  std::atomic<log::Sink*> current{nullptr};
  std::atomic<log::Level> min_level{log::Level::info};
  std::atomic<std::uint64_t> dropped{0};
  // Replaced like the sink: a writer may still hold the old one.
  std::vector<std::unique_ptr<detail::Redactor>> redactors;
  std::atomic<const detail::Redactor*> redactor{nullptr};
};

Logger& logger() {
  static Logger* instance = [] {
    auto* l = new Logger;  // never destroyed: threads may log during static destruction
    l->sink = log::stdout_sink();
    l->current.store(l->sink.get());
    l->redactors.push_back(std::make_unique<detail::Redactor>(log::Redaction{}));
    l->redactor.store(l->redactors.back().get());
    return l;
  }();
  return *instance;
}

// Printable ASCII other than '"' and '\\' needs no escaping (and is valid UTF-8): ids, hex
// trace ids, contract and operation names, most messages.
bool plain(std::string_view s) noexcept {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20U || c > 0x7EU || c == '"' || c == '\\') return false;
  }
  return true;
}

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  if (plain(s)) {
    out.append(s);
  } else {
    json::append_escaped(out, s);
  }
  out.push_back('"');
}

template <typename Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// "2026-11-27T01:30:46.123456Z". The seconds part is formatted once per second per thread.
void append_timestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  thread_local std::time_t cached_secs = -1;
  thread_local char cached[32];
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  auto sub = static_cast<unsigned>(us % 1'000'000);
  char frac[8];
  frac[0] = '.';
  for (int i = 6; i >= 1; --i) {
    frac[i] = static_cast<char>('0' + sub % 10U);
    sub /= 10U;
  }
  frac[7] = 'Z';
  out.append(cached).append(frac, sizeof frac);
}

}  // namespace

namespace detail {

void begin_line(std::string& out, log::Level level, std::string_view message, const Context& context) {
  out.append(R"({"ts":")");
  append_timestamp(out);
  out.append(R"(","level":")").append(log::to_string(level)).append(R"(","msg":)");
  append_quoted(out, message);
  if (context.in_call()) {
    out.append(R"(,"correlation_id":)");
    append_quoted(out, context.correlation_id());
    out.append(R"(,"trace_id":")").append(context.trace_id());
    out.append(R"(","span_id":")").append(context.span_id()).append("\"");
    if (!context.parent_span_id().empty()) {
      out.append(R"(,"parent_span_id":")").append(context.parent_span_id()).append("\"");
    }
    out.append(R"(,"contract":)");
    append_quoted(out, context.contract());
    out.append(R"(,"operation":)");
    append_quoted(out, context.operation());
  }
}

void append_field(std::string& out, const log::Field& field) {
  out.push_back(',');
  append_quoted(out, field.key());
  out.push_back(':');
  switch (field.kind()) {
    case log::Field::Kind::string: append_quoted(out, field.as_string()); break;
    case log::Field::Kind::signed_integer: append_int(out, field.as_signed()); break;
    case log::Field::Kind::unsigned_integer: append_int(out, field.as_unsigned()); break;
    case log::Field::Kind::boolean: out.append(field.as_signed() != 0 ? "true" : "false"); break;
    case log::Field::Kind::floating: {
      char buf[32];
      const double d = field.as_double();
      if (d != d || d > 1.7e308 || d < -1.7e308) {
        out.append("null");  // JSON has no NaN or infinity
      } else {
        std::snprintf(buf, sizeof buf, "%.17g", d);
        out.append(buf);
      }
      break;
    }
  }
}

void emit(std::string& line) {
  auto& l = logger();
  log::Sink* sink = l.current.load(std::memory_order_acquire);
  if (sink == nullptr || !sink->write(line)) l.dropped.fetch_add(1, std::memory_order_relaxed);
}

void write_call_line(const Context& context, std::string_view kind, std::chrono::microseconds elapsed,
                     std::int64_t budget_ms, const Outcome& outcome, std::uint32_t attempts) {
  if (!log::enabled(log::Level::info)) return;
  std::string line;
  line.reserve(384);
  begin_line(line, log::Level::info, "call", context);
  line.append(R"(,"duration_us":)");
  append_int(line, static_cast<std::int64_t>(elapsed.count()));
  if (budget_ms >= 0) {
    line.append(R"(,"budget_ms":)");
    append_int(line, budget_ms);
  }
  line.append(R"(,"outcome":")").append(outcome.ok() ? "ok" : "fault");
  line.append(R"(","code":")").append(to_string(outcome.code()));
  line.append(R"(","transport":)");
  append_quoted(line, context.transport());
  line.append(R"(,"kind":")").append(kind).append("\"");
  if (attempts != 0) {
    line.append(kind == "client" ? R"(,"attempts":)" : R"(,"attempt":)");
    append_int(line, attempts);
  }
  line.push_back('}');
  emit(line);
}

}  // namespace detail

namespace log {

std::string_view to_string(Level level) noexcept {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "info";
}

void configure(std::shared_ptr<Sink> sink, Level min_level) {
  auto& l = logger();
  std::lock_guard lock(l.mutex);
  if (!sink) sink = stdout_sink();
  if (l.sink) l.retired.push_back(l.sink);
  l.sink = std::move(sink);
  l.current.store(l.sink.get(), std::memory_order_release);
  l.min_level.store(min_level);
}

void configure_redaction(const Redaction& redaction) {
  auto& l = logger();
  std::lock_guard lock(l.mutex);
  l.redactors.push_back(std::make_unique<detail::Redactor>(redaction));
  l.redactor.store(l.redactors.back().get(), std::memory_order_release);
}

}  // namespace log

namespace detail {
log::Level log_level() noexcept { return logger().min_level.load(std::memory_order_relaxed); }
void set_log_level(log::Level level) noexcept { logger().min_level.store(level, std::memory_order_relaxed); }
}  // namespace detail

namespace log {

bool enabled(Level level) noexcept {
  return level != Level::off && level >= logger().min_level.load(std::memory_order_relaxed);
}

std::uint64_t dropped() noexcept { return logger().dropped.load(std::memory_order_relaxed); }

void flush() {
  auto& l = logger();
  std::shared_ptr<Sink> sink;
  {
    std::lock_guard lock(l.mutex);
    sink = l.sink;
  }
  if (sink) sink->flush();
}

void write(Level level, std::string_view message, Fields fields) {
  std::string line;
  line.reserve(256);
  detail::begin_line(line, level, message, Context::current());
  if (fields.size() != 0) {
    const detail::Redactor& redactor = *logger().redactor.load(std::memory_order_acquire);
    std::string scratch;
    for (const Field& f : fields) detail::append_field(line, redactor.apply(f, scratch));
  }
  line.push_back('}');
  detail::emit(line);
}

}  // namespace log
}  // namespace pit
