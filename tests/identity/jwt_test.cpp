// Bearer token verification (src/identity/jwt.hpp): the accepted tokens of each algorithm,
// and each hostile token of issue 10 refused for its own reason. The key sets come from
// DevSigner, whose private keys sign the forged tokens too.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>
#include <string>
#include <variant>

#include "identity/base64url.hpp"
#include "identity/dev_signer.hpp"
#include "identity/jwk.hpp"
#include "identity/jwt.hpp"
#include "identity/principal_access.hpp"

namespace {

using namespace pit::detail::identity;
using std::chrono::seconds;
using std::chrono::system_clock;

constexpr std::string_view kIssuer = "https://id.example";
constexpr std::string_view kAudience = "inventory";
constexpr std::int64_t kNowSeconds = 1'800'000'000;
const system_clock::time_point kNow{seconds{kNowSeconds}};

// Generated once: RSA key generation takes a while.
const DevSigner& rsa() {
  static const DevSigner signer{DevSigner::Alg::RS256, "rsa-1"};
  return signer;
}
const DevSigner& ps() {
  static const DevSigner signer{DevSigner::Alg::PS256, "ps-1"};
  return signer;
}
const DevSigner& ec() {
  static const DevSigner signer{DevSigner::Alg::ES256, "ec-1"};
  return signer;
}
const DevSigner& ed() {
  static const DevSigner signer{DevSigner::Alg::EdDSA, "ed-1"};
  return signer;
}
// An attacker's key under a trusted kid: not in any key set.
const DevSigner& stranger() {
  static const DevSigner signer{DevSigner::Alg::RS256, "rsa-1"};
  return signer;
}

std::string keys_of(const DevSigner& s) {
  const std::string jwks = s.jwks();
  const std::string_view v{jwks};
  return std::string{v.substr(9, v.size() - 11)};  // {"keys":[ ... ]}
}

// The trusted issuer's key set: every signer above but the stranger.
const KeySet& keys() {
  static const std::shared_ptr<const KeySet> set = [] {
    std::string error;
    auto parsed = KeySet::parse(
        R"({"keys":[)" + keys_of(rsa()) + "," + keys_of(ps()) + "," + keys_of(ec()) + "," + keys_of(ed()) + "]}",
        &error);
    EXPECT_NE(parsed, nullptr) << error;
    return parsed;
  }();
  return *set;
}

VerifyOptions options() {
  VerifyOptions o;
  o.issuer = std::string{kIssuer};
  o.audiences = {"orders", std::string{kAudience}};
  o.leeway = seconds{30};
  return o;
}

std::string header(std::string_view alg, std::string_view kid, std::string_view more = R"("typ":"at+jwt")") {
  std::string h = R"({"alg":")" + std::string{alg} + R"(","kid":")" + std::string{kid} + "\"";
  if (!more.empty()) h += "," + std::string{more};
  return h + "}";
}

// Claims valid at kNow; `more` is appended inside the object.
std::string claims(std::string_view more = {}, std::string_view times = R"("iat":1799999990,"exp":1800000600)") {
  std::string c = R"({"iss":"https://id.example","sub":"alice","aud":"inventory","client_id":"web","jti":"t-1",)" +
                  std::string{times} + R"(,"scope":"inventory.read inventory.reserve")";
  if (!more.empty()) c += "," + std::string{more};
  return c + "}";
}

std::string token(const DevSigner& s, std::string_view more_claims = {}) {
  return s.sign(header(to_string(s.alg() == DevSigner::Alg::RS256   ? Algorithm::RS256
                                 : s.alg() == DevSigner::Alg::PS256 ? Algorithm::PS256
                                 : s.alg() == DevSigner::Alg::ES256 ? Algorithm::ES256
                                                                    : Algorithm::EdDSA),
                       s.kid()),
                claims(more_claims));
}

std::variant<Verified, Rejected> check(std::string_view t, const VerifyOptions& o = options(),
                                       system_clock::time_point now = kNow) {
  return verify(t, keys(), o, now);
}

// A copy: the result is often a temporary.
pit::Principal accepted(const std::variant<Verified, Rejected>& result) {
  if (const auto* r = std::get_if<Rejected>(&result)) {
    ADD_FAILURE() << "refused: " << to_string(r->reason) << ": " << r->detail;
    return {};
  }
  return *std::get<Verified>(result).principal;
}

