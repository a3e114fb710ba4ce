// The HTTP client side: a channel that sends a proxy's calls to another process through
// the host's outbound pipeline (correlation → call_log → deadline → send).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "runtime/host_state.hpp"
#include "settings/operation_settings.hpp"
#include "pipeline/pipeline.hpp"
#include "pit/contract.hpp"

namespace pit::detail {

struct HttpTarget;

class HttpChannel final : public Channel {
 public:
  // base_url: "http://host:port" or "https://host:port" (a trailing '/' is allowed).
  // Throws std::invalid_argument, also when an https:// target's TLS files do not load.
  HttpChannel(std::shared_ptr<Host::State> state, const ContractInfo& contract, std::string_view base_url);
  ~HttpChannel() override;
  Task<Outcome> call(CallRef call) override;

 private:
  std::shared_ptr<Host::State> state_;
  std::shared_ptr<HttpTarget> target_;
  std::vector<OperationSettings> settings_;
};

// Closes the idle pooled connections of every HTTP channel of the host, once its I/O
// threads have stopped (Host::stop): their peers see them close now, not whenever the
// channels happen to go, and no socket of a stopped loop stays open.
void close_idle_connections(Host::State& state);

// The terminal of the outbound pipeline: one HTTP exchange per call.
class HttpSend final : public Terminal {
 public:
  explicit HttpSend(const HttpOptions& options) : options_(options) {}
  Task<Outcome> dispatch(Call& call) override;

 private:
  HttpOptions options_;
};

}  // namespace pit::detail
