// The OpenAPI 3.1 document of what a host serves over HTTP: every operation as
// POST /{contract}/{operation}, its messages as JSON Schema 2020-12 derived from the message
// model (pit/schema.hpp), its faults as problem+json responses under the statuses wire.hpp
// sends them with. docs/openapi.md is the prose of this file, the mapping table included.
#pragma once

#include <string>
#include <vector>

#include "pit/host.hpp"

namespace pit::detail {

// The document, as compact JSON. It depends only on the contracts (in the order given) and
// on options that change what a caller sees (operation timeouts and access narrowed by
// configuration, options.service), never on addresses or ports: a service prints the same
// document from the command line as its admin listener serves.
std::string openapi_document(const HostOptions& options, const std::vector<const ContractInfo*>& contracts);

}  // namespace pit::detail
