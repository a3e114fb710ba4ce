// "Did you mean...?": the nearest known name to a misspelt one, for the errors of the file
// and the environment.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pit::config {

// "unknown key", and the nearest candidate when one is near enough to be the intended one:
// a typo (a few edits) or a unit left off or added (timeout → timeout_ms).
// `noun` names what is unknown: "key", "variable".
std::string unknown(std::string_view noun, std::string_view what, const std::vector<std::string>& candidates);

}  // namespace pit::config