// The reason, with the detail shown when it is not the expected one.
testing::AssertionResult refused_for(const std::variant<Verified, Rejected>& result, Reject expected) {
  const auto* r = std::get_if<Rejected>(&result);
  if (r == nullptr) return testing::AssertionFailure() << "accepted, expected " << to_string(expected);
  if (r->reason != expected) {
    return testing::AssertionFailure() << "refused for " << to_string(r->reason) << " (" << r->detail << "), expected "
                                       << to_string(expected);
  }
  if (r->detail.empty()) return testing::AssertionFailure() << "refused without a detail";
  return testing::AssertionSuccess();
}

// The parts of a compact JWS.
struct Parts {
  std::string header, payload, signature;
};
Parts split(const std::string& t) {
  const auto a = t.find('.');
  const auto b = t.find('.', a + 1);
  return {t.substr(0, a), t.substr(a + 1, b - a - 1), t.substr(b + 1)};
}
std::string join(const Parts& p) { return p.header + "." + p.payload + "." + p.signature; }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> mac{};
  std::size_t size = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), mac.size(), &size),
            nullptr);
  return std::string{reinterpret_cast<const char*>(mac.data()), size};
}

// The public key as PEM (SubjectPublicKeyInfo), as an attacker would download it.
std::string public_pem(const DevSigner& s) {
  const std::string private_pem = s.private_pem();
  BIO* in = BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  std::string pem;
  if (key != nullptr && PEM_write_bio_PUBKEY(out, key) == 1) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    pem.assign(data, static_cast<std::size_t>(size));
  }
  EVP_PKEY_free(key);
  BIO_free(in);
  BIO_free(out);
  EXPECT_NE(pem.find("BEGIN PUBLIC KEY"), std::string::npos);
  return pem;
}

// ---- accepted tokens ------------------------------------------------------------------

TEST(JwtVerify, rs256_token_is_accepted) { EXPECT_EQ(accepted(check(token(rsa()))).subject, "alice"); }
TEST(JwtVerify, ps256_token_is_accepted_with_a_ps256_key) { EXPECT_EQ(accepted(check(token(ps()))).subject, "alice"); }
TEST(JwtVerify, es256_token_is_accepted) { EXPECT_EQ(accepted(check(token(ec()))).subject, "alice"); }
TEST(JwtVerify, eddsa_token_is_accepted) { EXPECT_EQ(accepted(check(token(ed()))).subject, "alice"); }

TEST(JwtVerify, dev_signer_access_token_is_accepted_now) {
  for (const DevSigner* s : {&rsa(), &ec(), &ed()}) {
    const std::string t = s->access_token(kIssuer, kAudience, "svc-a", "inventory.read", seconds{300},
                                          R"({"roles":["admin"]})");
    const pit::Principal p = accepted(verify(t, keys(), options(), system_clock::now()));
    EXPECT_EQ(p.subject, "svc-a");
    EXPECT_EQ(p.client_id, "svc-a");
    EXPECT_EQ(p.scopes, std::vector<std::string>{"inventory.read"});
    EXPECT_EQ(p.roles, std::vector<std::string>{"admin"});
    EXPECT_FALSE(p.token_id.empty());
  }
}

TEST(JwtVerify, principal_carries_the_claims) {
  VerifyOptions o = options();
  o.keep_claims = {"tenant", "absent", "org"};
  const std::string t = token(ed(), R"("roles":["support","ops"],"tenant":"acme","org":{"id":7,"tags":["x"]})");
  const pit::Principal p = accepted(check(t, o));
  EXPECT_EQ(p.issuer, kIssuer);
  EXPECT_EQ(p.subject, "alice");
  EXPECT_EQ(p.client_id, "web");
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"inventory.read", "inventory.reserve"}));
  EXPECT_EQ(p.roles, (std::vector<std::string>{"support", "ops"}));
  EXPECT_EQ(p.token_id, "t-1");
  EXPECT_EQ(p.token_hash, token_hash(t));
  EXPECT_EQ(p.expires_at, system_clock::time_point{seconds{1800000600}});
  EXPECT_EQ(p.audiences, (std::vector<std::string>{std::string{kAudience}}));
  EXPECT_EQ(p.method, pit::AuthMethod::bearer);
  EXPECT_TRUE(p.actors.empty());
  ASSERT_EQ(p.claims.size(), 2U);
  EXPECT_EQ(p.claims[0], (std::pair<std::string, std::string>{"tenant", R"("acme")"}));
  EXPECT_EQ(p.claims[1], (std::pair<std::string, std::string>{"org", R"({"id":7,"tags":["x"]})"}));
  ASSERT_TRUE(p.has_credential());
  EXPECT_EQ(*pit::detail::PrincipalAccess::credential(p), t);
}

