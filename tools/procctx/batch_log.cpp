#include "batch_log.hpp"

#include "json_text.hpp"

#include <procctx/command.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace procctx::cli::batch {

using json = nlohmann::ordered_json;

namespace {

// Text from jobs and logs is bytes: made valid UTF-8 here, byte by byte as
// the HTML report does, so every writer shows the same text.
json text(std::string_view s) { return valid_utf8(s); }
json texts(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(valid_utf8(s));
  return a;
}

json record_json(const JobRecord& r) {
  json j{{"schema", kJoblogSchema},
         {"id", text(r.id)},
         {"seq", r.seq},
         {"command", text(r.command)},
         {"argv", texts(r.argv)},
         {"start", r.start},
         {"runtime", r.runtime},
         {"exit_code", r.exit_code >= 0 ? json(r.exit_code) : json(nullptr)},
         {"signal", r.signal != 0 ? json(signal_name(r.signal)) : json(nullptr)},
         {"stop", r.stop.empty() ? json(nullptr) : text(r.stop)},
         {"attempt", r.attempt},
         {"final", r.final},
         {"user_cpu", r.user_cpu},
         {"sys_cpu", r.sys_cpu},
         {"max_rss_kib", r.max_rss_kib},
         {"stdout_bytes", r.out_bytes},
         {"stderr_bytes", r.err_bytes},
         {"slot", r.slot},
         {"shard", r.shard.empty() ? json(nullptr) : text(r.shard)},
         {"host", text(r.host)}};
  if (!r.stderr_tail.empty()) j["stderr_tail"] = text(r.stderr_tail);
  return j;
}

bool known_stop(std::string_view s) {
  return std::find(std::begin(kStopReasons), std::end(kStopReasons), s) != std::end(kStopReasons);
}

// Checks one field of a record and stores it; false with `why` set when it
// is there with the wrong type or value. Absent optional fields keep their
// defaults.
class Fields {
 public:
  explicit Fields(const nlohmann::json& j) : j_(j) {}
  std::string why;

  bool text(const char* key, std::string& out, bool required = false, bool nullable = false) {
    auto it = j_.find(key);
    if (it == j_.end() || (nullable && it->is_null())) return !required || fail(key, "is missing");
    if (!it->is_string()) return fail(key, "is not a string");
    out = it->get<std::string>();
    return true;
  }
  template <class T>
  bool whole(const char* key, T& out, double lo, double hi, bool required = false) {
    auto it = j_.find(key);
    if (it == j_.end()) return !required || fail(key, "is missing");
    if (!it->is_number_integer() || static_cast<double>(it->get<std::int64_t>()) < lo ||
        static_cast<double>(it->get<std::int64_t>()) > hi) {
      return fail(key, "is not a whole number in range");
    }
    out = static_cast<T>(it->get<std::int64_t>());
    return true;
  }
  bool real(const char* key, double& out) {
    auto it = j_.find(key);
    if (it == j_.end()) return true;
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0) {
      return fail(key, "is not a non-negative number");
    }
    out = it->get<double>();
    return true;
  }
  bool flag(const char* key, bool& out) {
    auto it = j_.find(key);
    if (it == j_.end()) return true;
    if (!it->is_boolean()) return fail(key, "is not true or false");
    out = it->get<bool>();
    return true;
  }
  bool words(const char* key, std::vector<std::string>& out) {
    auto it = j_.find(key);
    if (it == j_.end()) return true;
    if (!it->is_array()) return fail(key, "is not an array of strings");
    for (const auto& a : *it) {
      if (!a.is_string()) return fail(key, "is not an array of strings");
      out.push_back(a.get<std::string>());
    }
    return true;
  }

 private:
  bool fail(const char* key, const char* what) {
    why = std::string{"\""} + key + "\" " + what;
    return false;
  }
  const nlohmann::json& j_;
};

constexpr double kMaxCount = 9007199254740992.0;  // 2^53: what a JSON number holds exactly

