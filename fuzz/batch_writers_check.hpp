// batch_writers_check.hpp — feeds arbitrary bytes through every writer of
// `procctx batch` (job-log line, GNU parallel row, meta.json, summary, HTML
// report) and checks what comes out: the JSON parses strictly and reads
// back as the same record, the row has its nine columns, and the HTML is
// valid UTF-8 in which every '<' opens a tag the report writes and every
// '&' an entity, so no byte of data can become markup.
//
// Used by the libFuzzer target fuzz_batch_writers and by a unit test with
// fixed hostile inputs.
#pragma once

#include "batch_log.hpp"
#include "batch_report.hpp"
#include "json_text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace procctx::cli::batch::check {

// Splits `data` on 0x1f into fields (missing ones are empty).
inline std::vector<std::string> fields_of(std::string_view data, std::size_t n) {
  std::vector<std::string> f(n);
  std::size_t i = 0;
  for (char c : data) {
    if (c == '\x1f' && i + 1 < n) {
      ++i;
    } else {
      f[i] += c;
    }
  }
  return f;
}

inline JobRecord record_from(const std::vector<std::string>& f, std::uint8_t pick) {
  JobRecord r;
  r.id = f[0].empty() ? "x" : f[0];
  r.seq = 1u + pick;
  r.command = f[1];
  r.argv = {f[1], f[2], f[3]};
  r.host = f[4];
  r.shard = f[5];
  r.stderr_tail = f[6];
  r.start = 1700000000.5 + pick;
  r.runtime = pick / 7.0;
  r.exit_code = pick % 3 == 0 ? -1 : pick % 256;
  r.signal = pick % 3 == 0 ? 9 : 0;
  r.stop = pick % 7 < 5 ? std::string{kStopReasons[pick % 5]} : "";
  r.final = pick % 2 == 0;
  r.attempt = 1 + pick % 4;
  r.slot = pick % 5;
  r.max_rss_kib = pick * 1000L;
  return r;
}

// Every '<' opens a tag the report writes; attribute values are quoted and
// hold no '<' or '"'; every '&' is an entity; <style> and <script> hold
// only what the report itself puts there.
inline std::string check_html(const std::string& html) {
  static const std::vector<std::string> kTags = {
      "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "tr", "th", "td", "code",
      "div", "pre", "a", "span", "i", "svg", "rect", "line", "text", "label", "input", "script", "colgroup", "col"};
  static const std::vector<std::string> kEntities = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&mdash;",
                                                     "&hellip;"};
  if (valid_utf8(html) != html) return "the page is not valid UTF-8";
  if (html.rfind("<!DOCTYPE html>\n", 0) != 0) return "no doctype";
  int scripts = 0;
  for (std::size_t i = 15; i < html.size(); ++i) {
    if (html[i] == '&') {
      bool known = std::any_of(kEntities.begin(), kEntities.end(),
                               [&](const std::string& e) { return html.compare(i, e.size(), e) == 0; });
      if (!known) return "a bare '&' at " + std::to_string(i);
      continue;
    }
    if (html[i] == '>') return "a bare '>' at " + std::to_string(i);
    if (html[i] != '<') continue;
    std::size_t j = i + 1 + (i + 1 < html.size() && html[i + 1] == '/' ? 1 : 0);
    std::size_t name_end = html.find_first_of(" />", j);
    if (name_end == std::string::npos) return "an unclosed tag at " + std::to_string(i);
    std::string name = html.substr(j, name_end - j);
    if (std::find(kTags.begin(), kTags.end(), name) == kTags.end()) return "an unknown tag <" + name + ">";
    // Attributes: name="value" pairs, values without '<' or '"'.
    std::size_t k = name_end;
    while (k < html.size() && html[k] != '>') {
      if (html[k] == '"') {
        std::size_t close = html.find('"', k + 1);
        if (close == std::string::npos) return "an unclosed attribute at " + std::to_string(k);
        if (html.find('<', k) < close) return "a '<' inside an attribute at " + std::to_string(k);
        k = close + 1;
      } else if (html[k] == '<') {
        return "a '<' inside a tag at " + std::to_string(k);
      } else {
        ++k;
      }
    }
    if (k >= html.size()) return "an unclosed tag at " + std::to_string(i);
    if ((name == "style" || name == "script") && html[i + 1] != '/') {
      scripts += name == "script" ? 1 : 0;
      std::size_t end = html.find("</" + name + ">", k);
      if (end == std::string::npos) return "an unclosed <" + name + ">";
      if (html.find('<', k + 1) < end) return "markup inside <" + name + ">";
      i = end - 1;
      continue;
    }
    i = k;
  }
  return scripts == 1 ? "" : "expected exactly one <script>, found " + std::to_string(scripts);
}

// Empty when every writer's output is sound for this input, else what is wrong.
inline std::string check_writers(std::string_view data) {
  auto f = fields_of(data, 10);
  std::uint8_t pick = data.empty() ? 0 : static_cast<std::uint8_t>(data.back());
  JobRecord r = record_from(f, pick);
  std::string line = joblog_line(r);
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) return "a job-log record is not one line";
  if (!nlohmann::json::accept(line)) return "a job-log record is not JSON";
  auto back = parse_joblog_line(line);
  if (!back.record) return "a job-log record does not read back: " + back.why;
  if (back.record->command != valid_utf8(r.command) || back.record->host != valid_utf8(r.host) ||
      back.record->stop != r.stop || back.record->exit_code != r.exit_code) {
    return "a job-log record reads back different";
  }
  if (!nlohmann::json::accept(meta_json(r))) return "meta.json is not JSON";
  std::string row = parallel_joblog_line(r);
  if (std::count(row.begin(), row.end(), '\t') != 8 || std::count(row.begin(), row.end(), '\n') != 1) {
    return "a GNU parallel row does not have nine columns on one line";
  }
  Summary s;
  s.halted = f[7];
  s.shard = f[5];
  s.host = f[4];
  s.settings = {{f[8], f[9]}, {"--tagstring", f[1]}};
  s.losses = {{"stdout", f[9], 1, 2}};
  if (!nlohmann::json::accept(summary_json(s))) return "the summary is not JSON";
  JobRecord other = record_from(fields_of(f[9] + "\x1f" + f[8], 10), static_cast<std::uint8_t>(pick + 1));
  return check_html(html_report(s, {r, other}));
}

}  // namespace procctx::cli::batch::check
