// Development tokens for the shop: a local signing key and at+jwt access tokens signed with
// it, so that the demo and the tests run the three processes with identity ON and no
// identity provider. Not an identity provider: production tokens come from the issuer's own
// (docs/security.md).
//
//   shop_dev_token keys DIR [--alg ES256|EdDSA]
//       writes DIR/key.pem (the private key, mode 0600) and DIR/jwks.json (its public half,
//       for auth.jwks_file); prints the key id
//   shop_dev_token mint DIR --subject S --audience A [--scope "a b"] [--ttl SECONDS]
//                           [--issuer ISS] [--claims JSON]
//       prints one access token signed with DIR/key.pem: iss ISS ("pit-dev" unless given),
//       sub and client_id S, aud A, scope, exp = now + SECONDS (300 unless given), and the
//       members of the JSON object --claims (e.g. '{"roles":["support"]}') added as they are
//
// A service that accepts these tokens is configured with auth.issuer = "pit-dev" and
// auth.jwks_file = DIR/jwks.json (PIT_AUTH_ISSUER, PIT_AUTH_JWKS_FILE).
//
// It uses pit's private signing helper (src/identity/dev_signer.hpp), which users cannot
// include: it is the project's own development tool, built beside the shop.
#include <sys/stat.h>

#include <boost/describe.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/dev_signer.hpp"
#include "pit/json.hpp"

namespace {

using pit::detail::identity::DevSigner;

struct Jwk {
  std::string kid;
};
BOOST_DESCRIBE_STRUCT(Jwk, (), (kid))

struct Jwks {
  std::vector<Jwk> keys;
};
BOOST_DESCRIBE_STRUCT(Jwks, (), (keys))

int usage() {
  std::cerr << "usage: shop_dev_token keys DIR [--alg ES256|EdDSA]\n"
               "       shop_dev_token mint DIR --subject S --audience A [--scope \"a b\"] [--ttl SECONDS]\n"
               "                               [--issuer ISS] [--claims JSON]\n";
  return 2;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// Written to a temporary name, then renamed: a service re-reading jwks.json (auth.jwks_file)
// never sees half a file.
void write_file(const std::string& path, const std::string& text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    if (!out || !(out << text) || !out.flush()) throw std::runtime_error("cannot write " + tmp);
  }
  if (::chmod(tmp.c_str(), mode) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("cannot write " + path);
  }
}

int keys(const std::string& dir, const std::map<std::string, std::string, std::less<>>& flags) {
  const std::string alg = flags.contains("--alg") ? flags.at("--alg") : "ES256";
  if (alg != "ES256" && alg != "EdDSA") return usage();
  // A fresh kid per key: a service holding the old set refetches on the new kid instead of
  // failing the signature check under a reused one.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string kid = "pit-dev-" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  const DevSigner signer{alg == "ES256" ? DevSigner::Alg::ES256 : DevSigner::Alg::EdDSA, kid};
  ::mkdir(dir.c_str(), 0700);  // may exist already; writing the files says if it is usable
  write_file(dir + "/key.pem", signer.private_pem(), 0600);
  write_file(dir + "/jwks.json", signer.jwks() + "\n", 0644);
  std::cout << kid << "\n";
  return 0;
}

int mint(const std::string& dir, const std::map<std::string, std::string, std::less<>>& flags) {
  if (!flags.contains("--subject") || !flags.contains("--audience")) return usage();
  const auto jwks = pit::json::decode<Jwks>(read_file(dir + "/jwks.json"));
  if (jwks.keys.size() != 1) throw std::runtime_error(dir + "/jwks.json: expected exactly one key");
  const DevSigner signer = DevSigner::from_pem_file(dir + "/key.pem", jwks.keys[0].kid);
  const auto get = [&](std::string_view flag, std::string fallback) {
    auto it = flags.find(flag);
    return it == flags.end() ? fallback : it->second;
  };
  const long long ttl = std::stoll(get("--ttl", "300"));
  if (ttl <= 0) throw std::runtime_error("--ttl must be positive");
  std::cout << signer.access_token(get("--issuer", "pit-dev"), flags.at("--audience"), flags.at("--subject"),
                                   get("--scope", ""), std::chrono::seconds{ttl}, get("--claims", ""))
            << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string_view command = argv[1];
  const std::string dir = argv[2];
  std::map<std::string, std::string, std::less<>> flags;
  for (int i = 3; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc || !flag.starts_with("--")) return usage();
    flags[std::string{flag}] = argv[i + 1];
  }
  static constexpr std::string_view known[] = {"--alg", "--subject", "--audience", "--scope",
                                               "--ttl", "--issuer",  "--claims"};
  for (const auto& [flag, value] : flags) {
    if (std::find(std::begin(known), std::end(known), flag) == std::end(known)) return usage();
  }
  try {
    if (command == "keys") return keys(dir, flags);
    if (command == "mint") return mint(dir, flags);
    return usage();
  } catch (const std::exception& e) {
    std::cerr << "shop_dev_token: " << e.what() << "\n";
    return 1;
  }
}
