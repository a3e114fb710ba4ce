// grpc_tool — helpers for the gRPC leg of the HTTP load test.
//
//   grpc_tool body FILE [TEXT N]  writes one gRPC message frame (flag byte 0, 4-byte
//                                 big-endian length, protobuf EchoRequest) to FILE: the
//                                 request body h2load posts (`h2load -d FILE`).
//   grpc_tool check 127.0.0.1:PORT
//                                 calls echo once through a real gRPC stub and checks the
//                                 reply (exit 0 if it is right).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "echo.grpc.pb.h"

int main(int argc, char** argv) {
  const std::string_view mode = argc >= 3 ? argv[1] : "";
  if (mode == "body" && (argc == 3 || argc == 5)) {
    bench::v1::EchoRequest req;
    req.set_text(argc == 5 ? argv[3] : "hello, world");
    req.set_n(argc == 5 ? std::atoi(argv[4]) : 42);
    const std::string payload = req.SerializeAsString();
    const auto len = static_cast<std::uint32_t>(payload.size());
    std::string frame;
    frame.push_back('\0');
    for (int shift = 24; shift >= 0; shift -= 8) frame.push_back(static_cast<char>((len >> shift) & 0xFFU));
    frame += payload;
    std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
    out.write(frame.data(), static_cast<std::streamsize>(frame.size()));
    return out ? 0 : 1;
  }
  if (mode == "check" && argc == 3) {
    auto stub = bench::v1::Echo::NewStub(grpc::CreateChannel(argv[2], grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    bench::v1::EchoRequest req;
    req.set_text("hello, world");
    req.set_n(42);
    bench::v1::EchoReply reply;
    const grpc::Status status = stub->echo(&context, req, &reply);
    if (!status.ok() || reply.text() != "hello, world" || reply.n() != 43) {
      std::cerr << "grpc_tool check: " << status.error_code() << " " << status.error_message() << " text='"
                << reply.text() << "' n=" << reply.n() << "\n";
      return 1;
    }
    return 0;
  }
  std::cerr << "usage: grpc_tool body FILE [TEXT N] | grpc_tool check HOST:PORT\n";
  return 2;
}
