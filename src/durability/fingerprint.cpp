#include "durability/fingerprint.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace pit::detail::durability {

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("pit: SHA-256 failed");
  }
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4U]);
    out.push_back(kHex[digest[i] & 0xFU]);
  }
  return out;
}

}  // namespace pit::detail::durability
