// identity_bench — what authenticating one bearer token costs (src/identity/): verify()
// of an uncached RS256, ES256 or EdDSA access token (base64url, strict JSON of header and
// claims, the signature, the Principal), and the cached path, TokenCache::find of a token
// verified before. bench/README.md ("Identity") quotes the figures.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "identity/dev_signer.hpp"
#include "identity/jwk.hpp"
#include "identity/jwt.hpp"
#include "identity/token_cache.hpp"

namespace {

using namespace pit::detail::identity;

struct Issuer {
  DevSigner signer;
  std::shared_ptr<const KeySet> keys;
  VerifyOptions options;
  std::string token;

  explicit Issuer(DevSigner::Alg alg) : signer(alg, "bench-key") {
    std::string error;
    keys = KeySet::parse(signer.jwks(), &error);
    options.issuer = "https://id.example";
    options.audiences = {"inventory"};
    // A token of a realistic size: scopes, roles and an actor.
    token = signer.access_token(options.issuer, "inventory", "orders-service", "inventory.read inventory.reserve",
                                std::chrono::hours{1}, R"({"roles":["service"],"act":{"sub":"gateway"}})");
  }
};

void verify_uncached(benchmark::State& state, DevSigner::Alg alg) {
  const Issuer issuer{alg};
  for (auto _ : state) {
    auto result = verify(issuer.token, *issuer.keys, issuer.options, std::chrono::system_clock::now());
    if (!std::holds_alternative<Verified>(result)) state.SkipWithError("the token was refused");
    benchmark::DoNotOptimize(result);
  }
  state.counters["token_bytes"] = static_cast<double>(issuer.token.size());
}

void BM_verify_rs256_uncached(benchmark::State& state) { verify_uncached(state, DevSigner::Alg::RS256); }
void BM_verify_es256_uncached(benchmark::State& state) { verify_uncached(state, DevSigner::Alg::ES256); }
void BM_verify_eddsa_uncached(benchmark::State& state) { verify_uncached(state, DevSigner::Alg::EdDSA); }

// A cache holding 10 000 tokens (capacity 20 000: the shards fill unevenly) and one of
// them found again: the path of every call after a token's first.
void BM_token_cache_find_hit(benchmark::State& state) {
  const Issuer issuer{DevSigner::Alg::EdDSA};
  TokenCache cache{20'000};
  std::vector<std::string> tokens;
  for (int i = 0; i < 10'000; ++i) {
    std::string token = issuer.token;
    token.replace(token.size() - 12, 12, std::to_string(1'000'000'000'000LL + i));  // distinct; only the cache sees them
    tokens.push_back(std::move(token));
  }
  auto principal = std::get<Verified>(verify(issuer.token, *issuer.keys, issuer.options, std::chrono::system_clock::now()))
                       .principal;
  for (const std::string& token : tokens) cache.insert(token, principal);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto now = std::chrono::system_clock::now();
    auto found = cache.find(tokens[i], now);
    if (found == nullptr) state.SkipWithError("a miss");
    benchmark::DoNotOptimize(found);
    i = (i + 7919) % tokens.size();
  }
  state.counters["token_bytes"] = static_cast<double>(issuer.token.size());
}

// The same token found again and again: a client that calls in a loop (its entry stays in
// the CPU's caches, which the 10 000-token walk above defeats on purpose).
void BM_token_cache_find_hit_same_token(benchmark::State& state) {
  const Issuer issuer{DevSigner::Alg::EdDSA};
  TokenCache cache{20'000};
  cache.insert(issuer.token, std::get<Verified>(verify(issuer.token, *issuer.keys, issuer.options,
                                                       std::chrono::system_clock::now()))
                                 .principal);
  for (auto _ : state) {
    auto found = cache.find(issuer.token, std::chrono::system_clock::now());
    if (found == nullptr) state.SkipWithError("a miss");
    benchmark::DoNotOptimize(found);
  }
}

void BM_token_hash(benchmark::State& state) {
  const Issuer issuer{DevSigner::Alg::EdDSA};
  for (auto _ : state) benchmark::DoNotOptimize(token_hash(issuer.token));
}

BENCHMARK(BM_verify_rs256_uncached);
BENCHMARK(BM_verify_es256_uncached);
BENCHMARK(BM_verify_eddsa_uncached);
BENCHMARK(BM_token_cache_find_hit);
BENCHMARK(BM_token_cache_find_hit)->Threads(2);
BENCHMARK(BM_token_cache_find_hit_same_token);
BENCHMARK(BM_token_hash);

}  // namespace

BENCHMARK_MAIN();
