// Certificates made at test time with OpenSSL's API (no files in the repository, none
// that expire under the tests): a CA, and leaf certificates it issues with the names,
// serial and validity a test asks for. P-256 keys: fast to make.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace testcerts {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

struct Spec {
  std::string common_name;
  std::string subject_alt_names;  // OpenSSL's form: "DNS:localhost,IP:127.0.0.1,URI:spiffe://a/b"
  long serial = 1;
  long valid_from_s = -3600;  // relative to now
  long valid_until_s = 86'400;
};

struct Issued {
  std::string cert_pem;
  std::string key_pem;
};

inline std::string pem_of(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), BIO_free};
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

inline std::string pem_of(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), BIO_free};
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("test certificate: bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, signed by issuer_key (self-signed when issuer is null).
inline Cert make_certificate(const Spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  Cert cert{X509_new(), X509_free};
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.valid_from_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.valid_until_s);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("pit tests"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                             static_cast<int>(spec.common_name.size()), -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    if (!spec.subject_alt_names.empty()) {
      add_extension(cert.get(), signer, NID_subject_alt_name, spec.subject_alt_names);
    }
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    throw std::runtime_error("test certificate: signing failed");
  }
  return cert;
}

class Authority {
 public:
  explicit Authority(const std::string& name) : key_(EVP_EC_gen("P-256"), EVP_PKEY_free), cert_(nullptr, X509_free) {
    cert_ = make_certificate({name, "", 1, -3600, 10 * 86'400}, key_.get(), nullptr, nullptr, true);
  }
  [[nodiscard]] std::string pem() const { return pem_of(cert_.get()); }
  [[nodiscard]] Issued issue(const Spec& spec) const {
    const Key key{EVP_EC_gen("P-256"), EVP_PKEY_free};
    const Cert cert = make_certificate(spec, key.get(), cert_.get(), key_.get(), false);
    return {pem_of(cert.get()), pem_of(key.get())};
  }

 private:
  Key key_;
  Cert cert_;
};

inline void write_file(const std::string& path, const std::string& content) {
  // Written whole to a new file, then renamed over the old one: a reader never sees half.
  const std::string partial = path + ".partial";
  {
    std::ofstream out{partial, std::ios::binary | std::ios::trunc};
    out << content;
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write " + path);
}

}  // namespace testcerts
