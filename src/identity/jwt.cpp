// verify(): the checks of jwt.hpp, in that order. Every refusal names its reason; none
// throws (a parse error of the strict JSON reader is caught inside read_strict_json).
#include "identity/jwt.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "identity/base64url.hpp"
#include "identity/principal_access.hpp"
#include "identity/strict_json.hpp"
#include "pit/json.hpp"

namespace pit::detail::identity {
namespace {

using Kind = json::Node::Kind;
using std::chrono::seconds;
using std::chrono::system_clock;

Rejected reject(Reject reason, std::string detail, std::string kid = {}) {
  return Rejected{reason, std::move(kid), std::move(detail)};
}

// Attacker-chosen text quoted in a detail is cut short (the log escapes it anyway).
std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 64;
  // Appended, not "literal" + std::string: GCC 12 at -O3 warns on that (-Wrestrict, a
  // false positive).
  std::string out;
  out.reserve(kMax + 5);
  out += '"';
  out += text.substr(0, kMax);
  out += text.size() > kMax ? "...\"" : "\"";
  return out;
}

json::Limits token_json_limits() {
  json::Limits limits;
  limits.max_depth = 16;  // the act chain (kMaxActorDepth) and a few levels of kept claims
  limits.max_string_bytes = 8192;
  limits.max_elements = 4096;
  return limits;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// NumericDate (RFC 7519 section 2) as whole seconds, clamped to what a system_clock
// time_point holds less a year, so that no comparison or conversion here can overflow, and
// neither can a caller's expires_at + leeway or + a margin (a fuzz finding: exp near the
// end of the clock made expires_at + leeway overflow).
constexpr std::int64_t kMaxSeconds =
    std::chrono::duration_cast<seconds>(system_clock::time_point::max().time_since_epoch()).count() -
    std::int64_t{366} * 24 * 3600;
constexpr std::int64_t kMinSeconds = -kMaxSeconds;

std::optional<std::int64_t> numeric_date(json::Node node) noexcept {
  switch (node.kind()) {
    case Kind::int64: return std::clamp(node.as_int64(), kMinSeconds, kMaxSeconds);
    case Kind::uint64:
      return static_cast<std::int64_t>(std::min<std::uint64_t>(node.as_uint64(), static_cast<std::uint64_t>(kMaxSeconds)));
    case Kind::number: {
      const double d = std::floor(node.as_double());  // finite: the strict parser refuses the rest
      if (d >= static_cast<double>(kMaxSeconds)) return kMaxSeconds;
      if (d <= static_cast<double>(kMinSeconds)) return kMinSeconds;
      return static_cast<std::int64_t>(d);
    }
    default: return std::nullopt;
  }
}

void write_node(json::Writer& out, json::Node node) {
  switch (node.kind()) {
    case Kind::null: out.null(); break;
    case Kind::boolean: out.value(node.as_bool()); break;
    case Kind::int64: out.value(node.as_int64()); break;
    case Kind::uint64: out.value(node.as_uint64()); break;
    case Kind::number: out.value(node.as_double()); break;
    case Kind::string: out.value(node.as_string()); break;
    case Kind::array:
      out.begin_array();
      for (std::size_t i = 0; i < node.size(); ++i) write_node(out, node.at(i));
      out.end_array();
      break;
    case Kind::object:
      out.begin_object();
      for (std::size_t i = 0; i < node.size(); ++i) {
        out.key(node.key_at(i));
        write_node(out, node.value_at(i));
      }
      out.end_object();
      break;
  }
}

// A claim that must be a string when present: its value, "" when absent, nullopt when
// it has another type.
std::optional<std::string_view> optional_string(json::Node object, std::string_view name) noexcept {
  const json::Node node = object.find(name);
  if (!node.present()) return std::string_view{};
  if (!is(node, Kind::string)) return std::nullopt;
  return node.as_string();
}

void split_on_spaces(std::string_view text, std::vector<std::string>& out) {
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    if (!word.empty()) out.emplace_back(word);
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
}

// A list claim: an array of strings, or one string of space-separated words.
bool read_list(json::Node node, std::vector<std::string>& out) {
  if (!node.present()) return true;
  if (is(node, Kind::string)) {
    split_on_spaces(node.as_string(), out);
    return true;
  }
  if (!is(node, Kind::array)) return false;
  for (std::size_t i = 0; i < node.size(); ++i) {
    if (!is(node.at(i), Kind::string)) return false;
    out.emplace_back(node.at(i).as_string());
  }
  return true;
}

// What the header says, copied out of the document (its Nodes die with it).
struct Header {
  bool object = false;
  bool alg_string = false;
  std::string alg;
  bool crit = false;
  bool typ_present = false;
  bool typ_string = false;
  std::string typ;
  bool kid_string = true;  // absent counts as a string: ""
  std::string kid;
};

// The claims, read only after the signature verified. Fills `p`, or returns the refusal.
std::optional<Rejected> read_claims(json::Node claims, const VerifyOptions& options, system_clock::time_point now,
                                    Principal& p) {
  if (!is(claims, Kind::object)) return reject(Reject::malformed, "the claims are not a JSON object");
  const auto string_claim = [&](std::string_view name, std::string& into) -> std::optional<Rejected> {
    const auto value = optional_string(claims, name);
    if (!value) return reject(Reject::malformed, "claim " + std::string{name} + " is not a string");
    into = *value;
    return std::nullopt;
  };

  // iss: exactly the configured issuer (RFC 8725 section 3.8).
  if (const json::Node iss = claims.find("iss"); !iss.present()) {
    return reject(Reject::missing_claim, "no iss");
  } else if (!is(iss, Kind::string)) {
    return reject(Reject::malformed, "claim iss is not a string");
  } else if (iss.as_string() != options.issuer) {
    return reject(Reject::wrong_issuer, "iss " + quoted(iss.as_string()));
  }
  p.issuer = options.issuer;

  // aud: a string or an array of strings, naming one of ours (RFC 8725 section 3.9).
  const json::Node aud = claims.find("aud");
  if (!aud.present()) return reject(Reject::missing_claim, "no aud");
  std::vector<std::string> audiences;
  if (is(aud, Kind::string)) {
    audiences.emplace_back(aud.as_string());
  } else if (is(aud, Kind::array)) {
    for (std::size_t i = 0; i < aud.size(); ++i) {
      if (!is(aud.at(i), Kind::string)) return reject(Reject::malformed, "claim aud holds a non-string");
      audiences.emplace_back(aud.at(i).as_string());
    }
  } else {
    return reject(Reject::malformed, "claim aud is neither a string nor an array");
  }
  const auto matched = std::find_first_of(audiences.begin(), audiences.end(), options.audiences.begin(),
                                          options.audiences.end());
  if (matched == audiences.end()) {
    return reject(Reject::wrong_audience, audiences.empty() ? "aud is empty" : "aud " + quoted(audiences.front()));
  }
  p.audiences = std::move(audiences);  // all of them: the caller checks which service it is meant for

  // exp, nbf, iat with the leeway; exp is required (RFC 9068 section 2.2).
  const std::int64_t leeway = std::clamp<std::int64_t>(options.leeway.count(), 0, std::int64_t{1} << 32);
  const std::int64_t now_s = std::chrono::floor<seconds>(now).time_since_epoch().count();
  const json::Node exp_node = claims.find("exp");
  if (!exp_node.present()) return reject(Reject::missing_claim, "no exp");
  const auto exp = numeric_date(exp_node);
  if (!exp) return reject(Reject::malformed, "claim exp is not a number");
  if (now_s >= *exp + leeway) return reject(Reject::expired, "exp " + std::to_string(*exp) + ", now " + std::to_string(now_s));
  for (const std::string_view name : {"nbf", "iat"}) {
    const json::Node node = claims.find(name);
    if (!node.present()) continue;
    const auto at = numeric_date(node);
    if (!at) return reject(Reject::malformed, "claim " + std::string{name} + " is not a number");
    if (*at > now_s + leeway) {
      return reject(Reject::not_yet_valid,
                    std::string{name} + " " + std::to_string(*at) + ", now " + std::to_string(now_s));
    }
  }
  p.expires_at = system_clock::time_point{seconds{*exp}};

  // sub: required (RFC 9068); the rest optional but typed.
  // An empty subject is no subject: `owner == caller().subject` must never match "nobody".
  if (const json::Node sub = claims.find("sub"); !sub.present() || (is(sub, Kind::string) && sub.as_string().empty())) {
    return reject(Reject::missing_claim, "no sub");
  } else if (!is(sub, Kind::string)) {
    return reject(Reject::malformed, "claim sub is not a string");
  } else {
    p.subject = sub.as_string();
  }
  if (auto r = string_claim("client_id", p.client_id)) return r;
  if (p.client_id.empty()) {
    if (auto r = string_claim("azp", p.client_id)) return r;
  }
  if (auto r = string_claim("jti", p.token_id)) return r;
  if (const json::Node scope = claims.find("scope"); scope.present()) {
    if (!is(scope, Kind::string)) return reject(Reject::malformed, "claim scope is not a string");
    split_on_spaces(scope.as_string(), p.scopes);
  }
  if (!read_list(claims.find(options.roles_claim), p.roles)) {
    return reject(Reject::malformed, "claim " + quoted(options.roles_claim) + " is not a list of strings");
  }

  // act (RFC 8693 section 4.1): the current actor first, then whom it acted for, ...
  json::Node act = claims.find("act");
  while (act.present()) {
    if (p.actors.size() == kMaxActorDepth) {
      return reject(Reject::malformed, "act nests deeper than " + std::to_string(kMaxActorDepth));
    }
    if (!is(act, Kind::object)) return reject(Reject::malformed, "an act claim is not an object");
    const auto sub = optional_string(act, "sub");
    const auto iss = optional_string(act, "iss");
    const auto client_id = optional_string(act, "client_id");
    if (!sub || sub->empty() || !iss || !client_id) {
      return reject(Reject::malformed, "an act claim needs sub, and strings for iss and client_id");
    }
    p.actors.push_back(Actor{std::string{*iss}, std::string{*sub}, std::string{*client_id}});
    act = act.find("act");
  }

  for (const std::string& name : options.keep_claims) {
    const json::Node node = claims.find(name);
    if (!node.present()) continue;
    std::string text;
    json::Writer writer{text};
    write_node(writer, node);
    p.claims.emplace_back(name, std::move(text));
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Reject reason) noexcept {
  switch (reason) {
    case Reject::too_large: return "too_large";
    case Reject::malformed: return "malformed";
    case Reject::bad_type: return "bad_type";
    case Reject::bad_algorithm: return "bad_algorithm";
    case Reject::unknown_key: return "unknown_key";
    case Reject::bad_signature: return "bad_signature";
    case Reject::wrong_issuer: return "wrong_issuer";
    case Reject::wrong_audience: return "wrong_audience";
    case Reject::expired: return "expired";
    case Reject::not_yet_valid: return "not_yet_valid";
    case Reject::unknown_crit: return "unknown_crit";
    case Reject::missing_claim: return "missing_claim";
  }
  return "unknown";
}

std::variant<Verified, Rejected> verify(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                                        system_clock::time_point now) {
  if (token.size() > options.max_token_bytes) {
    return reject(Reject::too_large, std::to_string(token.size()) + " bytes, over " +
                                         std::to_string(options.max_token_bytes));
  }
  // JWS compact serialization: exactly three segments (a JWE has five and is not accepted).
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return reject(Reject::malformed, "not three dot-separated segments");
  }
  if (dot1 > kMaxHeaderSegmentBytes) {
    return reject(Reject::too_large, "header of " + std::to_string(dot1) + " bytes, over " +
                                         std::to_string(kMaxHeaderSegmentBytes));
  }
  const std::string_view signing_input = token.substr(0, dot2);
  const auto header_text = base64url_decode(token.substr(0, dot1));
  const auto payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) {
    return reject(Reject::malformed, std::string{!header_text ? "header" : !payload_text ? "payload" : "signature"} +
                                         " is not strict base64url");
  }

  const json::Limits limits = token_json_limits();
  Header header;
  auto read_header = [&header](json::Node root) {
    header.object = is(root, Kind::object);
    if (!header.object) return;
    if (const json::Node alg = root.find("alg"); is(alg, Kind::string)) {
      header.alg_string = true;
      header.alg = alg.as_string();
    }
    header.crit = root.find("crit").present();
    if (const json::Node typ = root.find("typ"); typ.present()) {
      header.typ_present = true;
      header.typ_string = is(typ, Kind::string);
      header.typ = typ.as_string();
    }
    if (const json::Node kid = root.find("kid"); kid.present()) {
      header.kid_string = is(kid, Kind::string);
      header.kid = kid.as_string();
    }
  };
  if (const auto error = read_strict_json(*header_text, limits, read_header)) {
    return reject(Reject::malformed, "header: " + *error);
  }
  if (!header.object) return reject(Reject::malformed, "header is not a JSON object");

  // The algorithm, before any key or signature is looked at (RFC 8725 section 3.1).
  const std::optional<Algorithm> alg = header.alg_string ? algorithm_named(header.alg) : std::nullopt;
  if (!alg) {
    return reject(Reject::bad_algorithm, header.alg_string ? "alg " + quoted(header.alg) + " is not accepted"
                                                           : "no alg string");
  }
  // crit lists extensions the recipient must understand or refuse (RFC 7515 section
  // 4.1.11); pit understands none, so any crit is refused.
  if (header.crit) return reject(Reject::unknown_crit, "the header has crit");
  if (options.require_at_jwt &&
      !(header.typ_string && (iequals(header.typ, "at+jwt") || iequals(header.typ, "application/at+jwt")))) {
    return reject(Reject::bad_type, header.typ_present ? "typ " + quoted(header.typ) + ", not at+jwt" : "no typ");
  }
  if (!header.kid_string) return reject(Reject::malformed, "kid is not a string");

  // The key decides the algorithm: the header must name the key's own.
  const Key* key = keys.find(header.kid);
  if (key == nullptr) {
    constexpr std::size_t kMaxKidBytes = 256;  // an attacker's kid is not kept whole
    return reject(Reject::unknown_key, header.kid.empty() ? "no kid, and not exactly one key" : "kid " + quoted(header.kid),
                  header.kid.substr(0, kMaxKidBytes));
  }
  if (key->algorithm() != *alg) {
    return reject(Reject::bad_algorithm, "alg " + header.alg + ", but the key " + quoted(key->kid()) + " is for " +
                                             std::string{to_string(key->algorithm())});
  }
  if (!key->verify(signing_input, *signature)) return reject(Reject::bad_signature, "the signature does not verify");

  auto principal = std::make_shared<Principal>();
  std::optional<Rejected> refused;
  auto read_payload = [&](json::Node root) { refused = read_claims(root, options, now, *principal); };
  if (const auto error = read_strict_json(*payload_text, limits, read_payload)) {
    return reject(Reject::malformed, "claims: " + *error);
  }
  if (refused) return std::move(*refused);
  principal->method = AuthMethod::bearer;
  principal->token_hash = token_hash(token);
  PrincipalAccess::set_credential(*principal, std::string{token});
  return Verified{std::move(principal)};
}

std::string token_hash(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 || size < 16) {
    return {};
  }
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (std::size_t i = 0; i < 16; ++i) {
    out.push_back(kHex[digest[i] >> 4U]);
    out.push_back(kHex[digest[i] & 0x0fU]);
  }
  return out;
}

}  // namespace pit::detail::identity
