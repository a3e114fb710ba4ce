// pit::lock's entry points: read the lock, build the code's snapshot, compare, report.
#include "pit/lock.hpp"

#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>

#include "lock/lock_file.hpp"
#include "lock/rules.hpp"
#include "lock/snapshot.hpp"
#include "pit/host.hpp"
#include "pit/json.hpp"

namespace pit::lock {
namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  json::append_escaped(out, s);
  out += '"';
  return out;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

}  // namespace

Report::Report(std::string lock_path, std::vector<Finding> findings, std::string lock_error)
    : path_(std::move(lock_path)), findings_(std::move(findings)), lock_error_(std::move(lock_error)) {}

bool Report::ok() const noexcept {
  if (!lock_error_.empty()) return false;
  for (const auto& f : findings_) {
    if (f.severity == Severity::breaking && !f.acknowledged) return false;
  }
  return true;
}

int Report::exit_code() const noexcept {
  if (!lock_error_.empty()) return 2;
  return ok() ? 0 : 1;
}

std::string Report::text() const {
  if (!lock_error_.empty()) return "contract lock " + lock_error_ + "\n";
  std::size_t breaking = 0;
  std::size_t acknowledged = 0;
  std::size_t warnings = 0;
  for (const auto& f : findings_) {
    if (f.severity == Severity::warning) {
      ++warnings;
    } else if (f.acknowledged) {
      ++acknowledged;
    } else {
      ++breaking;
    }
  }
  std::string out = path_ + ": ";
  out += breaking == 0 ? "the contracts honour the lock" : std::to_string(breaking) + " breaking change(s)";
  if (acknowledged > 0) out += ", " + std::to_string(acknowledged) + " acknowledged";
  if (warnings > 0) out += ", " + std::to_string(warnings) + " warning(s)";
  out += "\n";
  for (const auto& f : findings_) {
    const char* label = f.severity == Severity::warning ? "warning" : f.acknowledged ? "acknowledged" : "BREAKING";
    out += "  " + std::string{label} + " " + f.rule + " at " + f.where + "\n      " + f.message + "\n";
    if (f.acknowledged) out += "      reason: " + *f.acknowledged + "\n";
  }
  if (breaking > 0) {
    out += "A break that is intended passes once " + path_ +
           " acknowledges it: add to its \"acknowledgements\" (or serve the change under a new contract "
           "version name), e.g.\n";
    for (const auto& f : findings_) {
      if (f.severity != Severity::breaking || f.acknowledged) continue;
      out += "  {\"reason\": \"<why callers are not hurt>\", \"rule\": " + quoted(f.rule) +
             ", \"where\": " + quoted(f.where) + "}\n";
    }
  }
  return out;
}

std::string Report::failures() const { return ok() ? std::string{} : text(); }

std::ostream& operator<<(std::ostream& out, const Report& report) { return out << report.text(); }

std::string snapshot(const Contracts& contracts) { return file::to_text(snapshot_of(contracts)); }

Report compare(const Contracts& contracts, std::string_view lock_text, std::string_view source_name) {
  const std::string name{source_name};
  file::Lock locked;
  try {
    locked = file::from_text(lock_text);
  } catch (const file::LockProblem& e) {
    return Report{name, {}, name + ": " + e.what()};
  }
  return Report{name, rules::compare(locked, snapshot_of(contracts))};
}

Report check(const Contracts& contracts, const std::string& path) {
  const auto text = read_file(path);
  if (!text) {
    return Report{path, {}, path + ": cannot be read (missing?); write it with `--contract-lock write " + path + "`"};
  }
  return compare(contracts, *text, path);
}

Report check(const Host& host, const std::string& path) { return check(host.contracts(), path); }

Report write(const Contracts& contracts, const std::string& path) {
  Report report{path, {}};
  if (const auto existing = read_file(path)) {
    report = compare(contracts, *existing, path);
    if (!report.lock_error().empty()) {
      return Report{path, {}, report.lock_error() + " (not overwritten: fix it, or delete it to start afresh)"};
    }
    if (!report.ok()) return report;
  }
  // Written beside, then renamed: a reader never sees half a lock.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << snapshot(contracts);
    out.close();
    if (!out) return Report{path, {}, path + ": cannot be written"};
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return Report{path, {}, path + ": cannot be written"};
  }
  return report;
}

Report write(const Host& host, const std::string& path) { return write(host.contracts(), path); }

int run_command(const Contracts& contracts, const std::vector<std::string>& args, std::ostream& out) {
  if (args.size() != 2 || (args[0] != "check" && args[0] != "write")) {
    out << "usage: --contract-lock check FILE | --contract-lock write FILE\n";
    return 2;
  }
  Report report;
  try {
    report = args[0] == "check" ? check(contracts, args[1]) : write(contracts, args[1]);
  } catch (const std::exception& e) {  // the contracts cannot be described (two types of one name)
    out << "pit: contract lock: " << e.what() << "\n";
    return 2;
  }
  if (args[0] == "write" && report.exit_code() == 0) {
    out << args[1] << ": written (" << contracts.size() << " contract(s))\n";
  } else {
    out << report.text();
  }
  return report.exit_code();
}

}  // namespace pit::lock
