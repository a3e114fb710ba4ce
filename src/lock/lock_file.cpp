#include "lock/lock_file.hpp"

#include <algorithm>
#include <set>

#include "lock/lock_types.hpp"
#include "lock/rules.hpp"
#include "pit/fault.hpp"

namespace pit::lock::file {
namespace {

// Re-indents compact JSON (pit::json's encoder output): one member or element a line, two
// spaces a level; empty arrays and objects stay "[]" and "{}".
std::string pretty(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 2);
  int depth = 0;
  const auto newline = [&] {
    out.push_back('\n');
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
  };
  for (std::size_t i = 0; i < compact.size(); ++i) {
    const char c = compact[i];
    if (c == '"') {  // a string, copied whole (escapes included)
      const std::size_t start = i++;
      while (i < compact.size() && compact[i] != '"') i += compact[i] == '\\' ? 2 : 1;
      out.append(compact.substr(start, i - start + 1));
    } else if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      if (i + 1 < compact.size() && compact[i + 1] == close) {
        out.push_back(c);
        out.push_back(close);
        ++i;
        continue;
      }
      out.push_back(c);
      ++depth;
      newline();
    } else if (c == '}' || c == ']') {
      --depth;
      newline();
      out.push_back(c);
    } else if (c == ',') {
      out.push_back(',');
      newline();
    } else if (c == ':') {
      out.append(": ");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\n');
  return out;
}

[[noreturn]] void problem(const std::string& what) { throw LockProblem(what); }

template <class Range, class Name>
void unique(const Range& items, Name name, const std::string& what) {
  std::set<std::string_view> seen;
  for (const auto& item : items) {
    const std::string_view n = name(item);
    if (n.empty()) problem(what + ": an empty name");
    if (!seen.insert(n).second) problem(what + ": \"" + std::string{n} + "\" appears twice");
  }
}

struct Header {
  std::string format;
  std::int32_t version = 0;
};
BOOST_DESCRIBE_STRUCT(Header, (), (format, version))

void check_type(const types::Expr& t, const Lock& lock, const std::string& where) {
  if (t.element) return check_type(*t.element, lock, where);
  if (t.kind != schema::Kind::message) return;
  const auto named = [&](const auto& e) { return e.name == t.name; };
  if (std::none_of(lock.messages.begin(), lock.messages.end(), named) &&
      std::none_of(lock.enums.begin(), lock.enums.end(), named)) {
    problem(where + ": type \"" + t.name + "\" is no message or enum of the lock");
  }
}

void validate(const Lock& lock) {
  const auto by_name = [](const auto& e) -> std::string_view { return e.name; };
  const auto self = [](const std::string& s) -> std::string_view { return s; };
  unique(lock.contracts, by_name, "contracts");
  unique(lock.messages, by_name, "messages");
  unique(lock.enums, by_name, "enums");
  for (const auto& m : lock.messages) {
    for (const auto& e : lock.enums) {
      if (e.name == m.name) problem("\"" + m.name + "\" is both a message and an enum");
    }
  }
  for (const auto& m : lock.messages) {
    const std::string where = "message " + m.name;
    unique(m.fields, by_name, where + " fields");
    unique(m.reserved, self, where + " reserved");
    for (const auto& f : m.fields) {
      const std::string field_where = where + " field " + f.name;
      try {
        check_type(types::parse(f.type), lock, field_where);
      } catch (const std::invalid_argument& e) {
        problem(field_where + ": " + e.what());
      }
    }
  }
  for (const auto& e : lock.enums) {
    unique(e.values, self, "enum " + e.name + " values");
    if (e.fallback && std::find(e.values.begin(), e.values.end(), *e.fallback) == e.values.end()) {
      problem("enum " + e.name + ": the fallback \"" + *e.fallback + "\" is not one of its values");
    }
  }
  for (const auto& c : lock.contracts) {
    unique(c.operations, by_name, "contract " + c.name + " operations");
    for (const auto& op : c.operations) {
      const std::string where = "operation " + c.name + "/" + op.name;
      unique(op.raises, self, where + " raises");
      for (const auto& code : op.raises) {
        if (!code_from_string(code)) problem(where + ": raises \"" + code + "\", which is no fault code");
      }
      for (const auto* side : {&op.request, &op.reply}) {
        const auto named = [&](const Message& m) { return m.name == *side; };
        if (std::none_of(lock.messages.begin(), lock.messages.end(), named)) {
          problem(where + ": " + (side == &op.request ? "request" : "reply") + " \"" + *side +
                  "\" is no message of the lock");
        }
      }
    }
  }
  for (const auto& a : lock.acknowledgements) {
    if (!rules::known(a.rule)) problem("acknowledgement of \"" + a.rule + "\", which is no rule");
    if (a.where.empty()) problem("acknowledgement of " + a.rule + ": no \"where\"");
    if (a.reason.empty()) problem("acknowledgement of " + a.rule + " at " + a.where + ": no reason");
  }
}

}  // namespace

std::string to_text(const Lock& lock) { return pretty(json::encode(lock)); }

Lock from_text(std::string_view text) {
  Header header;
  try {
    header = json::decode<Header>(text);
  } catch (const Fault& f) {
    problem("not valid JSON: " + f.message());
  }
  if (header.format != kFormat) {
    problem("not a pit contract lock (its \"format\" is not \"" + std::string{kFormat} + "\")");
  }
  if (header.version != kVersion) {
    problem("lock format version " + std::to_string(header.version) + " is unknown to this pit (it reads version " +
            std::to_string(kVersion) + ")");
  }
  Lock lock;
  try {
    lock = json::decode<Lock>(text);
  } catch (const Fault& f) {
    problem(f.message());
  }
  validate(lock);
  return lock;
}

}  // namespace pit::lock::file
