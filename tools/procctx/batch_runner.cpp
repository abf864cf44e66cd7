#include "batch_runner.hpp"

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

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

constexpr int kExitOwnFailure = 255;
constexpr int kExitBrokenPipe = 128 + SIGPIPE;
constexpr off_t kTailBytes = 1024;
constexpr const char* kBrokenPipe = "the reader of procctx batch's stdout went away";

// One attempt of one job while it runs.
struct Running {
  std::size_t job = 0, slot = 0;
  int attempt = 1;
  Job spec;                       // the job, with its slot filled in
  std::vector<std::string> argv;  // what runs (the shell's, or the plain words)
  std::optional<Process> process;
  Canceler cancel;
  Context ctx;
  JobOutput output;               // the files it writes into (grouped output)
  TimePoint started{};
  double start_unix = 0;
};

bool out_of_fds(const std::error_code& ec) {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system;
}

// The end of a file's bytes, from a line start when there is one.
std::string tail_of(int fd) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size == 0) return {};
  off_t from = std::max<off_t>(0, st.st_size - kTailBytes);
  std::string tail(static_cast<std::size_t>(st.st_size - from), '\0');
  ssize_t n = ::pread(fd, tail.data(), tail.size(), from);
  tail.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (from > 0) {
    auto nl = tail.find('\n');
    if (nl != std::string::npos && nl + 1 < tail.size()) tail.erase(0, nl + 1);
  }
  return tail;
}

off_t file_size(int fd) {
  struct stat st {};
  return fd >= 0 && ::fstat(fd, &st) == 0 ? st.st_size : 0;
}

class Runner {
 public:
  Runner(const Config& c, JobList jobs, RunFiles files);
  int run();

 private:
  void start_ready();
  bool start(const Scheduler::Start& s);
  Result<void> open_output(Running& r, std::size_t token, FileHandle& child_out, FileHandle& child_err);
  Command command_for(const Running& r, int child_out, int child_err);
  void start_failed(Running& r, const std::string& message, int exit_code);
  void finish(std::size_t token);
  JobRecord record_of(const Running& r, const Completed& c, AttemptEnd& end) const;
  void deliver(Running& r, std::size_t token, JobRecord& rec, bool last);
  void log(const JobRecord& rec);
  std::string note_for(const Running& r, const JobRecord& rec, bool retrying) const;
  std::string tag_for(const Job& j) const;
  void on_mail(const Inbox::Mail& m);
  void halt(HaltPolicy::When how, std::string why);
  void stop_running_if_asked();
  void check_stdout();
  std::optional<TimePoint> next_wake() const;
  void progress(bool force);
  void write_err(std::string_view text);
  int wrap_up();
  Summary summary() const;
  int exit_code(const Summary& s) const;

  const Config& cfg_;
  JobList jobs_;
  RunFiles files_;
  Sink out_, err_;
  FilePool pool_;
  Printer printer_;
  std::unique_ptr<LineRelay> lines_;
  DirectPrograms programs_;
  Inbox inbox_;
  Scheduler sched_;
  WithCancel run_ctx_{background(), Canceler{}};
  std::optional<Registration> deadline_watch_;
  std::optional<TimePoint> run_deadline_;
  std::map<std::size_t, Running> running_;  // by token
  std::size_t next_token_ = 1;
  std::vector<JobRecord> records_;  // only for --report
  std::size_t retried_ = 0;
  std::string halted_why_;
  std::atomic<bool> pipe_broke_{false};  // set by the line relay's thread
  bool broken_pipe_ = false, own_failure_ = false;
  bool finishing_ = false;  // a job that ended still holds its files (so fds will come back)
  int signals_ = 0, first_signal_ = 0;
  TimePoint began_{}, last_progress_{};
  double began_unix_ = 0;
  std::string host_;
  bool tty_ = false;
};

