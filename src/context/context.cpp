#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <thread>

#include "context/context_access.hpp"
#include "pit/context.hpp"
#include "pit/task.hpp"

namespace pit {
namespace detail {
namespace {

thread_local const Context* tls_current = nullptr;
// Where this thread shows which context it runs (an I/O thread, for its stall watch).
thread_local std::atomic<const Context*>* tls_published = nullptr;

std::uint64_t splitmix(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

}  // namespace

const Context* current_context() noexcept { return tls_current; }
void set_current_context(const Context* context) noexcept {
  tls_current = context;
  // Release: the watch that reads the pointer (acquire) then reads the context's ids.
  if (tls_published != nullptr) tls_published->store(context, std::memory_order_release);
}

void publish_current_context(std::atomic<const Context*>* slot) noexcept { tls_published = slot; }

void random_hex(char* out, std::size_t digits) noexcept {
  if (digits == 0) return;
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32U) ^ rd() ^
           std::hash<std::thread::id>{}(std::this_thread::get_id());
  }();
  // Two hex digits per random byte, from a 256-entry table.
  static constexpr auto kPairs = [] {
    std::array<char, 512> t{};
    constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t b = 0; b < 256; ++b) {
      t[2 * b] = kHex[b >> 4U];
      t[2 * b + 1] = kHex[b & 0xFU];
    }
    return t;
  }();
  std::uint64_t any = 0;
  std::size_t i = 0;
  while (i < digits) {
    std::uint64_t r = splitmix(state);
    int k = 0;
    for (; k < 8 && i + 1 < digits; ++k, i += 2) {
      const auto b = static_cast<std::size_t>(r & 0xFFU);
      any |= b;
      std::memcpy(out + i, &kPairs[2 * b], 2);
      r >>= 8U;
    }
    if (i + 1 == digits) {  // odd count: one last digit
      if (k == 8) r = splitmix(state);
      const auto d = static_cast<std::size_t>(r & 0xFU);
      any |= d;
      out[i++] = kPairs[2 * d + 1];
    }
  }
  const bool nonzero = any != 0;
  if (!nonzero) out[digits - 1] = '1';
}

void ContextAccess::inherit(Context& child, const Context& parent) {
  child.correlation_id_ = parent.correlation_id_;
  child.trace_id_ = parent.trace_id_;
  child.parent_span_id_ = parent.span_id_;
  child.has_parent_ = parent.in_call_;
  child.sampled_ = parent.sampled_;
  child.tracestate_ = parent.tracestate_;
  child.deadline_ = parent.deadline_;
  child.principal_ = parent.principal_;
  child.baggage_ = parent.baggage_;
}

void ContextAccess::set_trace(Context& c, std::string_view trace_id,
                              std::string_view parent_span_id, bool sampled) noexcept {
  if (trace_id.size() == c.trace_id_.size()) std::memcpy(c.trace_id_.data(), trace_id.data(), trace_id.size());
  if (parent_span_id.size() == c.parent_span_id_.size()) {
    std::memcpy(c.parent_span_id_.data(), parent_span_id.data(), parent_span_id.size());
    c.has_parent_ = true;
  }
  c.sampled_ = sampled;
}

void ContextAccess::start_span(Context& c) noexcept {
  if (!has_trace(c)) random_hex(c.trace_id_.data(), c.trace_id_.size());
  random_hex(c.span_id_.data(), c.span_id_.size());
}

}  // namespace detail

const Context& Context::current() noexcept {
  static const Context outside;  // in_call() == false, no ids, no deadline
  const Context* c = detail::current_context();
  return c != nullptr ? *c : outside;
}

std::chrono::nanoseconds Context::remaining() const noexcept {
  if (deadline_ == Clock::time_point::max()) return std::chrono::nanoseconds::max();
  const auto left = deadline_ - Clock::now();
  return left.count() > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(left)
                          : std::chrono::nanoseconds{0};
}

std::optional<std::string_view> Context::baggage(std::string_view key) const noexcept {
  for (const auto& [k, v] : baggage_) {
    if (k == key) return std::string_view{v};
  }
  return std::nullopt;
}

CallerScope::CallerScope(Options options) : saved_(detail::current_context()) {
  detail::ContextAccess::set_correlation_id(context_, std::move(options.correlation_id));
  if (options.timeout.count() > 0) detail::ContextAccess::set_deadline(context_, Clock::now() + options.timeout);
  detail::ContextAccess::set_baggage(context_, std::move(options.baggage));
  detail::ContextAccess::set_principal(context_, std::move(options.identity));
  detail::ContextAccess::set_idempotency_key(context_, std::move(options.idempotency_key));
  detail::set_current_context(&context_);
}

CallerScope::~CallerScope() { detail::set_current_context(saved_); }

std::string_view to_string(CancelReason reason) noexcept {
  switch (reason) {
    case CancelReason::none: return "none";
    case CancelReason::deadline: return "deadline";
    case CancelReason::caller: return "caller";
    case CancelReason::shutdown: return "shutdown";
  }
  return "none";
}

}  // namespace pit
