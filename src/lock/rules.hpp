// The breaking-change rules: what the code's contracts (`now`) may differ from the lock's
// (`locked`) without breaking a deployed caller. Requests and replies are judged apart, by
// one question: can the side that reads decode what the other side writes? A request is
// written by an old caller and read by the new code; a reply is written by the new code and
// read by an old caller. The rule table with its reasons: docs/evolution.md.
#pragma once

#include <string_view>
#include <vector>

#include "lock/lock_file.hpp"
#include "pit/lock.hpp"

namespace pit::lock::rules {

// Every rule name a finding (and so an acknowledgement) may carry.
inline constexpr std::string_view kRules[] = {
    "contract_removed",       "operation_removed",  "field_removed",       "reserved_name_reused",
    "type_changed",           "field_newly_required", "reply_field_made_optional", "enum_value_removed",
    "enum_value_added",       "code_removed",       "idempotent_removed",  "code_added",
    "timeout_lowered",        "access_changed",     "unused_acknowledgement", "deduplicated_removed",
    "idempotency_key_required",
};
bool known(std::string_view rule);

// The findings of `now` against `locked`, with `locked`'s acknowledgements applied (and an
// unused_acknowledgement warning for each that matched nothing). Breaking findings first.
std::vector<Finding> compare(const file::Lock& locked, const file::Lock& now);

}  // namespace pit::lock::rules
