// batch_log.hpp — what `procctx batch` writes about its jobs: the job log
// (JSON lines, schema procctx.joblog/1, or GNU parallel's 9 columns), the
// summary JSON and the HTML report; and reading logs back for --resume and
// `procctx batch merge`.
#pragma once

#include <chrono>
#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace procctx::cli::batch {

inline constexpr const char* kJoblogSchema = "procctx.joblog/1";
inline constexpr const char* kSummarySchema = "procctx.batch-summary/1";

// One attempt of one job.
struct JobRecord {
  std::string id;
  std::size_t seq = 0;
  std::string command;
  std::vector<std::string> argv;
  double start = 0;    // Unix time, seconds
  double runtime = 0;  // seconds
  int exit_code = -1;  // -1 unless it exited
  int signal = 0;
  std::string stop;    // "", "timeout", "deadline" (the run's), "halt", "interrupted", "start_failed"
  int attempt = 1;
  bool final = true;   // no further attempt was made
  double user_cpu = 0, sys_cpu = 0;
  long max_rss_kib = 0;
  std::uint64_t out_bytes = 0, err_bytes = 0;
  std::size_t slot = 0;
  std::string shard;   // "I/N", or "" when not sharded
  std::string host;
  bool success() const { return exit_code == 0 && signal == 0 && stop.empty(); }
};

// --joblog: a JSON line, or a GNU parallel row.
std::string joblog_line(const JobRecord& r);
std::string parallel_joblog_header();
std::string parallel_joblog_line(const JobRecord& r);

// Reads a JSON-lines job log; lines that are not records are counted in
// `skipped` (a truncated last line after a crash, for instance).
std::vector<JobRecord> read_joblog(std::istream& in, std::size_t& skipped);

// Per job id, its last final record: what --resume and merge go by.
std::map<std::string, JobRecord> last_outcomes(const std::vector<JobRecord>& records);

struct Summary {
  std::size_t total = 0, succeeded = 0, failed = 0, not_started = 0, retried = 0;
  double started_at = 0, wall = 0;
  std::size_t parallel = 0;
  std::string halted;     // why the run halted, if it did
  std::string shard;
  int exit_code = 0;
};

std::string summary_json(const Summary& s);

// One self-contained HTML page: the summary, a timeline (a row per slot, a
// bar per attempt coloured by outcome, details on hover) and a table.
std::string html_report(const Summary& s, const std::vector<JobRecord>& records);

}  // namespace procctx::cli::batch
