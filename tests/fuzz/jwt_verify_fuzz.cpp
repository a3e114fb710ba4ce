// Bearer token verification (src/identity/jwt.hpp) against a fixed key set (RSA, P-256,
// Ed25519), at a fixed time; and the key set parser and base64url on the same bytes.
//
// Each input is used four ways:
//  1. as a token, verified as it is: a signature nobody forged, so nearly always refused;
//  2. as claims (or "header\nclaims"), signed here with the Ed25519 key of the set and
//     verified: this reaches the claim checks, which only signed tokens get to;
//  3. as a JWK Set, parsed;
//  4. as base64url text, decoded.
//
// Properties (a violation aborts):
//  - verify() returns, never throws; a refusal has a detail, and a kid only for unknown_key;
//  - an accepted token satisfies everything verify() promises: the configured issuer, one of
//    the audiences, not expired at `now` within the leeway, a subject, at most
//    kMaxActorDepth actors, method bearer, its token_hash and credential those of the input,
//    no more than max_token_bytes, exactly three segments;
//  - a token signed here with the trusted key and its own correct header is never refused for
//    its header, key or signature (bad_type, bad_algorithm, unknown_key, bad_signature,
//    unknown_crit): only for its claims or its size;
//  - the same token gives the same answer twice;
//  - a parsed key set holds at most 64 keys, each found again by its kid;
//  - base64url accepts only canonical text: what decodes, encodes back to the same text.
//
// The private keys below exist for this target and its corpus only. The seed corpus holds
// tokens signed with them (DevSigner::from_pem(...).sign(...), tests/fuzz/README.md).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "identity/base64url.hpp"
#include "identity/dev_signer.hpp"
#include "identity/jwk.hpp"
#include "identity/jwt.hpp"
#include "identity/principal_access.hpp"

namespace {

using namespace pit::detail::identity;

constexpr std::string_view kEd25519Pem = R"(-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIG3Y9+qr8x/wfwYP2imhMbKZpYrXsThWtuNWTsHvOTkq
-----END PRIVATE KEY-----)";
constexpr std::string_view kP256Pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgce4eLCa90xsXuNQv
s0Nh5O5jQdqijL4Z58vjWO+sxzahRANCAAQnHVNC1H3CcTMOAm0RVrss1oWOlRvg
lTbcL0OIaHtGwnrvy6EZrN38PX1c3u88AWHY5CS3VeJFTAij+yETHa+6
-----END PRIVATE KEY-----)";
constexpr std::string_view kRsaPem = R"(-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC4qzILRwkoqYlW
E6TVSA55Rl0RhY8RLEj58+DmQUpIiK8XbE1nAhGRg6c9Ztx1hTv7ohtCiwZKhDt6
NsNKwG5g4axHpB0WDmXIbfn6n7fSms5NUNN30EVIEmS4Olz5wuydbvm0mFiPz19+
QdzEExEu8S56eAC5jOZrW+9oWrQe8gglsj9j54m0LOpRiYINPukpd06Veq0bfEvX
NQ6gRQ0KA7nI2UqPvsgkThjn5OPaS5Kf6zFo9ReEFf+uTxa0YntPz82wD0pEmd5K
8YXLITknPLLG4aktqa6Fs3bcgrBiWP9aL0AHv3kndpWRdSyP53gBxoYurONhimHT
dxVqnB5XAgMBAAECggEAJn92DtjPxXzWhy3QMrBzZ//tvg3gXf2j9wvLCmV5FXb9
PX5UApHxVKskDc5oTk2ozBQm56/w707y0U8iVm6YdDUHw+WoNKVqvaaDsyZh3ZNt
R7v+Yd922ggPnEJ6iI0E4+szPl12NQDP0RPs8Kli7yzTei+TQxtnG+GOHuyt2TdT
hHqkJdSnsVLGMbN1JsMdHA90pChIr5EwbFc37bQNwnyzK/4nP8pZQuScM4JS9t+m
Y0aRNrwgoSsmC2NssGqUUB45F/ouv5EV/e5K9eDWf/6v3kNsHD8bOGk6SLyQH0/3
MWmqrkweXlZk2FQQersovEL5Jd5HrU95WX/UtAWG3QKBgQD03R6ktr3vJeBuyQLu
gbbDh1UMqy12ngSHUihtaT9Ub9TwNoOw8qH1guJyrk/9xUWg9Gx9RfIIg+XWmrSG
9QTaDL1iedqzz3crIAxyAwrcCqUHmYibsVhm/d7VDVTa8zHvbI/ChXHAMZB70mPo
Q0Hxaevfq1dpQFe6RsM11iAtrQKBgQDBET3z/SWaVNdRL+xGxhJprzOyv/c/nja9
V71WWd1q6CP7dzvlq4KtrQMS8lKgAB6WlE7nmlDqRRSVl/mPDD/tRELXeQlgAH+K
7bsF7nJWsBlrIjGTRulrJAbV2AHZq9Kc0TEM13DaIGi8BIKQ8tqxnaPaw+nsZeyE
b6pl1h30kwKBgQCvIzUWxOpHEgVb2ARzyW2KntJzNEBZVh6RF295Ck1UvIRGqAc7
WeADtXD4a7slHKN3wzuRwqSh+I09GPxEhx3IRFJ1DAkkkSCARPUB2zE6P5bYP7WY
/pjnWW+3XUizLj0qLbEJhd7dg9X+6nWxG+IfpQ4jte7Yhj/5KUHY0OXFJQKBgDLq
3S/v327oWTDsNqAjtM9yiWvm/Moma8Fb1m9jm+WJ+5NiSsWzie9L5beleO0Bmw+T
ZYvnQtfGCDu7rPFxBZsJmadCIJrVBs4ZDG3wCO+b2dhLWE/DL+Q1yCe1pCdIDW+W
LB165CRiz7xmZBjeM5cMQB599L+H0ezLlmDtK1FJAoGAHqn2UZg/xwezjmpTtSHq
lelfE2ZpxgvvqTKPZgLiKZMF8TgDJTBqia5LMTB+XlLWaIu1z8FIhhscTH7qiNrn
7eIi3EXWO4ixBAyJbVvMj7cvnknHyKNe/aCia9pRQb6/x/UCGsCfE4Bv5w1tgnUr
K0X4yY3eQ9rpoZ2elU1gmjs=
-----END PRIVATE KEY-----)";

