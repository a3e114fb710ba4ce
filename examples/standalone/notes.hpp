// The contract: what every caller of the notes service sees.
#pragma once

#include <boost/describe.hpp>
#include <string>

#include <pit/pit.hpp>

namespace notes::v1 {

struct AddNote {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(AddNote, (), (text))
struct NoteId {
  int id = 0;
};
BOOST_DESCRIBE_STRUCT(NoteId, (), (id))
struct Note {
  int id = 0;
  std::string text;
};
BOOST_DESCRIBE_STRUCT(Note, (), (id, text))

class Notes {
 public:
  virtual ~Notes() = default;
 protected:
  virtual pit::Task<NoteId> add(AddNote) = 0;
  virtual Note get(NoteId) = 0;
};
// A scratchpad on loopback with no identity provider: open to anyone, and saying why
// (a real service declares .require(pit::scope(...)); docs/security.md).
PIT_CONTRACT(Notes, "notes.v1.Notes",
             (add, pit::OpSpec{}.anonymous("local scratchpad example").raises(pit::Code::invalid_argument)),
             (get, pit::OpSpec{}.anonymous("local scratchpad example").raises(pit::Code::not_found).idempotent()));

}  // namespace notes::v1
