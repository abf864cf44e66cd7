#include "report.hpp"

#include "json_text.hpp"

#include <nlohmann/json.hpp>

#include <ctime>

namespace procctx::cli {
namespace {

using json = nlohmann::ordered_json;

std::string iso8601(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

std::string tree_name(Tree t) {
  switch (t) {
    case Tree::process_group: return "group";
    case Tree::cgroup: return "cgroup";
    case Tree::none: return "none";
    case Tree::pid_namespace: return "pidns";
  }
  return "unknown";
}

json processes(const std::vector<ProcessRef>& ps) {
  json a = json::array();
  for (const auto& p : ps) a.push_back({{"pid", p.pid}, {"name", p.name}});
  return a;
}

json stream(const StreamReport& s) {
  if (s.relayed) {
    return {{"relayed", true},
            {"bytes", s.bytes},
            {"written", s.written},
            {"error", s.error.empty() ? json(nullptr) : json(s.error)}};
  }
  return {{"relayed", false}, {"bytes", nullptr}, {"why", s.not_relayed_why}};
}

}  // namespace

std::string to_json(const RunReport& r) {
  json j;
  j["schema"] = kRunReportSchema;
  j["argv"] = r.argv;
  j["start"] = iso8601(r.start);
  j["end"] = iso8601(r.end);
  j["exit_code"] = r.exit_code;
  j["error"] = r.error.empty() ? json(nullptr) : json(r.error);
  j["received_signal"] = r.received_signal ? json(signal_name(r.received_signal)) : json(nullptr);
  const Completed* c = r.outcome;
  if (c == nullptr) {
    j["pid"] = nullptr;
    j["status"] = {{"kind", "not_started"}, {"code", nullptr}, {"signal", nullptr}, {"core_dumped", false},
                   {"text", "not started"}};
    if (r.timed_out_before_start) {
      j["stop"] = {{"reason", "deadline"}, {"cause", "context deadline exceeded"}, {"stage", -1},
                   {"sequence", r.stop_sequence}, {"signals", json::array()}};
    }
  } else {
    j["pid"] = c->pid;
    j["wall_seconds"] = seconds(c->wall);
    const ExitStatus& s = c->status;
    j["status"] = {{"kind", s.exited() ? "exited" : (s.signaled() ? "signaled" : "unknown")},
                   {"code", s.exited() ? json(s.code()) : json(nullptr)},
                   {"signal", s.signaled() ? json(signal_name(s.signal())) : json(nullptr)},
                   {"core_dumped", s.core_dumped()},
                   {"text", s.to_string()}};
    json signals = json::array();
    for (const auto& sent : c->signals) {
      signals.push_back(
          {{"signal", signal_name(sent.signal)}, {"at_seconds", seconds(sent.at)}, {"target", tree_name(sent.target)}});
    }
    j["stop"] = {{"reason", std::string{to_string(c->stop_reason)}},
                 {"cause", c->cause.empty() ? json(nullptr) : json(c->cause)},
                 {"stage", c->stop_stage},
                 {"sequence", r.stop_sequence},
                 {"signals", signals}};
    j["rusage"] = {{"user_seconds", seconds(c->rusage.user)},
                   {"system_seconds", seconds(c->rusage.system)},
                   {"max_rss_kib", c->rusage.max_rss_kib}};
    j["tree"] = {{"requested", r.tree_requested},
                 {"used", tree_name(c->tree)},
                 {"why", c->tree_note.empty() ? json(nullptr) : json(c->tree_note)},
                 {"cgroup", c->cgroup.empty() ? json(nullptr) : json(c->cgroup)}};
    j["leftovers"] = {{"policy", r.leftover_policy}, {"processes", processes(c->leftovers)}};
    j["oom_killed"] = c->oom_killed;
  }
  j["output"] = {{"stdout", stream(r.out)}, {"stderr", stream(r.err)}};
  j["pipe_holders"] = processes(r.pipe_holders);
  return json_text(j, 2) + "\n";
}

}  // namespace procctx::cli