TEST(JwtVerify, client_id_falls_back_to_azp_and_roles_may_be_one_string) {
  VerifyOptions o = options();
  o.roles_claim = "groups";
  const std::string t = ed().sign(header("EdDSA", "ed-1"),
                                  R"({"iss":"https://id.example","sub":"bob","aud":["x","inventory"],"azp":"cli",)"
                                  R"("exp":1800000600,"groups":"a  b"})");
  const pit::Principal p = accepted(check(t, o));
  EXPECT_EQ(p.client_id, "cli");
  EXPECT_EQ(p.roles, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.audiences, (std::vector<std::string>{"x", "inventory"}));  // all of them, ours among them
  EXPECT_TRUE(p.scopes.empty());
  EXPECT_TRUE(p.token_id.empty());
}

TEST(JwtVerify, act_chain_is_read_nearest_first) {
  const std::string t = token(ec(), R"("act":{"sub":"gateway","client_id":"gw","iss":"https://id.example",)"
                                    R"("act":{"sub":"edge"}})");
  const pit::Principal p = accepted(check(t));
  ASSERT_EQ(p.actors.size(), 2U);
  EXPECT_EQ(p.actors[0].subject, "gateway");
  EXPECT_EQ(p.actors[0].client_id, "gw");
  EXPECT_EQ(p.actors[0].issuer, kIssuer);
  EXPECT_EQ(p.actors[1].subject, "edge");
}

TEST(JwtVerify, act_chain_deeper_than_the_bound_is_refused) {
  std::string act = R"({"sub":"s"})";
  for (std::size_t i = 0; i < kMaxActorDepth; ++i) act = R"({"sub":"s","act":)" + act + "}";
  EXPECT_TRUE(refused_for(check(token(ec(), R"("act":)" + act)), Reject::malformed));
}

TEST(JwtVerify, typ_is_compared_as_a_media_type) {
  const std::string t = rsa().sign(header("RS256", "rsa-1", R"("typ":"application/AT+JWT")"), claims());
  EXPECT_EQ(accepted(check(t)).subject, "alice");
}

TEST(JwtVerify, typ_is_not_required_when_switched_off) {
  VerifyOptions o = options();
  o.require_at_jwt = false;
  EXPECT_EQ(accepted(check(rsa().sign(header("RS256", "rsa-1", R"("typ":"JWT")"), claims()), o)).subject, "alice");
  EXPECT_EQ(accepted(check(rsa().sign(header("RS256", "rsa-1", ""), claims()), o)).subject, "alice");
}

TEST(JwtVerify, token_without_kid_uses_the_only_key_of_a_set) {
  std::string error;
  const auto one = KeySet::parse(ed().jwks(), &error);
  ASSERT_NE(one, nullptr) << error;
  const std::string t = ed().sign(R"({"alg":"EdDSA","typ":"at+jwt"})", claims());
  EXPECT_EQ(accepted(verify(t, *one, options(), kNow)).subject, "alice");
  // With several keys there is no guessing.
  EXPECT_TRUE(refused_for(check(t), Reject::unknown_key));
}

TEST(JwtVerify, numeric_dates_far_out_of_range_do_not_overflow) {
  const pit::Principal p = accepted(check(ed().sign(header("EdDSA", "ed-1"), claims({}, R"("exp":1e300)"))));
  EXPECT_GT(p.expires_at, kNow + std::chrono::hours{24 * 365 * 100});
  // A year before the clock's end at most: callers add a leeway or a margin to it.
  EXPECT_LE(p.expires_at, system_clock::time_point::max() - std::chrono::hours{24 * 365});
  EXPECT_EQ(accepted(check(ed().sign(header("EdDSA", "ed-1"), claims({}, R"("exp":18446744073709551615)")))).subject,
            "alice");
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), claims({}, R"("exp":-9223372036854775808)"))),
                          Reject::expired));
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), claims({}, R"("exp":-1e300)"))), Reject::expired));
}

