// JWK Set parsing into OpenSSL 3 keys (EVP_PKEY_fromdata), and JWS signature verification
// with them (EVP_DigestVerify).
#include "identity/jwk.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <array>
#include <utility>

#include "identity/base64url.hpp"
#include "identity/strict_json.hpp"

namespace pit::detail::identity {
namespace {

constexpr int kMinRsaBits = 2048;
// A bigger modulus makes every verification slower (a key set is the issuer's, but a
// compromised or careless JWKS must not turn each request into a CPU sink).
constexpr int kMaxRsaBits = 8192;
constexpr std::size_t kMaxKeys = 64;  // find() is a linear scan; real sets hold a handful

// Frees what OpenSSL allocated, whatever path a function leaves by.
struct OpenSslFree {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, OpenSslFree>;

const unsigned char* bytes_of(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }

// A public key of `type` from OpenSSL parameters; null when OpenSSL refuses them. The
// key's own consistency check (point on the curve, ...) must pass too.
Pkey public_key_from(const char* type, const OSSL_PARAM* params) {
  const Owned<EVP_PKEY_CTX> ctx{EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr)};
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  Pkey key{raw};
  const Owned<EVP_PKEY_CTX> check{EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr)};
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return key;
}

std::string_view strip_leading_zeros(std::string_view big_endian) noexcept {
  while (!big_endian.empty() && big_endian.front() == '\0') big_endian.remove_prefix(1);
  return big_endian;
}

int bit_length(std::string_view big_endian) noexcept {
  big_endian = strip_leading_zeros(big_endian);
  if (big_endian.empty()) return 0;
  int top = 0;
  for (auto b = static_cast<unsigned char>(big_endian.front()); b != 0; b >>= 1U) ++top;
  return static_cast<int>((big_endian.size() - 1) * 8) + top;
}

// "\"name\" what", built by appending: GCC 12 at -O3 warns (-Wrestrict, a false positive)
// on "literal" + std::string + "literal".
std::string member_says(std::string_view name, std::string_view what) {
  std::string out;
  out.reserve(name.size() + what.size() + 3);
  out += '"';
  out += name;
  out += "\" ";
  out += what;
  return out;
}

// One JWK member that must be a base64url string; sets `why` when it is not.
std::optional<std::string> b64_member(json::Node jwk, std::string_view name, std::string& why) {
  const json::Node node = jwk.find(name);
  if (!node.present() || !is(node, json::Node::Kind::string)) {
    why = "no " + member_says(name, "string");
    return std::nullopt;
  }
  auto bytes = base64url_decode(node.as_string());
  if (!bytes) why = member_says(name, "is not base64url");
  return bytes;
}

Pkey rsa_key(json::Node jwk, std::string& why) {
  const auto n = b64_member(jwk, "n", why);
  if (!n) return nullptr;
  const auto e = b64_member(jwk, "e", why);
  if (!e) return nullptr;
  const int bits = bit_length(*n);
  if (bits < kMinRsaBits) {
    why = "RSA key of " + std::to_string(bits) + " bits, under " + std::to_string(kMinRsaBits);
    return nullptr;
  }
  if (bits > kMaxRsaBits) {
    why = "RSA key of " + std::to_string(bits) + " bits, over " + std::to_string(kMaxRsaBits);
    return nullptr;
  }
  const std::string_view exponent = strip_leading_zeros(*e);
  // Real exponents are 65537 (sometimes 3); a huge one would only slow verification down.
  if (exponent.empty() || exponent.size() > 8 || (static_cast<unsigned char>(exponent.back()) & 1U) == 0 ||
      bit_length(exponent) < 2) {
    why = "RSA exponent is not an odd number from 3 to 64 bits";
    return nullptr;
  }
  const std::string_view modulus = strip_leading_zeros(*n);
  const Owned<BIGNUM> bn_n{BN_bin2bn(bytes_of(modulus), static_cast<int>(modulus.size()), nullptr)};
  const Owned<BIGNUM> bn_e{BN_bin2bn(bytes_of(exponent), static_cast<int>(exponent.size()), nullptr)};
  const Owned<OSSL_PARAM_BLD> builder{OSSL_PARAM_BLD_new()};
  if (!bn_n || !bn_e || !builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    ERR_clear_error();
    why = "OpenSSL could not hold the RSA numbers";
    return nullptr;
  }
  const Owned<OSSL_PARAM> params{OSSL_PARAM_BLD_to_param(builder.get())};
  Pkey key = params ? public_key_from("RSA", params.get()) : nullptr;
  if (!key) why = "OpenSSL refused the RSA key";
  return key;
}

Pkey ec_p256_key(json::Node jwk, std::string& why) {
  const auto x = b64_member(jwk, "x", why);
  if (!x) return nullptr;
  const auto y = b64_member(jwk, "y", why);
  if (!y) return nullptr;
  // RFC 7518 section 6.2.1.2: the full coordinate size, leading zeros kept.
  if (x->size() != 32 || y->size() != 32) {
    why = "P-256 coordinates are not 32 bytes each";
    return nullptr;
  }
  std::array<unsigned char, 65> point{};
  point[0] = 0x04;  // uncompressed
  std::copy(x->begin(), x->end(), point.begin() + 1);
  std::copy(y->begin(), y->end(), point.begin() + 33);
  char group[] = "P-256";
  const std::array<OSSL_PARAM, 3> params{
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  Pkey key = public_key_from("EC", params.data());
  if (!key) why = "the point is not on P-256";
  return key;
}

Pkey ed25519_key(json::Node jwk, std::string& why) {
  auto x = b64_member(jwk, "x", why);
  if (!x) return nullptr;
  if (x->size() != 32) {
    why = "Ed25519 public key is not 32 bytes";
    return nullptr;
  }
  const std::array<OSSL_PARAM, 2> params{
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, x->data(), x->size()), OSSL_PARAM_construct_end()};
  Pkey key = public_key_from("ED25519", params.data());
  if (!key) why = "OpenSSL refused the Ed25519 key";
  return key;
}

std::string_view string_member(json::Node object, std::string_view name) noexcept {
  const json::Node node = object.find(name);
  return is(node, json::Node::Kind::string) ? node.as_string() : std::string_view{};
}

bool string_or_absent(json::Node object, std::string_view name) noexcept {
  const json::Node node = object.find(name);
  return !node.present() || is(node, json::Node::Kind::string);
}

// The key of one JWK and the algorithm it is for, or null with the reason in `why`.
std::optional<Key> key_of(json::Node jwk, std::string& why) {
  if (!is(jwk, json::Node::Kind::object)) {
    why = "not an object";
    return std::nullopt;
  }
  for (const std::string_view name : {"kty", "kid", "use", "alg", "crv"}) {
    if (!string_or_absent(jwk, name)) {
      why = member_says(name, "is not a string");
      return std::nullopt;
    }
  }
  if (jwk.find("use").present() && string_member(jwk, "use") != "sig") {
    why = "use is not \"sig\"";
    return std::nullopt;
  }
  if (const json::Node ops = jwk.find("key_ops"); ops.present()) {
    bool verify = false;
    for (std::size_t i = 0; i < ops.size(); ++i) verify = verify || ops.at(i).as_string() == "verify";
    if (!verify) {
      why = "key_ops does not allow \"verify\"";
      return std::nullopt;
    }
  }
  const std::string_view kty = string_member(jwk, "kty");
  const std::string_view alg = string_member(jwk, "alg");
  const std::string_view crv = string_member(jwk, "crv");
  const std::string kid{string_member(jwk, "kid")};
  const auto unsupported_alg = [&] {
    why = "alg \"" + std::string{alg.substr(0, 32)} + "\" is not supported for kty " + std::string{kty};
    return std::nullopt;
  };
  Pkey pkey;
  Algorithm algorithm{};
  if (kty == "RSA") {
    if (alg.empty() || alg == "RS256") {
      algorithm = Algorithm::RS256;  // the common default of issuers that omit alg
    } else if (alg == "PS256") {
      algorithm = Algorithm::PS256;
    } else {
      return unsupported_alg();
    }
    pkey = rsa_key(jwk, why);
  } else if (kty == "EC") {
    if (crv != "P-256") {
      why = "EC curve \"" + std::string{crv.substr(0, 32)} + "\" is not supported (P-256 only)";
      return std::nullopt;
    }
    if (!alg.empty() && alg != "ES256") return unsupported_alg();
    algorithm = Algorithm::ES256;
    pkey = ec_p256_key(jwk, why);
  } else if (kty == "OKP") {
    if (crv != "Ed25519") {
      why = "OKP curve \"" + std::string{crv.substr(0, 32)} + "\" is not supported (Ed25519 only)";
      return std::nullopt;
    }
    if (!alg.empty() && alg != "EdDSA") return unsupported_alg();
    algorithm = Algorithm::EdDSA;
    pkey = ed25519_key(jwk, why);
  } else {
    why = kty.empty() ? "no kty" : "kty \"" + std::string{kty.substr(0, 32)} + "\" is not supported";
    return std::nullopt;
  }
  if (!pkey) return std::nullopt;
  return Key{std::move(pkey), algorithm, kid};
}

}  // namespace

