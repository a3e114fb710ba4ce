// A nested call written the natural way, `co_return co_await ref->op({a, b});`, is correct
// under GCC 12. GCC 12 destroys the class-type members of an aggregate initialized inside
// a co_await full-expression twice; a coroutine operation's proxy method takes a braced
// list through a constructor of pit's own (detail::FlatBracesOrRequest), so the request is
// built outside the caller's coroutine. The strings are longer than any small-string
// buffer: a double destruction is a double free of a heap block (glibc aborts, ASan
// reports it).
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <memory>
#include <string>

#include "pit/pit.hpp"

namespace braced {

struct Pair {
  std::string first;
  std::string second;
  int form = 0;
};
BOOST_DESCRIBE_STRUCT(Pair, (), (first, second, form))

struct Joined {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(Joined, (), (text))

class Joiner {
 public:
  virtual ~Joiner() = default;
 protected:
  virtual pit::Task<Joined> join(Pair) = 0;
};
PIT_CONTRACT(Joiner, "test.v1.Joiner", (join, pit::OpSpec{}.anonymous("test")));

// Calls Joiner in the form the request names.
class Relay {
 public:
  virtual ~Relay() = default;
 protected:
  virtual pit::Task<Joined> relay(Pair) = 0;
};
PIT_CONTRACT(Relay, "test.v1.Relay", (relay, pit::OpSpec{}.anonymous("test")));

enum Form : int { braced_return, braced_statement, braced_initializer, typed_return, named_moved };

}  // namespace braced

namespace {

using namespace braced;

class JoinerService final : public Joiner {
  pit::Task<Joined> join(Pair p) override { co_return Joined{p.first + "+" + p.second}; }
};

class RelayService final : public Relay {
 public:
  explicit RelayService(pit::Ref<Joiner> joiner) : joiner_(std::move(joiner)) {}

 private:
  pit::Task<Joined> relay(Pair p) override {
    // Fresh heap-allocated strings, owned by this frame: what a braced request copies.
    const std::string a = p.first + std::string(64, 'a');
    const std::string b = p.second + std::string(64, 'b');
    switch (p.form) {
      case braced_return:
        co_return co_await joiner_->join({a, b});
      case braced_statement: {
        Joined joined;
        joined = co_await joiner_->join({a, b, 0});
        co_return joined;
      }
      case braced_initializer: {
        Joined joined = co_await joiner_->join({a, b});
        co_return joined;
      }
      case typed_return:
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
        // Not compiled under GCC 12: a request aggregate built explicitly inside the co_await
        // expression is the compiler's own bug, which no signature of pit's can reach
        // (docs/contracts.md, "Known compiler issue"). The clang builds run it.
        throw pit::Fault::failed_precondition("Pair{...} inside co_await: not built by GCC 12");
#else
        co_return co_await joiner_->join(Pair{a, b});
#endif
      default: {
        Pair named{a, b};
        co_return co_await joiner_->join(std::move(named));
      }
    }
  }

  pit::Ref<Joiner> joiner_;
};

class BracedRequest : public ::testing::Test {
 protected:
  BracedRequest() {
    pit::HostOptions options;
    options.log_sink = std::make_shared<pit::log::MemorySink>();
    options.io_threads = 2;
    host = std::make_unique<pit::Host>(options);
    host->serve<Joiner, JoinerService>();
    host->serve<Relay, RelayService>(host->client<Joiner>());
    relay = host->client<Relay>();
    host->start();
  }
  ~BracedRequest() override { host->stop(); }

  // Many calls, so that a double free cannot hide in one lucky run.
  void expect_joined(Form form) {
    for (int i = 0; i < 200; ++i) {
      const std::string first = "first-" + std::to_string(i) + std::string(40, 'x');
      const std::string second = "second-" + std::to_string(i) + std::string(40, 'y');
      const Joined joined = pit::block_on(relay->relay({first, second, form}));
      ASSERT_EQ(joined.text, first + std::string(64, 'a') + "+" + second + std::string(64, 'b'));
    }
  }

  std::unique_ptr<pit::Host> host;
  pit::Ref<Relay> relay;
};

TEST_F(BracedRequest, co_return_co_await_with_a_braced_request_is_correct) {
  expect_joined(braced_return);
}

TEST_F(BracedRequest, co_await_with_a_braced_request_in_an_assignment_is_correct) {
  expect_joined(braced_statement);
}

TEST_F(BracedRequest, co_await_with_a_braced_request_in_an_initializer_is_correct) {
  expect_joined(braced_initializer);
}

TEST_F(BracedRequest, co_return_co_await_with_a_named_request_moved_in_is_correct) {
  expect_joined(named_moved);
}

TEST_F(BracedRequest, co_return_co_await_with_a_typed_temporary_request_is_correct_off_gcc_12) {
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
  GTEST_SKIP() << "GCC 12 miscompiles Pair{...} inside co_await (docs/contracts.md)";
#endif
  expect_joined(typed_return);
}

}  // namespace