TEST(JwtVerify, one_key_set_serves_many_threads) {
  // A KeySet is shared by every I/O thread: verifications at once, all four algorithms,
  // accepted and refused, each with its own answer (TSan checks the sharing in CI).
  const std::array<std::string, 5> tokens{token(rsa()), token(ps()), token(ec()), token(ed()), token(stranger())};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const std::size_t k = static_cast<std::size_t>(i + t) % tokens.size();
        const bool ok = std::holds_alternative<Verified>(verify(tokens[k], keys(), options(), kNow));
        if (ok != (k != 4)) wrong.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ---- hostile tokens: the algorithm -----------------------------------------------------

TEST(JwtHostile, alg_none_is_refused) {
  const std::string h = base64url_encode(R"({"alg":"none","typ":"at+jwt","kid":"rsa-1"})");
  const std::string p = base64url_encode(claims());
  EXPECT_TRUE(refused_for(check(h + "." + p + "."), Reject::bad_algorithm));
  EXPECT_TRUE(refused_for(check(h + "." + p + "." + split(token(rsa())).signature), Reject::bad_algorithm));
  for (const char* spelling : {"None", "NONE", "nOnE", ""}) {
    const std::string hs = base64url_encode(R"({"alg":")" + std::string{spelling} + R"(","typ":"at+jwt"})");
    EXPECT_TRUE(refused_for(check(hs + "." + p + "."), Reject::bad_algorithm)) << spelling;
  }
}

TEST(JwtHostile, hs256_signed_with_the_rsa_public_key_is_refused) {
  // The classic confusion: a verifier that took the header's word would HMAC with the
  // public key's bytes as the secret, which the attacker knows too.
  const std::string signing_input = base64url_encode(header("HS256", "rsa-1")) + "." + base64url_encode(claims());
  for (const std::string& secret : {public_pem(rsa()), rsa().jwks(), keys_of(rsa())}) {
    const std::string t = signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
    EXPECT_TRUE(refused_for(check(t), Reject::bad_algorithm));
  }
}

TEST(JwtHostile, alg_other_than_the_keys_own_is_refused) {
  // An RS256 key with a PS256 header (and its valid PSS signature): the key decides.
  Parts forged = split(ps().sign(header("PS256", "rsa-1"), claims()));
  EXPECT_TRUE(refused_for(check(join(forged)), Reject::bad_algorithm));
  EXPECT_TRUE(refused_for(check(rsa().sign(header("ES256", "rsa-1"), claims())), Reject::bad_algorithm));
  EXPECT_TRUE(refused_for(check(ec().sign(header("EdDSA", "ec-1"), claims())), Reject::bad_algorithm));
  for (const char* alg : {"RS512", "ES384", "HS512", "rs256", "Ed25519"}) {
    EXPECT_TRUE(refused_for(check(rsa().sign(header(alg, "rsa-1"), claims())), Reject::bad_algorithm)) << alg;
  }
}

TEST(JwtHostile, alg_missing_or_not_a_string_is_refused) {
  EXPECT_TRUE(refused_for(check(rsa().sign(R"({"typ":"at+jwt","kid":"rsa-1"})", claims())), Reject::bad_algorithm));
  EXPECT_TRUE(
      refused_for(check(rsa().sign(R"({"alg":["RS256"],"typ":"at+jwt","kid":"rsa-1"})", claims())), Reject::bad_algorithm));
}

TEST(JwtHostile, embedded_jwk_header_is_ignored) {
  // RFC 7515's jwk/jku/x5u headers offer a key; pit only trusts its key set.
  const std::string jwk = keys_of(stranger());
  const std::string t = stranger().sign(header("RS256", "rsa-1", R"("typ":"at+jwt","jwk":)" + jwk +
                                                                      R"(,"jku":"https://evil.example/jwks")"),
                                        claims());
  EXPECT_TRUE(refused_for(check(t), Reject::bad_signature));
}

// ---- hostile tokens: the key and the signature -----------------------------------------

TEST(JwtHostile, unknown_kid_is_refused_and_named) {
  const auto result = check(rsa().sign(header("RS256", "rotated-away"), claims()));
  ASSERT_TRUE(refused_for(result, Reject::unknown_key));
  EXPECT_EQ(std::get<Rejected>(result).kid, "rotated-away");
}

TEST(JwtHostile, signature_from_another_key_is_refused) {
  EXPECT_TRUE(refused_for(check(token(stranger())), Reject::bad_signature));
}

TEST(JwtHostile, tampered_payload_is_refused) {
  Parts parts = split(token(rsa()));
  parts.payload = base64url_encode(claims(R"("roles":["admin"])"));
  EXPECT_TRUE(refused_for(check(join(parts)), Reject::bad_signature));
  // The header is signed as well.
  Parts other = split(token(ed()));
  other.header = base64url_encode(header("EdDSA", "ed-1", R"("typ":"at+jwt","x":1)"));
  EXPECT_TRUE(refused_for(check(join(other)), Reject::bad_signature));
}

TEST(JwtHostile, tampered_signature_is_refused) {
  for (const DevSigner* s : {&rsa(), &ps(), &ec(), &ed()}) {
    Parts parts = split(token(*s));
    std::string sig = *base64url_decode(parts.signature);
    sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x01);
    parts.signature = base64url_encode(sig);
    EXPECT_TRUE(refused_for(check(join(parts)), Reject::bad_signature)) << s->kid();
    parts.signature.clear();
    EXPECT_TRUE(refused_for(check(join(parts)), Reject::bad_signature)) << s->kid();
  }
}

TEST(JwtHostile, es256_signature_of_the_wrong_length_is_refused) {
  Parts parts = split(token(ec()));
  const std::string raw = *base64url_decode(parts.signature);
  ASSERT_EQ(raw.size(), 64U);
  for (const std::string& sig : {raw.substr(0, 63), raw + '\0', std::string{'\0'} + raw, raw + raw}) {
    parts.signature = base64url_encode(sig);
    EXPECT_TRUE(refused_for(check(join(parts)), Reject::bad_signature)) << sig.size();
  }
  // DER, as OpenSSL itself writes ECDSA signatures, is not the JWS encoding.
  std::string der = "\x30\x44\x02\x20" + raw.substr(0, 32) + "\x02\x20" + raw.substr(32);
  parts.signature = base64url_encode(der);
  EXPECT_TRUE(refused_for(check(join(parts)), Reject::bad_signature));
}

// ---- hostile tokens: the header --------------------------------------------------------

TEST(JwtHostile, wrong_typ_is_refused) {
  for (const char* typ : {R"("typ":"JWT")", R"("typ":"at+jwt2")", R"("typ":"application/jwt")", R"("typ":7)", ""}) {
    EXPECT_TRUE(refused_for(check(rsa().sign(header("RS256", "rsa-1", typ), claims())), Reject::bad_type)) << typ;
  }
}

TEST(JwtHostile, unknown_crit_is_refused) {
  for (const char* crit : {R"("crit":["exp"],"exp":1)", R"("crit":["b64"],"b64":false)", R"("crit":[])", R"("crit":null)"}) {
    EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1", std::string{R"("typ":"at+jwt",)"} + crit), claims())),
                            Reject::unknown_crit))
        << crit;
  }
}