Runner::Runner(const Config& c, JobList jobs, RunFiles files)
    : cfg_(c),
      jobs_(std::move(jobs)),
      files_(std::move(files)),
      out_(STDOUT_FILENO, "stdout", files_.stdout_closed),
      err_(STDERR_FILENO, "stderr", files_.stderr_closed),
      pool_(c.tmpdir),
      printer_(out_, err_, c.tmpdir, c.keep_order,
               [this](JobOutput&& o) {
                 if (o.pooled) pool_.give_back({std::move(o.out), std::move(o.err)});
               }),
      sched_(Scheduler::Options{jobs_.size(), c.parallel, c.halt, c.retry, static_cast<std::uint64_t>(::getpid())}) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  host_ = host;
  tty_ = ::isatty(STDERR_FILENO) != 0;
}

void Runner::write_err(std::string_view text) {
  if (lines_) {
    lines_->note(text);
  } else {
    err_.write(text);
  }
}

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

void Runner::start_ready() {
  TimePoint now = Clock::now();
  while (auto s = sched_.next(now)) {
    if (!start(*s)) break;  // held back for want of file descriptors: try when a job ends
  }
}

Result<void> Runner::open_output(Running& r, std::size_t token, FileHandle& child_out, FileHandle& child_err) {
  r.output.index = r.job;
  r.output.tag = tag_for(r.spec);
  if (files_.results) {
    auto f = files_.results->create(r.spec.seq);
    if (!f) return f.error();
    r.output.out = std::move(f->out);
    r.output.err = std::move(f->err);
  }
  if (lines_) {
    auto ends = lines_->add(token, r.output.tag, r.output.out.fd(), r.output.err.fd());
    if (!ends) return ends.error();
    child_out = std::move(ends->out);
    child_err = std::move(ends->err);
    return {};
  }
  if (!files_.results) {
    auto pair = pool_.take();
    if (!pair) return pair.error();
    r.output.out = std::move(pair->out);
    r.output.err = std::move(pair->err);
    r.output.pooled = true;
    auto o = pool_.child_end(r.output.out.fd());
    auto e = o ? pool_.child_end(r.output.err.fd()) : Result<FileHandle>{o.error()};
    if (!o || !e) return o ? e.error() : o.error();
    child_out = std::move(*o);
    child_err = std::move(*e);
  }
  return {};
}

Command Runner::command_for(const Running& r, int child_out, int child_err) {
  const Job& j = r.spec;
  Command cmd{r.argv[0], {r.argv.begin() + 1, r.argv.end()}};
  if (!j.words.empty() && r.argv.size() == j.words.size()) cmd.arg0(j.words[0]);
  cmd.path_lookup(PathLookup::allow_relative)
      .in(Stdio::null())
      .out(Stdio::fd(child_out))
      .err(Stdio::fd(child_err))
      .tree(cfg_.tree)
      .stop(cfg_.stop)
      .leftovers(Leftovers::kill)
      .parent_death_signal(SIGKILL);  // a job never outlives procctx batch, even after kill -9
  if (j.cwd) cmd.cwd(*j.cwd);
  for (const auto& [k, v] : j.env) cmd.env(k, v);
  cmd.env("PARALLEL_SEQ", std::to_string(j.seq)).env("PARALLEL_JOBSLOT", std::to_string(r.slot));
  return cmd;
}

