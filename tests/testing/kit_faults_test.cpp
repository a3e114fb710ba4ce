// The conformance kit's fault checks (src/testing/checks/faults.cpp): fault_masking,
// declared_faults and deadlines pass on the good service, one result per operation and
// way in, and each fails — alone, for exactly the operations broken, saying what the
// user's code or configuration did and how to fix it — on a service broken the way a
// hurried user would break it. Two breakages that pit's guarantees absorb (a policy that
// ignores cancellation, an operation timeout the host default caps) leave the kit green:
// it checks the guarantee, not the user's code.
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "pit/asio.hpp"
#include "pit/testing.hpp"
#include "support/kit_services.hpp"

namespace {

using namespace std::chrono_literals;
using pit::testing::Report;
using pit::testing::Result;
using pit::testing::Verdict;

constexpr std::string_view kAdd = "kit.v1.Notes/add";
constexpr std::string_view kGet = "kit.v1.Notes/get";
constexpr std::string_view kPing = "kit.v1.Notes/ping";

// How often the stubborn retry policy below called the operation again.
std::atomic<int> stubborn_retries{0};

// The good host's hints, with a short caller deadline so the deadline check is quick (the
// slack stays the default: a deadline answered late by the sanitizers is no failure).
pit::testing::Hints fast(pit::testing::Hints hints) {
  hints.short_deadline = 50ms;
  return hints;
}

using kit::text_of;

// (target, transport) of each result of `check` with that verdict.
std::set<std::pair<std::string, std::string>> where(const Report& report, std::string_view check,
                                                    Verdict verdict) {
  std::set<std::pair<std::string, std::string>> out;
  for (const Result& r : report.of(check)) {
    if (r.verdict == verdict) out.emplace(r.target, r.transport);
  }
  return out;
}

// The failed results of `check`, after asserting that no other check failed on the host.
std::vector<Result> failures_of(const Report& report, std::string_view check) {
  std::vector<Result> out;
  for (const Result& r : report.results()) {
    if (r.verdict != Verdict::failed) continue;
    if (r.check == check) {
      out.push_back(r);
    } else {
      ADD_FAILURE() << "another check failed too: " << r.check << " " << r.target << " (" << r.transport
                    << "): " << r.message;
    }
  }
  return out;
}

void expect_says(const Result& r, std::initializer_list<std::string_view> pieces) {
  for (std::string_view piece : pieces) {
    EXPECT_NE(r.message.find(piece), std::string::npos) << r.check << " " << r.target << " (" << r.transport
                                                        << ") does not say '" << piece << "': " << r.message;
  }
}

using Ways = std::set<std::pair<std::string, std::string>>;
Ways both_ways(std::string_view target) {
  return {{std::string(target), "inproc"}, {std::string(target), "http"}};
}
// The results about an operation's configuration, which no way in changes.
Ways unrouted(std::initializer_list<std::string_view> targets) {
  Ways out;
  for (auto t : targets) out.emplace(std::string(t), "");
  return out;
}
Ways operator+(Ways a, const Ways& b) {
  a.insert(b.begin(), b.end());
  return a;
}

TEST(FaultsKit, the_good_service_passes_each_operation_each_way_in) {
  kit::GoodHost good;
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  for (std::string_view check : {"fault_masking", "declared_faults", "deadlines"}) {
    EXPECT_TRUE(where(report, check, Verdict::failed).empty()) << text_of(report);
    EXPECT_TRUE(where(report, check, Verdict::skipped).empty()) << text_of(report);
  }
  const Ways all = both_ways(kAdd) + both_ways(kGet) + both_ways(kPing);
  EXPECT_EQ(where(report, "fault_masking", Verdict::passed), all);
  // ping declares no code: one result for the operation, saying so.
  EXPECT_EQ(where(report, "declared_faults", Verdict::passed),
            both_ways(kAdd) + both_ways(kGet) + unrouted({kPing}));
  // Each operation's bounded timeout (no way in: configuration), and the caller's deadline
  // each way in.
  EXPECT_EQ(where(report, "deadlines", Verdict::passed), all + unrouted({kAdd, kGet, kPing}));
  for (const Result& r : report.of("deadlines", kAdd)) {
    if (r.transport.empty()) expect_says(r, {"2 s", "OpSpec"});
  }
  for (const Result& r : report.of("deadlines", kGet)) {
    if (r.transport.empty()) expect_says(r, {"10 s", "default_timeout"});
  }
}

// A hurried user's mapper: "our JSON library throws std::runtime_error on bad input, so tell
// the client what was wrong". add declares invalid_argument, so what() reaches its callers;
// get and ping do not, so pit masks it there.
TEST(FaultsKit, a_mapper_that_puts_what_in_a_declared_fault_fails_fault_masking) {
  kit::GoodHost good;
  good.host->map_exception<std::runtime_error>([](const std::runtime_error& e) {
    return pit::Fault::invalid_argument(std::string("could not process the request: ") + e.what());
  });
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  const auto failed = failures_of(report, "fault_masking");
  EXPECT_EQ(where(report, "fault_masking", Verdict::failed), both_ways(kAdd)) << text_of(report);
  EXPECT_EQ(where(report, "fault_masking", Verdict::passed), both_ways(kGet) + both_ways(kPing))
      << text_of(report);
  for (const Result& r : failed) {
    expect_says(r, {"invalid_argument", "pit-canary-password", "host.map_exception", "std::runtime_error",
                    "in the public message", "fixed message", ".with_cause(e.what())"});
    expect_says(r, {r.transport == "http" ? "the reply body" : "the fault's message()"});
  }
}

// "Degrade gracefully": internal errors become an empty success. The caller cannot tell.
TEST(FaultsKit, a_policy_that_swallows_faults_into_success_fails_fault_masking) {
  kit::GoodHost good;
  good.host->use("degrade-gracefully", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);
    if (!outcome.ok() && outcome.code() == pit::Code::internal) co_return pit::Outcome::success();
    co_return outcome;
  });
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  const auto failed = failures_of(report, "fault_masking");
  EXPECT_EQ(where(report, "fault_masking", Verdict::failed),
            both_ways(kAdd) + both_ways(kGet) + both_ways(kPing))
      << text_of(report);
  for (const Result& r : failed) {
    expect_says(r, {"reached the caller as", "ok", "not internal", "host.use (\"degrade-gracefully\")",
                    "turns a failure into a success", "Let faults from next() pass"});
  }
}