TEST(JwtHostile, duplicate_header_member_is_refused) {
  // A parser that kept the last alg would see none, one that kept the first RS256.
  const std::string t = rsa().sign(R"({"alg":"RS256","typ":"at+jwt","kid":"rsa-1","alg":"none"})", claims());
  EXPECT_TRUE(refused_for(check(t), Reject::malformed));
  EXPECT_TRUE(refused_for(check(rsa().sign(R"({"alg":"RS256","typ":"JWT","kid":"rsa-1","typ":"at+jwt"})", claims())),
                          Reject::malformed));
}

TEST(JwtHostile, kid_not_a_string_is_refused) {
  EXPECT_TRUE(refused_for(check(rsa().sign(R"({"alg":"RS256","typ":"at+jwt","kid":1})", claims())), Reject::malformed));
}

// ---- hostile tokens: the claims --------------------------------------------------------

TEST(JwtHostile, duplicate_claim_is_refused) {
  const std::string dup = R"({"iss":"https://evil.example","sub":"alice","aud":"inventory","exp":1800000600,)"
                          R"("iss":"https://id.example"})";
  EXPECT_TRUE(refused_for(check(rsa().sign(header("RS256", "rsa-1"), dup)), Reject::malformed));
  // Also inside a nested claim, and for a claim pit does not read.
  EXPECT_TRUE(refused_for(check(token(ed(), R"("act":{"sub":"a","sub":"b"})")), Reject::malformed));
  EXPECT_TRUE(refused_for(check(token(ed(), R"("x":1,"x":2)")), Reject::malformed));
  EXPECT_TRUE(refused_for(check(token(ed(), R"("scope":"admin")")), Reject::malformed));
}