bool Runner::start(const Scheduler::Start& s) {
  std::size_t token = next_token_++;
  Running r;
  r.job = s.job;
  r.slot = s.slot;
  r.attempt = s.attempt;
  r.spec = jobs_.job(s.job);
  apply_slot(r.spec, s.slot);
  const std::string* direct = r.spec.words.empty() ? nullptr : &programs_.resolve(r.spec.words[0]);
  r.argv = direct && !direct->empty() ? r.spec.words : r.spec.argv;
  if (direct && !direct->empty()) r.argv[0] = *direct;

  FileHandle child_out, child_err;
  auto opened = open_output(r, token, child_out, child_err);
  Duration limit = r.spec.timeout.value_or(cfg_.timeout.value_or(Duration::zero()));
  auto wc = limit > Duration::zero() ? with_timeout(run_ctx_.ctx, limit) : with_cancel(run_ctx_.ctx);
  r.ctx = wc.ctx;
  r.cancel = std::move(wc.cancel);
  r.started = Clock::now();
  r.start_unix = unix_now();
  Result<Process> p = opened ? command_for(r, child_out.fd() >= 0 ? child_out.fd() : r.output.out.fd(),
                                           child_err.fd() >= 0 ? child_err.fd() : r.output.err.fd())
                                   .spawn(r.ctx)
                             : Result<Process>{opened.error()};
  child_out = FileHandle{};
  child_err = FileHandle{};
  if (!p && out_of_fds(p.error().code()) && (!running_.empty() || finishing_)) {
    // Not a failure of the job: start it when a running one has given its fds back.
    if (lines_) (void)lines_->finish(token, Clock::now());
    if (r.output.pooled) pool_.give_back({std::move(r.output.out), std::move(r.output.err)});
    sched_.hold_back(s);
    --next_token_;
    return false;
  }
  if (!p) {
    auto failure = opened ? describe_spawn_failure(p.error(), r.spec.words.empty() ? r.argv[0] : r.spec.words[0])
                          : SpawnFailure{kExitFailure, p.error().message()};
    start_failed(r, failure.text, failure.exit_code);
    if (lines_) (void)lines_->finish(token, Clock::now());
    return true;
  }
  r.process.emplace(std::move(*p));
  r.process->on_exit([this, token](const Completed&) { inbox_.post_exit(token); });
  running_.emplace(token, std::move(r));
  return true;
}

JobRecord Runner::record_of(const Running& r, const Completed& c, AttemptEnd& end) const {
  JobRecord rec;
  rec.id = jobs_.id(r.job);
  rec.seq = r.spec.seq;
  rec.command = r.spec.command;
  rec.argv = r.argv;
  if (!r.spec.words.empty() && r.argv.size() == r.spec.words.size()) rec.argv[0] = r.spec.words[0];
  rec.start = r.start_unix;
  rec.runtime = std::chrono::duration<double>(c.wall).count();
  rec.attempt = r.attempt;
  rec.slot = r.slot;
  rec.shard = cfg_.shard.text();
  rec.host = host_;
  rec.user_cpu = std::chrono::duration<double>(c.rusage.user).count();
  rec.sys_cpu = std::chrono::duration<double>(c.rusage.system).count();
  rec.max_rss_kib = c.rusage.max_rss_kib;
  if (c.status.exited()) rec.exit_code = end.exit_code = c.status.code();
  if (c.status.signaled()) rec.signal = end.signal = c.status.signal();
  if (c.stop_reason == StopReason::deadline) {
    // The earlier of the job's own deadline and the run's fired.
    Duration own = r.spec.timeout ? *r.spec.timeout : cfg_.timeout.value_or(Duration::max());
    bool own_first = own != Duration::max() && (!run_deadline_ || r.started + own <= *run_deadline_);
    (own_first ? end.timed_out : end.run_deadline) = true;
    rec.stop = own_first ? "timeout" : "deadline";
  } else if (c.stop_reason == StopReason::canceled) {
    end.interrupted = true;
    rec.stop = halted_why_.empty() ? "interrupted" : "halt";
  }
  return rec;
}

void Runner::start_failed(Running& r, const std::string& message, int exit_code) {
  AttemptEnd end;
  end.exit_code = exit_code;
  end.start_failed = true;
  sched_.finished(r.job, r.slot, end, Clock::now());
  JobRecord rec;
  rec.id = jobs_.id(r.job);
  rec.seq = r.spec.seq;
  rec.command = r.spec.command;
  rec.argv = r.argv;
  rec.start = r.start_unix;
  rec.exit_code = exit_code;
  rec.stop = "start_failed";
  rec.attempt = r.attempt;
  rec.slot = r.slot;
  rec.shard = cfg_.shard.text();
  rec.host = host_;
  rec.stderr_tail = message + "\n";
  log(rec);
  std::string note = "procctx batch: #" + std::to_string(r.spec.seq) + " " + message + "\n";
  if (lines_) {
    write_err(note);
    return;
  }
  // Through the printer even without output, so --keep-order knows this job is done.
  r.output.index = r.job;
  r.output.note = std::move(note);
  printer_.finished(std::move(r.output), true);
}

