// Who may call an operation: the access declaration written next to `raises` and
// `timeout` in the contract.
//
//   PIT_CONTRACT(Orders, "shop.v1.Orders",
//       (place, pit::OpSpec{}.require(pit::scope("orders.write"))),
//       (get,   pit::OpSpec{}.require(pit::any_of(pit::scope("orders.read"), pit::role("support")))),
//       (ping,  pit::OpSpec{}.anonymous("load balancer health probe")));
//
// Closed by default: an operation that declares nothing is refused to every caller
// (`unauthenticated` without a credential, `permission_denied` with one). Configuration can
// add requirements to an operation, never remove one or open an operation (docs/security.md).
// (`require`, not `requires`: the latter is a C++20 keyword.)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pit {

// A condition on the caller, in disjunctive normal form: any of up to kClauses clauses,
// each all of up to kTerms terms. Built with scope(), role(), authenticated(), any_of()
// and all_of(); a literal type, so a contract's declaration is a constant.
class Requirement {
 public:
  enum class Kind : std::uint8_t { authenticated, scope, role };
  struct Term {
    Kind kind = Kind::authenticated;
    std::string_view name{};  // the scope or role; empty for `authenticated`
  };
  static constexpr std::size_t kTerms = 6;
  static constexpr std::size_t kClauses = 6;
  struct Clause {
    std::array<Term, kTerms> terms{};
    std::size_t count = 0;
  };

  constexpr Requirement() = default;  // no condition (any authenticated caller)
  static constexpr Requirement term(Kind kind, std::string_view name) {
    Requirement r;
    r.clauses_[0].terms[0] = Term{kind, name};
    r.clauses_[0].count = 1;
    r.count_ = 1;
    return r;
  }

  // Both: every clause of one combined with every clause of the other.
  [[nodiscard]] constexpr Requirement and_(const Requirement& other) const {
    if (count_ == 0) return other;
    if (other.count_ == 0) return *this;
    Requirement r;
    for (std::size_t i = 0; i < count_; ++i) {
      for (std::size_t j = 0; j < other.count_; ++j) {
        Clause c = clauses_[i];
        for (std::size_t k = 0; k < other.clauses_[j].count; ++k) {
          if (c.count == kTerms) throw "pit::Requirement: more than kTerms terms in one clause";
          c.terms[c.count++] = other.clauses_[j].terms[k];
        }
        if (r.count_ == kClauses) throw "pit::Requirement: more than kClauses alternatives";
        r.clauses_[r.count_++] = c;
      }
    }
    return r;
  }
  // Either.
  [[nodiscard]] constexpr Requirement or_(const Requirement& other) const {
    if (count_ == 0 || other.count_ == 0) return Requirement{};  // "authenticated" or X = authenticated
    Requirement r = *this;
    for (std::size_t j = 0; j < other.count_; ++j) {
      if (r.count_ == kClauses) throw "pit::Requirement: more than kClauses alternatives";
      r.clauses_[r.count_++] = other.clauses_[j];
    }
    return r;
  }

  // Whether a caller holding these scopes and roles satisfies it. Has(kind, name) -> bool.
  template <class Has>
  [[nodiscard]] constexpr bool satisfied_by(Has&& has) const {
    if (count_ == 0) return true;
    for (std::size_t i = 0; i < count_; ++i) {
      bool all = true;
      for (std::size_t k = 0; k < clauses_[i].count && all; ++k) {
        const Term& t = clauses_[i].terms[k];
        all = t.kind == Kind::authenticated || has(t.kind, t.name);
      }
      if (all) return true;
    }
    return false;
  }

  [[nodiscard]] constexpr std::size_t clause_count() const noexcept { return count_; }
  [[nodiscard]] constexpr const Clause& clause(std::size_t i) const noexcept { return clauses_[i]; }

 private:
  std::array<Clause, kClauses> clauses_{};
  std::size_t count_ = 0;
};

// The caller holds this OAuth scope (the token's `scope` claim).
constexpr Requirement scope(std::string_view name) { return Requirement::term(Requirement::Kind::scope, name); }
// The caller holds this role (the configured roles claim, `roles` by default).
constexpr Requirement role(std::string_view name) { return Requirement::term(Requirement::Kind::role, name); }
// Any authenticated caller.
constexpr Requirement authenticated() { return Requirement::term(Requirement::Kind::authenticated, {}); }

template <class... R>
constexpr Requirement any_of(const Requirement& first, const R&... rest) {
  Requirement r = first;
  ((r = r.or_(rest)), ...);
  return r;
}
template <class... R>
constexpr Requirement all_of(const Requirement& first, const R&... rest) {
  Requirement r = first;
  ((r = r.and_(rest)), ...);
  return r;
}

// How an operation is open: not at all (nothing declared), to anyone, or to callers
// that satisfy a requirement.
enum class Access : std::uint8_t { undeclared, anonymous, required };

}  // namespace pit
