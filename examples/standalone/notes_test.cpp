// The notes service keeps every guarantee pit makes (docs/testing.md): the conformance kit
// checks each of its operations, in-process and over HTTP on loopback, and its contract
// against the committed lock. Built when GoogleTest is found; run with ctest.
#include <pit/testing/gtest.hpp>

#include "notes.hpp"
#include "notes_service.hpp"

TEST(Notes, KeepsPitsGuarantees) {
  pit::HostOptions options = pit::Config::defaults();  // what main() reads, without a file
  options.http.listen = "127.0.0.1:0";                  // so the kit checks HTTP too
  pit::Host host{options};
  host.serve<notes::v1::Notes, notes::NotesService>();
  pit::testing::Hints hints;
  hints.requests["notes.v1.Notes/add"] = R"({"text":"buy milk"})";  // an empty text is refused
  hints.lock_file = NOTES_CONTRACTS_LOCK;
  pit::testing::expect_guarantees(host, hints);
}
