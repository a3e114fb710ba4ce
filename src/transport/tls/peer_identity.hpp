// Who the client of a mutual-TLS connection is, from its verified certificate.
#pragma once

#include <openssl/types.h>

#include <string>

namespace pit::detail::tls {

// The identity of the peer's certificate, if the handshake verified one: its SPIFFE ID
// (the spiffe:// URI SAN, of which an X509-SVID has exactly one), else its subject's
// common name. Empty when the peer sent no certificate, when it did not verify, and when
// the identity is ambiguous (two SPIFFE IDs, two CNs) or holds control characters: an
// identity the policies cannot trust is none, never a guess.
[[nodiscard]] std::string peer_identity(SSL* ssl);

}  // namespace pit::detail::tls
