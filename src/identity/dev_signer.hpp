// A signing key for the demo, the tests and the benchmarks: it mints at+jwt access tokens
// that verify() accepts against its jwks(). Not an identity provider: production tokens
// come from the issuer's own.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

struct evp_pkey_st;

namespace pit::detail::identity {

class DevSigner {
 public:
  enum class Alg { RS256, ES256, EdDSA, PS256 };  // PS256: an RSA key whose JWK says alg PS256

  // A freshly generated key: RSA 2048 (RS256, PS256), P-256 or Ed25519. Throws std::runtime_error if
  // OpenSSL cannot make one.
  DevSigner(Alg alg, std::string kid);
  // A key kept in a PEM file (PKCS#8 or traditional, unencrypted), so that several
  // processes, or several runs, share it; the algorithm follows the key's type. Throws
  // std::runtime_error when the file cannot be read or holds no such key.
  static DevSigner from_pem_file(const std::string& path, std::string kid);
  static DevSigner from_pem(std::string_view pem, std::string kid);
  // The private key as PKCS#8 PEM (for from_pem; keep it out of logs).
  [[nodiscard]] std::string private_pem() const;

  [[nodiscard]] Alg alg() const noexcept { return alg_; }
  [[nodiscard]] const std::string& kid() const noexcept { return kid_; }
  // {"keys":[{...the public key, with kid, alg and use "sig"...}]}
  [[nodiscard]] std::string jwks() const;
  // header.payload.signature over exactly these two texts, signed with this key whatever
  // the header says (tests forge hostile headers with it).
  [[nodiscard]] std::string sign(std::string_view header_json, std::string_view payload_json) const;
  // An RFC 9068 access token: typ at+jwt, this kid; iss, sub, aud, client_id (= subject),
  // iat = now, exp = now + lifetime, a random jti, scope when not empty. extra_claims_json,
  // when given, is a JSON object whose members are appended to the claims as they are
  // (a member that repeats one above makes the token invalid: duplicates are refused).
  [[nodiscard]] std::string access_token(std::string_view issuer, std::string_view audience, std::string_view subject,
                                         std::string_view scope, std::chrono::seconds lifetime,
                                         std::string_view extra_claims_json = {}) const;

 private:
  DevSigner(std::shared_ptr<evp_pkey_st> key, Alg alg, std::string kid);
  std::shared_ptr<evp_pkey_st> key_;  // shared: a DevSigner copies cheaply; signing does not modify it
  Alg alg_;
  std::string kid_;
};

}  // namespace pit::detail::identity
