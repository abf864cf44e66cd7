// batch_input.hpp — the jobs of `procctx batch`: read from lines of shell
// commands, JSON lines, or a command template with ::: argument lists;
// each job with a stable identity (for --resume and --shard).
#pragma once

#include <procctx/procctx.hpp>

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace procctx::cli::batch {

struct Job {
  std::size_t seq = 0;                 // 1-based, in input order
  std::string id;                      // explicit ("id" in JSON lines) or identity_hash()
  std::vector<std::string> argv;       // what runs; may hold "{%}" (the slot, known at start)
  std::string command;                 // as shown in logs and tags
  std::vector<std::string> args;       // the ::: arguments it was made from (for --tag)
  std::optional<std::string> cwd;
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<Duration> timeout;
  std::size_t line = 0;                // input line (0 for ::: jobs)
};

struct InputError {
  std::size_t line = 0;  // 0: not tied to a line
  std::string message;
};

struct Input {
  std::vector<Job> jobs;
  std::vector<InputError> errors;
};

// One shell command per line (run with /bin/sh -c; blank lines and lines
// starting with # are skipped), or with `jsonl` one JSON object per line:
// {"argv": [...], "id": "...", "cwd": "...", "env": {"K": "V"}, "timeout": "5s"}.
Input read_jobs(std::istream& in, bool jsonl);

// The GNU parallel form: `template` (words, with replacement strings) and
// argument sources (each the values of one ::: or :::: group); several
// sources give their cartesian product, the first varying slowest.
// Replacement strings: {} {.} {/} {//} {/.} {#} {%} and {N} for the N-th
// source. Without any, the arguments are appended. When a word of the
// template needs a shell the job runs with /bin/sh -c and the arguments
// are quoted; otherwise it is executed directly.
Input expand_template(const std::vector<std::string>& tmpl, const std::vector<std::vector<std::string>>& sources);

// 'text' quoted for /bin/sh (single quotes; a quote as '\'').
std::string shell_quote(std::string_view text);

// A stable identity: a 64-bit FNV-1a over argv, cwd and env, as 16 hex digits.
std::string identity_hash(const Job& job);

// Which shard (0 ≤ i < n) a job identity belongs to: stable under any
// reordering of the input.
std::size_t shard_of(std::string_view id, std::size_t n);

// argv with "{%}" replaced by the job slot (1-based).
std::vector<std::string> with_slot(const std::vector<std::string>& argv, std::size_t slot);

}  // namespace procctx::cli::batch
