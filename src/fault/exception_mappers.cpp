#include "fault/exception_mappers.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>

namespace pit::detail {
namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name{abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                              std::free};
  return status == 0 && name ? std::string{name.get()} : std::string{mangled};
}

std::string current_exception_type_name() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  return type != nullptr ? demangle(type->name()) : std::string{"<unknown type>"};
}

}  // namespace

Fault to_fault(const std::exception_ptr& error, const std::vector<ExceptionMapper>& mappers) {
  try {
    std::rethrow_exception(error);
  } catch (const Fault& fault) {
    return fault;
  } catch (...) {
  }
  for (const auto& mapper : mappers) {
    if (auto fault = mapper(error)) {
      fault->from(Fault::Origin::implementation);
      return std::move(*fault);
    }
  }
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return Fault::internal("internal error")
        .with_cause(demangle(typeid(e).name()) + ": " + e.what());
  } catch (...) {
    return Fault::internal("internal error")
        .with_cause("exception of non-standard type " + current_exception_type_name());
  }
}

Fault cancellation_fault(CancelReason reason) {
  switch (reason) {
    case CancelReason::deadline:
      return Fault::deadline_exceeded("deadline exceeded").from(Fault::Origin::runtime);
    case CancelReason::shutdown:
      return Fault::unavailable("the service is shutting down")
          .with(Fault::retryable)
          .from(Fault::Origin::runtime);
    case CancelReason::caller:
    case CancelReason::none:
      break;
  }
  return Fault::cancelled("the caller cancelled the call").from(Fault::Origin::runtime);
}

}  // namespace pit::detail
