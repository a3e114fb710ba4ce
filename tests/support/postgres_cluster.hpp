// PostgreSQL for the C++ tests (tests/support/pg_cluster.sh).
//
// shared_postgres_url(): the cluster the CTest fixture `postgres` started for the whole run
// (PIT_TEST_POSTGRES_URL, or the url file the fixture wrote). A test that stops its server
// starts one of its own instead:
//
//   pit::testing::PostgresCluster pg;   // initdb + start, about 2 s; destroyed with the object
//   pg.url(); pg.down(); pg.up();
#pragma once

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace pit::testing {

inline std::string shared_postgres_url() {
  if (const char* url = std::getenv("PIT_TEST_POSTGRES_URL"); url != nullptr && *url != '\0') return url;
  std::ifstream file(PIT_TEST_POSTGRES_URL_FILE);
  std::string url;
  std::getline(file, url);
  if (url.empty()) {
    throw std::runtime_error("no PostgreSQL for the tests: set PIT_TEST_POSTGRES_URL, or run through ctest (fixture "
                             "postgres_start writes " PIT_TEST_POSTGRES_URL_FILE ")");
  }
  return url;
}

class PostgresCluster {
 public:
  PostgresCluster() {
    char dir_template[] = "/tmp/pit-pg-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
    parent_ = dir_template;
    ::chmod(dir_template, 0755);  // as root, the cluster's owner (postgres) must reach into it
    dir_ = parent_ + "/cluster";
    std::string command = script("start") + " >" + parent_ + "/url.out";
    if (std::system(command.c_str()) != 0) {
      cleanup();
      throw std::runtime_error("pg_cluster.sh start failed");
    }
    std::ifstream file(dir_ + "/url");
    std::getline(file, url_);
  }
  ~PostgresCluster() { cleanup(); }
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  void down() { run("down"); }
  void up() { run("up"); }

 private:
  [[nodiscard]] std::string script(const char* command) const {
    return std::string(PIT_SOURCE_DIR) + "/tests/support/pg_cluster.sh " + command + " " + dir_;
  }
  void run(const char* command) {
    const std::string line = script(command);
    if (std::system(line.c_str()) != 0) throw std::runtime_error(line + " failed");
  }
  void cleanup() noexcept {
    const std::string line = script("destroy") + "; rm -rf " + parent_;
    (void)std::system(line.c_str());
  }

  std::string parent_;
  std::string dir_;
  std::string url_;
};

}  // namespace pit::testing
