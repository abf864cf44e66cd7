// trace_file.hpp — a trace written by procctx::trace, parsed strictly (any
// JSON error fails the test), with lookups by lane for the assertions.
#pragma once

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace procctx::test {

// A fresh file name for a test's trace.
inline std::string trace_path(const std::string& name) {
  return ::testing::TempDir() + "procctx-" + name + "-" + std::to_string(::getpid()) + ".json";
}

class TraceFile {
 public:
  explicit TraceFile(const std::string& path) {
    std::ifstream in{path};
    if (!in) {
      error_ = "cannot open " + path;
      return;
    }
    try {
      doc = nlohmann::json::parse(in);
      events = doc.at("traceEvents").get<std::vector<nlohmann::json>>();
    } catch (const std::exception& e) {
      error_ = path + ": " + e.what();
    }
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // The first event on lane `tid` with phase `ph` (and `name`, if given).
  const nlohmann::json* find(long long tid, std::string_view ph, std::string_view name = {}) const {
    for (const auto& e : events) {
      if (e.value("tid", -1LL) == tid && e.value("ph", "") == ph &&
          (name.empty() || e.value("name", "") == name))
        return &e;
    }
    return nullptr;
  }
  // The last event with phase `ph` whose name starts with `prefix` ("group #"),
  // and how many there are.
  const nlohmann::json* find_prefix(std::string_view ph, std::string_view prefix,
                                    int* count = nullptr) const {
    const nlohmann::json* found = nullptr;
    int n = 0;
    for (const auto& e : events) {
      if (e.value("ph", "") == ph && e.value("name", "").rfind(prefix, 0) == 0) {
        found = &e;
        ++n;
      }
    }
    if (count) *count = n;
    return found;
  }
  // Every event on lane `tid`, for failure messages.
  std::string lane(long long tid) const {
    std::string out = "lane " + std::to_string(tid) + ":\n";
    for (const auto& e : events) {
      if (e.value("tid", -1LL) == tid) out += e.dump() + "\n";
    }
    return out;
  }

  nlohmann::json doc;
  std::vector<nlohmann::json> events;

 private:
  std::string error_;
};

// An event's timestamp, in microseconds.
inline double ts(const nlohmann::json& e) { return e.at("ts").get<double>(); }

}  // namespace procctx::test
