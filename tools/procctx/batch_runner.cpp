#include "batch_runner.hpp"

#include "batch_attempt.hpp"
#include "batch_direct.hpp"
#include "batch_inbox.hpp"
#include "batch_lines.hpp"
#include "batch_output.hpp"
#include "batch_report.hpp"
#include "batch_sched.hpp"
#include "batch_text.hpp"
#include "supervise.hpp"

#include <procctx/procctx.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

// Two threads share the work. When a job ends, procctx's loop thread runs
// its on_exit callback: the scheduler learns the outcome and the freed slot
// is filled at once, from that callback, as procctx's Group does, so a
// start costs no hand-over between threads. The runner's own thread waits
// in the Inbox and does what may take longer: printing, the job log, the
// report, signals, the deadline. `mu_` guards what both touch.

namespace procctx::cli::batch {
namespace {

constexpr int kExitOwnFailure = 255;
constexpr int kExitBrokenPipe = 128 + SIGPIPE;
constexpr const char* kBrokenPipe = "the reader of procctx batch's stdout went away";

bool out_of_fds(const std::error_code& ec) {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system;
}

class Runner {
 public:
  Runner(const Config& c, JobList jobs, RunFiles files);
  int run();

 private:
  using Lock = std::unique_lock<std::mutex>;
  // Any thread, with mu_ held (start() lets go of it while it spawns).
  void start_ready(Lock& lock);
  bool start(Lock& lock, const Scheduler::Start& s);
  Result<void> open_output(Attempt& a, std::size_t token, FileHandle& child_out, FileHandle& child_err);
  void start_failed(Attempt a, std::string message, int exit_code);
  // The loop thread: an attempt's outcome is known.
  void ended(std::size_t token);
  // The runner's thread.
  void complete(Attempt a, std::size_t token);
  void warn_of_tree_fallback(const Completed& c);
  void report_failed_starts();
  void deliver(Attempt& a, std::size_t token, bool last);
  void log(const JobRecord& rec);
  std::string tag_for(const Job& j) const;
  void on_mail(const Inbox::Mail& m);
  void halt(HaltPolicy::When how, std::string why);
  void stop_running_if_asked(Lock& lock);
  void check_stdout();
  std::optional<TimePoint> next_wake() const;
  void progress(bool force);
  void write_err(std::string_view text);
  int wrap_up();
  Summary summary();

  const Config& cfg_;
  const JobList jobs_;
  RunFiles files_;
  Sink out_, err_;
  Printer printer_;
  std::unique_ptr<LineFollower> follower_;  // --line-buffer with --results
  Inbox inbox_;
  std::optional<SignalWatch> signals_watch_;
  WithCancel run_ctx_{background(), Canceler{}};
  std::optional<Registration> deadline_watch_;
  std::optional<TimePoint> run_deadline_;
  std::string host_;
  bool tty_ = false;
  // Every job's stdin, opened once (a job per open and close of its own
  // costs a path lookup each); if it cannot be had, the library opens it.
  FileHandle dev_null_{::open("/dev/null", O_RDWR | O_CLOEXEC)};

  std::mutex mu_;  // guards what follows, down to the runner's own state
  Scheduler sched_;
  FilePool pool_;
  DirectPrograms programs_;
  std::map<std::size_t, Attempt> running_;  // by token
  std::map<std::size_t, Attempt> ended_;    // ended, waiting for the runner's thread
  struct FailedStart {
    Attempt attempt;
    std::string message;
  };
  std::vector<FailedStart> failed_starts_;
  std::size_t next_token_ = 1;
  std::size_t retried_ = 0;
  std::string halted_why_;

