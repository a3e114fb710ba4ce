// The notes service: add a note, get it back. Serves over HTTP until SIGTERM; with
// --self-check it starts on a free port, calls itself over HTTP and exits 0 if every
// answer is right.
#include <iostream>
#include <string>
#include <string_view>

#include "notes.hpp"
#include "notes_service.hpp"

namespace {

bool expect(bool ok, std::string_view what) {
  std::cerr << (ok ? "ok:     " : "FAILED: ") << what << "\n";
  return ok;
}

pit::Code code_of_get(pit::Ref<notes::v1::Notes>& notes, int id) {
  try {
    notes->get({id});
    return pit::Code::ok;
  } catch (const pit::Fault& fault) {
    return fault.code();
  }
}

int self_check(pit::Host& host) {
  host.start();
  auto notes = host.client<notes::v1::Notes>("http://127.0.0.1:" + std::to_string(host.http_port()));
  bool ok = true;
  const notes::v1::NoteId id = pit::block_on(notes->add({"buy milk"}));
  ok &= expect(notes->get(id).text == "buy milk", "a note added over HTTP comes back");
  ok &= expect(code_of_get(notes, id.id + 1) == pit::Code::not_found, "an unknown note is not_found");
  try {
    pit::block_on(notes->add({""}));
    ok &= expect(false, "an empty note is refused");
  } catch (const pit::Fault& fault) {
    ok &= expect(fault.code() == pit::Code::invalid_argument, "an empty note is invalid_argument");
  }
  host.stop();
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc > 1 && std::string_view{argv[1]} == "--self-check";
  pit::HostOptions options = pit::Config::from_args(argc, argv);
  if (check) {
    options.http.listen = "127.0.0.1:0";  // a free port
    options.admin.listen = "";
  }
  pit::Host host{options};
  host.serve<notes::v1::Notes, notes::NotesService>();
  if (check) return self_check(host);
  return host.run();
}
