#include "transport/tls/peer_identity.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string_view>

namespace pit::detail::tls {
namespace {

// Printable and one line: nothing in an identity can forge a log field or a header.
bool printable(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

bool is_spiffe_id(std::string_view uri) {
  constexpr std::string_view scheme = "spiffe://";
  if (uri.size() <= scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(uri[i])) != scheme[i]) return false;
  }
  return true;
}

std::string_view view(const ASN1_STRING* s) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s))};
}

// The SPIFFE ID among the URI SANs: "" for none, and for more than one (ambiguous).
std::string spiffe_id(X509* cert, bool& ambiguous) {
  const std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)> names{
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
      GENERAL_NAMES_free};
  if (!names) return {};
  std::string found;
  int count = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const auto uri = view(name->d.uniformResourceIdentifier);
    if (!is_spiffe_id(uri)) continue;
    if (++count == 1) found.assign(uri);
  }
  ambiguous = count > 1;
  return count == 1 ? found : std::string{};
}

std::string common_name(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) return {};  // none, or two
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (length < 0) return {};
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return cn;
}

}  // namespace

std::string peer_identity(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  bool ambiguous = false;
  std::string id = spiffe_id(cert, ambiguous);
  if (id.empty() && !ambiguous) id = common_name(cert);
  return printable(id) ? id : std::string{};
}

}  // namespace pit::detail::tls
