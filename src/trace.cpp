// trace.cpp — procctx::trace: a Chrome trace-event JSON timeline of children,
// groups and pipelines, buffered in memory and written at stop() or exit.
#include "trace.hpp"

#include <procctx/diagnostics.hpp>

#include "proc_linux.hpp"
#include "sys_linux.hpp"

#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace procctx {
namespace detail::trace {

std::atomic<bool> active{false};

namespace {

// Past this much event text, events are counted as dropped instead of
// kept; the count goes into the file.
constexpr std::size_t kMaxBytes = std::size_t{64} << 20;
constexpr std::int64_t kScopeLaneBase = 1'000'000'000;

// Never destroyed: the loop thread may still emit while the process exits.
struct State {
  std::mutex mu;
  bool running = false;       // guarded by mu; `active` mirrors it
  std::uint32_t session = 0;  // of the current (or last) trace
  std::string path;
  sys::UniqueFd fd;
  std::string events;  // comma-separated JSON objects
  std::uint64_t kept = 0, dropped = 0;
  bool exit_hook = false;
};

State& state() {
  static State* s = new State;
  return *s;
}

std::atomic<std::int64_t> next_scope_lane{kScopeLaneBase};
std::atomic<pid_t> self_pid{0};  // set at start: getpid() is a syscall
thread_local std::int64_t current_scope = 0;

// JSON string contents: quotes, backslashes and control characters escaped;
// bytes that are not valid UTF-8 (argv may hold anything) become U+FFFD, so
// that strict parsers accept the file.
void append_escaped(std::string& out, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++p;
      continue;
    }
    // The length of a well-formed sequence starting here (0: ill-formed),
    // per the Unicode table of well-formed byte sequences.
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    }
    bool ok = n != 0 && static_cast<std::size_t>(end - p) >= n && p[1] >= lo && p[1] <= hi;
    for (std::size_t k = 2; ok && k < n; ++k) ok = p[k] >= 0x80 && p[k] <= 0xbf;
    if (ok) {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    } else {
      out += "\\ufffd";
      ++p;
    }
  }
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  append_escaped(out, s);
  out += '"';
}

// Microseconds on the monotonic clock, with nanosecond digits.
void append_ts(std::string& out, TimePoint t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1000),
                static_cast<long long>(ns % 1000));
  out += buf;
}

// One event, built in a per-thread scratch string and appended to the
// buffer by emit(). Events are never built inside one another.
class Event {
 public:
  Event(char ph, std::string_view name, std::int64_t lane, TimePoint at = Clock::now()) : s_(scratch()) {
    s_.clear();
    s_ += "{\"name\":";
    append_string(s_, name);
    s_ += ",\"cat\":\"procctx\",\"ph\":\"";
    s_ += ph;
    s_ += '"';
    if (ph == 'i') s_ += ",\"s\":\"t\"";
    if (ph != 'M') {
      s_ += ",\"ts\":";
      append_ts(s_, at);
    }
    s_ += ",\"pid\":" + std::to_string(self_pid.load(std::memory_order_relaxed)) +
          ",\"tid\":" + std::to_string(lane);
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  Event& arg(std::string_view key, std::string_view value) {
    key_(key);
    append_string(s_, value);
    return *this;
  }
  Event& arg(std::string_view key, const char* value) { return arg(key, std::string_view{value}); }
  Event& arg(std::string_view key, const std::string& value) { return arg(key, std::string_view{value}); }
  Event& arg(std::string_view key, long long value) {
    key_(key);
    s_ += std::to_string(value);
    return *this;
  }
  Event& arg(std::string_view key, int value) { return arg(key, static_cast<long long>(value)); }
  Event& arg(std::string_view key, double value) {
    key_(key);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", value);
    s_ += buf;
    return *this;
  }
  Event& flag(std::string_view key, bool value) { return arg_json(key, value ? "true" : "false"); }
  // `json` must already be valid JSON.
  Event& arg_json(std::string_view key, std::string_view json) {
    key_(key);
    s_ += json;
    return *this;
  }

  // Appends the event to the trace of `session` (0: whichever is running).
  void emit(std::uint32_t session = 0) {
    s_ += has_args_ ? "}}" : "}";
    State& st = state();
    std::lock_guard lock{st.mu};
    if (!st.running || (session != 0 && session != st.session)) return;
    if (st.events.size() + s_.size() + 2 > kMaxBytes) {
      ++st.dropped;
      return;
    }
    if (!st.events.empty()) st.events += ",\n";
    st.events += s_;
    ++st.kept;
  }

 private:
  static std::string& scratch() {
    thread_local std::string s;
    return s;
  }
  void key_(std::string_view key) {
    s_ += has_args_ ? "," : ",\"args\":{";
    has_args_ = true;
    append_string(s_, key);
    s_ += ':';
  }
  std::string& s_;
  bool has_args_ = false;
};

std::string json_argv(const std::vector<std::string>& argv) {
  std::string out = "[";
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i) out += ',';
    append_string(out, argv[i]);
  }
  return out + "]";
}

