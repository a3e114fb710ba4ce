#include "transport/tls/contexts.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <stdexcept>

namespace pit::detail::tls {
namespace {

// TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only, the faster and stronger first
// (Mozilla's "intermediate" list without DHE). TLS 1.3's suites are all AEAD; OpenSSL's
// default order of them stays.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// ALPN's wire form: a length byte, then the protocol name.
constexpr std::array<unsigned char, 9> kAlpnHttp11{8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// The server picks http/1.1 when the client offers it. A client that offers ALPN without
// it (h2 only) is refused at the handshake (no_application_protocol, RFC 7301 §3.2)
// instead of speaking a protocol this listener would misread. No ALPN at all: HTTP/1.1.
int select_http11(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                  unsigned in_length, void* /*arg*/) {
  for (unsigned i = 0; i < in_length;) {
    const unsigned length = in[i];
    if (length == 0 || i + 1 + length > in_length) break;  // malformed: OpenSSL checks it too
    if (length == kAlpnHttp11.size() - 1 &&
        std::equal(kAlpnHttp11.begin() + 1, kAlpnHttp11.end(), in + i + 1)) {
      *out = in + i + 1;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

[[noreturn]] void fail(bool setup, std::string what) {
  what += ": " + openssl_errors();
  if (setup) throw std::invalid_argument(what);
  throw std::runtime_error(what);
}

// `setup`: for a client, whose errors are std::invalid_argument (kept until the start).
std::shared_ptr<SslContext> with_defaults(SslContext::method method, bool setup) {
  auto context = std::make_shared<SslContext>(method);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // 112 bits of security at least: RSA and DH keys of 2048 bits and more, no SHA-1
  // signatures, no RC4 (OpenSSL's level 2).
  SSL_CTX_set_security_level(ctx, 2);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) fail(setup, "pit: TLS cipher list");
  return context;
}

}  // namespace

std::string openssl_errors() {
  std::string text;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(e, buffer.data(), buffer.size());
    if (!text.empty()) text += "; ";
    text += buffer.data();
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

void check_server_options(const HttpOptions& o) {
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    throw std::invalid_argument("pit: http.tls_cert_file and http.tls_key_file: set both (TLS) or neither");
  }
  const bool tls = !o.tls_cert_file.empty();
  if (!tls && (!o.tls_client_ca_file.empty() || o.tls_client_auth != HttpOptions::ClientAuth::none)) {
    throw std::invalid_argument(
        "pit: http.tls_client_ca_file and http.tls_client_auth need TLS on the listener (http.tls_cert_file)");
  }
  if (o.tls_client_auth == HttpOptions::ClientAuth::none && !o.tls_client_ca_file.empty()) {
    throw std::invalid_argument(
        "pit: http.tls_client_ca_file is set but http.tls_client_auth is \"none\": set it to \"optional\" or "
        "\"required\", or remove the CA file");
  }
  if (o.tls_client_auth != HttpOptions::ClientAuth::none && o.tls_client_ca_file.empty()) {
    throw std::invalid_argument(
        "pit: http.tls_client_auth asks for client certificates: set http.tls_client_ca_file to the CA that "
        "issues them");
  }
}

void check_client_options(const HttpOptions& o) {
  if (o.client_cert_file.empty() != o.client_key_file.empty()) {
    throw std::invalid_argument("pit: http.client_cert_file and http.client_key_file: set both or neither");
  }
}

std::shared_ptr<SslContext> server_context(const HttpOptions& o) {
  ERR_clear_error();
  auto context = with_defaults(SslContext::tls_server, false);
  SSL_CTX* ctx = context->native_handle();
  if (SSL_CTX_use_certificate_chain_file(ctx, o.tls_cert_file.c_str()) != 1) {
    fail(false, "pit: http.tls_cert_file '" + o.tls_cert_file + "'");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail(false, "pit: http.tls_key_file '" + o.tls_key_file + "'");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    fail(false, "pit: http.tls_key_file '" + o.tls_key_file + "' is not the key of http.tls_cert_file");
  }
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  if (o.tls_client_auth != HttpOptions::ClientAuth::none) {
    if (SSL_CTX_load_verify_locations(ctx, o.tls_client_ca_file.c_str(), nullptr) != 1) {
      fail(false, "pit: http.tls_client_ca_file '" + o.tls_client_ca_file + "'");
    }
    // The CAs named in the CertificateRequest, so a client with several certificates
    // picks one these accept.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.tls_client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
    // Optional: a client without a certificate is served (no peer identity); one that
    // sends a certificate that does not verify is refused all the same.
    int mode = SSL_VERIFY_PEER;
    if (o.tls_client_auth == HttpOptions::ClientAuth::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    // Session resumption with client verification needs a session id context: without
    // one, OpenSSL aborts a resuming handshake.
    static constexpr unsigned char kSessionContext[] = {'p', 'i', 't'};
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext);
  }
  return context;
}

std::shared_ptr<SslContext> client_context(const HttpOptions& o) {
  check_client_options(o);
  ERR_clear_error();
  auto context = with_defaults(SslContext::tls_client, true);
  SSL_CTX* ctx = context->native_handle();
  if (!o.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.client_ca_file.c_str(), nullptr) != 1) {
      fail(true, "pit: http.client_ca_file '" + o.client_ca_file + "'");
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    fail(true, "pit: the system's CA store");
  }
  if (!o.client_cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.client_cert_file.c_str()) != 1) {
      fail(true, "pit: http.client_cert_file '" + o.client_cert_file + "'");
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      fail(true, "pit: http.client_key_file '" + o.client_key_file + "'");
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      fail(true, "pit: http.client_key_file '" + o.client_key_file + "' is not the key of http.client_cert_file");
    }
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // SSL_CTX_set_alpn_protos returns 0 on success.
  if (SSL_CTX_set_alpn_protos(ctx, kAlpnHttp11.data(), kAlpnHttp11.size()) != 0) fail(true, "pit: ALPN");
  return context;
}

bool expect_server_name(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  std::array<unsigned char, 16> address{};
  const bool is_address = inet_pton(AF_INET, host.c_str(), address.data()) == 1 ||
                          inet_pton(AF_INET6, host.c_str(), address.data()) == 1;
  bool ok = false;
  if (is_address) {
    // An address is matched against the certificate's IP SANs; SNI carries names only
    // (RFC 6066 §3).
    ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1 &&
         SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
  }
  ERR_clear_error();
  return ok;
}

std::time_t certificate_expiry(SslContext& context) {
  X509* cert = SSL_CTX_get0_certificate(context.native_handle());
  if (cert == nullptr) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return timegm(&tm);
}

}  // namespace pit::detail::tls
