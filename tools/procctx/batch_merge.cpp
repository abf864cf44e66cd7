#include "batch_merge.hpp"

#include "batch_files.hpp"
#include "batch_report.hpp"
#include "batch_sched.hpp"
#include "batch_text.hpp"
#include "messages.hpp"
#include "subcommands.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

constexpr int kExitOwnFailure = 255;

constexpr Flag kMergeFlags[] = {
    {'o', "output", "FILE", "write the merged job log to FILE (default: stdout)"},
    {0, "report", "FILE", "write an HTML report of all the logs to FILE"},
    {0, "summary-json", "FILE", "write a JSON summary to FILE"},
    {0, "help", "", "show this help and exit"},
};
const Spec kMergeSpec{"batch merge", "[OPTION]... LOG...",
                      "Merge the job logs of the shards of one run; exit as the whole run would have.",
                      "Lines that are not procctx.joblog/1 records (a torn last line, a forged field) are skipped\n"
                      "and counted. The exit status counts the jobs whose last final attempt failed (up to 100;\n"
                      "101 above); 255 when a log cannot be read or an output cannot be written.\n",
                      kMergeFlags};

int fail(const std::string& message) {
  say("procctx batch merge", message);
  return kExitOwnFailure;
}

// The records of one log; lines that are not records are counted and the first reason kept.
Result<std::vector<JobRecord>> read_log(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return file_error("log", path, "is a directory, not a job log");
  }
  std::ifstream in{path};
  if (!in) return file_error("log", path, std::string{"cannot read: "} + std::strerror(errno));
  std::vector<JobRecord> records;
  std::size_t skipped = 0, line = 0;
  std::string first_problem;
  for (std::string text; std::getline(in, text);) {
    ++line;
    if (text.empty()) continue;
    auto parsed = parse_joblog_line(text);
    if (parsed.record) {
      records.push_back(std::move(*parsed.record));
    } else if (++skipped == 1) {
      first_problem = "line " + std::to_string(line) + ": " + parsed.why;
    }
  }
  if (in.bad()) return file_error("log", path, std::string{"read error: "} + std::strerror(errno));
  if (skipped > 0) {
    say("procctx batch merge",
        quote(path) + ": " + std::to_string(skipped) + " line(s) not understood, skipped (" + first_problem + ")");
  }
  return records;
}

Summary summarize(const std::vector<JobRecord>& all, const std::vector<std::string>& paths) {
  Summary s;
  auto last = last_outcomes(all);
  s.total = last.size();
  std::map<std::string, int> attempts;
  for (const auto& r : all) ++attempts[r.id];
  for (const auto& [id, r] : last) (r.success() ? s.succeeded : s.failed)++;
  for (const auto& [id, n] : attempts) s.retried += n > 1 ? 1 : 0;
  if (!all.empty()) {
    s.started_at = all.front().start;
    double end = 0;
    for (const auto& r : all) end = std::max(end, r.start + r.runtime);
    s.wall = end - s.started_at;
  }
  std::set<std::string> shards;
  s.parallel = 1;
  for (const auto& r : all) {
    if (!r.shard.empty()) shards.insert(r.shard);
    s.parallel = std::max(s.parallel, r.slot);  // the most jobs at once in one shard
  }
  s.shard = std::to_string(shards.size()) + " shard(s)";
  for (const auto& p : paths) s.settings.emplace_back("merged", p);
  s.exit_code = batch_exit_code(s.failed);
  return s;
}

}  // namespace

int merge_main(std::span<const std::string> args) {
  int exit_code = 0;
  auto parsed = parse_args(kMergeSpec, args, exit_code);
  if (!parsed) return exit_code == 0 ? 0 : kExitOwnFailure;
  if (parsed->operands.empty()) {
    usage_error(kMergeSpec, "no job log given");
    return kExitOwnFailure;
  }
  // The outputs first: an unwritable one fails before anything is read.
  std::optional<OutputFile> output, report, summary;
  for (auto [flag, into] : {std::pair{"output", &output}, std::pair{"report", &report}, std::pair{"summary-json", &summary}}) {
    if (auto path = parsed->value(flag)) {
      auto f = OutputFile::open(std::string{"--"} + flag, *path);
      if (!f) return fail(f.error().message());
      into->emplace(std::move(*f));
    }
  }
  std::vector<JobRecord> all;
  for (const auto& path : parsed->operands) {
    auto recs = read_log(path);
    if (!recs) return fail(recs.error().message());
    all.insert(all.end(), recs->begin(), recs->end());
  }
  std::stable_sort(all.begin(), all.end(), [](const JobRecord& a, const JobRecord& b) { return a.start < b.start; });
  Summary s = summarize(all, parsed->operands);
  std::string merged;
  for (const auto& r : all) merged += joblog_line(r);
  if (output) {
    if (auto ok = output->replace(merged); !ok) return fail(ok.error().message());
  } else if (int err = write_all(STDOUT_FILENO, merged)) {
    return fail(std::string{"error writing the merged log to stdout: "} + std::strerror(err));
  }
  if (summary) {
    if (auto ok = summary->replace(summary_json(s)); !ok) return fail(ok.error().message());
  }
  if (report) {
    if (auto ok = report->replace(html_report(s, std::move(all))); !ok) return fail(ok.error().message());
  }
  say("procctx batch merge", std::to_string(s.total) + " job(s): " + std::to_string(s.succeeded) + " succeeded, " +
                                 std::to_string(s.failed) + " failed");
  return s.exit_code;
}

}  // namespace procctx::cli::batch