const char* tree_name(Tree t) {
  switch (t) {
    case Tree::process_group:
      return "process_group";
    case Tree::cgroup:
      return "cgroup";
    case Tree::none:
      return "none";
    case Tree::pid_namespace:
      return "pid_namespace";
  }
  return "?";
}

const char* stream_name(int stream) { return stream == 0 ? "stdout" : "stderr"; }

std::string site(const SourceLocation& where) {
  return std::string{where.file_name()} + ":" + std::to_string(where.line());
}

Result<void> write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    sys::Ret r = sys::call(sys::Call::write, [&] { return ::write(fd, bytes.data(), bytes.size()); });
    if (!r.ok()) return sys::error(r, "trace: write " + path);
    bytes.remove_prefix(static_cast<std::size_t>(r.value));
  }
  return {};
}

// Takes the running trace out of `st` (under its lock) and writes it.
Result<void> finish(State& st, std::unique_lock<std::mutex>& lock) {
  st.running = false;
  active.store(false, std::memory_order_relaxed);
  std::string events = std::move(st.events);
  st.events = {};
  std::string path = std::move(st.path);
  sys::UniqueFd fd = std::move(st.fd);
  std::uint64_t kept = st.kept, dropped = st.dropped;
  lock.unlock();

  // The process's own name first; the events as they came; the counts.
  std::string head =
      "{\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" + std::to_string(::getpid()) +
      ",\"tid\":0,\"args\":{\"name\":";
  append_string(head, "procctx: " + proc::self_comm());
  head += "}}";
  if (!events.empty()) head += ",\n";
  std::string tail =
      "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"producer\":\"procctx\",\"events\":" +
      std::to_string(kept) + ",\"dropped_events\":" + std::to_string(dropped) +
      ",\"buffer_limit_bytes\":" + std::to_string(kMaxBytes) + "}}\n";
  Result<void> r = write_all(fd.get(), head, path);
  if (r) r = write_all(fd.get(), events, path);
  if (r) r = write_all(fd.get(), tail, path);
  if (sys::Ret closed = sys::close_fd(fd.release()); !closed.ok() && r) r = sys::error(closed, "trace: close " + path);
  return r;
}

void at_exit() {
  State& st = state();
  std::unique_lock lock{st.mu};
  if (!st.running) return;
  if (auto r = finish(st, lock); !r) std::fprintf(stderr, "procctx: %s\n", r.error().message().c_str());
}

