#include "identity/dev_signer.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <array>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "identity/base64url.hpp"
#include "pit/json.hpp"

namespace pit::detail::identity {
namespace {

[[noreturn]] void fail(const std::string& what) {
  ERR_clear_error();
  throw std::runtime_error("DevSigner: " + what);
}

std::shared_ptr<evp_pkey_st> own(EVP_PKEY* key) { return {key, [](EVP_PKEY* k) { EVP_PKEY_free(k); }}; }

std::string big_endian(const EVP_PKEY* key, const char* param, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &bn) != 1) fail(std::string{"no "} + param + " in the key");
  std::string out(static_cast<std::size_t>(std::max(pad_to, BN_num_bytes(bn))), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

std::string_view alg_name(DevSigner::Alg alg) noexcept {
  switch (alg) {
    case DevSigner::Alg::RS256: return "RS256";
    case DevSigner::Alg::ES256: return "ES256";
    case DevSigner::Alg::EdDSA: return "EdDSA";
    case DevSigner::Alg::PS256: return "PS256";
  }
  return "?";
}

// Whole-object JSON: the members inside the outer braces, trimmed; "" for "{}" or "".
std::string_view object_members(std::string_view object_json) {
  const auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  while (!object_json.empty() && blank(object_json.front())) object_json.remove_prefix(1);
  while (!object_json.empty() && blank(object_json.back())) object_json.remove_suffix(1);
  if (object_json.empty()) return {};
  if (object_json.size() < 2 || object_json.front() != '{' || object_json.back() != '}') {
    throw std::invalid_argument("DevSigner: extra claims must be a JSON object");
  }
  object_json = object_json.substr(1, object_json.size() - 2);
  while (!object_json.empty() && blank(object_json.front())) object_json.remove_prefix(1);
  return object_json;
}

template <class Value>
void member(json::Writer& w, std::string_view name, const Value& value) {
  w.key(name);
  w.value(value);
}

}  // namespace

DevSigner::DevSigner(Alg alg, std::string kid) : alg_(alg), kid_(std::move(kid)) {
  EVP_PKEY* key = nullptr;
  switch (alg) {
    case Alg::RS256:
    case Alg::PS256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}); break;
    case Alg::ES256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case Alg::EdDSA: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (key == nullptr) fail("key generation failed");
  key_ = own(key);
}

DevSigner::DevSigner(std::shared_ptr<evp_pkey_st> key, Alg alg, std::string kid)
    : key_(std::move(key)), alg_(alg), kid_(std::move(kid)) {}

DevSigner DevSigner::from_pem(std::string_view pem, std::string kid) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) fail("out of memory");
  // No passphrase: OpenSSL's default callback would prompt on the terminal.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr);
  BIO_free(bio);
  if (raw == nullptr) fail("no unencrypted private key in the PEM text");
  auto key = own(raw);
  if (EVP_PKEY_is_a(raw, "RSA") == 1) {
    if (EVP_PKEY_get_bits(raw) < 2048) fail("an RSA key needs at least 2048 bits");
    return DevSigner{key, Alg::RS256, std::move(kid)};
  }
  if (EVP_PKEY_is_a(raw, "ED25519") == 1) return DevSigner{key, Alg::EdDSA, std::move(kid)};
  if (EVP_PKEY_is_a(raw, "EC") == 1) {
    std::array<char, 64> group{};
    std::size_t size = 0;
    if (EVP_PKEY_get_utf8_string_param(raw, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &size) == 1 &&
        (std::string_view{group.data(), size} == "prime256v1" || std::string_view{group.data(), size} == "P-256")) {
      return DevSigner{key, Alg::ES256, std::move(kid)};
    }
    fail("an EC key must be on P-256");
  }
  fail("the key is not RSA, EC P-256 or Ed25519");
}

