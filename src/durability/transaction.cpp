// pit::durable::Transaction::current(): the transaction the call that runs this code was
// given by the deduplication policy (transactional operations only).
#include <stdexcept>

#include "context/context_access.hpp"
#include "pit/durable.hpp"

namespace pit::durable {

Transaction& Transaction::current() {
  const Context* context = detail::current_context();
  void* transaction = context != nullptr ? detail::ContextAccess::transaction(*context) : nullptr;
  if (transaction == nullptr) {
    throw std::logic_error(
        "pit::durable::Transaction::current(): only inside a call of an operation declared "
        ".deduplicated(...).transactional()");
  }
  return *static_cast<Transaction*>(transaction);
}

}  // namespace pit::durable
