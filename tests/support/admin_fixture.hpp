// HostTest with the admin listener on a free loopback port: for tests that read /metrics
// or /readyz over real HTTP.
#pragma once

#include <string>

#include "support/host_fixture.hpp"
#include "support/raw_http.hpp"

namespace shop {

class HostWithAdminTest : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.admin.listen = "127.0.0.1:0";
    return o;
  }
  // The sum of every sample of metric `name` on /metrics (-1 if the page could not be read).
  long metric(const std::string& name) const { return rawhttp::metric_sum(host->admin_port(), name); }
};

}  // namespace shop