// A policy that throws a pit::Fault is shaped like one that returns it: "try again" as a
// thrown retryable unavailable, the cause in its message, and a data_loss thrown on as
// unavailable are masked to internal where undeclared (every operation here), and what
// they carried goes only to the log. (Before the kit found it, the deadline policy stamped
// a thrown fault as pit's own, and it passed fault shaping unmasked.)
TEST(FaultsKit, a_policy_that_throws_a_fault_is_shaped_like_one_that_returns_it) {
  kit::GoodHost good;
  good.host->use("retry-hint", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);
    if (!outcome.ok() && outcome.code() == pit::Code::internal) {
      throw pit::Fault::unavailable("temporarily unavailable (" + outcome.fault().cause() + "), try again")
          .with(pit::Fault::retryable);
    }
    if (outcome.code() == pit::Code::data_loss) {
      throw pit::Fault::unavailable("storage trouble, please retry").with(pit::Fault::retryable);
    }
    co_return outcome;
  });
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  EXPECT_TRUE(where(report, "fault_masking", Verdict::failed).empty()) << text_of(report);
  EXPECT_TRUE(report.passed()) << text_of(report);
}

// The same hurry in a returned fault: "show the client why" as invalid_argument. Shaped,
// so masked where it is undeclared (get, ping), and a leak where it is declared (add).
TEST(FaultsKit, a_policy_that_returns_the_cause_in_a_declared_fault_fails_fault_masking) {
  kit::GoodHost good;
  good.host->use("explain-errors", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);
    if (!outcome.ok() && outcome.code() == pit::Code::internal) {
      co_return pit::Fault::invalid_argument("request failed: " + outcome.fault().cause());
    }
    co_return outcome;
  });
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  const auto failed = failures_of(report, "fault_masking");
  EXPECT_EQ(where(report, "fault_masking", Verdict::failed), both_ways(kAdd)) << text_of(report);
  for (const Result& r : failed) {
    expect_says(r, {"invalid_argument", "pit-canary-password", "host.use (\"explain-errors\")",
                    "puts the failure's cause", ".with_cause("});
  }
}

