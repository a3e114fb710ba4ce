#include "transport/http/otlp_exporter.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <random>

#include "pit/log.hpp"

namespace pit::detail {
namespace {

bool retryable_status(int status) noexcept { return status == 429 || status == 502 || status == 503 || status == 504; }

// OTLP's partial success: how many spans of an accepted request the receiver rejected.
std::uint64_t rejected_spans(const std::string& body) {
  if (body.find("rejectedSpans") == std::string::npos) return 0;
  boost::system::error_code ec;
  const auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return 0;
  const auto* partial = value.as_object().if_contains("partialSuccess");
  if (partial == nullptr || !partial->is_object()) return 0;
  const auto* rejected = partial->as_object().if_contains("rejectedSpans");
  if (rejected == nullptr) return 0;
  if (rejected->is_int64()) return static_cast<std::uint64_t>(std::max<std::int64_t>(0, rejected->as_int64()));
  if (rejected->is_uint64()) return rejected->as_uint64();
  if (rejected->is_string()) {  // int64 in the JSON mapping: a decimal string
    const auto& text = rejected->as_string();
    std::uint64_t n = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    return r.ec == std::errc{} ? n : 0;
  }
  return 0;
}

}  // namespace

OtlpExporter::OtlpExporter(Tracer& tracer, const TracingOptions& options, ResourceAttributes resource, HttpFetch fetch,
                           ExportRetry retry)
    : tracer_(tracer),
      max_batch_(std::max<std::size_t>(1, options.max_batch)),
      interval_(std::max(options.export_interval, std::chrono::milliseconds(1))),
      timeout_(std::max(options.export_timeout, std::chrono::milliseconds(1))),
      resource_(std::move(resource)),
      fetch_(std::move(fetch)),
      retry_(retry) {
  request_.method = "POST";
  request_.url = options.endpoint;
  request_.content_type = "application/json";
  request_.headers = options.headers;
  request_.max_reply_bytes = 64 * 1024;
  request_.abandon = &abandon_;
}

OtlpExporter::~OtlpExporter() { stop(Clock::now()); }

void OtlpExporter::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void OtlpExporter::stop(Clock::time_point deadline) {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    deadline_ = deadline;
  }
  stop_requested_.notify_all();
  tracer_.wake();
  {
    std::unique_lock lock(mutex_);
    // The thread flushes until the deadline; past it, a request in flight is abandoned.
    if (!stop_requested_.wait_until(lock, deadline, [this] { return finished_; })) abandon_.store(true);
  }
  thread_.join();
}

void OtlpExporter::run() {
  std::vector<SpanRecord> spans;
  auto next = Clock::now() + interval_;
  for (;;) {
    tracer_.take(spans, next);
    bool stopping = false;
    {
      const std::lock_guard lock(mutex_);
      stopping = stopping_;
    }
    export_spans(spans);
    if (stopping) {
      // What was recorded before stop() (every call has ended by then) is flushed too.
      tracer_.take(spans, Clock::now());
      export_spans(spans);
      break;
    }
    if (const auto now = Clock::now(); now >= next) next = now + interval_;
  }
  const std::lock_guard lock(mutex_);
  finished_ = true;
  stop_requested_.notify_all();
}

void OtlpExporter::export_spans(std::vector<SpanRecord>& spans) {
  std::size_t done = 0;
  while (done < spans.size() && !abandon_.load()) {
    const std::size_t n = std::min(max_batch_, spans.size() - done);
    if (!export_batch({spans.data() + done, n})) break;
    done += n;
  }
  if (done < spans.size()) tracer_.count_dropped(DropReason::shutdown, spans.size() - done);
  spans.clear();
}

bool OtlpExporter::export_batch(std::span<const SpanRecord> batch) {
  // Wall-clock time of the steady clock's epoch, measured now: span times are converted
  // here, on this thread, never on the call path.
  const auto steady_to_unix =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()) -
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch());
  request_.body.clear();
  append_otlp_json(request_.body, resource_, batch, steady_to_unix);
  thread_local std::minstd_rand jitter{std::random_device{}()};
  std::string last_failure;
  for (int attempt = 1; attempt <= kMaxExportAttempts; ++attempt) {
    {
      const std::lock_guard lock(mutex_);
      const auto now = Clock::now();
      if (abandon_.load() || (stopping_ && now >= deadline_)) return false;
      request_.timeout = timeout_;
      if (stopping_) {
        request_.timeout = std::min(timeout_, std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now));
      }
    }
    const FetchResult result = fetch_(request_);
    if (result.error.empty() && result.status >= 200 && result.status < 300) {
      const auto rejected = std::min<std::uint64_t>(rejected_spans(result.body), batch.size());
      tracer_.count_exported(batch.size() - rejected);
      if (rejected > 0) tracer_.count_dropped(DropReason::rejected, rejected);
      return true;
    }
    tracer_.count_export_failure();
    if (abandon_.load()) return false;
    last_failure = result.error.empty() ? "HTTP " + std::to_string(result.status) : result.error;
    const bool retry = !result.error.empty() || retryable_status(result.status);
    if (!retry || attempt == kMaxExportAttempts) break;
    // Exponential backoff with jitter (half to all of it); the receiver's Retry-After is a floor.
    auto wait = std::min(retry_.max_backoff, retry_.first_backoff * (1 << (attempt - 1)));
    wait = std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(wait.count() / 2, wait.count())(jitter));
    if (result.retry_after) {
      wait = std::max(wait, std::min(retry_.max_retry_after,
                                     std::chrono::duration_cast<std::chrono::milliseconds>(*result.retry_after)));
    }
    if (!pause(wait)) return false;
  }
  tracer_.count_dropped(DropReason::export_failed, batch.size());
  log::warn("trace export failed: spans dropped",
            {{"spans", static_cast<std::int64_t>(batch.size())}, {"endpoint", request_.url}, {"error", last_failure}});
  return true;
}

bool OtlpExporter::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  const auto until = Clock::now() + d;
  for (;;) {
    if (stopping_ && until > deadline_) return false;
    if (stop_requested_.wait_until(lock, until) == std::cv_status::timeout) return true;
  }
}

}  // namespace pit::detail
