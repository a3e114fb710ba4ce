#include "call/call_history.hpp"

#include <algorithm>
#include <cstring>

namespace pit::detail {

namespace {

// The root of the min-heap is the fastest of the slowest kept.
bool slower(const CallRecord& a, const CallRecord& b) noexcept { return a.took > b.took; }

}  // namespace

void CallHistory::allocate(std::size_t threads) {
  per_thread_ = std::make_unique<PerThread[]>(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    per_thread_[i].ring.resize(capacity_);
    per_thread_[i].slowest.reserve(capacity_);
  }
  threads_ = threads;
}

void CallHistory::record(std::size_t thread, const Context& context, Clock::time_point started,
                         Clock::time_point ended, Code code) noexcept {
  if (thread >= threads_ || capacity_ == 0) return;
  PerThread& t = per_thread_[thread];
  const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(ended - started);
  CallRecord& r = t.ring[t.next];
  r.started = started;
  r.took = took;
  r.code = code;
  const auto correlation = context.correlation_id();
  r.correlation_size = static_cast<std::uint8_t>(std::min(correlation.size(), CallRecord::kMaxCorrelation));
  // An empty id may have no storage at all: memcpy from null is undefined even for 0 bytes.
  if (r.correlation_size > 0) std::memcpy(r.correlation.data(), correlation.data(), r.correlation_size);
  const auto trace = context.trace_id();
  if (trace.size() == r.trace_id.size()) std::memcpy(r.trace_id.data(), trace.data(), trace.size());
  else r.trace_id.fill('0');
  t.next = (t.next + 1) % capacity_;
  if (t.count < capacity_) ++t.count;

  // Most calls are not among the slowest: once the list is full, one comparison.
  if (t.slowest.size() < capacity_) {
    t.slowest.push_back(r);  // within the capacity reserved by allocate(): no allocation
    std::push_heap(t.slowest.begin(), t.slowest.end(), slower);
  } else if (took > t.slowest.front().took) {
    std::pop_heap(t.slowest.begin(), t.slowest.end(), slower);
    t.slowest.back() = r;
    std::push_heap(t.slowest.begin(), t.slowest.end(), slower);
  }
}

void CallHistory::copy_recent(std::size_t thread, std::vector<CallRecord>& out) const {
  if (thread >= threads_) return;
  const PerThread& t = per_thread_[thread];
  const std::size_t first = t.count < capacity_ ? 0 : t.next;
  for (std::size_t i = 0; i < t.count; ++i) out.push_back(t.ring[(first + i) % capacity_]);
}

void CallHistory::copy_slowest(std::size_t thread, std::vector<CallRecord>& out) const {
  if (thread >= threads_) return;
  const PerThread& t = per_thread_[thread];
  out.insert(out.end(), t.slowest.begin(), t.slowest.end());
}

std::shared_ptr<CallHistory> CallHistories::of(std::string_view full_name) {
  std::lock_guard lock(mutex_);
  auto it = histories_.find(full_name);
  if (it == histories_.end()) {
    it = histories_.emplace(std::string{full_name}, std::make_shared<CallHistory>(capacity_)).first;
    if (threads_ != 0) it->second->allocate(threads_);
  }
  return it->second;
}

void CallHistories::allocate(std::size_t threads) {
  std::lock_guard lock(mutex_);
  threads_ = threads;
  for (auto& [name, history] : histories_) history->allocate(threads);
}

}  // namespace pit::detail
