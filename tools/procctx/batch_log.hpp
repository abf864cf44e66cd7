// batch_log.hpp — what `procctx batch` writes about its jobs, as text: a
// job-log record (JSON lines, schema procctx.joblog/1, or GNU parallel's 9
// columns), the summary (procctx.batch-summary/1), and reading records
// back for --resume and `procctx batch merge`. Reading is strict: a record
// whose fields have the wrong types, out-of-range numbers or unknown
// enumeration values is not a record.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  std::string stop;    // "", or one of kStopReasons
  int attempt = 1;
  bool final = true;   // no further attempt was made
  double user_cpu = 0, sys_cpu = 0;
  long max_rss_kib = 0;
  std::uint64_t out_bytes = 0, err_bytes = 0;
  std::size_t slot = 0;
  std::string shard;        // "I/N", or "" when not sharded
  std::string host;
  std::string stderr_tail;  // the end of stderr of an attempt that did not succeed
  bool success() const { return exit_code == 0 && signal == 0 && stop.empty(); }
};

// The values of JobRecord::stop: the job's own --timeout, the run's
// --deadline, a halt (a policy, a signal to procctx, a reader that went
// away), procctx stopping it otherwise, and a job that could not start.
inline constexpr std::string_view kStopReasons[] = {"timeout", "deadline", "halt", "interrupted", "start_failed"};

// --joblog: a JSON line, or a GNU parallel row.
std::string joblog_line(const JobRecord& r);
std::string parallel_joblog_header();
std::string parallel_joblog_line(const JobRecord& r);
// --results DIR/SEQ/meta.json: the record, indented.
std::string meta_json(const JobRecord& r);

// One line of a job log as a record, or why it is not one.
struct ParsedLine {
  std::optional<JobRecord> record;
  std::string why;  // when not a record
};
ParsedLine parse_joblog_line(std::string_view line);

// Reads a whole JSON-lines job log; lines that are not records are counted
// in `skipped` (a torn last line after a crash, for instance).
std::vector<JobRecord> read_joblog(std::istream& in, std::size_t& skipped);

// Per job id, its last final record: what --resume and merge go by.
std::map<std::string, JobRecord> last_outcomes(const std::vector<JobRecord>& records);

// A stream procctx batch could not write all of a job's output to.
struct WriteLoss {
  std::string stream;  // "stdout", "stderr"
  std::string error;   // "No space left on device"
  std::size_t jobs = 0;
  std::uint64_t bytes = 0;
};

struct Summary {
  std::size_t total = 0, succeeded = 0, failed = 0, not_started = 0, retried = 0;
  double started_at = 0, wall = 0;
  std::size_t parallel = 0;
  std::string halted;     // why the run halted, if it did
  std::string shard;
  int exit_code = 0;
  double self_cpu = -1;   // procctx batch's own CPU seconds (-1: not known, as in merge)
  std::vector<WriteLoss> losses;
  // For the report: the flags as given, and where the records came from.
  std::vector<std::pair<std::string, std::string>> settings;
  std::string host;
};

std::string summary_json(const Summary& s);

}  // namespace procctx::cli::batch
