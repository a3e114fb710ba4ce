#include "observability/log_redaction.hpp"

#include <algorithm>
#include <array>

namespace pit::detail {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

// Lowercase letters and digits of `key`, in order: the form names are matched in.
void normalize(std::string_view key, std::string& out) {
  out.clear();
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80U) {
      out.push_back(static_cast<char>(c));
    }
  }
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// The issuer prefixes of the major card networks. Requiring one keeps the digits of
// timestamps (1…), most ids and phone numbers from being taken for cards.
bool card_prefix(const std::array<int, 4>& d) noexcept {
  const int two = d[0] * 10 + d[1];
  const int four = two * 100 + d[2] * 10 + d[3];
  switch (d[0]) {
    case 2: return four >= 2221 && four <= 2720;
    case 3:
    case 4: return true;
    case 5: return two >= 51 && two <= 55;
    case 6: return two == 60 || two == 62 || two == 64 || two == 65;
    default: return false;
  }
}

}  // namespace

const std::vector<std::string_view>& builtin_secret_names() {
  // Matched as parts of a key ("db_password", "x-auth-token"), so each is chosen not to
  // be part of common harmless words: "auth" alone would hit "author", "key" alone "keyword".
  static const std::vector<std::string_view> names{
      "password", "passwd",     "passphrase", "secret",     "token",      "apikey",
      "accesskey", "privatekey", "authorization", "cookie", "credential", "cardnumber",
  };
  return names;
}

Redactor::Redactor(const log::Redaction& settings) : enabled_(settings.enabled) {
  std::string name;
  for (const auto builtin : builtin_secret_names()) names_.emplace_back(builtin);
  for (const auto& extra : settings.keys) {
    normalize(extra, name);
    if (!name.empty() && std::find(names_.begin(), names_.end(), name) == names_.end()) names_.push_back(name);
  }
  for (const auto& n : names_) {
    first_letters_[static_cast<unsigned char>(n.front())] = true;
    shortest_ = std::min(shortest_, n.size());
  }
}

bool Redactor::secret_key(std::string_view key) const {
  // Keys are short: normalized on the stack (a longer key, rare, in a string).
  char buffer[64];
  std::size_t n = 0;
  std::string long_key;
  if (key.size() <= sizeof buffer) {
    for (const char ch : key) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 'A' && c <= 'Z') {
        buffer[n++] = static_cast<char>(c - 'A' + 'a');
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80U) {
        buffer[n++] = static_cast<char>(c);
      }
    }
  } else {
    normalize(key, long_key);
  }
  const std::string_view normalized = long_key.empty() ? std::string_view{buffer, n} : std::string_view{long_key};
  if (normalized.size() < shortest_) return false;
  // Only where a name's first letter appears can a name start.
  for (std::size_t i = 0; i + shortest_ <= normalized.size(); ++i) {
    const auto c = static_cast<unsigned char>(normalized[i]);
    if (!first_letters_[c]) continue;
    const std::string_view rest = normalized.substr(i);
    for (const auto& name : names_) {
      if (rest.starts_with(name)) return true;
    }
  }
  return false;
}

bool Redactor::mask_card_numbers(std::string_view value, std::string& out) {
  bool masked = false;
  std::size_t copied = 0;  // value[0, copied) is in `out` already
  std::size_t i = 0;
  while (i < value.size()) {
    if (!is_digit(value[i])) {
      ++i;
      continue;
    }
    // The maximal run from i: digits, each space or dash between two digits.
    const std::size_t start = i;
    std::size_t end = i;
    int digits = 0;
    std::array<int, 4> first{};
    std::array<int, 19> all{};
    bool fits = true;
    while (end < value.size()) {
      if (is_digit(value[end])) {
        if (digits < 19) {
          all[static_cast<std::size_t>(digits)] = value[end] - '0';
        } else {
          fits = false;
        }
        if (digits < 4) first[static_cast<std::size_t>(digits)] = value[end] - '0';
        ++digits;
        ++end;
      } else if ((value[end] == ' ' || value[end] == '-') && end + 1 < value.size() && is_digit(value[end + 1])) {
        ++end;
      } else {
        break;
      }
    }
    i = end;
    if (!fits || digits < 13 || !card_prefix(first)) continue;
    // Luhn: from the rightmost digit, every second digit doubled (minus 9 past 9).
    int sum = 0;
    for (int k = 0; k < digits; ++k) {
      int d = all[static_cast<std::size_t>(digits - 1 - k)];
      if (k % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 != 0) continue;
    if (!masked) out.clear();
    masked = true;
    out.append(value.substr(copied, start - copied)).append(kRedacted);
    copied = end;
  }
  if (masked) out.append(value.substr(copied));
  return masked;
}

log::Field Redactor::apply(const log::Field& field, std::string& scratch) const {
  // Only text can hold a secret: numbers and booleans logged under a secret-like name
  // (token_count, password_set) are facts about the secret and stay readable.
  if (!enabled_ || field.kind() != log::Field::Kind::string) return field;
  if (secret_key(field.key())) return {field.key(), kRedacted};
  if (mask_card_numbers(field.as_string(), scratch)) return {field.key(), std::string_view{scratch}};
  return field;
}

}  // namespace pit::detail