void PkeyFree::operator()(evp_pkey_st* key) const noexcept { EVP_PKEY_free(key); }

std::string_view to_string(Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::RS256: return "RS256";
    case Algorithm::PS256: return "PS256";
    case Algorithm::ES256: return "ES256";
    case Algorithm::EdDSA: return "EdDSA";
  }
  return "?";
}

std::optional<Algorithm> algorithm_named(std::string_view name) noexcept {
  for (const Algorithm alg : {Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA}) {
    if (name == to_string(alg)) return alg;
  }
  return std::nullopt;
}

Key::Key(Pkey pkey, Algorithm alg, std::string kid) noexcept : pkey_(std::move(pkey)), alg_(alg), kid_(std::move(kid)) {}

int Key::bits() const noexcept { return EVP_PKEY_get_bits(pkey_.get()); }

bool Key::verify(std::string_view signing_input, std::string_view signature) const noexcept {
  std::array<unsigned char, 80> der{};  // DER of an ECDSA P-256 signature: at most 72 bytes
  const unsigned char* sig = bytes_of(signature);
  std::size_t sig_size = signature.size();
  switch (alg_) {
    case Algorithm::RS256:
    case Algorithm::PS256:
      if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(pkey_.get()))) return false;
      break;
    case Algorithm::EdDSA:
      if (signature.size() != 64) return false;
      break;
    case Algorithm::ES256: {
      // JWS carries r || s, 32 bytes each (RFC 7518 section 3.4); OpenSSL wants DER.
      if (signature.size() != 64) return false;
      Owned<ECDSA_SIG> ecdsa{ECDSA_SIG_new()};
      BIGNUM* r = BN_bin2bn(sig, 32, nullptr);
      BIGNUM* s = BN_bin2bn(sig + 32, 32, nullptr);
      if (!ecdsa || r == nullptr || s == nullptr || ECDSA_SIG_set0(ecdsa.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ERR_clear_error();
        return false;
      }
      if (i2d_ECDSA_SIG(ecdsa.get(), nullptr) > static_cast<int>(der.size())) return false;
      unsigned char* out = der.data();
      const int written = i2d_ECDSA_SIG(ecdsa.get(), &out);
      if (written <= 0) {
        ERR_clear_error();
        return false;
      }
      sig = der.data();
      sig_size = static_cast<std::size_t>(written);
      break;
    }
  }
  const Owned<EVP_MD_CTX> ctx{EVP_MD_CTX_new()};
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  // EdDSA hashes internally (PureEdDSA): no digest is named.
  const EVP_MD* digest = alg_ == Algorithm::EdDSA ? nullptr : EVP_sha256();
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, digest, nullptr, pkey_.get()) == 1;
  if (ok && alg_ == Algorithm::PS256) {
    // RFC 7518 section 3.5: MGF1 with SHA-256 and a salt as long as the hash.
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx.get(), sig, sig_size, bytes_of(signing_input), signing_input.size()) == 1;
  if (!ok) ERR_clear_error();  // a refused signature must not leave errors for unrelated code to find
  return ok;
}

