// The OTLP/HTTP JSON trace exporter: a thread of its own takes the tracer's spans and
// POSTs them, max_batch at a time (or whatever waited export_interval), to
// tracing.endpoint. Its requests run on an io_context of their own (detail::fetch), so a
// slow or dead receiver never touches the I/O threads, and calls never wait for it.
//
// A request that fails without an answer, or is answered 429, 502, 503 or 504, is sent
// again, at most kMaxExportAttempts times in all, after an exponential backoff with jitter
// (the receiver's Retry-After as a floor); any other answer that is not 2xx drops the
// batch. Dropped spans and failed requests are counted (Tracer::render).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "identity/http_fetch.hpp"
#include "observability/tracer.hpp"
#include "pit/host.hpp"
#include "transport/http/otlp_json.hpp"

namespace pit::detail {

inline constexpr int kMaxExportAttempts = 5;

struct ExportRetry {
  std::chrono::milliseconds first_backoff{200};
  std::chrono::milliseconds max_backoff{5'000};
  // Longest Retry-After honoured (a receiver asking for more is waited for this long).
  std::chrono::milliseconds max_retry_after{30'000};
};

class OtlpExporter {
 public:
  // fetch: how a request is sent (detail::fetch; tests inject their own).
  OtlpExporter(Tracer& tracer, const TracingOptions& options, ResourceAttributes resource, HttpFetch fetch,
               ExportRetry retry = {});
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  void start();
  // Exports what is queued, retries included, until `deadline`; what is left then is
  // dropped (counted: shutdown), a request in flight abandoned. Returns when the thread
  // has ended. Spans recorded afterwards stay queued (the tracer counts nothing for them).
  void stop(Clock::time_point deadline);

 private:
  void run();
  // Sends the spans in batches of max_batch; each batch is exported or dropped (counted).
  void export_spans(std::vector<SpanRecord>& spans);
  // One batch, with its retries. Returns false when stop()'s deadline ended it.
  bool export_batch(std::span<const SpanRecord> batch);
  // Waits `d`, or less if stop() asks for it; false when the deadline passed.
  bool pause(std::chrono::milliseconds d);

  Tracer& tracer_;
  FetchRequest request_;  // url, headers, content type: the same for every export
  std::size_t max_batch_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  ResourceAttributes resource_;
  HttpFetch fetch_;
  ExportRetry retry_;
  std::string body_;  // reused: the formatted request

  std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;                 // under mutex_
  Clock::time_point deadline_ = Clock::time_point::max();  // under mutex_
  std::atomic<bool> abandon_{false};      // the deadline passed: a request in flight ends
  bool finished_ = false;                 // under mutex_: run() has returned
  std::thread thread_;
};

}  // namespace pit::detail
