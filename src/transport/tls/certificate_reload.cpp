#include "transport/tls/certificate_reload.hpp"

#include <sys/stat.h>

#include <stdexcept>

#include "pit/log.hpp"

namespace pit::detail::tls {

ServerCertificates::ServerCertificates(const HttpOptions& options) : options_(options) {
  seen_ = stamp();
  current_ = server_context(options_);
  expiry_ = certificate_expiry(*current_);
}

std::shared_ptr<SslContext> ServerCertificates::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::time_t ServerCertificates::expiry() const {
  std::lock_guard lock(mutex_);
  return expiry_;
}

ServerCertificates::Stamps ServerCertificates::stamp() const {
  const std::array<const std::string*, 3> files{&options_.tls_cert_file, &options_.tls_key_file,
                                                &options_.tls_client_ca_file};
  Stamps stamps{};
  for (std::size_t i = 0; i < files.size(); ++i) {
    struct stat st {};
    if (files[i]->empty() || ::stat(files[i]->c_str(), &st) != 0) continue;
    stamps[i] = {st.st_dev,
                 st.st_ino,
                 st.st_size,
                 std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                 std::int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec,
                 true};
  }
  return stamps;
}

ServerCertificates::Check ServerCertificates::check() {
  const Stamps now = stamp();
  if (now == seen_) return Check::unchanged;
  seen_ = now;
  std::shared_ptr<SslContext> fresh;
  try {
    fresh = server_context(options_);
  } catch (const std::exception& e) {
    // A certificate half written (its key not yet) fails here too: the next change of
    // either file tries again.
    log::error("TLS certificate reload failed: new connections keep the previous certificate",
               {{"cause", e.what()}, {"cert_file", options_.tls_cert_file}});
    return Check::failed;
  }
  const std::time_t expiry = certificate_expiry(*fresh);
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(fresh);
    expiry_ = expiry;
  }
  log::info("TLS certificate reloaded", {{"cert_file", options_.tls_cert_file},
                                         {"not_after", static_cast<std::int64_t>(expiry)}});
  return Check::reloaded;
}

}  // namespace pit::detail::tls