std::shared_ptr<const KeySet> KeySet::parse(std::string_view jwks_json, std::string* error) {
  auto set = std::make_shared<KeySet>();
  std::string refusal;
  auto read = [&](json::Node root) {
    const json::Node keys = root.find("keys");
    if (!is(root, json::Node::Kind::object) || !is(keys, json::Node::Kind::array)) {
      refusal = "a JWK Set is an object with a \"keys\" array";
      return;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::string why;
      std::optional<Key> key = key_of(keys.at(i), why);
      const std::string_view kid = string_member(keys.at(i), "kid");
      if (key) {
        for (const Key& earlier : set->keys_) {
          if (earlier.kid() == kid) why = "its kid repeats an earlier key's";
        }
        if (why.empty() && set->keys_.size() >= kMaxKeys) why = "more than " + std::to_string(kMaxKeys) + " keys";
        if (why.empty()) {
          set->keys_.push_back(std::move(*key));
          continue;
        }
      }
      std::string reason = "key " + std::to_string(i);
      if (!kid.empty()) reason += " (kid \"" + std::string{kid.substr(0, 64)} + "\")";
      set->skipped_reasons_.push_back(reason + ": " + why);
    }
  };
  json::Limits limits;
  limits.max_depth = 8;
  limits.max_string_bytes = 64 * 1024;
  limits.max_elements = 64 * 1024;
  if (const auto parse_error = read_strict_json(jwks_json, limits, read)) refusal = "not strict JSON: " + *parse_error;
  if (!refusal.empty()) {
    if (error != nullptr) *error = std::move(refusal);
    return nullptr;
  }
  return set;
}

const Key* KeySet::find(std::string_view kid) const noexcept {
  if (kid.empty()) return keys_.size() == 1 ? &keys_.front() : nullptr;
  for (const Key& key : keys_) {
    if (key.kid() == kid) return &key;
  }
  return nullptr;
}

}  // namespace pit::detail::identity
