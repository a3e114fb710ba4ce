// Verification keys: a JWK Set (RFC 7517) read into OpenSSL keys, each bound to the one
// algorithm it may verify (RFC 8725 section 3.1: the key decides, never the token).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY; <openssl/evp.h> stays in jwk.cpp

namespace pit::detail::identity {

// The JWS algorithms pit verifies (RFC 7518, RFC 8037). Nothing else is ever accepted:
// not `none`, not HMAC (a verifier that held only public keys would use one as the secret).
enum class Algorithm : std::uint8_t { RS256, PS256, ES256, EdDSA };
std::string_view to_string(Algorithm alg) noexcept;
// The `alg` header value of one of these, exactly (case-sensitive, RFC 7515).
std::optional<Algorithm> algorithm_named(std::string_view name) noexcept;

struct PkeyFree {
  void operator()(evp_pkey_st* key) const noexcept;
};
using Pkey = std::unique_ptr<evp_pkey_st, PkeyFree>;

// One public key, immutable; verify() may be called from many threads at once.
class Key {
 public:
  Key(Pkey pkey, Algorithm alg, std::string kid) noexcept;

  [[nodiscard]] Algorithm algorithm() const noexcept { return alg_; }
  [[nodiscard]] const std::string& kid() const noexcept { return kid_; }
  // RSA: the modulus size; EC P-256 and Ed25519: 256.
  [[nodiscard]] int bits() const noexcept;

  // True when `signature` (the JWS encoding: PKCS#1 v1.5 or PSS for RSA, raw r||s of 64
  // bytes for ES256, 64 bytes for EdDSA) signs `signing_input` under this key and its
  // algorithm. Anything else, a wrong length included, is false. Leaves no error on
  // OpenSSL's thread-local queue.
  [[nodiscard]] bool verify(std::string_view signing_input, std::string_view signature) const noexcept;

 private:
  Pkey pkey_;
  Algorithm alg_;
  std::string kid_;
};

// An issuer's key set, immutable once parsed and shared between threads (a refresh builds
// a new one). Only signature keys pit can use are kept: RSA of 2048 to 8192 bits (RS256,
// or PS256 when the JWK says so), EC P-256 (ES256), OKP Ed25519 (EdDSA).
class KeySet {
 public:
  // Parses a JWKS document {"keys":[...]}. Keys that are not for signatures (`use` other
  // than "sig", `key_ops` without "verify"), of another kty/crv/alg, RSA under 2048 bits,
  // malformed, or repeating an earlier key's kid are skipped: skipped() counts them and
  // skipped_reasons() says why, one line each. Returns nullptr and sets *error (if given)
  // when the text is not a JWKS at all (not strict JSON, no "keys" array).
  static std::shared_ptr<const KeySet> parse(std::string_view jwks_json, std::string* error);

  // The key with this kid. find("") (a token without kid) gives the key of a set that
  // holds exactly one, and nullptr otherwise: with several keys there is no guessing.
  [[nodiscard]] const Key* find(std::string_view kid) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
  [[nodiscard]] const std::vector<Key>& keys() const noexcept { return keys_; }
  [[nodiscard]] std::size_t skipped() const noexcept { return skipped_reasons_.size(); }
  [[nodiscard]] const std::vector<std::string>& skipped_reasons() const noexcept { return skipped_reasons_; }

 private:
  std::vector<Key> keys_;
  std::vector<std::string> skipped_reasons_;
};

}  // namespace pit::detail::identity
