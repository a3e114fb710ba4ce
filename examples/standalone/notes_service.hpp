// The notes service's implementation: naive code; pit adds the guarantees (and
// notes_test.cpp checks them on it).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "notes.hpp"

namespace notes {

class NotesService final : public notes::v1::Notes {
  pit::Task<notes::v1::NoteId> add(notes::v1::AddNote req) override {
    if (req.text.empty()) throw pit::Fault::invalid_argument("a note needs some text");
    std::lock_guard lock{mutex_};
    const int id = ++last_id_;
    notes_[id] = req.text;
    pit::log::info("note added", {{"id", std::to_string(id)}});
    co_return notes::v1::NoteId{id};
  }

  notes::v1::Note get(notes::v1::NoteId req) override {
    std::lock_guard lock{mutex_};
    auto it = notes_.find(req.id);
    if (it == notes_.end()) throw pit::Fault::not_found("no such note");
    return {it->first, it->second};
  }

  std::mutex mutex_;
  int last_id_ = 0;
  std::map<int, std::string> notes_;
};

}  // namespace notes
