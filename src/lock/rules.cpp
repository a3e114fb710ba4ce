#include "lock/rules.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "lock/lock_types.hpp"

namespace pit::lock::rules {
namespace {

using types::Expr;
using Kind = schema::Kind;

struct Index {
  std::map<std::string_view, const file::Message*> messages;
  std::map<std::string_view, const file::Enum*> enums;
  explicit Index(const file::Lock& lock) {
    for (const auto& m : lock.messages) messages.emplace(m.name, &m);
    for (const auto& e : lock.enums) enums.emplace(e.name, &e);
  }
  // A named reference is a message unless the lock has an enum of that name.
  [[nodiscard]] Kind kind_of(const Expr& t) const {
    if (t.kind == Kind::message && enums.count(t.name) != 0) return Kind::enumeration;
    return t.kind;
  }
};

std::string text(const Expr& t) { return types::render(t); }

bool contains(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

std::string child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string{name} : path + "." + std::string{name};
}

// One side (request or reply) of one operation, walked from its root message.
class Walk {
 public:
  Walk(const Index& locked, const Index& now, Side side, std::string prefix, std::vector<Finding>& out)
      : locked_(locked), now_(now), side_(side), prefix_(std::move(prefix)), out_(out) {}

  void messages(const file::Message& o, const file::Message& n, const std::string& path) {
    // A recursive message (a tree of itself) is compared once per path prefix.
    const auto key = std::make_pair(o.name, n.name);
    if (!open_.insert(key).second) return;
    std::set<std::string_view> names;
    for (const auto& f : o.fields) names.insert(f.name);
    for (const auto& f : n.fields) names.insert(f.name);
    const auto find = [](const file::Message& m, std::string_view name) -> const file::Field* {
      for (const auto& f : m.fields) {
        if (f.name == name) return &f;
      }
      return nullptr;
    };
    for (const std::string_view name : names) {
      const file::Field* of = find(o, name);
      const file::Field* nf = find(n, name);
      const std::string at = child(path, name);
      if (nf != nullptr && (contains(o.reserved, name) || contains(n.reserved, name))) {
        add("reserved_name_reused", at,
            "the name is reserved (retired): a caller built against the old meaning would send or read it "
            "with that meaning; give the new field another name");
      }
      if (of != nullptr && nf == nullptr) {
        if (side_ == Side::reply) {
          add("field_removed", at,
              "removed or renamed in the reply: old callers read it and now get its default (reserving the name "
              "does not help readers); keep sending it, or start a new contract version");
        } else if (!contains(n.reserved, name)) {
          add("field_removed", at,
              "removed or renamed without reserving the name: old callers still send it, and a later field "
              "of that name would receive their values; add the name to PIT_RESERVED");
        }
      } else if (of == nullptr && nf != nullptr) {
        if (side_ == Side::request && nf->required) {
          add("field_newly_required", at, "a new required field: old callers do not send it and are refused");
        }
      } else if (of != nullptr && nf != nullptr) {
        if (side_ == Side::request && nf->required && !of->required) {
          add("field_newly_required", at, "now required: old callers that leave it out are refused");
        }
        types(types::parse(of->type), types::parse(nf->type), at);
      }
    }
    open_.erase(key);
  }

 private:
  void types(const Expr& o, const Expr& n, const std::string& path) {
    const Kind ko = locked_.kind_of(o);
    const Kind kn = now_.kind_of(n);
    // The writer's and the reader's kind: requests are written by old callers, replies by
    // the new code.
    const bool request = side_ == Side::request;
    const Kind written = request ? ko : kn;
    const Kind read = request ? kn : ko;
    if (written == Kind::optional && read != Kind::optional) {
      if (request) {
        add("type_changed", path,
            "was " + text(o) + ", now " + text(n) + ": old callers may send null or leave it out");
      } else {
        add("reply_field_made_optional", path,
            "was " + text(o) + ", now " + text(n) +
                ": the new code may send null or leave it out, which old callers read as a real value");
      }
      return;
    }
    if (read == Kind::optional && written != Kind::optional) {  // T read as optional<T>: safe
      if (request) return types(o, *n.element, path);
      return types(*o.element, n, path);
    }
    if (ko != kn) {
      add("type_changed", path, "was " + text(o) + ", now " + text(n) + ": the other side cannot decode it");
      return;
    }
    switch (ko) {
      case Kind::optional: return types(*o.element, *n.element, path);
      case Kind::array: return types(*o.element, *n.element, path + "[]");
      case Kind::map: return types(*o.element, *n.element, path + "{}");
      case Kind::integer: {
        const Expr& w = request ? o : n;
        const Expr& r = request ? n : o;
        if (w.min < r.min || w.max > r.max) {
          add("type_changed", path,
              "was " + text(o) + ", now " + text(n) +
                  (request ? ": old callers may send values the new code refuses (only widening is safe in a request)"
                           : ": the new code may answer values old callers refuse (only narrowing is safe in a reply)"));
        }
        return;
      }
      case Kind::number: {
        const Expr& w = request ? o : n;
        const Expr& r = request ? n : o;
        if (w.bits > r.bits) {
          add("type_changed", path, "was " + text(o) + ", now " + text(n) + ": values may not fit");
        }
        return;
      }
      case Kind::enumeration: {
        const file::Enum& eo = *locked_.enums.at(o.name);
        const file::Enum& en = *now_.enums.at(n.name);
        if (request) {
          for (const auto& v : eo.values) {
            if (!contains(en.values, v)) {
              add("enum_value_removed", path + " value " + v,
                  "old callers may still send " + v + ", which the new code refuses (or reads as its fallback)");
            }
          }
        } else if (!eo.fallback) {
          for (const auto& v : en.values) {
            if (!contains(eo.values, v)) {
              add("enum_value_added", path + " value " + v,
                  "the new code may answer " + v +
                      ", which old callers refuse: the enum they have declares no fallback (PIT_ENUM_FALLBACK)");
            }
          }
        }
        return;
      }
      case Kind::message:
        return messages(*locked_.messages.at(o.name), *now_.messages.at(n.name), path);
      case Kind::boolean:
      case Kind::string: return;
    }
  }

