#include "outbound/dns.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <utility>

#include "pit/log.hpp"

namespace pit::outbound {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

DnsWatcher::Resolver asio_resolver(const asio::any_io_executor& executor) {
  return [executor](const std::string& host, const std::string& port, DnsWatcher::Answer answer) {
    // The resolver lives in its completion handler: it outlives the lookup, however the
    // watcher ends (asio destroys pending handlers, and so the resolver, with the io_context).
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(executor);
    resolver->async_resolve(host, port,
                            [resolver, answer = std::move(answer)](const boost::system::error_code& ec,
                                                                   const asio::ip::tcp::resolver::results_type& results) {
                              std::vector<std::string> addresses;
                              if (ec) {
                                answer({}, ec.message());
                                return;
                              }
                              for (const auto& entry : results) addresses.push_back(entry.endpoint().address().to_string());
                              answer(std::move(addresses), {});
                            });
  };
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ",";
    out += item;
  }
  return out;
}

}  // namespace

std::vector<Url> DnsWatcher::endpoints_of(const Url& name, const std::vector<std::string>& addresses) {
  std::vector<Url> out;
  out.reserve(addresses.size());
  for (const auto& address : addresses) {
    Url u;
    u.tls = name.tls;
    u.host = address;
    u.port = name.port;
    u.authority = name.authority;
    u.server_name = name.host;
    const bool v6 = address.find(':') != std::string::npos;
    u.base = name.base + " (" + (v6 ? "[" + address + "]" : address) + ":" + name.port + ")";
    out.push_back(std::move(u));
  }
  return out;
}

DnsWatcher::DnsWatcher(Private, asio::any_io_executor executor, Options options, std::shared_ptr<EndpointSet> set,
                       Resolver resolver)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      set_(std::move(set)),
      resolver_(resolver ? std::move(resolver) : asio_resolver(executor_)),
      timer_(executor_) {}

DnsWatcher::~DnsWatcher() = default;

std::shared_ptr<DnsWatcher> DnsWatcher::start(asio::any_io_executor executor, Options options,
                                              std::shared_ptr<EndpointSet> set, Resolver resolver) {
  auto watcher = std::make_shared<DnsWatcher>(Private{}, std::move(executor), std::move(options), std::move(set),
                                              std::move(resolver));
  watcher->resolve_now();
  return watcher;
}

void DnsWatcher::arm(Clock::time_point when) {
  // Called with mutex_ held: the timer is touched by one thread at a time.
  armed_for_ = when;
  timer_.expires_at(when);  // cancels a wait already armed
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or stopped
    if (auto self = weak.lock()) self->resolve_now();
  });
}

void DnsWatcher::resolve_now() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || resolving_) return;
    const auto now = Clock::now();
    // Whoever asks, at most one resolution per min_gap.
    if (answers_ > 0 && now < last_start_ + options_.min_gap) {
      arm(last_start_ + options_.min_gap);
      return;
    }
    resolving_ = true;
    last_start_ = now;
    armed_for_ = Clock::time_point::max();
  }
  // Outside the lock: a resolver may answer before it returns.
  resolver_(options_.name.host, options_.name.port,
            [self = shared_from_this()](std::vector<std::string> addresses, std::string error) {
              self->on_answer(std::move(addresses), std::move(error));
            });
}

void DnsWatcher::on_answer(std::vector<std::string> addresses, std::string error) {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  resolving_ = false;
  ++answers_;
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  const std::string dns = options_.name.base;
  if (error.empty() && !addresses.empty()) {
    const auto before = set_->endpoints();
    set_->replace(endpoints_of(options_.name, addresses));
    const auto after = set_->endpoints();
    if (before != after) {
      log::info("client endpoints resolved",
                {{"contract", options_.contract}, {"dns", dns}, {"addresses", joined(addresses)}});
    }
    last_problem_.clear();
  } else {
    // The last good set stays: a DNS hiccup must not take every endpoint away.
    std::string problem = error.empty() ? "no address" : error;
    if (problem != last_problem_) {
      log::warn(set_->empty() ? "client DNS name does not resolve; calls fail unavailable until it does"
                              : "client DNS answer ignored; the last good endpoints stay",
                {{"contract", options_.contract}, {"dns", dns}, {"error", problem}});
      last_problem_ = std::move(problem);
    }
  }
  Clock::time_point next = Clock::now() + options_.interval;
  // Sooner when asked meanwhile, or while there is no endpoint at all.
  if (soon_ || set_->empty()) next = std::min(next, last_start_ + options_.min_gap);
  soon_ = false;
  arm(next);
}

void DnsWatcher::resolve_soon() {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  if (resolving_) {
    soon_ = true;
    return;
  }
  const auto when = std::max(Clock::now(), last_start_ + options_.min_gap);
  if (when < armed_for_) arm(when);
}

void DnsWatcher::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  timer_.cancel();
}

std::size_t DnsWatcher::answers() const {
  std::lock_guard lock(mutex_);
  return answers_;
}

}  // namespace pit::outbound
