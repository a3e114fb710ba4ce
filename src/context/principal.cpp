// The principal's own methods, and the ways code reaches the current one.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "context/context_access.hpp"
#include "pit/context.hpp"
#include "pit/identity.hpp"

namespace pit {

namespace {
const Principal& anonymous_principal() noexcept {
  static const Principal nobody;  // method none: authenticated() is false
  return nobody;
}
}  // namespace

std::string_view to_string(AuthMethod method) noexcept {
  switch (method) {
    case AuthMethod::none: return "none";
    case AuthMethod::bearer: return "bearer";
    case AuthMethod::mtls: return "mtls";
    case AuthMethod::service: return "service";
  }
  return "none";
}

bool Principal::has_scope(std::string_view s) const noexcept {
  return std::find(scopes.begin(), scopes.end(), s) != scopes.end();
}

bool Principal::has_role(std::string_view r) const noexcept {
  return std::find(roles.begin(), roles.end(), r) != roles.end();
}

bool Principal::satisfies(const Requirement& requirement) const {
  if (!authenticated()) return false;
  return requirement.satisfied_by([this](Requirement::Kind kind, std::string_view name) {
    return kind == Requirement::Kind::scope ? has_scope(name) : has_role(name);
  });
}

const Principal& Context::principal() const noexcept {
  return principal_ ? *principal_ : anonymous_principal();
}

const Principal& caller() noexcept { return Context::current().principal(); }

std::shared_ptr<const Principal> service_identity(std::string name, std::vector<std::string> scopes,
                                                  std::vector<std::string> roles) {
  auto p = std::make_shared<Principal>();
  p->issuer = "pit:service";
  p->subject = std::move(name);
  p->client_id = p->subject;
  p->scopes = std::move(scopes);
  p->roles = std::move(roles);
  p->method = AuthMethod::service;
  p->expires_at = std::chrono::system_clock::time_point::max();
  return p;
}

}  // namespace pit