  // The runner's thread only.
  std::vector<JobRecord> records_;  // only for --report
  bool pipe_broke_ = false;  // a relayed job found stdout's reader gone
  bool tree_warned_ = false;
  bool broken_pipe_ = false, own_failure_ = false;
  int signals_ = 0, first_signal_ = 0;
  TimePoint began_{}, last_progress_{};
  double began_unix_ = 0;
};

Runner::Runner(const Config& c, JobList jobs, RunFiles files)
    : cfg_(c),
      jobs_(std::move(jobs)),
      files_(std::move(files)),
      out_(STDOUT_FILENO, "stdout"),
      err_(STDERR_FILENO, "stderr"),
      printer_(out_, err_, c.tmpdir, c.keep_order,
               [this](JobOutput&& o) {
                 if (o.pooled) pool_.give_back({std::move(o.out), std::move(o.err), {}, {}}, o.out_size, o.err_size);
               }),  // --results files are simply closed
      sched_(Scheduler::Options{jobs_.size(), c.parallel, c.halt, c.retry, static_cast<std::uint64_t>(::getpid())}),
      pool_(c.tmpdir) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  host_ = host;
  tty_ = ::isatty(STDERR_FILENO) != 0;
}

// procctx's own lines on stderr: each one write, so never inside a job's
// line that procctx's relay writes there too.
void Runner::write_err(std::string_view text) { err_.write(text); }

std::string Runner::tag_for(const Job& j) const {
  if (!cfg_.tag && !cfg_.tagstring) return {};
  std::string all;
  for (std::size_t i = 0; i < j.args.size(); ++i) all += (i ? " " : "") + j.args[i];
  if (j.args.empty()) all = j.command;
  if (!cfg_.tagstring) return all + "\t";
  // The tag string's own {#} and {}, in one pass (a value is never expanded).
  std::string out;
  const std::string& t = *cfg_.tagstring;
  for (std::size_t i = 0; i < t.size();) {
    if (t.compare(i, 3, "{#}") == 0) {
      out += std::to_string(j.seq);
      i += 3;
    } else if (t.compare(i, 2, "{}") == 0) {
      out += all;
      i += 2;
    } else {
      out += t[i++];
    }
  }
  return out + "\t";
}

void Runner::start_ready(Lock& lock) {
  TimePoint now = Clock::now();
  while (auto s = sched_.next(now)) {
    if (!start(lock, *s)) break;  // held back for want of file descriptors: again when a job ends
  }
}

Result<void> Runner::open_output(Attempt& a, std::size_t token, FileHandle& child_out, FileHandle& child_err) {
  a.output.index = a.job;
  a.output.tag = tag_for(a.spec);
  if (files_.results) {
    auto f = files_.results->create(a.spec.seq);
    if (!f) return f.error();
    a.output.out = std::move(f->out);
    a.output.err = std::move(f->err);
  }
  if (cfg_.line_buffer) {
    // Relayed by procctx's loop; with --results, followed from the files.
    if (follower_) follower_->add(token, a.output.tag, a.output.out.fd(), a.output.err.fd());
    return {};
  }
  if (files_.results) return {};  // the job writes into them itself
  auto pair = pool_.take();
  if (!pair) return pair.error();
  a.output.out = std::move(pair->out);
  a.output.err = std::move(pair->err);
  a.output.pooled = true;
  child_out = std::move(pair->child_out);
  child_err = std::move(pair->child_err);
  return {};
}

bool Runner::start(Lock& lock, const Scheduler::Start& s) {
  std::size_t token = next_token_++;
  Attempt a;
  a.job = s.job;
  a.slot = s.slot;
  a.attempt = s.attempt;
  a.spec = jobs_.job(s.job);
  apply_slot(a.spec, s.slot);
  const std::string* program = a.spec.words.empty() ? nullptr : &programs_.resolve(a.spec.words[0]);
  a.direct = program && !program->empty();
  a.argv = a.direct ? a.spec.words : a.spec.argv;
  if (a.direct) a.argv[0] = *program;
  FileHandle child_out, child_err;
  auto opened = open_output(a, token, child_out, child_err);
  Duration limit = a.spec.timeout.value_or(cfg_.timeout.value_or(Duration::zero()));
  auto wc = limit > Duration::zero() ? with_timeout(run_ctx_.ctx, limit) : with_cancel(run_ctx_.ctx);
  a.ctx = wc.ctx;
  a.cancel = std::make_shared<Canceler>(std::move(wc.cancel));
  a.started = Clock::now();
  a.start_unix = unix_now();
  lock.unlock();  // a spawn takes a while (and may wait for procctx's loop thread)
  ChildStdio fds{dev_null_.fd(), child_out.fd() >= 0 ? child_out.fd() : a.output.out.fd(),
                 child_err.fd() >= 0 ? child_err.fd() : a.output.err.fd()};
  Result<Process> p = opened ? command_for(cfg_, a, fds).spawn(a.ctx) : Result<Process>{opened.error()};
  child_out = FileHandle{};
  child_err = FileHandle{};
  lock.lock();
  if (!p && out_of_fds(p.error().code()) && (sched_.running() > 1 || !ended_.empty())) {
    // Not the job's failure: it starts when a running job has given its fds back.
    if (follower_) (void)follower_->finish(token);
    if (a.output.pooled) pool_.give_back({std::move(a.output.out), std::move(a.output.err), {}, {}}, 0, 0);
    sched_.hold_back(s);
    return false;
  }
  if (!p) {
    auto failure = opened ? describe_spawn_failure(p.error(), a.direct ? a.spec.words[0] : a.argv[0])
                          : SpawnFailure{kExitFailure, p.error().message()};
    if (follower_) (void)follower_->finish(token);
    start_failed(std::move(a), failure.text, failure.exit_code);
    return true;
  }
  a.process.emplace(std::move(*p));
  // Registered under mu_: when it runs (on the loop thread, even for a job
  // that has ended already) the attempt is in running_.
  a.process->on_exit([this, token](const Completed&) { ended(token); });
  // A halt that came while the spawn was under way stops it too.
  if (sched_.stopping()) (*a.cancel)("procctx batch halted: " + halted_why_);
  running_.emplace(token, std::move(a));
  return true;
}

void Runner::start_failed(Attempt a, std::string message, int exit_code) {
  AttemptEnd end;
  end.exit_code = exit_code;
  end.start_failed = true;
  sched_.finished(a.job, a.slot, end, Clock::now());
  a.record = start_failed_record(a, message, exit_code);
  // Reported by the runner's thread after the ends it is told of now (from
  // ended(): the exit posted next; from the runner's own loop: at once).
  failed_starts_.push_back({std::move(a), std::move(message)});
}

void Runner::ended(std::size_t token) {
  {
    Lock lock{mu_};
    auto it = running_.find(token);
    if (it == running_.end()) return;
    Attempt a = std::move(it->second);
    running_.erase(it);
    AttemptEnd end = attempt_end(cfg_, a, a.process->wait(), run_deadline_);
    a.halted = !halted_why_.empty();  // the record is written later, on the runner's thread
    auto retry_at = sched_.finished(a.job, a.slot, end, Clock::now());
    if (sched_.halted() && halted_why_.empty()) halted_why_ = "--halt " + cfg_.halt_text;
    a.final = !retry_at;
    if (retry_at && a.attempt == 1) ++retried_;  // jobs that needed another attempt
    ended_.emplace(token, std::move(a));
    stop_running_if_asked(lock);
    start_ready(lock);  // the freed slot, now: before the runner's thread wakes to compete for a CPU
  }
  inbox_.post_exit(token);
}

void Runner::deliver(Attempt& a, std::size_t token, bool last) {
  JobRecord& rec = a.record;
  std::string note = note_for(a, rec, !last);
  if (follower_) {
    auto t = follower_->finish(token);
    rec.out_bytes = t.out_bytes;
    rec.err_bytes = t.err_bytes;
    if (!rec.success()) rec.stderr_tail = std::move(t.err_tail);
  } else if (cfg_.line_buffer) {
    // Relayed by procctx: what the job wrote, and what could not be written on.
    const Completed& c = a.process->wait();
    rec.out_bytes = c.out.total();
    rec.err_bytes = c.err.total();
    for (auto [sink, o] : {std::pair{&out_, &c.out}, std::pair{&err_, &c.err}}) {
      if (o->error() == std::errc::broken_pipe && sink == &out_) {
        pipe_broke_ = true;
      } else if (o->error() || o->dropped() > 0) {
        sink->relay_failed(o->error().value(), o->dropped());
      }
    }
  }
  if (cfg_.line_buffer) {
    if (!note.empty()) write_err(note);
    return;
  }
  a.output.out_size = file_size(a.output.out.fd());
  a.output.err_size = file_size(a.output.err.fd());
  rec.out_bytes = static_cast<std::uint64_t>(a.output.out_size);
  rec.err_bytes = static_cast<std::uint64_t>(a.output.err_size);
  if (!rec.success()) rec.stderr_tail = tail_of(a.output.err.fd());
  a.output.note = std::move(note);
  printer_.finished(std::move(a.output), last);
}

void Runner::log(const JobRecord& rec) {
  if (cfg_.report) records_.push_back(rec);
  if (files_.results) {
    if (auto ok = files_.results->write_meta(rec.seq, meta_json(rec)); !ok) {
      write_err("procctx batch: " + printable(ok.error().message()) + "\n");
      own_failure_ = true;
    }
  }
  if (!files_.joblog || own_failure_) return;
  if (auto ok = files_.joblog->write(rec); !ok) {
    // The log is what --resume goes by: without it, starting more jobs only makes work to redo.
    write_err("procctx batch: " + printable(ok.error().message()) + "; starting no new job\n");
    own_failure_ = true;
    halt(HaltPolicy::When::soon, "the job log could not be written");
  }
}

void Runner::complete(Attempt a, std::size_t token) {
  AttemptEnd end;
  a.record = record_of(cfg_, a, a.process->wait(), run_deadline_, a.halted, end);
  warn_of_tree_fallback(a.process->wait());
  a.record.final = a.final;
  a.record.shard = cfg_.shard.text();
  a.record.host = host_;
  deliver(a, token, a.final);
  log(a.record);
  check_stdout();
}

// Once per run: the tree asked for could not be made, so each job got a process group instead.
void Runner::warn_of_tree_fallback(const Completed& c) {
  if (tree_warned_ || c.tree_note.empty() || cfg_.tree_fallback_quiet) return;
  if (cfg_.tree != Tree::cgroup && cfg_.tree != Tree::pid_namespace) return;
  tree_warned_ = true;
  const char* asked = cfg_.tree == Tree::cgroup ? "cgroup" : "pidns";
  write_err(std::string{"procctx batch: warning: --tree "} + asked + " not available, each job gets a process group: " +
            printable(c.tree_note) + "\n");
}

void Runner::report_failed_starts() {
  std::vector<FailedStart> failed;
  {
    std::lock_guard lock{mu_};
    failed.swap(failed_starts_);
  }
  for (auto& f : failed) {
    Attempt& a = f.attempt;
    std::string note = "procctx batch: #" + std::to_string(a.spec.seq) + " " + printable(f.message) + "\n";
    if (cfg_.line_buffer) {
      write_err(note);
    } else {
      // Through the printer even without output, so --keep-order knows this job is done.
      a.output.index = a.job;
      a.output.note = std::move(note);
      printer_.finished(std::move(a.output), true);
    }
    a.record.shard = cfg_.shard.text();
    a.record.host = host_;
    log(a.record);
  }
}

void Runner::halt(HaltPolicy::When how, std::string why) {
  Lock lock{mu_};
  if (halted_why_.empty() || how == HaltPolicy::When::now) halted_why_ = std::move(why);
  sched_.halt(how);
  stop_running_if_asked(lock);
}

void Runner::stop_running_if_asked(Lock&) {
  if (!sched_.take_stop_request()) return;
  if (halted_why_.empty()) halted_why_ = "--halt " + cfg_.halt_text;
  // A cancel only hands the stop to procctx's loop thread: quick, and safe under mu_.
  for (auto& [token, a] : running_) (*a.cancel)("procctx batch halted: " + halted_why_);
}

void Runner::check_stdout() {
  if (broken_pipe_ || !(out_.broken_pipe() || pipe_broke_)) return;
  broken_pipe_ = true;
  write_err(std::string{"procctx batch: "} + kBrokenPipe + "; stopping the running jobs\n");
  halt(HaltPolicy::When::now, kBrokenPipe);
}

void Runner::on_mail(const Inbox::Mail& m) {
  for (int sig : m.signals) {
    if (++signals_ == 1) first_signal_ = sig;
    std::string name = signal_name(sig);
    if (signals_ == 1 && !cfg_.first_signal_now) {
      std::string list = "\nprocctx batch: " + name + ": starting no new job; still running:\n";
      {
        std::lock_guard lock{mu_};
        for (const auto& [token, a] : running_) {
          list += "  #" + std::to_string(a.spec.seq) + " " + printable(a.spec.command) + "\n";
        }
      }
      write_err(list + "procctx batch: send it again to stop them\n");
      halt(HaltPolicy::When::soon, "procctx batch received " + name);
    } else {
      halt(HaltPolicy::When::now, "procctx batch received " + name + (signals_ > 1 ? " twice" : ""));
    }
  }
  std::map<std::size_t, Attempt> ended;
  if (!m.exited.empty()) {
    std::lock_guard lock{mu_};  // once for all of them
    for (std::size_t token : m.exited) {
      if (auto node = ended_.extract(token)) ended.insert(std::move(node));
    }
  }
  for (std::size_t token : m.exited) {
    if (auto it = ended.find(token); it != ended.end()) complete(std::move(it->second), token);
  }
  report_failed_starts();
  if (run_ctx_.ctx.done()) {
    bool halted = false;
    {
      std::lock_guard lock{mu_};
      halted = sched_.halted();
    }
    if (!halted) halt(HaltPolicy::When::soon, "the --deadline passed");
  }
  check_stdout();
}

std::optional<TimePoint> Runner::next_wake() const {
  std::optional<TimePoint> wake = sched_.next_wakeup();
  if (!cfg_.quiet) {
    TimePoint tick = last_progress_ + (tty_ ? std::chrono::milliseconds(100) : std::chrono::seconds(10));
    if (!wake || tick < *wake) wake = tick;
  }
  if (follower_ && follower_->following()) {
    TimePoint tick = Clock::now() + std::chrono::milliseconds(50);
    if (!wake || tick < *wake) wake = tick;
  }
  return wake;
}

void Runner::progress(bool force) {
  if (cfg_.quiet) return;
  TimePoint now = Clock::now();
  auto interval = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
  if (!force && now - last_progress_ < interval) return;
  last_progress_ = now;
  double elapsed = std::chrono::duration<double>(now - began_).count();
  std::size_t done, total, running, failed;
  {
    std::lock_guard lock{mu_};
    done = sched_.completed();
    total = sched_.total();
    running = sched_.running();
    failed = sched_.failed();
  }
  double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  bool eta = done > 0 && done < total;
  char line[256];
  std::snprintf(line, sizeof line, "procctx batch: %zu/%zu done, %zu running, %zu failed, %.1f jobs/s%s%s", done,
                total, running, failed, rate, eta ? ", ETA " : "",
                eta ? short_duration(static_cast<double>(total - done) / std::max(rate, 1e-9)).c_str() : "");
  // Progress is not job output: straight to the fd, and a failure to write it is no loss.
  (void)write_all(STDERR_FILENO, tty_ ? "\r\x1b[K" + std::string{line} : std::string{line} + "\n");
}

int Runner::run() {
  ::signal(SIGPIPE, SIG_IGN);  // a reader that goes away is an EPIPE, handled; children get the default back
  if (cfg_.line_buffer && files_.results) follower_ = std::make_unique<LineFollower>(out_, err_);
  auto watch = on_signal({SIGINT, SIGTERM, SIGHUP}, [this](int sig) { inbox_.post_signal(sig); });
  if (!watch) {
    write_err("procctx batch: cannot watch SIGINT, SIGTERM and SIGHUP: " + printable(watch.error().message()) + "\n");
    return kExitOwnFailure;
  }
  signals_watch_.emplace(std::move(*watch));
  began_ = Clock::now();
  began_unix_ = unix_now();
  last_progress_ = tty_ ? TimePoint{} : began_;  // off a terminal: the first line after 10 s
  run_ctx_ = cfg_.deadline ? with_timeout(background(), *cfg_.deadline) : with_cancel(background());
  if (cfg_.deadline) run_deadline_ = began_ + *cfg_.deadline;
  deadline_watch_.emplace(run_ctx_.ctx.on_done([this] { inbox_.wake(); }));
  for (;;) {
    std::optional<TimePoint> wake;
    {
      Lock lock{mu_};
      start_ready(lock);
      stop_running_if_asked(lock);
      if (sched_.all_done() && ended_.empty() && failed_starts_.empty()) break;
      wake = failed_starts_.empty() ? next_wake() : std::optional<TimePoint>{Clock::now()};
    }
    on_mail(inbox_.wait(wake));
    if (follower_) follower_->follow();
    progress(false);
  }
  return wrap_up();
}

Summary Runner::summary() {
  std::lock_guard lock{mu_};
  Summary s;
  s.total = jobs_.size() + jobs_.errors().size();
  s.succeeded = sched_.succeeded();
  s.failed = sched_.failed() + jobs_.errors().size();
  s.not_started = sched_.not_started();
  s.retried = retried_;
  s.started_at = began_unix_;
  s.wall = std::chrono::duration<double>(Clock::now() - began_).count();
  s.parallel = cfg_.parallel;
  s.halted = halted_why_;
  s.shard = cfg_.shard.text();
  s.settings = cfg_.settings;
  s.host = host_;
  rusage self{};
  if (::getrusage(RUSAGE_SELF, &self) == 0) {
    s.self_cpu = static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                 static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
  }
  for (const Sink* sink : {&out_, &err_}) {
    if (auto l = sink->loss()) s.losses.push_back(*l);
  }
  if (signals_ > 0) {
    s.exit_code = 128 + first_signal_;
  } else if (broken_pipe_) {
    s.exit_code = kExitBrokenPipe;
  } else if (own_failure_ || !s.losses.empty()) {
    s.exit_code = kExitOwnFailure;
  } else {
    s.exit_code = batch_exit_code(s.failed);
  }
  return s;
}

int Runner::wrap_up() {
  signals_watch_.reset();
  printer_.flush();
  if (!cfg_.quiet) {
    progress(true);
    if (tty_) (void)write_all(STDERR_FILENO, "\n");
  }
  Summary s = summary();
  for (const auto& l : s.losses) {
    err_.write("procctx batch: " + l.stream + ": " + l.error + ": the output of " + std::to_string(l.jobs) +
               " job(s), " + std::to_string(l.bytes) + " bytes, was lost\n");
  }
  for (auto [file, text] : {std::pair{&files_.summary, summary_json(s)},
                            std::pair{&files_.report, cfg_.report ? html_report(s, std::move(records_)) : ""}}) {
    if (!*file) continue;
    if (auto ok = (*file)->replace(text); !ok) {
      err_.write("procctx batch: " + printable(ok.error().message()) + "\n");
      s.exit_code = kExitOwnFailure;
    }
  }
  return s.exit_code;
}

}  // namespace

int run_jobs(const Config& config, JobList jobs, RunFiles files) {
  Runner runner{config, std::move(jobs), std::move(files)};
  return runner.run();
}

}  // namespace procctx::cli::batch
