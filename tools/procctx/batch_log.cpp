#include "batch_log.hpp"
#include "json_text.hpp"

#include <procctx/command.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace procctx::cli::batch {

using json = nlohmann::ordered_json;

std::string joblog_line(const JobRecord& r) {
  json j{{"schema", kJoblogSchema},
         {"id", r.id},
         {"seq", r.seq},
         {"command", r.command},
         {"argv", r.argv},
         {"start", r.start},
         {"runtime", r.runtime},
         {"exit_code", r.exit_code >= 0 ? json(r.exit_code) : json(nullptr)},
         {"signal", r.signal != 0 ? json(signal_name(r.signal)) : json(nullptr)},
         {"stop", r.stop.empty() ? json(nullptr) : json(r.stop)},
         {"attempt", r.attempt},
         {"final", r.final},
         {"user_cpu", r.user_cpu},
         {"sys_cpu", r.sys_cpu},
         {"max_rss_kib", r.max_rss_kib},
         {"stdout_bytes", r.out_bytes},
         {"stderr_bytes", r.err_bytes},
         {"slot", r.slot},
         {"shard", r.shard.empty() ? json(nullptr) : json(r.shard)},
         {"host", r.host}};
  return json_text(j) + "\n";
}

std::string parallel_joblog_header() { return "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"; }

std::string parallel_joblog_line(const JobRecord& r) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%zu\t:\t%.3f\t% 10.3f\t0\t%llu\t%d\t%d\t", r.seq, r.start, r.runtime,
                static_cast<unsigned long long>(r.out_bytes), r.exit_code >= 0 ? r.exit_code : 0, r.signal);
  std::string line = buf;
  for (char c : r.command) line += (c == '\n' || c == '\t') ? ' ' : c;
  return line + "\n";
}

