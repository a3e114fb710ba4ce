#include "pipeline/policies/correlation.hpp"

#include "call/call_access.hpp"

namespace pit::policies {

// Not a coroutine: it only completes the context, then hands over (no frame per call).
Task<Outcome> Correlation::handle(Call& call, Next next) {
  Context& context = detail::CallAccess::context(call);
  detail::ContextAccess::start_span(context);
  detail::set_current_context(&context);
  return next(call);
}

}  // namespace pit::policies
