// The SSL contexts of pit's HTTP listener and client (Boost.Asio SSL on OpenSSL 3), with
// one set of protocol defaults for both sides: TLS 1.2 at least (1.3 preferred), ECDHE
// with AEAD ciphers only for 1.2, no compression, no renegotiation, the server's cipher
// order, ALPN http/1.1. docs/tls.md is the prose of this file.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "pit/host.hpp"

namespace pit::detail::tls {

using SslContext = boost::asio::ssl::context;

// Check that the TLS settings fit together; throw std::invalid_argument naming the keys.
// Listener: cert and key both or neither; a client CA exactly when tls_client_auth is
// optional or required. Client: its certificate and key both or neither.
void check_server_options(const HttpOptions& options);
void check_client_options(const HttpOptions& options);

// The listener's context from http.tls_cert_file, tls_key_file and tls_client_ca_file.
// Throws std::runtime_error naming the file and OpenSSL's reason.
std::shared_ptr<SslContext> server_context(const HttpOptions& options);

// The context of outbound https:// calls: servers verified against http.client_ca_file
// (or the system's store), the client certificate shown when one is configured.
// Throws std::invalid_argument naming the file and OpenSSL's reason.
std::shared_ptr<SslContext> client_context(const HttpOptions& options);

// Before a client handshake: SNI (for a DNS name, never for an address) and the name the
// server's certificate must carry (a DNS SAN, or an IP SAN for an address). False when
// OpenSSL takes no such name (the connection must not go on unverified).
[[nodiscard]] bool expect_server_name(SSL* ssl, const std::string& host);

// When the context's own certificate stops being valid (seconds since the Unix epoch),
// 0 when it has none.
std::time_t certificate_expiry(SslContext& context);

// The OpenSSL error queue of this thread as one line, emptied.
std::string openssl_errors();

}  // namespace pit::detail::tls