std::vector<JobRecord> read_joblog(std::istream& in, std::size_t& skipped) {
  std::vector<JobRecord> out;
  std::string text;
  while (std::getline(in, text)) {
    if (text.empty()) continue;
    try {
      auto j = nlohmann::json::parse(text);
      if (!j.is_object() || j.value("schema", "") != kJoblogSchema) {
        ++skipped;
        continue;
      }
      JobRecord r;
      r.id = j.at("id").get<std::string>();
      r.seq = j.at("seq").get<std::size_t>();
      r.command = j.value("command", "");
      if (j.contains("argv")) r.argv = j["argv"].get<std::vector<std::string>>();
      r.start = j.value("start", 0.0);
      r.runtime = j.value("runtime", 0.0);
      r.exit_code = j["exit_code"].is_number() ? j["exit_code"].get<int>() : -1;
      r.signal = j["signal"].is_string() ? signal_from_name(j["signal"].get<std::string>()) : 0;
      r.stop = j["stop"].is_string() ? j["stop"].get<std::string>() : "";
      r.attempt = j.value("attempt", 1);
      r.final = j.value("final", true);
      r.user_cpu = j.value("user_cpu", 0.0);
      r.sys_cpu = j.value("sys_cpu", 0.0);
      r.max_rss_kib = j.value("max_rss_kib", 0L);
      r.out_bytes = j.value("stdout_bytes", std::uint64_t{0});
      r.err_bytes = j.value("stderr_bytes", std::uint64_t{0});
      r.slot = j.value("slot", std::size_t{0});
      r.shard = j["shard"].is_string() ? j["shard"].get<std::string>() : "";
      r.host = j.value("host", "");
      out.push_back(std::move(r));
    } catch (const std::exception&) {
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
  json j{{"schema", kSummarySchema},
         {"total", s.total},
         {"succeeded", s.succeeded},
         {"failed", s.failed},
         {"not_started", s.not_started},
         {"retried", s.retried},
         {"started_at", s.started_at},
         {"wall_seconds", s.wall},
         {"parallel", s.parallel},
         {"halted", s.halted.empty() ? json(nullptr) : json(s.halted)},
         {"shard", s.shard.empty() ? json(nullptr) : json(s.shard)},
         {"exit_code", s.exit_code}};
  return json_text(j, 2) + "\n";
}

namespace {

std::string html_escape(std::string_view raw) {
  std::string out;
  for (char c : valid_utf8(raw)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string outcome_of(const JobRecord& r) {
  if (r.success()) return "ok";
  if (!r.stop.empty()) return r.stop;
  if (r.signal != 0) return "signal";
  return "failed";
}

std::string fmt(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::string html_report(const Summary& s, const std::vector<JobRecord>& records) {
  std::ostringstream h;
  double t0 = records.empty() ? 0 : records.front().start, t1 = t0;
  std::size_t slots = 1;
  for (const auto& r : records) {
    t0 = std::min(t0, r.start);
    t1 = std::max(t1, r.start + r.runtime);
    slots = std::max(slots, r.slot);
  }
  // Rows per (shard, slot) so merged logs do not draw on top of each other.
  std::map<std::pair<std::string, std::size_t>, std::size_t> rows;
  for (const auto& r : records) rows.emplace(std::make_pair(r.shard, r.slot), 0);
  std::size_t n = 0;
  for (auto& [key, row] : rows) row = n++;
  const double span = std::max(t1 - t0, 1e-3);
  const int width = 1000, row_h = 18, label_w = 90;
  const std::size_t height = rows.size() * row_h + 30;

  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>procctx batch report</title>\n<style>\n"
       "body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
       "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}th{background:#f4f4f4}"
       ".ok{fill:#3a3}.failed{fill:#d33}.signal{fill:#a3a}.timeout{fill:#e90}.deadline{fill:#e60}"
       ".halt,.interrupted{fill:#888}.start_failed{fill:#600}"
       "tr.ok td:first-child{border-left:4px solid #3a3}tr.bad td:first-child{border-left:4px solid #d33}"
       "svg text{font:11px monospace;fill:#555}\n</style></head><body>\n";
  h << "<h1>procctx batch</h1>\n<table id=\"summary\">"
    << "<tr><th>jobs</th><td>" << s.total << "</td></tr>"
    << "<tr><th>succeeded</th><td>" << s.succeeded << "</td></tr>"
    << "<tr><th>failed</th><td>" << s.failed << "</td></tr>"
    << "<tr><th>not started</th><td>" << s.not_started << "</td></tr>"
    << "<tr><th>retried</th><td>" << s.retried << "</td></tr>"
    << "<tr><th>parallel</th><td>" << s.parallel << "</td></tr>"
    << "<tr><th>wall</th><td>" << fmt(s.wall) << " s</td></tr>"
    << "<tr><th>exit code</th><td>" << s.exit_code << "</td></tr>";
  if (!s.halted.empty()) h << "<tr><th>halted</th><td>" << html_escape(s.halted) << "</td></tr>";
  if (!s.shard.empty()) h << "<tr><th>shard</th><td>" << html_escape(s.shard) << "</td></tr>";
  h << "</table>\n<h2>Timeline</h2>\n<svg id=\"timeline\" width=\"" << width + label_w << "\" height=\"" << height
    << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  for (const auto& [key, row] : rows) {
    h << "<text x=\"0\" y=\"" << row * row_h + 13 << "\">" << html_escape(key.first.empty() ? "" : key.first + " ")
      << "slot " << key.second << "</text>\n";
  }
  for (const auto& r : records) {
    std::size_t row = rows[{r.shard, r.slot}];
    double x = label_w + (r.start - t0) / span * width;
    double w = std::max(r.runtime / span * width, 1.0);
    h << "<rect class=\"" << outcome_of(r) << "\" x=\"" << fmt(x, 1) << "\" y=\"" << row * row_h + 2 << "\" width=\""
      << fmt(w, 1) << "\" height=\"" << row_h - 4 << "\"><title>#" << r.seq << " " << html_escape(r.command)
      << "\n" << outcome_of(r) << (r.exit_code >= 0 ? ", exit " + std::to_string(r.exit_code) : "")
      << (r.signal ? ", " + signal_name(r.signal) : "") << ", attempt " << r.attempt << ", "
      << fmt(r.runtime) << " s</title></rect>\n";
  }
  h << "<text x=\"" << label_w << "\" y=\"" << height - 5 << "\">0 s</text><text x=\"" << label_w + width - 60
    << "\" y=\"" << height - 5 << "\">" << fmt(span, 2) << " s</text>\n</svg>\n";
  h << "<h2>Jobs</h2>\n<table id=\"jobs\"><tr><th>seq</th><th>command</th><th>outcome</th><th>exit</th>"
       "<th>signal</th><th>attempt</th><th>runtime (s)</th><th>stdout</th><th>stderr</th><th>shard</th></tr>\n";
  for (const auto& r : records) {
    h << "<tr class=\"" << (r.success() ? "ok" : "bad") << "\"><td>" << r.seq << "</td><td><code>"
      << html_escape(r.command) << "</code></td><td>" << outcome_of(r) << "</td><td>"
      << (r.exit_code >= 0 ? std::to_string(r.exit_code) : "") << "</td><td>"
      << (r.signal ? signal_name(r.signal) : "") << "</td><td>" << r.attempt << "</td><td>" << fmt(r.runtime)
      << "</td><td>" << r.out_bytes << "</td><td>" << r.err_bytes << "</td><td>" << html_escape(r.shard)
      << "</td></tr>\n";
  }
  h << "</table>\n</body></html>\n";
  return h.str();
}

}  // namespace procctx::cli::batch
