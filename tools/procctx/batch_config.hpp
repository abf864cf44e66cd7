// batch_config.hpp — `procctx batch`'s flags, checked once and turned into
// one Config value. Every error names the flag and quotes the value as
// given ("--jobs '0': expected a positive number").
#pragma once

#include "batch_sched.hpp"
#include "batch_shard.hpp"
#include "flags.hpp"

#include <procctx/procctx.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace procctx::cli::batch {

struct Config {
  std::size_t parallel = 1;                   // -j
  std::optional<Duration> timeout, deadline;  // per job, whole run
  StopSequence stop;
  Tree tree = Tree::process_group;
  bool tree_fallback_quiet = false;  // --tree auto: a process group where no cgroup can be made, said nowhere
  HaltPolicy halt;
  std::string halt_text;  // --halt as given, for messages
  RetryPolicy retry;

  bool jsonl = false, strict = false;
  bool line_buffer = false, keep_order = false, quiet = false;
  bool tag = false;                      // --tag
  std::optional<std::string> tagstring;  // --tagstring
  bool first_signal_now = false;         // --on-signal now

  std::optional<std::string> joblog, report, summary_json, results;
  bool parallel_format = false;          // --joblog-format parallel
  enum class Resume { none, finished, failed } resume = Resume::none;

  Shard shard;
  std::string tmpdir = "/tmp";
  // The flags as given, for the report: {"--jobs", "4"}, {"--keep-order", ""}.
  std::vector<std::pair<std::string, std::string>> settings;
};

// The Config of one run, from the parsed flags and the environment (TMPDIR,
// the shard variables). Errors are usage errors: nothing has run yet.
Result<Config> configure(const Parsed& p, const EnvLookup& env);

}  // namespace procctx::cli::batch