std::string Runner::note_for(const Running& r, const JobRecord& rec, bool retrying) const {
  if (rec.stop.empty() && rec.signal == 0) return {};
  std::string status = rec.signal ? "killed by " + signal_name(rec.signal) : "exited " + std::to_string(rec.exit_code);
  std::string note = "procctx batch: #" + std::to_string(r.spec.seq) + " " + r.spec.command + ": " + status;
  if (!rec.stop.empty()) note += " (" + rec.stop + ")";
  if (retrying) note += "; will try again";
  return note + "\n";
}

void Runner::deliver(Running& r, std::size_t token, JobRecord& rec, bool last) {
  std::string note = note_for(r, rec, !last);
  if (lines_) {
    // Whatever the pipes still hold; a process left holding them was stopped
    // with the tree (Leftovers::kill), so EOF comes at once.
    auto t = lines_->finish(token, Clock::now() + std::chrono::seconds(2));
    rec.out_bytes = t.out_bytes;
    rec.err_bytes = t.err_bytes;
    if (!rec.success()) rec.stderr_tail = std::move(t.err_tail);
    if (!note.empty()) lines_->note(note);
    return;
  }
  rec.out_bytes = static_cast<std::uint64_t>(file_size(r.output.out.fd()));
  rec.err_bytes = static_cast<std::uint64_t>(file_size(r.output.err.fd()));
  if (!rec.success()) rec.stderr_tail = tail_of(r.output.err.fd());
  r.output.note = std::move(note);
  printer_.finished(std::move(r.output), last);
}

void Runner::log(const JobRecord& rec) {
  if (cfg_.report) records_.push_back(rec);
  if (files_.results) {
    if (auto ok = files_.results->write_meta(rec.seq, meta_json(rec)); !ok) {
      write_err("procctx batch: " + ok.error().message() + "\n");
      own_failure_ = true;
    }
  }
  if (!files_.joblog || own_failure_) return;
  if (auto ok = files_.joblog->write(rec); !ok) {
    // The log is what --resume goes by: without it, starting more jobs only makes work to redo.
    write_err("procctx batch: " + ok.error().message() + "; starting no new job\n");
    own_failure_ = true;
    halt(HaltPolicy::When::soon, "the job log could not be written");
  }
}

void Runner::finish(std::size_t token) {
  auto it = running_.find(token);
  if (it == running_.end()) return;
  Running r = std::move(it->second);
  running_.erase(it);
  const Completed& c = r.process->wait();
  AttemptEnd end;
  JobRecord rec = record_of(r, c, end);
  auto retry_at = sched_.finished(r.job, r.slot, end, Clock::now());
  if (sched_.halted() && halted_why_.empty()) halted_why_ = "--halt " + cfg_.halt_text;
  rec.final = !retry_at;
  if (retry_at && r.attempt == 1) ++retried_;  // jobs that needed another attempt
  // The slot is free: the next job starts before this one's output is printed.
  finishing_ = true;
  start_ready();
  finishing_ = false;
  deliver(r, token, rec, rec.final);
  log(rec);
  check_stdout();
  progress(false);
}

void Runner::halt(HaltPolicy::When how, std::string why) {
  if (halted_why_.empty() || how == HaltPolicy::When::now) halted_why_ = std::move(why);
  sched_.halt(how);
  stop_running_if_asked();
}

void Runner::stop_running_if_asked() {
  if (!sched_.take_stop_request()) return;
  if (halted_why_.empty()) halted_why_ = "--halt " + cfg_.halt_text;
  for (auto& [token, r] : running_) r.cancel("procctx batch halted: " + halted_why_);
}

void Runner::check_stdout() {
  if (broken_pipe_ || !(out_.broken_pipe() || pipe_broke_.load())) return;
  broken_pipe_ = true;
  write_err(std::string{"procctx batch: "} + kBrokenPipe + "; stopping the running jobs\n");
  halt(HaltPolicy::When::now, kBrokenPipe);
}