bool read_fields(Fields& f, JobRecord& r) {
  std::string signal, exit_text;
  bool ok = f.text("id", r.id, true) && f.whole("seq", r.seq, 1, kMaxCount, true) && f.text("command", r.command) &&
            f.words("argv", r.argv) && f.real("start", r.start) && f.real("runtime", r.runtime) &&
            f.whole("attempt", r.attempt, 1, 1e6) && f.flag("final", r.final) && f.real("user_cpu", r.user_cpu) &&
            f.real("sys_cpu", r.sys_cpu) && f.whole("max_rss_kib", r.max_rss_kib, 0, kMaxCount) &&
            f.whole("stdout_bytes", r.out_bytes, 0, kMaxCount) && f.whole("stderr_bytes", r.err_bytes, 0, kMaxCount) &&
            f.whole("slot", r.slot, 0, 1e7) && f.text("shard", r.shard, false, true) && f.text("host", r.host) &&
            f.text("stderr_tail", r.stderr_tail) && f.text("signal", signal, false, true) &&
            f.text("stop", r.stop, false, true);
  if (!ok) return false;
  if (r.id.empty()) return (f.why = "\"id\" is empty", false);
  if (!signal.empty() && (r.signal = signal_from_name(signal)) == 0) return (f.why = "\"signal\" is not a signal", false);
  if (!r.stop.empty() && !known_stop(r.stop)) return (f.why = "\"stop\" is not a known stop reason", false);
  return true;
}

}  // namespace

std::string joblog_line(const JobRecord& r) { return json_text(record_json(r)) + "\n"; }

std::string meta_json(const JobRecord& r) { return json_text(record_json(r), 2) + "\n"; }

std::string parallel_joblog_header() { return "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"; }

std::string parallel_joblog_line(const JobRecord& r) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%zu\t:\t%.3f\t% 10.3f\t0\t%llu\t%d\t%d\t", r.seq, r.start, r.runtime,
                static_cast<unsigned long long>(r.out_bytes), r.exit_code >= 0 ? r.exit_code : 0, r.signal);
  std::string line = buf;
  // GNU parallel writes a newline in Command as \0; a tab would shift the columns.
  for (char c : r.command) line += c == '\n' ? std::string{"\\0"} : std::string(1, c == '\t' ? ' ' : c);
  return line + "\n";
}

ParsedLine parse_joblog_line(std::string_view line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    return {std::nullopt, "not JSON"};
  }
  if (!j.is_object() || !j.contains("schema") || j["schema"] != kJoblogSchema) {
    return {std::nullopt, std::string{"not a "} + kJoblogSchema + " record"};
  }
  JobRecord r;
  Fields f{j};
  if (!read_fields(f, r)) return {std::nullopt, f.why};
  if (!j.contains("exit_code") || j["exit_code"].is_null()) {
    r.exit_code = -1;
  } else if (!f.whole("exit_code", r.exit_code, 0, 255)) {
    return {std::nullopt, f.why};
  }
  return {std::move(r), {}};
}

std::vector<JobRecord> read_joblog(std::istream& in, std::size_t& skipped) {
  std::vector<JobRecord> out;
  for (std::string text; std::getline(in, text);) {
    if (text.empty()) continue;
    auto parsed = parse_joblog_line(text);
    if (parsed.record) {
      out.push_back(std::move(*parsed.record));
    } else {
      ++skipped;
    }
  }
  return out;
}

std::map<std::string, JobRecord> last_outcomes(const std::vector<JobRecord>& records) {
  std::map<std::string, JobRecord> last;
  for (const auto& r : records) {
    if (!r.final) continue;
    auto it = last.find(r.id);
    if (it == last.end() || it->second.start <= r.start) last[r.id] = r;
  }
  return last;
}

std::string summary_json(const Summary& s) {
  json losses = json::array();
  for (const auto& l : s.losses) {
    losses.push_back({{"stream", text(l.stream)}, {"error", text(l.error)}, {"jobs", l.jobs}, {"bytes", l.bytes}});
  }
  json j{{"schema", kSummarySchema},
         {"total", s.total},
         {"succeeded", s.succeeded},
         {"failed", s.failed},
         {"not_started", s.not_started},
         {"retried", s.retried},
         {"started_at", s.started_at},
         {"wall_seconds", s.wall},
         {"parallel", s.parallel},
         {"halted", s.halted.empty() ? json(nullptr) : text(s.halted)},
         {"shard", s.shard.empty() ? json(nullptr) : text(s.shard)},
         {"exit_code", s.exit_code},
         {"self_cpu_seconds", s.self_cpu >= 0 ? json(s.self_cpu) : json(nullptr)},
         {"output_lost", losses}};
  return json_text(j, 2) + "\n";
}

}  // namespace procctx::cli::batch