TEST(JwtHostile, wrong_issuer_is_refused) {
  const std::string t = ed().sign(header("EdDSA", "ed-1"),
                                  R"({"iss":"https://id.example/","sub":"a","aud":"inventory","exp":1800000600})");
  EXPECT_TRUE(refused_for(check(t), Reject::wrong_issuer));
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), R"({"sub":"a","aud":"inventory","exp":1800000600})")),
                          Reject::missing_claim));
  EXPECT_TRUE(refused_for(
      check(ed().sign(header("EdDSA", "ed-1"), R"({"iss":["https://id.example"],"sub":"a","aud":"inventory","exp":1800000600})")),
      Reject::malformed));
}

TEST(JwtHostile, wrong_audience_is_refused) {
  const auto with_aud = [](std::string_view aud) {
    return ed().sign(header("EdDSA", "ed-1"),
                     R"({"iss":"https://id.example","sub":"a","exp":1800000600,"aud":)" + std::string{aud} + "}");
  };
  EXPECT_TRUE(refused_for(check(with_aud(R"("billing")")), Reject::wrong_audience));
  EXPECT_TRUE(refused_for(check(with_aud(R"(["billing","INVENTORY"])")), Reject::wrong_audience));
  EXPECT_TRUE(refused_for(check(with_aud("[]")), Reject::wrong_audience));
  EXPECT_TRUE(refused_for(check(with_aud(R"(["inventory",1])")), Reject::malformed));
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), R"({"iss":"https://id.example","sub":"a","exp":1800000600})")),
                          Reject::missing_claim));
}

TEST(JwtHostile, expired_token_is_refused) {
  EXPECT_TRUE(refused_for(check(token(ed()), options(), kNow + seconds{3600}), Reject::expired));
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), claims({}, R"("iat":1,"exp":2)"))), Reject::expired));
}

TEST(JwtHostile, token_not_yet_valid_is_refused) {
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), claims({}, R"("nbf":1800000100,"exp":1800000600)"))),
                          Reject::not_yet_valid));
  // Issued in the future is the same thing.
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), claims({}, R"("iat":1800000100,"exp":1800000600)"))),
                          Reject::not_yet_valid));
}

TEST(JwtHostile, leeway_boundary_is_exact) {
  const auto with_times = [](std::int64_t exp, std::int64_t nbf) {
    return ed().sign(header("EdDSA", "ed-1"),
                     claims({}, R"("exp":)" + std::to_string(exp) + R"(,"nbf":)" + std::to_string(nbf)));
  };
  // exp is the first second the token is invalid; the leeway pushes it 30 s later.
  EXPECT_EQ(accepted(check(with_times(kNowSeconds - 29, kNowSeconds))).subject, "alice");
  EXPECT_TRUE(refused_for(check(with_times(kNowSeconds - 30, kNowSeconds)), Reject::expired));
  EXPECT_EQ(accepted(check(with_times(kNowSeconds + 60, kNowSeconds + 30))).subject, "alice");
  EXPECT_TRUE(refused_for(check(with_times(kNowSeconds + 60, kNowSeconds + 31)), Reject::not_yet_valid));
  VerifyOptions strict = options();
  strict.leeway = seconds{0};
  EXPECT_TRUE(refused_for(check(with_times(kNowSeconds, kNowSeconds - 1), strict), Reject::expired));
  EXPECT_EQ(accepted(check(with_times(kNowSeconds + 1, kNowSeconds), strict)).subject, "alice");
}

TEST(JwtHostile, required_claims_missing_are_refused) {
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), R"({"iss":"https://id.example","sub":"a","aud":"inventory"})")),
                          Reject::missing_claim));
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), R"({"iss":"https://id.example","aud":"inventory","exp":1800000600})")),
                          Reject::missing_claim));
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), R"({"iss":"https://id.example","sub":"","aud":"inventory","exp":1800000600})")),
                          Reject::missing_claim));
  EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), claims({}, R"("exp":"1800000600")"))), Reject::malformed));
  EXPECT_TRUE(refused_for(check(token(ed(), R"("client_id":7)")), Reject::malformed));
}

// ---- hostile tokens: the encoding and the size -----------------------------------------

TEST(JwtHostile, malformed_base64_is_refused) {
  const Parts good = split(token(ed()));
  const std::string h = good.header, p = good.payload, s = good.signature;
  for (const std::string& t : {h + "=." + p + "." + s,                  // padding
                               h + "." + p + "." + s + "==",            //
                               h + "." + p + "+." + s,                  // base64, not base64url
                               h + "." + p + "." + s.substr(0, 20) + "/" + s.substr(21),
                               h + "." + p + " ." + s,                  // whitespace
                               h + "." + p + "." + s.substr(0, s.size() - 1),  // 85 characters: not whole bytes
                               "." + p + "." + s}) {
    EXPECT_TRUE(refused_for(check(t), Reject::malformed)) << t;
  }
  // Non-canonical: unused bits of the last character set. 86 characters hold 64 bytes and
  // 4 spare bits; the decoder would give the same bytes, the token a second spelling.
  ASSERT_EQ(s.size(), 86U);
  std::string other = s;
  other.back() = other.back() == 'A' ? 'B' : static_cast<char>(other.back() + 1);
  EXPECT_TRUE(refused_for(check(h + "." + p + "." + other), Reject::malformed));
}