Result<void> start_locked(State& st, std::string path) {
  if (st.running) {
    return Error{make_error_code(errc::invalid_argument), "trace: already writing to " + st.path};
  }
  if (path.empty()) return Error{make_error_code(errc::invalid_argument), "trace: empty path"};
  sys::Ret r = sys::call(
      sys::Call::open, [&] { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); });
  if (!r.ok()) return sys::error(r, "trace: open " + path);
  st.fd.reset(static_cast<int>(r.value));
  self_pid.store(::getpid(), std::memory_order_relaxed);
  st.path = std::move(path);
  st.events.clear();
  st.kept = st.dropped = 0;
  if (++st.session == 0) st.session = 1;
  st.running = true;
  active.store(true, std::memory_order_relaxed);
  if (!st.exit_hook) {
    st.exit_hook = true;
    std::atexit(at_exit);
  }
  return {};
}

void add_status(Event& e, const ExitStatus& s) {
  e.arg("status", s.to_string());
  if (s.exited()) e.arg("code", s.code());
  if (s.signaled()) e.arg("signal", signal_name(s.signal()));
}

std::string holders_json(const std::vector<ProcessRef>& holders, bool with_argv) {
  std::string out = "[";
  for (std::size_t i = 0; i < holders.size(); ++i) {
    if (i) out += ',';
    out += "{\"pid\":" + std::to_string(holders[i].pid) + ",\"name\":";
    append_string(out, holders[i].name);
    if (with_argv) out += ",\"argv\":" + json_argv(proc::cmdline(holders[i].pid));
    out += '}';
  }
  return out + "]";
}

}  // namespace

void start_from_env_once() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* path = std::getenv("PROCCTX_TRACE");
    if (!path || !*path) return;
    State& st = state();
    std::lock_guard lock{st.mu};
    if (st.running) return;
    if (auto r = start_locked(st, path); !r) std::fprintf(stderr, "procctx: %s\n", r.error().message().c_str());
  });
}

Span spawned(const Spawned& c) {
  std::uint32_t session;
  {
    State& st = state();
    std::lock_guard lock{st.mu};
    if (!st.running) return {};
    session = st.session;
  }
  std::string name = c.argv.empty() ? std::string{"?"} : c.argv[0];
  {
    Event m{'M', "thread_name", c.pid};
    m.arg("name", name + " (pid " + std::to_string(c.pid) + ")").emit(session);
  }
  Event e{'B', name, c.pid, c.started};
  e.arg("pid", c.pid).arg_json("argv", json_argv(c.argv));
  e.arg("spawned_at", site(c.where)).arg("function", c.where.function_name());
  e.arg("tree", tree_name(c.tree));
  if (!c.tree_note.empty()) e.arg("tree_note", c.tree_note);
  if (current_scope) e.arg("group_lane", static_cast<long long>(current_scope));
  e.emit(session);
  return {c.pid, session};
}

void stop_begun(pid_t pid, StopReason reason, const std::string& cause) {
  Event e{'i', "stop", pid};
  e.arg("reason", std::string{to_string(reason)});
  if (!cause.empty()) e.arg("cause", cause);
  e.emit();
}

void signal_sent(pid_t pid, int sig, int stage, const char* by, Tree target, bool then_continue) {
  Event e{'i', "signal " + signal_name(sig), pid};
  e.arg("signal", signal_name(sig)).arg("stage", stage).arg("by", by).arg("target", tree_name(target));
  if (then_continue) e.arg("then", "SIGCONT");
  e.emit();
}

void context_done(pid_t pid, std::error_code err, const std::string& cause) {
  Event e{'i', "context done", pid};
  e.arg("cause", err == errc::deadline_exceeded ? "deadline_exceeded" : "canceled");
  if (!cause.empty()) e.arg("message", cause);
  e.emit();
}

void exited(pid_t pid, const ExitStatus& status) {
  Event e{'i', "exit", pid};
  add_status(e, status);
  e.emit();
}

void pipe_eof(pid_t pid, int stream, std::uint64_t bytes) {
  Event e{'i', std::string{"eof "} + stream_name(stream), pid};
  e.arg("stream", stream_name(stream)).arg("bytes", static_cast<long long>(bytes));
  e.emit();
}

