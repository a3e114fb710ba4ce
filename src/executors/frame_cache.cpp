// The per-thread recycling allocator of coroutine frames (pit::detail::frame_alloc, declared
// in pit/task.hpp): a pipeline of several policies costs a few pointer swaps per call, not a
// malloc each.
#include <array>
#include <cstddef>
#include <new>

#include "pit/task.hpp"

namespace pit::detail {
namespace {

// Frames are recycled per thread in size classes of 64 bytes, up to 2 KiB; each class
// keeps at most kKeep free frames, so an idle thread holds a bounded amount of memory.
// Built with AddressSanitizer or ThreadSanitizer, every frame is its own allocation
// instead: a recycled frame would hide a use after free, and the sanitizers could not tell
// one frame's life from the next one's at the same address.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PIT_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PIT_FRAME_CACHE 0
#endif
#endif
#ifndef PIT_FRAME_CACHE
#define PIT_FRAME_CACHE 1
#endif
constexpr std::size_t kClass = 64;
constexpr std::size_t kClasses = 32;
constexpr std::size_t kKeep = 256;

struct FreeFrame {
  FreeFrame* next;
};

struct FrameCache {
  std::array<FreeFrame*, kClasses> head{};
  std::array<std::size_t, kClasses> count{};
  ~FrameCache() {
    for (auto* f : head) {
      while (f != nullptr) {
        auto* next = f->next;
        ::operator delete(f);
        f = next;
      }
    }
  }
};

FrameCache& frame_cache() {
  thread_local FrameCache cache;
  return cache;
}

}  // namespace

void* frame_alloc(std::size_t size) {
  const std::size_t cls = (size + kClass - 1) / kClass;
  if (PIT_FRAME_CACHE != 0 && cls < kClasses) {
    auto& cache = frame_cache();
    if (auto* f = cache.head[cls]) {
      cache.head[cls] = f->next;
      --cache.count[cls];
      return f;
    }
    return ::operator new(cls * kClass);
  }
  return ::operator new(size);
}

void frame_free(void* p, std::size_t size) noexcept {
  const std::size_t cls = (size + kClass - 1) / kClass;
  if (PIT_FRAME_CACHE != 0 && cls < kClasses) {
    auto& cache = frame_cache();
    if (cache.count[cls] < kKeep) {
      auto* f = static_cast<FreeFrame*>(p);
      f->next = cache.head[cls];
      cache.head[cls] = f;
      ++cache.count[cls];
      return;
    }
  }
  ::operator delete(p);
}

}  // namespace pit::detail