void Runner::on_mail(const Inbox::Mail& m) {
  for (int i = 0; i < m.signals; ++i) {
    int sig = ++signals_ == 1 ? m.first_signal : m.last_signal;
    if (signals_ == 1) first_signal_ = sig;
    std::string name = signal_name(sig);
    if (signals_ == 1 && !cfg_.first_signal_now) {
      std::string list = "\nprocctx batch: " + name + ": starting no new job; still running:\n";
      for (const auto& [token, r] : running_) list += "  #" + std::to_string(r.spec.seq) + " " + r.spec.command + "\n";
      write_err(list + "procctx batch: send it again to stop them\n");
      halt(HaltPolicy::When::soon, "procctx batch received " + name);
    } else {
      halt(HaltPolicy::When::now, "procctx batch received " + name + (signals_ > 1 ? " twice" : ""));
    }
  }
  for (std::size_t token : m.exited) finish(token);
  if (run_ctx_.ctx.done() && !sched_.halted()) halt(HaltPolicy::When::soon, "the --deadline passed");
  check_stdout();
}

std::optional<TimePoint> Runner::next_wake() const {
  std::optional<TimePoint> wake = sched_.next_wakeup();
  if (!cfg_.quiet) {
    TimePoint tick = last_progress_ + (tty_ ? std::chrono::milliseconds(100) : std::chrono::seconds(10));
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
  std::size_t done = sched_.completed(), total = sched_.total();
  double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  bool eta = done > 0 && done < total;
  char line[256];
  std::snprintf(line, sizeof line, "procctx batch: %zu/%zu done, %zu running, %zu failed, %.1f jobs/s%s%s", done,
                total, sched_.running(), sched_.failed(), rate, eta ? ", ETA " : "",
                eta ? short_duration(static_cast<double>(total - done) / std::max(rate, 1e-9)).c_str() : "");
  // Progress is not job output: straight to the fd, and a failure to write it is no loss.
  (void)write_all(STDERR_FILENO, tty_ ? "\r\x1b[K" + std::string{line} : std::string{line} + "\n");
}

int Runner::run() {
  ::signal(SIGPIPE, SIG_IGN);  // a reader that goes away is an EPIPE, handled; children get the default back
  if (cfg_.line_buffer) {
    lines_ = std::make_unique<LineRelay>(out_, err_, [this] {
      pipe_broke_.store(true);
      inbox_.wake();
    });
    if (!lines_->ok()) {
      write_err(std::string{"procctx batch: cannot relay output lines: "} + std::strerror(errno) + "\n");
      return kExitOwnFailure;
    }
  }
  inbox_.catch_signals();
  began_ = Clock::now();
  began_unix_ = unix_now();
  last_progress_ = tty_ ? TimePoint{} : began_;  // off a terminal: the first line after 10 s
  run_ctx_ = cfg_.deadline ? with_timeout(background(), *cfg_.deadline) : with_cancel(background());
  if (cfg_.deadline) run_deadline_ = began_ + *cfg_.deadline;
  deadline_watch_.emplace(run_ctx_.ctx.on_done([this] { inbox_.wake(); }));
  while (!sched_.all_done()) {
    start_ready();
    stop_running_if_asked();
    if (sched_.all_done()) break;
    on_mail(inbox_.wait(next_wake()));
    progress(false);
  }
  return wrap_up();
}

Summary Runner::summary() const {
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
  return s;
}

int Runner::exit_code(const Summary& s) const {
  if (signals_ > 0) return 128 + first_signal_;
  if (broken_pipe_) return kExitBrokenPipe;
  if (own_failure_ || !s.losses.empty()) return kExitOwnFailure;
  return batch_exit_code(s.failed);
}

int Runner::wrap_up() {
  lines_.reset();  // every job has ended: nothing is relayed any more
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
  s.exit_code = exit_code(s);
  for (auto [file, text] : {std::pair{&files_.summary, summary_json(s)},
                            std::pair{&files_.report, cfg_.report ? html_report(s, std::move(records_)) : ""}}) {
    if (!*file) continue;
    if (auto ok = (*file)->replace(text); !ok) {
      err_.write("procctx batch: " + ok.error().message() + "\n");
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