TEST(JwtHostile, wrong_number_of_segments_is_refused) {
  const std::string t = token(ed());
  EXPECT_TRUE(refused_for(check(t + ".x.y"), Reject::malformed));   // JWE: five segments
  EXPECT_TRUE(refused_for(check(t + "."), Reject::malformed));
  EXPECT_TRUE(refused_for(check(t.substr(0, t.rfind('.'))), Reject::malformed));
  EXPECT_TRUE(refused_for(check(""), Reject::malformed));
  EXPECT_TRUE(refused_for(check(".."), Reject::malformed));
}

TEST(JwtHostile, malformed_json_is_refused) {
  // The header: read before any key is chosen.
  for (const char* h : {"{", "[]", R"("RS256")", R"({"alg":"EdDSA",})", R"({'alg':'EdDSA'})",
                        "{\"alg\":\"EdDSA\"} x", "\xef\xbb\xbf{\"alg\":\"EdDSA\"}"}) {
    EXPECT_TRUE(refused_for(check(base64url_encode(h) + "." + base64url_encode(claims()) + ".AAAA"), Reject::malformed)) << h;
  }
  // The claims: read only once signed, so these are signed by the trusted key.
  for (const char* c : {"{", "[]", "null", R"({"exp":1800000600,})", "{\"sub\":\"\xff\"}", R"({"exp":1e999})"}) {
    EXPECT_TRUE(refused_for(check(ed().sign(header("EdDSA", "ed-1"), c)), Reject::malformed)) << c;
  }
}

TEST(JwtHostile, oversize_token_is_refused_before_decoding) {
  std::string huge(8193, '!');  // not even base64url: the size alone refuses it
  EXPECT_TRUE(refused_for(check(huge), Reject::too_large));
  const std::string big_claims = token(ed(), R"("pad":")" + std::string(7000, 'x') + "\"");
  ASSERT_GT(big_claims.size(), 8192U);
  EXPECT_TRUE(refused_for(check(big_claims), Reject::too_large));
  VerifyOptions roomy = options();
  roomy.max_token_bytes = 16384;
  EXPECT_EQ(accepted(check(big_claims, roomy)).subject, "alice");
}

TEST(JwtHostile, oversize_header_is_refused) {
  const std::string t = ed().sign(header("EdDSA", "ed-1", R"("typ":"at+jwt","pad":")" + std::string(800, 'x') + "\""),
                                  claims());
  ASSERT_LT(t.size(), 8192U);
  EXPECT_TRUE(refused_for(check(t), Reject::too_large));
}

// ---- key sets --------------------------------------------------------------------------

std::string big_number(std::size_t bytes) {
  std::string n(bytes, '\x5a');
  n.front() = '\xc1';
  n.back() = '\x01';
  return base64url_encode(n);
}

TEST(JwksParse, rsa_key_under_2048_bits_is_skipped) {
  std::string error;
  const auto set = KeySet::parse(R"({"keys":[{"kty":"RSA","kid":"small","use":"sig","n":")" + big_number(128) +
                                     R"(","e":"AQAB"},{"kty":"RSA","kid":"2047","n":")" +
                                     base64url_encode(std::string{'\x7f'} + std::string(255, '\x11')) +
                                     R"(","e":"AQAB"}]})",
                                 &error);
  ASSERT_NE(set, nullptr) << error;
  EXPECT_EQ(set->size(), 0U);
  ASSERT_EQ(set->skipped(), 2U);
  EXPECT_NE(set->skipped_reasons()[0].find("1024 bits"), std::string::npos) << set->skipped_reasons()[0];
  EXPECT_NE(set->skipped_reasons()[1].find("2047 bits"), std::string::npos) << set->skipped_reasons()[1];
  EXPECT_EQ(set->find("small"), nullptr);
}

