#include "lock/snapshot.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "lock/lock_types.hpp"

namespace pit::lock {
namespace {

std::string access_of(const OpSpec& spec) {
  switch (spec.access()) {
    case Access::undeclared: return "undeclared";
    case Access::anonymous: return "anonymous: " + std::string{spec.anonymous_reason()};
    case Access::required: break;
  }
  const Requirement& r = spec.requirement();
  if (r.clause_count() == 0) return "authenticated";
  std::string out;
  for (std::size_t i = 0; i < r.clause_count(); ++i) {
    if (i > 0) out += " or ";
    const auto& clause = r.clause(i);
    for (std::size_t k = 0; k < clause.count; ++k) {
      if (k > 0) out += " and ";
      const auto& t = clause.terms[k];
      switch (t.kind) {
        case Requirement::Kind::authenticated: out += "authenticated"; break;
        case Requirement::Kind::scope: out += "scope(" + std::string{t.name} + ")"; break;
        case Requirement::Kind::role: out += "role(" + std::string{t.name} + ")"; break;
      }
    }
  }
  return out;
}

class Collector {
 public:
  // Records `type` and everything it reaches.
  void visit(const schema::Type& type) {
    if (type.element != nullptr) return visit(*type.element);
    if (type.kind != schema::Kind::message && type.kind != schema::Kind::enumeration) return;
    if (type.name.empty()) throw std::logic_error("pit::lock: a message or enum type without a name");
    const auto [it, fresh] = seen_.emplace(type.name, &type);
    if (!fresh) {
      if (it->second != &type) throw std::logic_error("pit::lock: two different types are named " + type.name);
      return;
    }
    if (type.kind == schema::Kind::enumeration) {
      file::Enum e;
      e.name = type.name;
      for (const auto v : type.enumerators) e.values.emplace_back(v);
      std::sort(e.values.begin(), e.values.end());
      if (type.fallback) e.fallback = std::string{*type.fallback};
      enums_.push_back(std::move(e));
      return;
    }
    file::Message m;
    m.name = type.name;
    for (const auto& f : type.fields) {
      if (f.type == nullptr) throw std::logic_error("pit::lock: field " + std::string{f.name} + " of " + type.name + " has no type");
      m.fields.push_back(file::Field{f.default_json, std::string{f.name}, f.required, types::render(*f.type)});
    }
    std::sort(m.fields.begin(), m.fields.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (const auto r : type.reserved) m.reserved.emplace_back(r);
    std::sort(m.reserved.begin(), m.reserved.end());
    messages_.push_back(std::move(m));
    for (const auto& f : type.fields) visit(*f.type);
  }

  void into(file::Lock& lock) {
    const auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
    std::sort(messages_.begin(), messages_.end(), by_name);
    std::sort(enums_.begin(), enums_.end(), by_name);
    lock.messages = std::move(messages_);
    lock.enums = std::move(enums_);
  }

 private:
  std::map<std::string, const schema::Type*, std::less<>> seen_;
  std::vector<file::Message> messages_;
  std::vector<file::Enum> enums_;
};

}  // namespace

file::Lock snapshot_of(const Contracts& contracts) {
  file::Lock lock;
  lock.format = std::string{file::kFormat};
  lock.version = file::kVersion;
  Collector types;
  for (const ContractInfo* c : contracts) {
    file::Contract contract;
    contract.name = std::string{c->name};
    for (const auto& op : c->operations) {
      if (op.hooks.request_type == nullptr || op.hooks.reply_type == nullptr) {
        throw std::logic_error("pit::lock: operation " + op.full_name + " has no message model");
      }
      const schema::Type& request = op.hooks.request_type();
      const schema::Type& reply = op.hooks.reply_type();
      types.visit(request);
      types.visit(reply);
      file::Operation o;
      o.access = access_of(op.spec);
      o.idempotent = op.spec.is_idempotent();
      if (op.spec.is_deduplicated()) {
        o.deduplicated = op.spec.dedup_key() == OpSpec::Key::required ? "key required" : "key optional";
      }
      o.name = std::string{op.name};
      for (unsigned code = 0; code < 32; ++code) {
        if ((op.spec.declared_mask() & (1U << code)) != 0) {
          o.raises.emplace_back(to_string(static_cast<Code>(code)));
        }
      }
      std::sort(o.raises.begin(), o.raises.end());
      o.reply = reply.name;
      o.request = request.name;
      o.timeout_ms = static_cast<std::uint32_t>(op.spec.timeout().count());
      contract.operations.push_back(std::move(o));
    }
    std::sort(contract.operations.begin(), contract.operations.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    lock.contracts.push_back(std::move(contract));
  }
  std::sort(lock.contracts.begin(), lock.contracts.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  types.into(lock);
  return lock;
}

}  // namespace pit::lock