  void add(std::string rule, const std::string& path, std::string message) {
    out_.push_back(Finding{std::move(rule), Severity::breaking, side_, prefix_ + (path.empty() ? "" : ": " + path),
                           std::move(message), std::nullopt});
  }

  const Index& locked_;
  const Index& now_;
  Side side_;
  std::string prefix_;  // "shop.v1.Orders/place request"
  std::vector<Finding>& out_;
  std::set<std::pair<std::string_view, std::string_view>> open_;
};

template <class T>
const T* named(const std::vector<T>& list, std::string_view name) {
  for (const auto& item : list) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

void operation(const Index& locked, const Index& now, const std::string& where, const file::Operation& o,
               const file::Operation& n, std::vector<Finding>& out) {
  const auto add = [&](std::string rule, Severity severity, std::string at, std::string message) {
    out.push_back(Finding{std::move(rule), severity, Side::operation, std::move(at), std::move(message), std::nullopt});
  };
  for (const auto& code : o.raises) {
    if (!contains(n.raises, code)) {
      add("code_removed", Severity::breaking, where + " raises " + code,
          "no longer declared: when the code still raises it, callers get `internal` instead, and callers "
          "that handle " + code + " stop seeing it");
    }
  }
  for (const auto& code : n.raises) {
    if (!contains(o.raises, code)) {
      add("code_added", Severity::warning, where + " raises " + code,
          "newly declared: callers written before may not handle it");
    }
  }
  if (o.idempotent && !n.idempotent) {
    add("idempotent_removed", Severity::breaking, where,
        "no longer idempotent: callers and client policies that retry it would now repeat its effect");
  }
  if (o.deduplicated && !n.deduplicated) {
    add("deduplicated_removed", Severity::breaking, where,
        "no longer deduplicated: a retry of a call whose answer was lost would now repeat its effect");
  }
  if (n.deduplicated == "key required" && o.deduplicated != "key required") {
    add("idempotency_key_required", Severity::breaking, where,
        "now requires an Idempotency-Key: callers that send none are refused invalid_argument (pit's own "
        "clients send one by themselves)");
  }
  if (n.timeout_ms != 0 && (o.timeout_ms == 0 || n.timeout_ms < o.timeout_ms)) {
    add("timeout_lowered", Severity::warning, where,
        "timeout now " + std::to_string(n.timeout_ms) + " ms, was " +
            (o.timeout_ms == 0 ? std::string{"the host default"} : std::to_string(o.timeout_ms) + " ms") +
            ": slow calls that passed may now fail with deadline_exceeded");
  }
  if (o.access != n.access) {
    add("access_changed", Severity::warning, where,
        "access was \"" + o.access + "\", now \"" + n.access + "\": callers may now be refused");
  }
  Walk{locked, now, Side::request, where + " request", out}.messages(*locked.messages.at(o.request),
                                                                     *now.messages.at(n.request), "");
  Walk{locked, now, Side::reply, where + " reply", out}.messages(*locked.messages.at(o.reply),
                                                                 *now.messages.at(n.reply), "");
}

}  // namespace

bool known(std::string_view rule) {
  return std::find(std::begin(kRules), std::end(kRules), rule) != std::end(kRules);
}

std::vector<Finding> compare(const file::Lock& locked, const file::Lock& now) {
  const Index li{locked};
  const Index ni{now};
  std::vector<Finding> out;
  for (const auto& c : locked.contracts) {
    const file::Contract* nc = named(now.contracts, c.name);
    if (nc == nullptr) {
      out.push_back(Finding{"contract_removed", Severity::breaking, Side::operation, c.name,
                            "no longer served (removed or renamed): every call of its callers fails; serve a new "
                            "version beside it until they moved",
                            std::nullopt});
      continue;
    }
    for (const auto& op : c.operations) {
      const std::string where = c.name + "/" + op.name;
      const file::Operation* nop = named(nc->operations, op.name);
      if (nop == nullptr) {
        out.push_back(Finding{"operation_removed", Severity::breaking, Side::operation, where,
                              "no longer offered (removed or renamed): its callers fail with not_found", std::nullopt});
        continue;
      }
      operation(li, ni, where, op, *nop, out);
    }
  }
  std::vector<bool> used(locked.acknowledgements.size(), false);
  for (auto& f : out) {
    for (std::size_t i = 0; i < locked.acknowledgements.size(); ++i) {
      const auto& a = locked.acknowledgements[i];
      if (a.rule == f.rule && a.where == f.where) {
        f.acknowledged = a.reason;
        used[i] = true;
      }
    }
  }
  for (std::size_t i = 0; i < used.size(); ++i) {
    if (used[i]) continue;
    const auto& a = locked.acknowledgements[i];
    out.push_back(Finding{"unused_acknowledgement", Severity::warning, Side::operation, a.where,
                          "acknowledges " + a.rule + ", which the code does not do: remove it", std::nullopt});
  }
  const auto rank = [](const Finding& f) {
    if (f.severity == Severity::warning) return 2;
    return f.acknowledged ? 1 : 0;
  };
  std::stable_sort(out.begin(), out.end(), [&](const Finding& a, const Finding& b) { return rank(a) < rank(b); });
  return out;
}

}  // namespace pit::lock::rules
