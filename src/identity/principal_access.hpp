// The runtime's write access to a Principal's private parts.
#pragma once

#include <memory>
#include <string>

#include "pit/identity.hpp"

namespace pit::detail {

struct PrincipalAccess {
  static void set_credential(Principal& p, std::string token) {
    p.credential_ = std::make_shared<const std::string>(std::move(token));
  }
  [[nodiscard]] static const std::string* credential(const Principal& p) noexcept { return p.credential_.get(); }
};

}  // namespace pit::detail
