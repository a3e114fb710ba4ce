#include "config/did_you_mean.hpp"

#include <algorithm>

namespace pit::config {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string unknown(std::string_view noun, std::string_view what,
                    const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(what, candidate);
    if (best == nullptr || d < best_distance) {
      best = &candidate;
      best_distance = d;
    }
  }
  if (best != nullptr && best_distance > (what.size() >= 12 ? 3U : 2U)) {
    // A unit left off or added: of the candidates that extend it (or that it extends), the
    // nearest (hedge_delay → hedge_delay_ms, not hedge).
    best = nullptr;
    for (const auto& candidate : candidates) {
      if (what.size() >= 4 && (candidate.starts_with(what) || what.starts_with(candidate))) {
        const std::size_t d = edit_distance(what, candidate);
        if (best == nullptr || d < best_distance) {
          best = &candidate;
          best_distance = d;
        }
      }
    }
  }
  std::string message = "unknown " + std::string{noun};
  if (best != nullptr) message += " (did you mean " + *best + "?)";
  return message;
}

}  // namespace pit::config