TEST(JwksParse, mixed_unsupported_keys_are_skipped_and_the_rest_kept) {
  const std::string jwks = R"({"keys":[)" + keys_of(rsa()) + "," + keys_of(ed()) + "," +
                           R"({"kty":"oct","kid":"hmac","k":"c2VjcmV0"},)"
                           R"({"kty":"RSA","kid":"enc","use":"enc","n":")" + big_number(256) + R"(","e":"AQAB"},)"
                           R"({"kty":"RSA","kid":"rs512","alg":"RS512","n":")" + big_number(256) + R"(","e":"AQAB"},)"
                           R"({"kty":"RSA","kid":"badn","n":"not base64!","e":"AQAB"},)"
                           R"({"kty":"RSA","kid":"evene","n":")" + big_number(256) + R"(","e":"AQAA"},)"
                           R"({"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"},)"
                           R"({"kty":"EC","kid":"offcurve","crv":"P-256","x":")" + base64url_encode(std::string(32, '\x01')) +
                           R"(","y":")" + base64url_encode(std::string(32, '\x02')) + R"("},)"
                           R"({"kty":"OKP","kid":"x25519","crv":"X25519","x":"AA"},)"
                           R"({"kty":"OKP","kid":"ed448","crv":"Ed448","x":"AA"},)"
                           R"({"kty":"OKP","kid":"short","crv":"Ed25519","x":"AAAA"},)"
                           R"({"kty":"OKP","kid":"signonly","crv":"Ed25519","key_ops":["sign"],"x":"AA"},)"
                           R"("not an object",)" + keys_of(rsa()) + "," +  // the same kid again
                           R"({"kid":"nokty"}]})";
  std::string error;
  const auto set = KeySet::parse(jwks, &error);
  ASSERT_NE(set, nullptr) << error;
  EXPECT_EQ(set->size(), 2U);
  EXPECT_EQ(set->skipped(), 14U);
  for (const auto& reason : set->skipped_reasons()) EXPECT_FALSE(reason.empty());
  ASSERT_NE(set->find("rsa-1"), nullptr);
  EXPECT_EQ(set->find("rsa-1")->algorithm(), Algorithm::RS256);
  EXPECT_EQ(set->find("rsa-1")->bits(), 2048);
  ASSERT_NE(set->find("ed-1"), nullptr);
  EXPECT_EQ(set->find("ed-1")->algorithm(), Algorithm::EdDSA);
  EXPECT_EQ(set->find("hmac"), nullptr);
  EXPECT_EQ(set->find(""), nullptr);
  // The kept keys still verify.
  EXPECT_EQ(accepted(verify(token(rsa()), *set, options(), kNow)).subject, "alice");
}

TEST(JwksParse, text_that_is_not_a_jwks_is_refused) {
  for (const char* text : {"", "[]", "{}", R"({"keys":{}})", R"({"keys":[]})" "x", R"({"keys":[],"keys":[]})", "{\"keys\":["}) {
    std::string error;
    EXPECT_EQ(KeySet::parse(text, &error), nullptr) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  std::string error;
  const auto empty = KeySet::parse(R"({"keys":[]})", &error);
  ASSERT_NE(empty, nullptr) << error;
  EXPECT_EQ(empty->size(), 0U);
}

// ---- the pieces ------------------------------------------------------------------------

TEST(Base64url, round_trips_every_length_and_refuses_non_canonical_text) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes) << i;
    bytes.push_back(static_cast<char>(i * 37 + 200));
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  for (const char* bad : {"A", "AB==", "AB=", "QR", "QUJ", "AAAAA", "A A", "+/AA", "AA\n"}) {
    EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
  }
  EXPECT_EQ(base64url_decode("QQ"), "A");
  EXPECT_EQ(base64url_decode("QUI"), "AB");
  EXPECT_EQ(base64url_decode("QUE"), "AA");
}

TEST(TokenHash, is_the_hex_of_16_bytes_of_sha256) {
  EXPECT_EQ(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223");
  EXPECT_EQ(to_string(Reject::expired), "expired");
  EXPECT_EQ(to_string(Reject::unknown_crit), "unknown_crit");
}

TEST(DevSignerKeys, pem_round_trip_keeps_the_key) {
  for (const DevSigner* s : {&rsa(), &ec(), &ed()}) {
    const DevSigner again = DevSigner::from_pem(s->private_pem(), s->kid());
    EXPECT_EQ(again.alg(), s->alg());
    EXPECT_EQ(again.jwks(), s->jwks());
    EXPECT_EQ(accepted(check(token(again))).subject, "alice");
  }
  EXPECT_THROW(DevSigner::from_pem("not a key", "k"), std::runtime_error);
}

}  // namespace
