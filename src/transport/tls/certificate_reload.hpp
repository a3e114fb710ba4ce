// The listener's certificate, re-read without a restart: the server asks check() every
// http.tls_reload_ms; when a file changed, a new SSL context is built for the connections
// that start from then on (open ones keep the context they started with). A new file that
// does not load keeps the old context, and says so in the log.
//
// Polling, not SIGHUP: certificate managers (cert-manager, certbot hooks, Kubernetes
// secret volumes, which swap a symlink) replace the files without signalling the process,
// and a signal handler would be a second owner of the process's signals beside the host's
// SIGTERM. A stat() of two or three files every few seconds costs nothing measurable.
#pragma once

#include <array>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>

#include "transport/tls/contexts.hpp"

namespace pit::detail::tls {

class ServerCertificates {
 public:
  // Loads the files now; throws std::runtime_error (naming the file) if they do not load.
  explicit ServerCertificates(const HttpOptions& options);

  // The context new connections start with; the connection holds it while it lives.
  [[nodiscard]] std::shared_ptr<SslContext> current() const;

  enum class Check { unchanged, reloaded, failed };
  // Compares the files with what was last loaded (or tried): a change builds a new
  // context. A failed load is not retried until the files change again. Logs the outcome.
  Check check();

  // When the certificate in use stops being valid (seconds since the Unix epoch).
  [[nodiscard]] std::time_t expiry() const;

 private:
  // What says "this file changed": device and inode (a replaced file or symlink target),
  // size, and modification and change times to the nanosecond.
  struct Stamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    std::int64_t modified_ns = 0;
    std::int64_t changed_ns = 0;
    bool exists = false;
    bool operator==(const Stamp&) const = default;
  };
  using Stamps = std::array<Stamp, 3>;  // cert, key, client CA
  Stamps stamp() const;

  HttpOptions options_;
  Stamps seen_{};  // of the last load attempted, good or bad
  mutable std::mutex mutex_;
  std::shared_ptr<SslContext> current_;
  std::time_t expiry_ = 0;
};

}  // namespace pit::detail::tls
