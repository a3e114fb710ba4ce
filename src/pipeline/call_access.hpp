// The runtime's access to the private parts of a Call.
#pragma once

#include <string>
#include <utility>

#include "context/context_access.hpp"
#include "pit/pipeline.hpp"

namespace pit::detail {

struct CallAccess {
  static Context& context(Call& c) noexcept { return c.context_; }
  static IoThread* home(const Call& c) noexcept { return c.home_; }
  static void set_home(Call& c, IoThread* home) noexcept { c.home_ = home; }

  static void* target(const Call& c) noexcept { return c.target_; }
  static void set_target(Call& c, void* target) noexcept { c.target_ = target; }

  static void set_json_request(Call& c, std::string body) {
    c.request_json_ = std::move(body);
    c.request_is_json_ = true;
  }
  static const std::string* json_request(const Call& c) noexcept {
    return c.request_is_json_ ? &c.request_json_ : nullptr;
  }
  static void want_json_reply(Call& c) noexcept { c.reply_as_json_ = true; }
  static bool wants_json_reply(const Call& c) noexcept { return c.reply_as_json_; }
  static std::string& json_reply(Call& c) noexcept { return c.reply_json_; }

  // Cancels the call for `reason` (the first reason wins). Home thread only.
  static bool cancel(Call& c, CancelReason reason) noexcept {
    return ContextAccess::cancel(c.context_, reason);
  }
};

}  // namespace pit::detail
