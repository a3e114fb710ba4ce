// Keeps an EndpointSet in step with what a DNS name resolves to: every address is an
// endpoint (connect to the IP; the name stays in the Host header and is the TLS name).
//
// Re-resolved every interval, and sooner when asked after connect failures (resolve_soon,
// at most once per min_gap). An empty or failed answer keeps the last good set (logged at
// warn, once per change of the problem). A name that does not resolve at start is logged
// and retried every min_gap while the set stays empty: calls fail `unavailable` meanwhile.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "outbound/endpoints.hpp"
#include "outbound/url.hpp"

namespace pit::outbound {

class DnsWatcher : public std::enable_shared_from_this<DnsWatcher> {
 public:
  // The answer: addresses as text ("10.0.0.3", "::1"), or a non-empty error. May be called
  // on any thread, at most once per request.
  using Answer = std::function<void(std::vector<std::string> addresses, std::string error)>;
  // Resolves host (port given for getaddrinfo's sake) and calls the answer.
  using Resolver = std::function<void(const std::string& host, const std::string& port, Answer answer)>;

  struct Options {
    Url name;  // parse_url(ClientOptions::dns)
    std::chrono::milliseconds interval{5'000};
    std::chrono::milliseconds min_gap{1'000};  // between two resolutions, whoever asks
    std::string contract;                       // for the log lines
  };

  // Resolves at once, then on the interval. resolver empty: asio's async resolver on
  // `executor`. Keep the watcher and call stop() before the executor's io_context ends.
  static std::shared_ptr<DnsWatcher> start(boost::asio::any_io_executor executor, Options options,
                                           std::shared_ptr<EndpointSet> set, Resolver resolver = {});
  ~DnsWatcher();
  DnsWatcher(const DnsWatcher&) = delete;
  DnsWatcher& operator=(const DnsWatcher&) = delete;

  // After connect failures: resolve again as soon as min_gap allows. Any thread.
  void resolve_soon();
  // No more resolutions; the timer is cancelled and an answer still on its way is
  // ignored. Any thread; idempotent.
  void stop();

  // Answers received (good or not), for tests and diagnostics.
  [[nodiscard]] std::size_t answers() const;

  // The endpoints made of `name` and its addresses (each: host = the address).
  static std::vector<Url> endpoints_of(const Url& name, const std::vector<std::string>& addresses);

 private:
  struct Private {};

 public:
  DnsWatcher(Private, boost::asio::any_io_executor executor, Options options, std::shared_ptr<EndpointSet> set,
             Resolver resolver);

 private:
  void resolve_now();
  void on_answer(std::vector<std::string> addresses, std::string error);
  void arm(std::chrono::steady_clock::time_point when);

  boost::asio::any_io_executor executor_;
  const Options options_;
  const std::shared_ptr<EndpointSet> set_;
  Resolver resolver_;
  mutable std::mutex mutex_;  // everything below
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  bool resolving_ = false;
  bool soon_ = false;  // resolve_soon() came while a resolution was under way
  std::chrono::steady_clock::time_point last_start_{};
  std::chrono::steady_clock::time_point armed_for_{};
  std::size_t answers_ = 0;
  std::string last_problem_;  // the last warning logged; empty after a good answer
};

}  // namespace pit::outbound