// The mapper a hurried user writes most: every exception to internal with what() as the
// message. internal is declared nowhere, so pit masks it and logs the text once: no leak,
// and no failure.
TEST(FaultsKit, a_mapper_that_puts_what_in_an_undeclared_code_is_masked_and_no_failure) {
  kit::GoodHost good;
  good.host->map_exception<std::exception>(
      [](const std::exception& e) { return pit::Fault::internal(e.what()); });
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  EXPECT_EQ(where(report, "fault_masking", Verdict::passed),
            both_ways(kAdd) + both_ways(kGet) + both_ways(kPing))
      << text_of(report);
}

// "Client errors are all invalid_argument to our front end": add's already_exists comes out
// as invalid_argument (declared, so it passes as the wrong code), get's not_found as
// internal (undeclared: masked). ping declares nothing and is untouched.
TEST(FaultsKit, a_policy_that_turns_a_declared_code_into_another_fails_declared_faults) {
  kit::GoodHost good;
  good.host->use("client-errors", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);
    if (outcome.code() == pit::Code::already_exists || outcome.code() == pit::Code::not_found) {
      co_return pit::Fault::invalid_argument(outcome.fault().message());
    }
    co_return outcome;
  });
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  const auto failed = failures_of(report, "declared_faults");
  EXPECT_EQ(where(report, "declared_faults", Verdict::failed), both_ways(kAdd) + both_ways(kGet))
      << text_of(report);
  EXPECT_EQ(where(report, "declared_faults", Verdict::passed), unrouted({kPing})) << text_of(report);
  for (const Result& r : failed) {
    expect_says(r, {"host.use (\"client-errors\")", "Let declared faults pass unchanged"});
    if (r.target == kAdd) {
      expect_says(r, {"declares already_exists", "turns already_exists into invalid_argument"});
      EXPECT_EQ(r.message.find("declares invalid_argument"), std::string::npos)
          << r.message;  // that one passed
    } else {
      expect_says(r, {"declares not_found", "does not declare", "masks to internal"});
    }
  }
}

// "Long reports must never time out": the host default raised to a day, and add's own
// timeout to 1000 h. get and ping, with no timeout of their own, get the day; add gets
// the smaller of its own and the default, a day too.
TEST(FaultsKit, an_unbounded_timeout_fails_deadlines_naming_the_key_to_change) {
  kit::GoodHost good{[](pit::HostOptions& o) {
    o.default_timeout = 24h;
    o.operations[std::string(kAdd)].timeout = 1000h;
  }};
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  const auto failed = failures_of(report, "deadlines");
  EXPECT_EQ(where(report, "deadlines", Verdict::failed), unrouted({kAdd, kGet, kPing})) << text_of(report);
  // The caller's deadline still holds each way in.
  EXPECT_EQ(where(report, "deadlines", Verdict::passed),
            both_ways(kAdd) + both_ways(kGet) + both_ways(kPing));
  for (const Result& r : failed) {
    expect_says(r, {"may run for 24 h", "Hints::max_timeout", "[host] default_timeout_ms",
                    "[contracts.\"kit.v1.Notes\".operations." + r.target.substr(r.target.find('/') + 1) +
                        "] timeout_ms"});
    if (r.target == kAdd) {
      expect_says(r, {"its timeout is 1000 h", "HostOptions::operations[\"kit.v1.Notes/add\"].timeout"});
    } else {
      expect_says(r, {"sets no timeout of its own"});
    }
  }
}

// add's timeout configured to 1000 h, the host default left at 10 s: the deadline policy
// takes the smaller, so every call still ends within 10 s. The kit reports what applies.
TEST(FaultsKit, an_operation_timeout_the_host_default_caps_is_no_failure) {
  kit::GoodHost good{[](pit::HostOptions& o) { o.operations[std::string(kAdd)].timeout = 1000h; }};
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  EXPECT_TRUE(where(report, "deadlines", Verdict::failed).empty()) << text_of(report);
  bool said = false;
  for (const Result& r : report.of("deadlines", kAdd)) {
    if (!r.transport.empty()) continue;
    expect_says(r, {"10 s", "1000 h", "the default caps it"});
    said = true;
  }
  EXPECT_TRUE(said) << text_of(report);
}

