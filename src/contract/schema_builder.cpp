// The out-of-line half of the message model's builder (include/pit/schema.hpp): the lock
// that makes each node be filled once, and the reading of a type's name from a signature.
#include <mutex>
#include <string>
#include <string_view>

#include "pit/schema.hpp"

namespace pit::schema::detail {

namespace {

std::mutex& build_mutex() {
  static std::mutex m;
  return m;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

BuildLock::BuildLock() { build_mutex().lock(); }
BuildLock::~BuildLock() { build_mutex().unlock(); }

std::string name_from_signature(std::string_view signature) {
  // signature_of<T>() returns `const char*`, so the signature ends with the template
  // argument list and nothing else: "... [with T = X]" (GCC) or "... [T = X]" (clang).
  constexpr std::string_view marker = "T = ";
  const std::size_t begin = signature.find(marker);
  if (begin == std::string_view::npos || signature.empty() || signature.back() != ']') {
    return std::string{signature};  // an unknown compiler: still a unique name
  }
  std::string name{signature.substr(begin + marker.size(), signature.size() - 1 - begin - marker.size())};
  replace_all(name, "{anonymous}", "(anonymous)");            // GCC
  replace_all(name, "(anonymous namespace)", "(anonymous)");  // clang
  return name;
}

}  // namespace pit::schema::detail
