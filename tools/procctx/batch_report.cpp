#include "batch_report.hpp"

#include "json_text.hpp"

#include <procctx/command.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

namespace procctx::cli::batch {

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

namespace {

constexpr std::size_t kFailuresShown = 200;   // past this, the table has the rest
constexpr std::size_t kTitleChars = 120;      // of a command, in a bar's tooltip

// The outcome of an attempt, which is also its CSS class: a fixed set of
// words, whatever a job log says (its `stop` is checked when read).
std::string outcome_of(const JobRecord& r) {
  if (r.success()) return "ok";
  if (!r.stop.empty()) return r.stop;
  if (r.signal != 0) return "signal";
  return "failed";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string kib_text(long kib) {
  if (kib <= 0) return "";
  if (kib < 1024) return std::to_string(kib) + " KiB";
  return fixed(static_cast<double>(kib) / 1024, kib < 10240 ? 1 : 0) + " MiB";
}

std::string utc_text(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// A tick step of 1, 2 or 5 times a power of ten giving about 8 ticks.
double tick_step(double span) {
  double raw = span / 8, power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

std::string seconds_label(double s, double step) {
  if (step >= 60 && std::fmod(s, 60) == 0) return fixed(s / 60, 0) + "m";
  return fixed(s, step < 0.01 ? 3 : step < 0.1 ? 2 : step < 1 ? 1 : 0) + "s";
}

const char* kStyle =
    "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}"
    "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;"
    "vertical-align:top}th{background:#f4f4f4}td.n{text-align:right}code{white-space:pre-wrap;word-break:break-all}"
    ".verdict{font-size:18px;padding:8px 12px;border-radius:4px}.verdict.ok{background:#e3f5e3}"
    ".verdict.bad{background:#fbe3e3}pre{background:#f7f7f7;padding:6px;overflow:auto;max-height:16em}"
    ".legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;"
    "margin-right:4px;vertical-align:middle}"
    ".ok{--c:#3a3}.failed{--c:#d33}.signal{--c:#a3a}.timeout{--c:#e90}.deadline{--c:#c60}.halt,.interrupted"
    "{--c:#888}.start_failed{--c:#600}rect{fill:var(--c)}rect.retry{opacity:.45}.legend i{background:var(--c)}"
    "tr.bad td:first-child{border-left:4px solid #d33}tr.good td:first-child{border-left:4px solid #3a3}"
    "svg text{font:11px monospace;fill:#555}svg line{stroke:#ddd}body.only-bad tr.good{display:none}"
    "#timeline rect{height:14px}.jobs{table-layout:fixed;width:100%}.chunk{content-visibility:auto;"
    "contain-intrinsic-size:auto 9000px}body.only-bad .chunk{content-visibility:visible}"
    ".jobs td{text-align:right;overflow-wrap:anywhere}"
    ".jobs td:nth-child(2){text-align:left;font-family:monospace;"
    "white-space:pre-wrap;word-break:break-all}.jobs td:nth-child(3),.jobs td:nth-child(5),.jobs td:nth-child(14)"
    "{text-align:left}";

// The page's only script: a switch to hide the jobs that succeeded (on
// from the start when the address ends in #only-bad). It marks the page as
// loaded last, so a test can tell it ran through, and says how long the page
// took to open (parsed, laid out, loaded: milliseconds since navigation
// began, the browser's own start-up not included) and how tall it is.
const char* kScript =
    "(function(){var b=document.getElementById('only-bad'),d=document.documentElement;"
    "function show(on){document.body.classList.toggle('only-bad',on);}"
    "if(b){b.addEventListener('change',function(){show(b.checked);});"
    "if(location.hash==='#only-bad'){b.checked=true;show(true);}}"
    "window.addEventListener('load',function(){void document.body.offsetHeight;"
    "d.setAttribute('data-opened-ms',String(Math.round(performance.now())));"
    "d.setAttribute('data-height',String(d.scrollHeight));});"
    "d.setAttribute('data-report','ready');})();";

struct Totals {
  double cpu = 0;
  long peak_kib = 0;
  std::uint64_t out = 0, err = 0;
  std::size_t bad = 0;
};

Totals totals_of(const std::vector<JobRecord>& records) {
  Totals t;
  for (const auto& r : records) {
    t.cpu += r.user_cpu + r.sys_cpu;
    t.peak_kib = std::max(t.peak_kib, r.max_rss_kib);
    t.out += r.out_bytes;
    t.err += r.err_bytes;
    t.bad += r.final && !r.success() ? 1u : 0u;
  }
  return t;
}

void summary_section(std::ostringstream& h, const Summary& s, const Totals& t) {
  h << "<p class=\"verdict " << (s.failed == 0 && s.exit_code == 0 ? "ok" : "bad") << "\">" << s.total
    << " job(s): " << s.succeeded << " succeeded, " << s.failed << " failed, " << s.not_started
    << " not started &mdash; exit code " << s.exit_code << "</p>\n<table id=\"summary\">";
  auto row = [&h](const char* name, const std::string& value) {
    h << "<tr><th>" << name << "</th><td>" << value << "</td></tr>";
  };
  if (s.started_at > 0) row("started", utc_text(s.started_at));
  row("wall time", fixed(s.wall, 3) + " s");
  row("jobs at once", std::to_string(s.parallel));
  row("retried", std::to_string(s.retried));
  row("CPU time of the jobs", fixed(t.cpu, 3) + " s");
  row("largest peak memory of a job", kib_text(t.peak_kib));
  if (s.self_cpu >= 0) row("CPU time of procctx batch itself", fixed(s.self_cpu, 3) + " s");
  if (!s.halted.empty()) row("halted", html_escape(s.halted));
  if (!s.shard.empty()) row("shard", html_escape(s.shard));
  if (!s.host.empty()) row("host", html_escape(s.host));
  for (const auto& l : s.losses) {
    row(("output lost on " + l.stream).c_str(), html_escape(l.error) + ": " + std::to_string(l.jobs) + " job(s), " +
                                                   std::to_string(l.bytes) + " bytes");
  }
  h << "</table>\n<h2>Settings</h2>\n<table id=\"settings\">";
  if (s.settings.empty()) h << "<tr><td>the defaults</td></tr>";
  for (const auto& [flag, value] : s.settings) {
    h << "<tr><th><code>" << html_escape(flag) << "</code></th><td><code>" << html_escape(value) << "</code></td></tr>";
  }
  h << "</table>\n";
}

void failures_section(std::ostringstream& h, const std::vector<JobRecord>& records, const Totals& t) {
  h << "<h2 id=\"failures\">Failed and stopped jobs (" << t.bad << ")</h2>\n";
  if (t.bad == 0) {
    h << "<p>None.</p>\n";
    return;
  }
  std::size_t shown = 0;
  for (const auto& r : records) {
    if (!r.final || r.success()) continue;
    if (++shown > kFailuresShown) {
      h << "<p>&hellip; and " << t.bad - kFailuresShown << " more in the table below.</p>\n";
      break;
    }
    h << "<div class=\"failure\"><p><a href=\"#j" << r.seq << "\">#" << r.seq << "</a> <code>"
      << html_escape(r.command) << "</code> &mdash; " << outcome_of(r)
      << (r.exit_code >= 0 ? ", exit " + std::to_string(r.exit_code) : "")
      << (r.signal ? ", " + signal_name(r.signal) : "") << ", attempt " << r.attempt << "</p>";
    if (!r.stderr_tail.empty()) h << "<pre>" << html_escape(r.stderr_tail) << "</pre>";
    h << "</div>\n";
  }
}

void legend(std::ostringstream& h) {
  static constexpr std::pair<const char*, const char*> kItems[] = {
      {"ok", "succeeded"},
      {"failed", "exited non-zero"},
      {"signal", "killed by a signal"},
      {"timeout", "its --timeout"},
      {"deadline", "the run's --deadline"},
      {"halt", "stopped by a halt or a signal to procctx"},
      {"start_failed", "could not start"}};
  h << "<p class=\"legend\">";
  for (const auto& [cls, text] : kItems) h << "<span class=\"" << cls << "\"><i></i>" << text << "</span>";
  h << "<span class=\"ok\"><i style=\"opacity:.45\"></i>an attempt that was retried</span></p>\n";
}

void timeline_section(std::ostringstream& h, const std::vector<JobRecord>& records) {
  h << "<h2>Timeline</h2>\n";
  legend(h);
  double t0 = records.empty() ? 0 : records.front().start, t1 = t0;
  std::map<std::pair<std::string, std::size_t>, std::size_t> rows;  // (shard, slot) -> row
  for (const auto& r : records) {
    t0 = std::min(t0, r.start);
    t1 = std::max(t1, r.start + r.runtime);
    rows.emplace(std::make_pair(r.shard, r.slot), 0);
  }
  std::size_t n = 0;
  for (auto& [key, row] : rows) row = n++;
  const double span = std::max(t1 - t0, 1e-3), step = tick_step(span);
  const int width = 1000, row_h = 18, label_w = 110, axis_h = 24;
  const std::size_t height = rows.size() * row_h + axis_h;
  h << "<svg id=\"timeline\" width=\"" << width + label_w + 20 << "\" height=\"" << height
    << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  for (double tick = 0; tick <= span + step / 2; tick += step) {
    double x = label_w + tick / span * width;
    h << "<line x1=\"" << fixed(x, 1) << "\" x2=\"" << fixed(x, 1) << "\" y1=\"0\" y2=\"" << height - axis_h + 4
      << "\"/><text x=\"" << fixed(x - 8, 1) << "\" y=\"" << height - 6 << "\">" << seconds_label(tick, step)
      << "</text>\n";
  }
  for (const auto& [key, row] : rows) {
    h << "<text x=\"0\" y=\"" << row * row_h + 13 << "\">" << html_escape(key.first.empty() ? "" : key.first + " ")
      << "slot " << key.second << "</text>\n";
  }
  for (const auto& r : records) {
    std::size_t row = rows[{r.shard, r.slot}];
    std::string cmd = r.command.size() > kTitleChars ? r.command.substr(0, kTitleChars) + "..." : r.command;
    h << "<rect class=\"" << outcome_of(r) << (r.final ? "" : " retry") << "\" x=" << fixed(label_w + (r.start - t0) / span * width, 1)
      << " y=" << row * row_h + 2 << " width=" << fixed(std::max(r.runtime / span * width, 1.0), 1)
      << "><title>#" << r.seq << " " << html_escape(cmd) << ", " << outcome_of(r) << ", " << fixed(r.runtime, 3)
      << " s</title></rect>\n";
  }
  h << "</svg>\n";
}

// One row of the jobs table. Cells are left open (HTML needs no </td> or
// </tr>) and styled by column, which keeps a 10,000-job page small.
void job_row(std::ostringstream& h, const JobRecord& r, double t0) {
  h << "<tr class=" << (r.success() ? "good" : "bad") << (r.final ? " id=j" + std::to_string(r.seq) : "") << "><td>"
    << r.seq << "<td>" << html_escape(r.command) << "<td>" << outcome_of(r) << "<td>"
    << (r.exit_code >= 0 ? std::to_string(r.exit_code) : "") << "<td>" << (r.signal ? signal_name(r.signal) : "")
    << "<td>" << r.attempt << "<td>" << fixed(r.start - t0, 3) << "<td>" << fixed(r.runtime, 3) << "<td>"
    << fixed(r.user_cpu + r.sys_cpu, 3) << "<td>" << kib_text(r.max_rss_kib) << "<td>" << r.out_bytes << "<td>"
    << r.err_bytes << "<td>" << r.slot << "<td>" << html_escape(r.shard) << "\n";
}

// The jobs table comes in pieces of this many rows, each a table of its own
// with the same fixed column widths: the browser lays out only the pieces
// in view (content-visibility), where one table of 10,000 rows took it ten
// seconds and more to open.
constexpr std::size_t kRowsPerPiece = 500;
const char* kJobColumns =
    "<colgroup><col style=\"width:4%\"><col style=\"width:28%\"><col style=\"width:8%\"><col style=\"width:4%\">"
    "<col style=\"width:6%\"><col style=\"width:5%\"><col style=\"width:6%\"><col style=\"width:6%\">"
    "<col style=\"width:6%\"><col style=\"width:7%\"><col style=\"width:5%\"><col style=\"width:5%\">"
    "<col style=\"width:4%\"><col style=\"width:6%\"></colgroup>";

void jobs_section(std::ostringstream& h, const std::vector<JobRecord>& records, const Totals& t) {
  h << "<h2>Jobs, in input order</h2>\n<p><label><input type=\"checkbox\" id=\"only-bad\"> only the jobs that did "
       "not succeed</label></p>\n<div class=\"chunk\"><table class=\"jobs\" id=\"jobs\">"
    << kJobColumns
    << "<tr><th>seq</th><th>command</th><th>outcome</th><th>exit</th>"
       "<th>signal</th><th>attempt</th><th>start (s)</th><th>runtime (s)</th><th>CPU (s)</th><th>peak memory</th>"
       "<th>stdout</th><th>stderr</th><th>slot</th><th>shard</th></tr>\n";
  double t0 = records.empty() ? 0 : records.front().start;
  for (const auto& r : records) t0 = std::min(t0, r.start);
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0 && i % kRowsPerPiece == 0) h << "</table></div>\n<div class=\"chunk\"><table class=\"jobs\">" << kJobColumns;
    job_row(h, records[i], t0);
  }
  h << "<tr><th colspan=8>total</th><td>" << fixed(t.cpu, 3) << "<td>" << kib_text(t.peak_kib) << " (largest)<td>"
    << t.out << "<td>" << t.err << "<td><td>\n</table></div>\n";
}

}  // namespace

std::string html_report(const Summary& s, std::vector<JobRecord> records) {
  std::stable_sort(records.begin(), records.end(), [](const JobRecord& a, const JobRecord& b) {
    return a.seq != b.seq ? a.seq < b.seq : a.start < b.start;
  });
  Totals t = totals_of(records);
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>procctx batch report</title>\n<style>"
    << kStyle << "</style></head><body>\n<h1>procctx batch</h1>\n";
  summary_section(h, s, t);
  failures_section(h, records, t);
  timeline_section(h, records);
  jobs_section(h, records, t);
  h << "<script>" << kScript << "</script>\n</body></html>\n";
  return h.str();
}

}  // namespace procctx::cli::batch
