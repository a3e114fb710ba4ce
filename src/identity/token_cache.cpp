#include "identity/token_cache.hpp"

#include <algorithm>
#include <cstring>

namespace pit::detail::identity {
namespace {

constexpr std::size_t kMaxShards = 16;
// A shard holds at least this many tokens (when the capacity allows): tiny shards would
// make eviction depend on the hash more than on use.
constexpr std::size_t kMinShardCapacity = 32;

// The bucket hash: the token's length and its last 32 bytes (the end of the signature,
// which no one but the issuer chooses, and only tokens that verified get here). Cheap for
// tokens of a kilobyte, where hashing every byte would cost more than the rest of find().
// Collisions cost a comparison, never a wrong answer: find() compares whole tokens.
std::uint64_t token_bucket_hash(std::string_view token) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ token.size();
  const std::string_view tail = token.substr(token.size() - std::min<std::size_t>(token.size(), 32));
  std::size_t i = 0;
  for (; i + 8 <= tail.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, tail.data() + i, 8);
    h = (h ^ word) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32U;
  }
  for (; i < tail.size(); ++i) h = (h ^ static_cast<unsigned char>(tail[i])) * 0x100000001b3ULL;
  h ^= h >> 29U;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 32U);
}

}  // namespace

TokenCache::TokenCache(std::size_t capacity)
    : capacity_(capacity), shards_(std::clamp<std::size_t>(capacity / kMinShardCapacity, 1, kMaxShards)) {
  // Split the capacity exactly: the total never passes `capacity`.
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    shards_[i].capacity = capacity / shards_.size() + (i < capacity % shards_.size() ? 1 : 0);
  }
}

TokenCache::~TokenCache() = default;

TokenCache::Slot* TokenCache::find_slot(Shard& shard, std::string_view token, std::uint64_t hash) noexcept {
  const auto [first, last] = shard.index.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    Slot& slot = shard.slots[it->second];
    if (slot.token == token) return &slot;
  }
  return nullptr;
}

void TokenCache::free_slot(Shard& shard, std::size_t i) {
  Slot& slot = shard.slots[i];
  const auto [first, last] = shard.index.equal_range(slot.hash);
  for (auto it = first; it != last; ++it) {
    if (it->second == i) {
      shard.index.erase(it);
      break;
    }
  }
  slot.principal.reset();
  slot.token.clear();
  slot.referenced = false;
  --shard.used;
}

std::shared_ptr<const Principal> TokenCache::find(std::string_view token, std::chrono::system_clock::time_point now) {
  const std::uint64_t hash = token_bucket_hash(token);
  Shard& shard = shard_of(hash);
  const std::lock_guard lock{shard.mutex};
  Slot* slot = find_slot(shard, token, hash);
  if (slot == nullptr) return nullptr;
  if (now >= slot->expires_at) {
    free_slot(shard, static_cast<std::size_t>(slot - shard.slots.data()));
    return nullptr;
  }
  slot->referenced = true;
  return slot->principal;
}

void TokenCache::insert(std::string_view token, std::shared_ptr<const Principal> principal) {
  if (principal == nullptr) return;
  const std::uint64_t hash = token_bucket_hash(token);
  Shard& shard = shard_of(hash);
  if (shard.capacity == 0) return;
  const std::lock_guard lock{shard.mutex};
  if (Slot* slot = find_slot(shard, token, hash)) {
    slot->expires_at = principal->expires_at;
    slot->principal = std::move(principal);
    return;
  }
  std::size_t victim = shard.slots.size();
  if (shard.slots.size() < shard.capacity) {
    shard.slots.emplace_back();
  } else {
    // CLOCK: the first slot that is free or was not hit since the hand last passed. Two
    // turns at most: the first clears every flag it passes.
    for (std::size_t step = 0; step < 2 * shard.slots.size(); ++step) {
      Slot& candidate = shard.slots[shard.hand];
      const std::size_t at = shard.hand;
      shard.hand = (shard.hand + 1) % shard.slots.size();
      if (candidate.principal == nullptr || !candidate.referenced) {
        victim = at;
        break;
      }
      candidate.referenced = false;
    }
    if (shard.slots[victim].principal != nullptr) free_slot(shard, victim);
  }
  Slot& slot = shard.slots[victim];
  slot.token.assign(token);
  slot.expires_at = principal->expires_at;
  slot.principal = std::move(principal);
  slot.hash = hash;
  slot.referenced = false;
  shard.index.emplace(hash, static_cast<std::uint32_t>(victim));
  ++shard.used;
}

void TokenCache::clear() {
  for (Shard& shard : shards_) {
    const std::lock_guard lock{shard.mutex};
    shard.slots.clear();
    shard.index.clear();
    shard.hand = 0;
    shard.used = 0;
  }
}

std::size_t TokenCache::size() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    const std::lock_guard lock{shard.mutex};
    total += shard.used;
  }
  return total;
}

}  // namespace pit::detail::identity
