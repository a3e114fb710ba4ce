// grpc_server — gRPC C++ (the distribution's libgrpc++) serving the same operation as
// pit_server: bench.v1.Echo/echo, echo the text, n + 1. Callback (reactor) API, the one
// gRPC recommends for new C++ servers: the handler runs inline on gRPC's own threads, no
// thread hop. Plaintext HTTP/2 (h2c) on 127.0.0.1:PORT until SIGTERM/SIGINT.
//
//   grpc_server PORT
//
// See bench/README.md ("HTTP load"); grpc_tool writes h2load's request body and checks
// a running server.
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "echo.grpc.pb.h"

namespace {

class EchoService final : public bench::v1::Echo::CallbackService {
  grpc::ServerUnaryReactor* echo(grpc::CallbackServerContext* context, const bench::v1::EchoRequest* request,
                                 bench::v1::EchoReply* reply) override {
    reply->set_text(request->text());
    reply->set_n(request->n() + 1);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: grpc_server PORT\n";
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before gRPC starts its threads

  EchoService service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(std::string("127.0.0.1:") + argv[1], grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::cerr << "grpc_server: cannot listen on port " << argv[1] << "\n";
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown();
  server->Wait();
  return 0;
}
