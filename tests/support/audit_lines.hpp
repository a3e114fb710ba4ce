// An audit sink for tests: keeps every line the host's audit log writes.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pit/audit.hpp"

namespace testing_support {

class AuditLines final : public pit::AuditSink {
 public:
  bool write(const std::vector<std::string>& lines) override {
    std::lock_guard lock(mutex_);
    lines_.insert(lines_.end(), lines.begin(), lines.end());
    return true;
  }
  // The lines with `needle`, once there are `expected` of them (the log writes on a thread
  // of its own) or 3 s passed; then a moment more, so that one too many would show.
  std::vector<std::string> with(std::string_view needle, std::size_t expected = 1) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (matching(needle).size() < expected && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return matching(needle);
  }

 private:
  std::vector<std::string> matching(std::string_view needle) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& l : lines_) {
      if (l.find(needle) != std::string::npos) out.push_back(l);
    }
    return out;
  }

  std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace testing_support
