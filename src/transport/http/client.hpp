// The HTTP client side: a channel that sends a proxy's calls to another process through
// the host's outbound pipeline (correlation → call_log → deadline → identity → attempts).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/host_state.hpp"
#include "settings/operation_settings.hpp"
#include "pipeline/pipeline.hpp"
#include "pit/contract.hpp"

namespace pit::detail {

class RemoteClient;
class Tracer;

class HttpChannel final : public Channel {
 public:
  // urls: base URLs, "http://host:port" or "https://host:port" (a trailing '/' is
  // allowed); replaced by HostOptions::clients[contract] endpoints or dns when set.
  // Throws std::invalid_argument for a bad URL or client option, also when an https://
  // endpoint's TLS files do not load.
  HttpChannel(std::shared_ptr<Host::State> state, const ContractInfo& contract, std::vector<std::string> urls);
  ~HttpChannel() override;
  Task<Outcome> call(CallRef call) override;

 private:
  std::shared_ptr<Host::State> state_;
  std::shared_ptr<RemoteClient> client_;
  std::vector<OperationSettings> settings_;
};

// Whether HostOptions::clients names endpoints (or a DNS name) for the contract: then its
// proxies are remote, whatever the code says.
bool configured_remote(const HostOptions& options, std::string_view contract);

// The host's outbound HTTP: made with the host, started and stopped with it. stop() ends
// DNS re-resolution; close_idle_connections() closes the idle pooled connections of every
// endpoint once the I/O threads have stopped (Host::stop): their peers see them close
// now, and no socket of a stopped loop stays open.
void make_outbound(Host::State& state);
void start_outbound(Host::State& state);
void stop_outbound(Host::State& state);
void close_idle_connections(Host::State& state);

// The terminal of the outbound pipeline: the call's attempts (client.cpp has the rules).
// Each attempt of a sampled call is a CLIENT span of its own, child of the call's span, and
// its traceparent carries the attempt's span id (so the callee's span is its child).
class HttpSend final : public Terminal {
 public:
  explicit HttpSend(const HttpOptions& options, Tracer* tracer = nullptr) : options_(options), tracer_(tracer) {}
  Task<Outcome> dispatch(Call& call) override;

 private:
  HttpOptions options_;
  Tracer* tracer_;  // null: spans are not exported
};

}  // namespace pit::detail
