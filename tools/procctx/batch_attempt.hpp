// batch_attempt.hpp — one attempt of one job, as the runner handles it: the
// Command it runs (its output files, its slot, a parent-death signal so it
// never outlives procctx batch), and what its outcome means for the job
// log (which deadline fired, the tail of stderr).
#pragma once

#include "batch_config.hpp"
#include "batch_input.hpp"
#include "batch_log.hpp"
#include "batch_output.hpp"
#include "batch_sched.hpp"

#include <procctx/procctx.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace procctx::cli::batch {

struct Attempt {
  std::size_t job = 0, slot = 0;
  int attempt = 1;
  Job spec;                       // the job, with its slot filled in
  std::vector<std::string> argv;  // what runs (the shell's, or the plain words)
  bool direct = false;            // argv is the plain words of a shell line (argv[0] resolved)
  std::optional<Process> process;
  std::shared_ptr<Canceler> cancel;
  Context ctx;
  JobOutput output;               // the files it writes into (grouped output, --results)
  TimePoint started{};
  double start_unix = 0;
  bool halted = false;            // a halt was under way when it ended
  bool final = true;              // no other attempt follows
  JobRecord record;               // written when it has ended
};

// The descriptors an attempt's child gets as its stdio: `in` is /dev/null,
// opened once for the whole run (-1: the library opens it per job).
struct ChildStdio {
  int in = -1, out = -1, err = -1;
};

// The Command for an attempt, with `fds` as its stdio.
Command command_for(const Config& cfg, const Attempt& a, ChildStdio fds);

// What the scheduler needs to know of an ended attempt (quick: it is asked
// on procctx's loop thread, before the next job starts).
AttemptEnd attempt_end(const Config& cfg, const Attempt& a, const Completed& c, std::optional<TimePoint> run_deadline);

// The job-log record of an ended attempt. `halted`: a halt was under way (a
// cancel is then a halt's).
JobRecord record_of(const Config& cfg, const Attempt& a, const Completed& c, std::optional<TimePoint> run_deadline,
                    bool halted, AttemptEnd& end);

// The record of an attempt that never started.
JobRecord start_failed_record(const Attempt& a, const std::string& message, int exit_code);

// The line procctx adds on stderr after a job that did not end by itself.
std::string note_for(const Attempt& a, const JobRecord& rec, bool retrying);

// The end of a file's bytes (1 KiB at most), from a line start when there is one.
std::string tail_of(int fd);
off_t file_size(int fd);

}  // namespace procctx::cli::batch
