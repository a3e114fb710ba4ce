// Bearer access tokens: a JWS-signed JWT (RFC 7519) checked the way RFC 8725 (JWT best
// current practice) and RFC 9068 (JWT profile for OAuth 2.0 access tokens) say, pure and
// synchronous: no I/O, no clock of its own, no state beyond its arguments.
//
// Order of the checks, each refusing with its own Reject: size (before any decoding) →
// three base64url segments → the header (strict JSON; alg one that pit verifies; no crit;
// typ) → the key of its kid, whose algorithm must be the header's → the signature → only
// then the claims (strict JSON; iss, aud, exp/nbf/iat, sub), so that nothing an attacker
// did not get signed is ever read past its header.
//
// Principal::expires_at is the token's exp, clamped to at least a year before the end of
// system_clock, so that adding a leeway or a margin to it cannot overflow.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "identity/jwk.hpp"
#include "pit/identity.hpp"

namespace pit::detail::identity {

struct VerifyOptions {
  std::string issuer;                  // `iss` must equal it exactly
  std::vector<std::string> audiences;  // `aud` (string or array) must contain one of them
  std::chrono::seconds leeway{30};     // clock skew allowed for exp / nbf / iat
  std::size_t max_token_bytes = 8192;  // longer: refused before any decoding
  bool require_at_jwt = true;          // header typ must be "at+jwt" or "application/at+jwt" (RFC 9068)
  std::string roles_claim = "roles";   // array of strings (or one space-separated string)
  std::vector<std::string> keep_claims;  // copied into Principal::claims as JSON text
};

// The encoded header segment may be at most this long (it is only alg, typ, kid and
// perhaps a few more names): a token of many kilobytes of header is refused as too_large.
inline constexpr std::size_t kMaxHeaderSegmentBytes = 1024;
// How many `act` claims may nest (RFC 8693 delegation chains are a few hops long).
inline constexpr std::size_t kMaxActorDepth = 8;

enum class Reject : std::uint8_t {
  too_large,       // over max_token_bytes, or a header over kMaxHeaderSegmentBytes
  malformed,       // not three base64url segments of strict JSON objects; a claim of the wrong type
  bad_type,        // typ is not at+jwt (when required)
  bad_algorithm,   // alg is not one pit verifies, or not the algorithm of the kid's key
  unknown_key,     // no key with the token's kid (Rejected::kid says which)
  bad_signature,   // the signature does not verify with that key
  wrong_issuer,    // iss is not the issuer
  wrong_audience,  // aud names none of the audiences
  expired,         // exp (+ leeway) has passed
  not_yet_valid,   // nbf or iat is later than now (+ leeway)
  unknown_crit,    // the header has crit: pit understands no extension
  missing_claim,   // exp, iss, sub or aud is absent
};
// "too_large", "malformed", ... (the enumerator's name; audit records and logs carry it)
std::string_view to_string(Reject reason) noexcept;

struct Verified {
  std::shared_ptr<const Principal> principal;
};
struct Rejected {
  Reject reason;
  std::string kid;     // the token's kid, for unknown_key (a refetch of the key set may find it)
  std::string detail;  // for the log: what exactly was wrong; never the token or a signature
};

std::variant<Verified, Rejected> verify(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                                        std::chrono::system_clock::time_point now);

// Hex of the first 16 bytes of the token's SHA-256: names a token in records without
// revealing it.
std::string token_hash(std::string_view token);

}  // namespace pit::detail::identity
