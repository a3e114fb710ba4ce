#include "config/toml_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include "config/app_settings.hpp"
#include "config/did_you_mean.hpp"
#include "config/key_table.hpp"
#include "config/value_check.hpp"
#include "outbound/client_options.hpp"
#include "pit/config.hpp"

namespace pit::config {
namespace {

[[noreturn]] void fail_at(std::string_view source, const toml::source_region& where, std::string_view key,
                          std::string_view reason) {
  std::ostringstream out;
  out << source << ':' << where.begin.line << ':' << where.begin.column << ": " << key << ": " << reason;
  throw ConfigError(out.str());
}

std::string node_type(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A key as it would be written in a TOML file: segments that are not bare keys quoted.
std::string key_path(const std::vector<std::string_view>& segments) {
  std::string path;
  for (const auto segment : segments) {
    if (!path.empty()) path += '.';
    const bool bare = !segment.empty() && std::all_of(segment.begin(), segment.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
    path += bare ? std::string{segment} : quoted(segment);
  }
  return path;
}

class FileReader {
 public:
  FileReader(std::string_view source, HostOptions& options, AppRead* app)
      : source_(source), options_(options), app_(app) {}

  void read(const toml::table& root) {
    for (const auto& [key, node] : root) {
      const std::string_view section = key.str();
      if (section == "contracts") {
        read_contracts(key, node);
        continue;
      }
      if (section == "app") {
        read_app(key, node);
        continue;
      }
      if (section == "clients") {
        read_clients(key, node);
        continue;
      }
      if (std::find(sections().begin(), sections().end(), section) == sections().end()) {
        std::vector<std::string> candidates{sections().begin(), sections().end()};
        candidates.emplace_back("contracts");
        candidates.emplace_back("clients");
        candidates.emplace_back("app");
        fail_at(source_, key.source(), key_path({section}), unknown("key", section, candidates));
      }
      const auto* table = node.as_table();
      if (table == nullptr) {
        fail_at(source_, node.source(), section, "expected a table, got " + node_type(node));
      }
      for (const auto& [name, value] : *table) read_setting(section, name, value);
    }
  }

 private:
  void read_setting(std::string_view section, const toml::key& name, const toml::node& node) {
    const std::string full = key_path({section, name.str()});
    const auto table = settings();
    const auto found =
        std::find_if(table.begin(), table.end(), [&](const Setting& s) { return s.name == full; });
    if (found == table.end()) {
      std::vector<std::string> candidates;
      candidates.reserve(table.size());
      for (const auto& s : table) candidates.emplace_back(s.name);
      fail_at(source_, name.source(), full, unknown("key", full, candidates));
    }
    found->apply(options_, value_of(full, found->kind, found->min, found->max, node));
  }

  void read_contracts(const toml::key& key, const toml::node& node) {
    const auto* contracts = node.as_table();
    if (contracts == nullptr) {
      fail_at(source_, node.source(), key.str(), "expected a table, got " + node_type(node));
    }
    for (const auto& [name, contract] : *contracts) {
      const std::string_view contract_name = name.str();
      const std::string where = key_path({"contracts", contract_name});
      if (!contract_name_valid(contract_name)) {
        fail_at(source_, name.source(), where, "not a contract name (letters, digits, '.' and '_')");
      }
      const auto* table = contract.as_table();
      if (table == nullptr) {
        fail_at(source_, contract.source(), where, "expected a table, got " + node_type(contract));
      }
      const std::string contract_key{contract_name};
      options_.operations[contract_key];  // kept even when empty: the host validates the names at start
      for (const auto& [setting, value] : *table) {
        if (setting.str() == "operations") {
          read_operations(contract_key, value);
        } else {
          read_operation_setting(contract_key, {"contracts", contract_name}, setting, value, true);
        }
      }
    }
  }

  void read_operations(const std::string& contract, const toml::node& node) {
    const std::string where = key_path({"contracts", contract, "operations"});
    const auto* operations = node.as_table();
    if (operations == nullptr) {
      fail_at(source_, node.source(), where, "expected a table, got " + node_type(node));
    }
    for (const auto& [name, operation] : *operations) {
      const std::string_view operation_name = name.str();
      const std::string op_where = key_path({"contracts", contract, "operations", operation_name});
      if (!operation_name_valid(operation_name)) {
        fail_at(source_, name.source(), op_where, "not an operation name (an identifier)");
      }
      const auto* table = operation.as_table();
      if (table == nullptr) {
        fail_at(source_, operation.source(), op_where, "expected a table, got " + node_type(operation));
      }
      const std::string operation_key = contract + "/" + std::string{operation_name};
      options_.operations[operation_key];
      for (const auto& [setting, value] : *table) {
        read_operation_setting(operation_key, {"contracts", contract, "operations", operation_name}, setting,
                               value, false);
      }
    }
  }

  // A key of a contract's table (contract_level) or of one of its operations' tables.
  void read_operation_setting(const std::string& target, std::vector<std::string_view> path,
                              const toml::key& key, const toml::node& node, bool contract_level) {
    path.push_back(key.str());
    const std::string full = key_path(path);
    const auto table = operation_settings();
    const auto found = std::find_if(table.begin(), table.end(),
                                    [&](const OperationSetting& s) { return s.name == key.str(); });
    if (found == table.end()) {
      std::vector<std::string> candidates;
      candidates.reserve(table.size() + 1);
      for (const auto& s : table) candidates.emplace_back(s.name);
      if (contract_level) candidates.emplace_back("operations");
      fail_at(source_, key.source(), full,
              unknown("key", key.str(), candidates));  // suggested: the key alone
    }
    found->apply(options_.operations[target], value_of(full, found->kind, found->min, found->max, node));
  }

  static bool contract_name_valid(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_';
    });
  }

  static bool operation_name_valid(std::string_view name) {
    return !name.empty() && std::isdigit(static_cast<unsigned char>(name.front())) == 0 &&
           std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
  }

  // [clients."<contract>"]: how this host calls that contract over HTTP. Each key is
  // checked where it stands; then the keys that must agree with each other, at the later
  // of them; then whatever else outbound::validate refuses, at the contract's name.
  void read_clients(const toml::key& key, const toml::node& node) {
    const auto* clients = node.as_table();
    if (clients == nullptr) fail_at(source_, node.source(), key.str(), "expected a table, got " + node_type(node));
    for (const auto& [name, client] : *clients) {
      const std::string_view contract_name = name.str();
      const std::string where = key_path({"clients", contract_name});
      if (!contract_name_valid(contract_name)) {
        fail_at(source_, name.source(), where, "not a contract name (letters, digits, '.' and '_')");
      }
      const auto* table = client.as_table();
      if (table == nullptr) fail_at(source_, client.source(), where, "expected a table, got " + node_type(client));
      const std::string contract_key{contract_name};
      ClientOptions& options = options_.clients[contract_key];
      std::map<std::string_view, const toml::key*> seen;
      for (const auto& [setting, value] : *table) {
        seen[setting.str()] = &setting;
        if (setting.str() == "operations") {
          read_client_operations(contract_key, options, value);
        } else {
          read_client_setting(contract_key, options, setting, value);
        }
      }
      auto at = [&](std::string_view a) { return seen.contains(a) ? seen.at(a) : nullptr; };
      // The one of two keys written later in the file (toml++ keeps a table's keys sorted).
      auto later = [&](std::string_view a, std::string_view b) {
        const toml::key* x = at(a);
        const toml::key* y = at(b);
        if (x == nullptr || y == nullptr) return x != nullptr ? x : y;
        const auto& px = x->source().begin;
        const auto& py = y->source().begin;
        return (px.line > py.line || (px.line == py.line && px.column > py.column)) ? x : y;
      };
      auto fail_key = [&](const toml::key* k, const std::string& reason) {
        fail_at(source_, k->source(), key_path({"clients", contract_name, k->str()}), reason);
      };
      if (at("endpoints") != nullptr && at("dns") != nullptr) {
        fail_key(later("endpoints", "dns"), "set endpoints or dns, not both");
      }
      if (options.retry.backoff_base > options.retry.backoff_max) {
        fail_key(later("retry_backoff_base_ms", "retry_backoff_max_ms"),
                 "retry_backoff_base_ms (" + std::to_string(options.retry.backoff_base.count()) +
                     ") exceeds retry_backoff_max_ms (" + std::to_string(options.retry.backoff_max.count()) + ")");
      }
      if (options.outlier.base_ejection > options.outlier.max_ejection) {
        fail_key(later("outlier_base_ejection_ms", "outlier_max_ejection_ms"),
                 "outlier_base_ejection_ms (" + std::to_string(options.outlier.base_ejection.count()) +
                     ") exceeds outlier_max_ejection_ms (" + std::to_string(options.outlier.max_ejection.count()) +
                     ")");
      }
      try {
        outbound::validate(options, contract_name);
      } catch (const std::invalid_argument& e) {
        std::string reason = e.what();
        const std::string prefix = "pit: clients." + quoted(contract_name) + ": ";
        if (reason.starts_with(prefix)) reason.erase(0, prefix.size());
        fail_at(source_, name.source(), where, reason);
      }
    }
  }

  void read_client_setting(const std::string& contract, ClientOptions& options, const toml::key& key,
                           const toml::node& node) {
    const std::string full = key_path({"clients", contract, key.str()});
    const auto table = client_settings();
    const auto found =
        std::find_if(table.begin(), table.end(), [&](const ClientSetting& s) { return s.name == key.str(); });
    if (found == table.end()) {
      std::vector<std::string> candidates;
      candidates.reserve(table.size() + 1);
      for (const auto& s : table) candidates.emplace_back(s.name);
      candidates.emplace_back("operations");
      fail_at(source_, key.source(), full, unknown("key", key.str(), candidates));
    }
    found->apply(options, value_of(full, found->kind, found->min, found->max, node));
  }

  void read_client_operations(const std::string& contract, ClientOptions& options, const toml::node& node) {
    const std::string where = key_path({"clients", contract, "operations"});
    const auto* operations = node.as_table();
    if (operations == nullptr) fail_at(source_, node.source(), where, "expected a table, got " + node_type(node));
    for (const auto& [name, operation] : *operations) {
      const std::string_view operation_name = name.str();
      const std::string op_where = key_path({"clients", contract, "operations", operation_name});
      if (!operation_name_valid(operation_name)) {
        fail_at(source_, name.source(), op_where, "not an operation name (an identifier)");
      }
      const auto* table = operation.as_table();
      if (table == nullptr) {
        fail_at(source_, operation.source(), op_where, "expected a table, got " + node_type(operation));
      }
      ClientOperationOptions& op = options.operations[std::string{operation_name}];
      const auto settings = client_operation_settings();
      for (const auto& entry : *table) {
        // Named, not a structured binding: clang 14 cannot capture one in a lambda.
        const toml::key& setting = entry.first;
        const toml::node& value = entry.second;
        const std::string full = key_path({"clients", contract, "operations", operation_name, setting.str()});
        const auto found = std::find_if(settings.begin(), settings.end(),
                                        [&](const ClientOperationSetting& s) { return s.name == setting.str(); });
        if (found == settings.end()) {
          std::vector<std::string> candidates;
          for (const auto& s : settings) candidates.emplace_back(s.name);
          fail_at(source_, setting.source(), full, unknown("key", setting.str(), candidates));
        }
        found->apply(op, value_of(full, found->kind, found->min, found->max, value));
      }
    }
  }

  // [app]: only the keys the service declared, each checked by its declared type and range.
  void read_app(const toml::key& key, const toml::node& node) {
    if (app_ == nullptr || app_->keys.empty()) {
      fail_at(source_, key.source(), "app", "unknown key (this service declares no application settings)");
    }
    const auto* table = node.as_table();
    if (table == nullptr) fail_at(source_, node.source(), "app", "expected a table, got " + node_type(node));
    for (const auto& [name, value] : *table) {
      const std::string full = key_path({"app", name.str()});
      const auto index = app_->find(name.str());
      if (!index) fail_at(source_, name.source(), full, unknown("key", full, app_->names("app.")));
      app_->values[*index] = app_value_of(full, *app_->keys[*index], value);
    }
  }

  AppValue app_value_of(const std::string& key, const AppSettings::Declared& declared,
                        const toml::node& node) {
    AppValue value;
    bool typed = false;
    switch (declared.kind) {
      case AppKind::integer:
      case AppKind::duration:
        typed = node.is_integer();
        if (typed) value = node.as_integer()->get();
        break;
      case AppKind::boolean:
        typed = node.is_boolean();
        if (typed) value = node.as_boolean()->get();
        break;
      case AppKind::string:
        typed = node.is_string();
        if (typed) value = node.as_string()->get();
        break;
      case AppKind::strings:
        typed = node.is_array();
        if (typed) value = strings_of(key, *node.as_array());
        break;
    }
    if (!typed) {
      fail_at(source_, node.source(), key,
              "expected " + with_article(declared.kind) + ", got " + node_type(node));
    }
    if (auto reason = declared.check(value); !reason.empty()) fail_at(source_, node.source(), key, reason);
    return value;
  }

  std::vector<std::string> strings_of(const std::string& key, const toml::array& array) {
    std::vector<std::string> items;
    items.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
      const toml::node& item = *array.get(i);
      if (!item.is_string()) {
        fail_at(source_, item.source(), key + "[" + std::to_string(i) + "]",
                "expected a string, got " + node_type(item));
      }
      items.push_back(item.as_string()->get());
    }
    return items;
  }