// A policy that makes a blocking call on its I/O thread (here when the caller's budget is
// short, and only for ping): the deadline's timer runs on that thread, so the caller is
// answered only when the thread is free again, past any bound.
TEST(FaultsKit, a_policy_that_blocks_its_io_thread_past_the_deadline_fails_deadlines) {
  kit::GoodHost good;
  good.host->use("blocking-fallback", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    if (call.operation().name == "ping" && call.context().remaining() < 1s)
      std::this_thread::sleep_for(450ms);
    co_return co_await next(call);
  });
  pit::testing::Hints hints = fast(good.hints);
  hints.deadline_slack = 250ms;
  const Report report = pit::testing::check_guarantees(*good.host, hints);
  const auto failed = failures_of(report, "deadlines");
  EXPECT_EQ(where(report, "deadlines", Verdict::failed), both_ways(kPing)) << text_of(report);
  for (const Result& r : failed) {
    expect_says(r, {"deadline_exceeded only after", "past the bound of 300 ms", "blocked that thread",
                    "host.use (\"blocking-fallback\")", "pit::use_task", "Hints::deadline_slack"});
  }
}

// A retry policy that swallows the cancellation of its backoff and tries again after the
// deadline: the caller is still answered at the deadline (its work goes on unseen). Not a
// failure of the guarantee, so not of the kit.
TEST(FaultsKit, a_policy_that_ignores_cancellation_leaves_deadlines_green) {
  kit::GoodHost good;
  good.host->use("stubborn-retry", [](pit::Call& call, pit::Next next) -> pit::Task<pit::Outcome> {
    pit::Outcome outcome = co_await next(call);
    for (int attempt = 1; attempt < 3 && (outcome.code() == pit::Code::deadline_exceeded ||
                                          outcome.code() == pit::Code::unavailable);
         ++attempt) {
      boost::asio::steady_timer backoff{pit::io_executor(), 100ms};
      try {
        co_await backoff.async_wait(pit::use_task);
      } catch (const boost::system::system_error&) {  // cancelled: "never mind, retry anyway"
      }
      stubborn_retries.fetch_add(1);
      outcome = co_await next(call);
    }
    co_return outcome;
  });
  stubborn_retries = 0;
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  EXPECT_GT(stubborn_retries.load(), 0);  // it did call the operation again past the deadline
  EXPECT_TRUE(where(report, "deadlines", Verdict::failed).empty()) << text_of(report);
  EXPECT_EQ(where(report, "deadlines", Verdict::passed).size(), 9U) << text_of(report);
  (void)failures_of(report, "deadlines");  // and nothing else failed
}

// Without a credential the kit's calls to add and get are refused before the drill runs:
// it says which hint to give instead of blaming the service. ping is anonymous.
TEST(FaultsKit, calls_refused_for_want_of_a_credential_are_skipped_naming_the_hint) {
  kit::GoodHost good;
  pit::testing::Hints hints = fast(good.hints);
  hints.authorization.clear();
  hints.identity.reset();
  hints.skip_checks["deadlines"] = "not the point here";
  const Report report = pit::testing::check_guarantees(*good.host, hints);
  EXPECT_EQ(where(report, "fault_masking", Verdict::skipped), both_ways(kAdd) + both_ways(kGet))
      << text_of(report);
  EXPECT_EQ(where(report, "fault_masking", Verdict::passed), both_ways(kPing)) << text_of(report);
  EXPECT_EQ(where(report, "declared_faults", Verdict::skipped), both_ways(kAdd) + both_ways(kGet))
      << text_of(report);
  for (const Result& r : report.of("fault_masking", kAdd)) {
    expect_says(r, {"unauthenticated", r.transport == "http" ? "Hints::authorization" : "Hints::identity"});
  }
}

// A host started before the kit attached: no drills, so the checks that need them fail
// once, saying how to attach; the configured timeouts are still checked.
TEST(FaultsKit, a_host_started_without_the_kit_fails_the_drilled_checks_saying_how_to_attach) {
  kit::GoodHost good;
  good.host->start();
  const Report report = pit::testing::check_guarantees(*good.host, fast(good.hints));
  for (std::string_view check : {"fault_masking", "declared_faults", "deadlines"}) {
    const auto failed = where(report, check, Verdict::failed);
    EXPECT_EQ(failed, unrouted({"host"})) << check << "\n" << text_of(report);
    for (const Result& r : report.of(check, "host")) expect_says(r, {"pit::testing::attach(host)"});
  }
  EXPECT_EQ(where(report, "deadlines", Verdict::passed), unrouted({kAdd, kGet, kPing}));
}

}  // namespace