// 2027-01-15T08:00:00Z; the corpus tokens are valid from 1799999000 to 1800003600.
const std::chrono::system_clock::time_point kNow{std::chrono::seconds{1'800'000'000}};
constexpr std::string_view kSignedHeader = R"({"alg":"EdDSA","typ":"at+jwt","kid":"fuzz-ed"})";

[[noreturn]] void fail(const char* what, std::string_view input, std::string_view more = {}) {
  std::fprintf(stderr, "jwt_verify_fuzz: %s\n  input: %.*s\n  %.*s\n", what,
               static_cast<int>(std::min<std::size_t>(input.size(), 2000)), input.data(),
               static_cast<int>(std::min<std::size_t>(more.size(), 2000)), more.data());
  std::abort();
}

std::string keys_member(const DevSigner& s) {
  const std::string jwks = s.jwks();
  return jwks.substr(9, jwks.size() - 11);  // {"keys":[ ... ]}
}

struct Fixture {
  DevSigner ed = DevSigner::from_pem(kEd25519Pem, "fuzz-ed");
  DevSigner ec = DevSigner::from_pem(kP256Pem, "fuzz-ec");
  DevSigner rsa = DevSigner::from_pem(kRsaPem, "fuzz-rsa");
  std::shared_ptr<const KeySet> keys;
  VerifyOptions options;

  Fixture() {
    std::string error;
    keys = KeySet::parse(R"({"keys":[)" + keys_member(ed) + "," + keys_member(ec) + "," + keys_member(rsa) + "]}", &error);
    if (keys == nullptr || keys->size() != 3) fail("the fixed key set did not parse", error);
    options.issuer = "https://id.example";
    options.audiences = {"inventory", "orders"};
    options.keep_claims = {"tenant", "org"};
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

std::variant<Verified, Rejected> checked_verify(std::string_view token, std::string_view input) {
  const Fixture& f = fixture();
  std::variant<Verified, Rejected> result;
  try {
    result = verify(token, *f.keys, f.options, kNow);
  } catch (const std::exception& e) {
    fail("verify threw", input, e.what());
  } catch (...) {
    fail("verify threw something", input);
  }
  if (const auto* rejected = std::get_if<Rejected>(&result)) {
    if (rejected->detail.empty()) fail("a refusal without a detail", input);
    if (rejected->reason != Reject::unknown_key && !rejected->kid.empty()) fail("a kid for another refusal", input);
    return result;
  }
  const auto& p = std::get<Verified>(result).principal;
  if (p == nullptr) fail("accepted without a principal", input);
  if (p->issuer != f.options.issuer) fail("accepted another issuer", input, p->issuer);
  const bool ours = std::any_of(p->audiences.begin(), p->audiences.end(), [&](const std::string& a) {
    return a == f.options.audiences[0] || a == f.options.audiences[1];
  });
  if (!ours) fail("accepted another audience", input, p->audiences.empty() ? std::string{} : p->audiences[0]);
  if (p->expires_at <= kNow - f.options.leeway) fail("accepted an expired token", input);
  // Callers add margins to it: it must stay a year from the clock's end.
  if (p->expires_at > std::chrono::system_clock::time_point::max() - std::chrono::hours{24 * 365}) {
    fail("expires_at too close to the end of the clock", input);
  }
  if (p->subject.empty()) fail("accepted without a subject", input);
  if (p->actors.size() > kMaxActorDepth) fail("more actors than the bound", input);
  if (p->method != pit::AuthMethod::bearer) fail("not a bearer principal", input);
  if (p->token_hash != token_hash(token)) fail("token_hash is not the token's", input);
  const std::string* credential = pit::detail::PrincipalAccess::credential(*p);
  if (credential == nullptr || *credential != token) fail("the credential is not the token", input);
  if (token.size() > f.options.max_token_bytes) fail("accepted an oversize token", input);
  if (std::count(token.begin(), token.end(), '.') != 2) fail("accepted a token without three segments", input);
  return result;
}

bool same(const std::variant<Verified, Rejected>& a, const std::variant<Verified, Rejected>& b) {
  if (a.index() != b.index()) return false;
  if (const auto* ra = std::get_if<Rejected>(&a)) return ra->reason == std::get<Rejected>(b).reason;
  return std::get<Verified>(a).principal->subject == std::get<Verified>(b).principal->subject;
}

void check_token(std::string_view token, std::string_view input) {
  const auto once = checked_verify(token, input);
  if (!same(once, checked_verify(token, input))) fail("two answers for one token", input);
}

void check_signed(std::string_view input) {
  const Fixture& f = fixture();
  const std::size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    const std::string token = f.ed.sign(kSignedHeader, input);
    const auto result = checked_verify(token, input);
    if (const auto* r = std::get_if<Rejected>(&result)) {
      switch (r->reason) {
        case Reject::bad_type:
        case Reject::bad_algorithm:
        case Reject::unknown_key:
        case Reject::bad_signature:
        case Reject::unknown_crit: fail("a correctly signed token refused for its signature or header", input, r->detail);
        default: break;
      }
    }
  } else {
    check_token(f.ed.sign(input.substr(0, newline), input.substr(newline + 1)), input);
  }
}

void check_key_set(std::string_view input) {
  std::string error;
  const auto set = KeySet::parse(input, &error);
  if (set == nullptr) {
    if (error.empty()) fail("a key set refused without a reason", input);
    return;
  }
  if (set->size() > 64) fail("more than 64 keys kept", input);
  for (const Key& key : set->keys()) {
    if (!key.kid().empty() && set->find(key.kid()) != &key) fail("a key not found by its kid", input, key.kid());
  }
}

void check_base64url(std::string_view input) {
  if (const auto bytes = base64url_decode(input)) {
    if (base64url_encode(*bytes) != input) fail("base64url accepted a non-canonical text", input);
  }
  const auto back = base64url_decode(base64url_encode(input));
  if (!back || *back != input) fail("base64url does not round-trip", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input{reinterpret_cast<const char*>(data), size};
  check_token(input, input);
  check_signed(input);
  check_key_set(input);
  check_base64url(input);
  return 0;
}