  // A list of URLs: each element checked where it stands.
  std::vector<std::string> urls_of(const std::string& key, const toml::node& node) {
    const auto* array = node.as_array();
    if (array == nullptr) fail_at(source_, node.source(), key, "expected an array of strings, got " + node_type(node));
    if (array->empty()) {
      fail_at(source_, node.source(), key, "an empty list: give at least one endpoint, or leave endpoints out");
    }
    std::vector<std::string> urls = strings_of(key, *array);
    for (std::size_t i = 0; i < urls.size(); ++i) {
      if (auto why = url_problem(urls[i]); !why.empty()) {
        fail_at(source_, array->get(i)->source(), key + "[" + std::to_string(i) + "]", why);
      }
    }
    return urls;
  }

  Value value_of(const std::string& key, Kind kind, std::int64_t min, std::int64_t max,
                 const toml::node& node) {
    Value value;
    if (kind == Kind::urls) {
      value = urls_of(key, node);
    } else if (kind == Kind::number && (node.is_integer() || node.is_floating_point())) {
      value = node.is_integer() ? static_cast<double>(node.as_integer()->get()) : node.as_floating_point()->get();
    } else if (kind == Kind::integer && node.is_integer()) {
      value = node.as_integer()->get();
    } else if (kind == Kind::boolean && node.is_boolean()) {
      value = node.as_boolean()->get();
    } else if (kind != Kind::integer && kind != Kind::boolean && kind != Kind::number && node.is_string()) {
      value = node.as_string()->get();
    } else {
      fail_at(source_, node.source(), key, "expected " + with_article(kind) + ", got " + node_type(node));
    }
    if (auto reason = check(kind, min, max, value); !reason.empty()) {
      fail_at(source_, node.source(), key, reason);
    }
    return value;
  }

  std::string_view source_;
  HostOptions& options_;
  AppRead* app_;  // null: the service declared no [app] settings
};

}  // namespace

void apply_file(std::string_view text, std::string_view source, HostOptions& options, AppRead* app) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream out;
    out << source << ':' << e.source().begin.line << ':' << e.source().begin.column << ": "
        << e.description();
    throw ConfigError(out.str());
  }
  FileReader{source, options, app}.read(root);
}

}  // namespace pit::config
