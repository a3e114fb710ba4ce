// Verified tokens, so that a repeated token costs a hash and a comparison instead of a
// signature check. Bounded; an entry never outlives its token's exp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pit/identity.hpp"

namespace pit::detail::identity {

// One cache per verifier configuration (issuer, audiences, key set): a principal found here
// was verified under it. clear() when the keys rotate away, so that a token signed by a
// withdrawn key stops being accepted at once.
//
// Thread-safe. Sharded by the token's hash, one mutex per shard; inside a shard, eviction
// is CLOCK (second chance), an approximation of LRU that costs a flag store per hit.
class TokenCache {
 public:
  // At most `capacity` tokens in all (0: caches nothing).
  explicit TokenCache(std::size_t capacity);
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;
  ~TokenCache();

  // The principal of a token inserted before and not expired at `now` (at expiry the
  // entry goes); nullptr otherwise. The whole token is compared, not only its hash.
  std::shared_ptr<const Principal> find(std::string_view token, std::chrono::system_clock::time_point now);
  // Until principal->expires_at. A token already present gets the new principal.
  void insert(std::string_view token, std::shared_ptr<const Principal> principal);
  void clear();

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Slot {
    std::string token;
    std::shared_ptr<const Principal> principal;  // null: the slot is free
    std::chrono::system_clock::time_point expires_at{};
    std::uint64_t hash = 0;
    bool referenced = false;  // CLOCK's second chance: set by a hit, cleared by the hand
  };
  struct Shard {
    mutable std::mutex mutex;
    std::vector<Slot> slots;                              // grows up to `capacity`
    std::unordered_multimap<std::uint64_t, std::uint32_t> index;  // hash -> slot
    std::size_t capacity = 0;
    std::size_t hand = 0;
    std::size_t used = 0;
  };

  Shard& shard_of(std::uint64_t hash) noexcept { return shards_[hash % shards_.size()]; }
  static Slot* find_slot(Shard& shard, std::string_view token, std::uint64_t hash) noexcept;
  static void free_slot(Shard& shard, std::size_t i);

  std::size_t capacity_;
  std::vector<Shard> shards_;
};

}  // namespace pit::detail::identity