void wait_delay_expired(pid_t pid, const std::string& open_streams, Duration wait_delay) {
  if (open_streams.empty()) return;
  Event e{'i', "wait_delay expired", pid};
  e.arg("open", open_streams).arg("wait_delay_ms", std::chrono::duration<double, std::milli>(wait_delay).count());
  e.emit();
}

void pipe_held(pid_t pid, int stream, const std::vector<ProcessRef>& holders) {
  Event e{'i', "pipe holders", pid};
  e.arg("stream", stream_name(stream)).arg_json("holders", holders_json(holders, true));
  e.emit();
}

void finished(const Span& span, const Completed& r) {
  if (!span) return;
  Event e{'E', r.argv.empty() ? std::string{"?"} : r.argv[0], span.lane};
  add_status(e, r.status);
  e.arg("stop_reason", std::string{to_string(r.stop_reason)});
  if (!r.cause.empty()) e.arg("cause", r.cause);
  if (r.stop_stage >= 0) e.arg("stop_stage", r.stop_stage);
  if (!r.pipe_holders.empty()) e.arg_json("pipe_holders", holders_json(r.pipe_holders, false));
  if (!r.leftovers.empty()) e.arg_json("leftovers", holders_json(r.leftovers, false));
  e.arg("wall_ms", std::chrono::duration<double, std::milli>(r.wall).count());
  e.emit(span.session);
}

namespace {
Span scope_begin(const std::string& name, const std::function<void(Event&)>& args) {
  std::uint32_t session;
  {
    State& st = state();
    std::lock_guard lock{st.mu};
    if (!st.running) return {};
    session = st.session;
  }
  std::int64_t lane = next_scope_lane.fetch_add(1, std::memory_order_relaxed) + 1;
  std::string label = name + " #" + std::to_string(lane - kScopeLaneBase);
  {
    Event m{'M', "thread_name", lane};
    m.arg("name", label).emit(session);
  }
  Event e{'B', label, lane};
  args(e);
  e.emit(session);
  return {lane, session};
}
}  // namespace

Span group_begin(std::size_t limit, bool fail_fast) {
  return scope_begin("group", [&](Event& e) {
    e.arg("limit", static_cast<long long>(limit)).flag("fail_fast", fail_fast);
  });
}

void group_end(const Span& span, std::size_t succeeded, std::size_t failed, std::size_t never_started) {
  Event e{'E', "group #" + std::to_string(span.lane - kScopeLaneBase), span.lane};
  e.arg("commands", static_cast<long long>(succeeded + failed + never_started))
      .arg("succeeded", static_cast<long long>(succeeded))
      .arg("failed", static_cast<long long>(failed));
  e.arg("never_started", static_cast<long long>(never_started));
  e.emit(span.session);
}

Span pipeline_begin(const std::vector<std::string>& programs) {
  return scope_begin("pipeline", [&](Event& e) { e.arg_json("stages", json_argv(programs)); });
}

void pipeline_end(const Span& span, const std::string& outcome) {
  Event e{'E', "pipeline #" + std::to_string(span.lane - kScopeLaneBase), span.lane};
  e.arg("outcome", outcome).emit(span.session);
}

InScope::InScope(const Span& span) noexcept {
  if (!span) return;
  previous_ = std::exchange(current_scope, span.lane);
  set_ = true;
}

InScope::~InScope() {
  if (set_) current_scope = previous_;
}

}  // namespace detail::trace

namespace trace {

Result<void> start(std::string path) {
  auto& st = detail::trace::state();
  std::lock_guard lock{st.mu};
  return detail::trace::start_locked(st, std::move(path));
}

Result<void> stop() {
  auto& st = detail::trace::state();
  std::unique_lock lock{st.mu};
  if (!st.running) return {};
  return detail::trace::finish(st, lock);
}

bool enabled() noexcept { return detail::trace::on(); }

}  // namespace trace
}  // namespace procctx