DevSigner DevSigner::from_pem_file(const std::string& path, std::string kid) {
  std::ifstream in{path, std::ios::binary};
  if (!in) throw std::runtime_error("DevSigner: cannot read " + path);
  const std::string pem{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return from_pem(pem, std::move(kid));
}

std::string DevSigner::private_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_PrivateKey(bio, key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    fail("cannot write the key as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string DevSigner::jwks() const {
  std::string out;
  json::Writer w{out};
  w.begin_object();
  w.key("keys");
  w.begin_array();
  w.begin_object();
  switch (alg_) {
    case Alg::RS256:
    case Alg::PS256:
      member(w, "kty", "RSA");
      member(w, "n", base64url_encode(big_endian(key_.get(), OSSL_PKEY_PARAM_RSA_N)));
      member(w, "e", base64url_encode(big_endian(key_.get(), OSSL_PKEY_PARAM_RSA_E)));
      break;
    case Alg::ES256:
      member(w, "kty", "EC");
      member(w, "crv", "P-256");
      member(w, "x", base64url_encode(big_endian(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32)));
      member(w, "y", base64url_encode(big_endian(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)));
      break;
    case Alg::EdDSA: {
      std::array<unsigned char, 32> x{};
      std::size_t size = x.size();
      if (EVP_PKEY_get_raw_public_key(key_.get(), x.data(), &size) != 1 || size != x.size()) fail("no Ed25519 public key");
      member(w, "kty", "OKP");
      member(w, "crv", "Ed25519");
      member(w, "x", base64url_encode({reinterpret_cast<const char*>(x.data()), size}));
      break;
    }
  }
  member(w, "use", "sig");
  member(w, "alg", alg_name(alg_));
  if (!kid_.empty()) member(w, "kid", kid_);
  w.end_object();
  w.end_array();
  w.end_object();
  return out;
}

std::string DevSigner::sign(std::string_view header_json, std::string_view payload_json) const {
  std::string token = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* digest = alg_ == Alg::EdDSA ? nullptr : EVP_sha256();
  std::size_t size = 0;
  std::string signature;
  const auto* input = reinterpret_cast<const unsigned char*>(token.data());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, &pctx, digest, nullptr, key_.get()) == 1;
  if (ok && alg_ == Alg::PS256) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestSign(ctx, nullptr, &size, input, token.size()) == 1;
  if (ok) {
    signature.resize(size);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size, input, token.size()) == 1;
    signature.resize(size);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) fail("signing failed");
  if (alg_ == Alg::ES256) {
    // OpenSSL signs in DER; JWS wants r || s, 32 bytes each (RFC 7518 section 3.4).
    const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
    if (ecdsa == nullptr) fail("OpenSSL's ECDSA signature did not parse");
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(ecdsa);
    signature = std::move(raw);
  }
  token += '.';
  token += base64url_encode(signature);
  return token;
}

std::string DevSigner::access_token(std::string_view issuer, std::string_view audience, std::string_view subject,
                                    std::string_view scope, std::chrono::seconds lifetime,
                                    std::string_view extra_claims_json) const {
  std::string header;
  json::Writer h{header};
  h.begin_object();
  member(h, "alg", alg_name(alg_));
  member(h, "typ", "at+jwt");
  if (!kid_.empty()) member(h, "kid", kid_);
  h.end_object();

  std::array<unsigned char, 16> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) fail("no random bytes for jti");
  const std::string jti = base64url_encode({reinterpret_cast<const char*>(random.data()), random.size()});
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  std::string payload;
  json::Writer p{payload};
  p.begin_object();
  member(p, "iss", issuer);
  member(p, "sub", subject);
  member(p, "aud", audience);
  member(p, "client_id", subject);
  member(p, "iat", now);
  member(p, "exp", now + lifetime.count());
  member(p, "jti", jti);
  if (!scope.empty()) member(p, "scope", scope);
  p.end_object();
  if (const std::string_view extra = object_members(extra_claims_json); !extra.empty()) {
    payload.pop_back();  // the closing brace
    payload += ',';
    payload += extra;
    payload += '}';
  }
  return sign(header, payload);
}

}  // namespace pit::detail::identity
