// W3: N sleeping children under one context, then cancel them all.
//
// The sides of a repetition: hand-written C (each child in its own group,
// kill(-pgid, SIGKILL) for each, then waitpid for each), procctx with
// .stop({{SIGKILL}}), procctx with the default stop sequence (SIGTERM, 5 s,
// SIGKILL; sleep dies of the SIGTERM), and each peer program. Each
// repetition runs every side once, starting one side further along the list
// than the last, so that no side always runs first or right after another.
// The ratios judged are medians of the per-repetition ratios, whose two
// sides ran seconds apart.
//
// Besides wall time, the cancel phase's CPU in the parent (every thread,
// procctx's loop included) per child: sending the signals and reaping cost
// the parent, each child's own exit costs the child. That figure moves far
// less than wall time on a shared machine.
#include "sleepers.hpp"

#include "figures.hpp"
#include "raw.hpp"
#include "summary.hpp"

#include <procctx/procctx.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <unistd.h>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Threads {
  int total = 0;
  int loop = 0;  // named "procctx-loop"
};

Threads count_threads() {
  Threads t;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    ++t.total;
    std::string comm;
    std::ifstream{task.path() / "comm"} >> comm;
    if (comm == "procctx-loop") ++t.loop;
  }
  return t;
}

// One side's figures in one repetition.
struct Sleepers {
  double start_ms = 0;        // spawning all of them
  double cancel_ms = 0;       // cancel (or kill) until every wait has returned
  double cancel_call_ms = 0;  // procctx: how long cancel() itself took
  double cancel_cpu_us = -1;  // parent CPU per child in the cancel phase (-1: not known)
  double rss_kib_per_child = 0;
  Threads threads;
  int expected_deaths = 0;  // children that died of `signal`
  int signal = SIGKILL;     // what this side sends
  bool ran = true;          // false: a peer that failed; see the log
};

const char* const kSleep = "/bin/sleep";

Sleepers raw_sleepers(int n) {
  Sleepers out;
  std::vector<pid_t> pids;
  pids.reserve(static_cast<std::size_t>(n));
  Argv argv{{kSleep, "60"}};
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);  // each child leads its own group, as with procctx
  long rss0 = status_kib("VmRSS");
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) pids.push_back(raw_spawn(argv, nullptr, &attr));
  out.start_ms = ms_since(t0);
  out.rss_kib_per_child = static_cast<double>(status_kib("VmRSS") - rss0) / n;
  out.threads = count_threads();
  ::posix_spawnattr_destroy(&attr);

  double cpu0 = process_cpu_seconds();
  auto t1 = Clock::now();
  for (pid_t pid : pids) ::kill(-pid, SIGKILL);
  for (pid_t pid : pids) {
    int st = raw_wait(pid);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) ++out.expected_deaths;
  }
  out.cancel_ms = ms_since(t1);
  out.cancel_cpu_us = (process_cpu_seconds() - cpu0) * 1e6 / n;
  return out;
}

Sleepers procctx_sleepers(int n, bool kill_only) {
  Sleepers out;
  out.signal = kill_only ? SIGKILL : SIGTERM;
  // The caller's handle array is not the library's cost: allocated and
  // touched before the RSS reading.
  std::vector<std::optional<procctx::Process>> procs(static_cast<std::size_t>(n));
  procctx::WithCancel scope = procctx::with_cancel(procctx::background());
  procctx::Command cmd{kSleep, {"60"}};
  if (kill_only) cmd.stop({{SIGKILL, procctx::Duration{}}});
  long rss0 = status_kib("VmRSS");
  auto t0 = Clock::now();
  for (auto& slot : procs) {
    auto p = cmd.spawn(scope.ctx);
    if (!p) die(p.error().message());
    slot.emplace(std::move(*p));
  }
  out.start_ms = ms_since(t0);
  out.rss_kib_per_child = static_cast<double>(status_kib("VmRSS") - rss0) / n;
  out.threads = count_threads();

  double cpu0 = process_cpu_seconds();
  auto t1 = Clock::now();
  scope.cancel("benchmark: cancel all");
  out.cancel_call_ms = ms_since(t1);
  for (const auto& p : procs) {
    const procctx::Completed& c = p->wait();
    if (c.status.signal() == out.signal && c.stop_reason == procctx::StopReason::canceled)
      ++out.expected_deaths;
  }
  out.cancel_ms = ms_since(t1);
  out.cancel_cpu_us = (process_cpu_seconds() - cpu0) * 1e6 / n;
  return out;
}

// Reads a peer's "rep 1: ..." line into `out`; false if there is none.
bool parse_peer_line(const std::string& text, int n, Sleepers& out) {
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    char sig[16] = {};
    int total = 0;
    if (std::sscanf(line.c_str(),
                    "rep %*d: start-all %lf ms, cancel-all %lf ms, threads %d, %d/%d killed by SIG%15[A-Z]",
                    &out.start_ms, &out.cancel_ms, &out.threads.total, &out.expected_deaths, &total,
                    sig) != 6) {
      continue;
    }
    out.signal = std::string_view{sig} == "TERM" ? SIGTERM : SIGKILL;
    if (auto at = line.find(", cancel CPU "); at != std::string::npos) {
      out.cancel_cpu_us = std::strtod(line.c_str() + at + 13, nullptr) * 1e3 / n;
    }
    return total == n;
  }
  return false;
}

// `say_note`: print the peer's "note:" line (what it is and how it stops).
Sleepers peer_sleepers(const CancelPeer& peer, int n, bool say_note) {
  Sleepers out;
  std::vector<std::string> args(peer.argv.begin() + 1, peer.argv.end());
  args.insert(args.end(), {"-n", std::to_string(n), "-reps", "1"});
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), std::chrono::minutes(2));
  auto done = procctx::Command{peer.argv[0], args}.out(procctx::Stdio::capture()).run(ctx);
  out.ran = done && done->status.success() && parse_peer_line(std::string{done->out.text()}, n, out);
  if (!out.ran) {
    std::printf("  W3 %s: failed (%s): %s\n", peer.label.c_str(),
                done ? done->status.to_string().c_str() : done.error().message().c_str(),
                done ? std::string{done->out.text()}.c_str() : "");
  } else if (auto at = done->out.text().find("note: "); say_note && at != std::string_view::npos) {
    std::string note{done->out.text().substr(at + 6)};
    std::printf("  W3 %s: %s", peer.label.c_str(), note.substr(0, note.find('\n') + 1).c_str());
  }
  return out;
}

void print_side(int rep, const std::string& who, const Sleepers& s, int n) {
  if (!s.ran) return;
  std::printf("  W3 rep %d %-22s start %s ms, cancel->all reaped %s ms", rep, (who + ":").c_str(),
              num(s.start_ms).c_str(), num(s.cancel_ms).c_str());
  if (s.cancel_call_ms > 0) std::printf(" (cancel() call %s ms)", num(s.cancel_call_ms).c_str());
  if (s.cancel_cpu_us >= 0) std::printf(", parent CPU %s us/child", num(s.cancel_cpu_us).c_str());
  std::printf(", %d/%d killed by SIG%s, RSS growth %s KiB/child", s.expected_deaths, n,
              sigabbrev_np(s.signal), num(s.rss_kib_per_child).c_str());
  // C's process has procctx's loop too (the other sides'), but not for C.
  if (who != "C") std::printf(", threads %d", s.threads.total);
  if (who != "C" && s.threads.loop) std::printf(" (procctx-loop %d)", s.threads.loop);
  std::printf("\n");
}

// All sides' figures, one entry per repetition; peers[i] matches o.peers[i].
struct Runs {
  std::vector<Sleepers> c, kill, dflt;
  std::vector<std::vector<Sleepers>> peers;
};

Runs run_repetitions(const SleeperOptions& o) {
  int n = o.sleepers;
  Runs runs;
  runs.peers.resize(o.peers.size());
  const std::size_t sides = 3 + o.peers.size();
  for (int r = 0; r < o.reps; ++r) {
    for (std::size_t k = 0; k < sides; ++k) {
      std::size_t side = (static_cast<std::size_t>(r) + k) % sides;
      if (side == 0) runs.c.push_back(raw_sleepers(n));
      if (side == 1) runs.kill.push_back(procctx_sleepers(n, true));
      if (side == 2) runs.dflt.push_back(procctx_sleepers(n, false));
      if (side >= 3) runs.peers[side - 3].push_back(peer_sleepers(o.peers[side - 3], n, r == 0));
    }
    print_side(r + 1, "C", runs.c.back(), n);
    print_side(r + 1, "procctx SIGKILL", runs.kill.back(), n);
    print_side(r + 1, "procctx default", runs.dflt.back(), n);
    for (std::size_t i = 0; i < o.peers.size(); ++i)
      print_side(r + 1, o.peers[i].label, runs.peers[i].back(), n);
    std::fflush(stdout);
    for (const auto* s : {&runs.c.back(), &runs.kill.back(), &runs.dflt.back()}) {
      if (s->expected_deaths != n)
        std::printf("  W3 rep %d: WARNING: not every child died of the expected signal\n", r + 1);
    }
  }
  return runs;
}

using Field = double Sleepers::*;

std::vector<double> field(const std::vector<Sleepers>& v, Field f) {
  std::vector<double> out;
  for (const auto& s : v) {
    if (s.ran && s.*f >= 0) out.push_back(s.*f);
  }
  return out;
}

// Ratios a/b of one field, repetition by repetition, where both sides ran.
Spread paired(const std::vector<Sleepers>& a, const std::vector<Sleepers>& b, Field f) {
  std::vector<double> ratios;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].ran && b[i].ran && a[i].*f > 0 && b[i].*f > 0) ratios.push_back(a[i].*f / b[i].*f);
  }
  return spread(ratios);
}

void ratio_rows(const std::string& name, const std::string& who, const std::vector<Sleepers>& a,
                const std::string& ref_name, const std::vector<Sleepers>& b, Field f, const std::string& unit,
                Want want, double target) {
  Spread s = paired(a, b, f);
  ratio_line(name, who, median(field(a, f)), ref_name, median(field(b, f)), unit, want, target, s);
}

void procctx_rows(const Runs& runs, int n) {
  std::string tag = std::to_string(n) + " sleepers";
  std::vector<double> loop_threads, total_threads;
  for (const auto* v : {&runs.kill, &runs.dflt}) {
    for (const auto& s : *v) {
      loop_threads.push_back(s.threads.loop);
      total_threads.push_back(s.threads.total);
    }
  }
  value_line("W3 procctx-loop threads, " + tag, median(loop_threads), "threads", Want::at_most, 1);
  value_line("W3 parent threads, " + tag, median(total_threads), "threads", Want::info, 0);
  std::vector<double> rss = field(runs.kill, &Sleepers::rss_kib_per_child);
  std::vector<double> rss_dflt = field(runs.dflt, &Sleepers::rss_kib_per_child);
  rss.insert(rss.end(), rss_dflt.begin(), rss_dflt.end());
  value_line("W3 parent RSS growth per child", median(rss), "KiB", Want::at_most, 16);
  // Later repetitions reuse heap the earlier ones freed; the first is the
  // figure a fresh program would see.
  value_line("W3 parent RSS growth per child, first repetition", runs.kill.front().rss_kib_per_child, "KiB",
             Want::info, 0);
  ratio_rows("W3 start " + tag, "procctx", runs.kill, "hand-written C", runs.c, &Sleepers::start_ms, "ms",
             Want::info, 0);
  value_line("W3 cancel-all (SIGKILL), " + tag, median(field(runs.kill, &Sleepers::cancel_ms)), "ms",
             Want::at_most, 100);
  ratio_rows("W3 cancel-all (SIGKILL) vs C kill(-pgid), " + tag, "procctx", runs.kill, "hand-written C",
             runs.c, &Sleepers::cancel_ms, "ms", Want::at_most, 1.1);
  ratio_rows("W3 cancel-all parent CPU per child (SIGKILL) vs C, " + tag, "procctx", runs.kill,
             "hand-written C", runs.c, &Sleepers::cancel_cpu_us, "us", Want::info, 0);
  value_line("W3 cancel() call alone (SIGKILL), " + tag, median(field(runs.kill, &Sleepers::cancel_call_ms)),
             "ms", Want::info, 0);
  ratio_rows("W3 cancel-all (default TERM,5s,KILL), " + tag, "procctx", runs.dflt, "hand-written C (SIGKILL)",
             runs.c, &Sleepers::cancel_ms, "ms", Want::info, 0);
}

// A peer beside procctx's side that sent the same signal, and beside C.
void peer_rows(const CancelPeer& peer, const std::vector<Sleepers>& theirs, const Runs& runs, int n) {
  std::string tag = std::to_string(n) + " sleepers";
  std::vector<Sleepers> ran;
  for (const auto& s : theirs) {
    if (s.ran) ran.push_back(s);
  }
  if (ran.empty()) {
    skipped_line("W3 cancel-all vs " + peer.label + ", " + tag,
                 "the peer failed in every repetition; see the log");
    return;
  }
  bool term = ran.front().signal == SIGTERM;
  const auto& ours = term ? runs.dflt : runs.kill;
  std::string ours_name = term ? "(default, SIGTERM first)" : "(SIGKILL)";
  std::string label = peer.label + (term ? " (SIGTERM)" : " (SIGKILL)");
  ratio_rows("W3 cancel-all " + ours_name + " vs " + peer.label + ", " + tag, "procctx", ours, label, theirs,
             &Sleepers::cancel_ms, "ms", Want::info, 0);
  ratio_rows("W3 cancel-all, " + peer.label + " vs C kill(-pgid), " + tag, peer.label, theirs,
             "hand-written C", runs.c, &Sleepers::cancel_ms, "ms", Want::info, 0);
  if (!field(theirs, &Sleepers::cancel_cpu_us).empty()) {
    ratio_rows("W3 cancel-all parent CPU per child vs " + peer.label, "procctx", ours, peer.label, theirs,
               &Sleepers::cancel_cpu_us, "us", Want::info, 0);
  }
  std::vector<double> our_threads, peer_threads;
  for (const auto& s : ours) our_threads.push_back(s.threads.total);
  for (const auto& s : ran) peer_threads.push_back(s.threads.total);
  ratio_line("W3 parent threads vs " + peer.label, "procctx", median(our_threads), peer.label,
             median(peer_threads), "threads", Want::info, 0);
  ratio_rows("W3 start all vs " + peer.label, "procctx", ours, peer.label, theirs, &Sleepers::start_ms, "ms",
             Want::info, 0);
}

}  // namespace

CancelPeer parse_cancel_peer(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) die("--cancel-peer wants LABEL=PROGRAM [ARG...], not: " + spec);
  CancelPeer p{spec.substr(0, eq), {}};
  std::istringstream words{spec.substr(eq + 1)};
  for (std::string w; words >> w;) p.argv.push_back(w);
  if (p.argv.empty()) die("--cancel-peer " + p.label + ": no program");
  return p;
}

void run_sleepers_workload(const SleeperOptions& o) {
  int n = o.sleepers;
  std::printf("\n== W3: %d x '%s 60' under one context, %d repetitions ==\n", n, kSleep, o.reps);
  std::printf(
      "  cancel: procctx children have .stop({{SIGKILL}}), the C side sends kill(-pgid, SIGKILL):\n"
      "  both sides send SIGKILL. The default stop sequence (SIGTERM, 5s, SIGKILL) is measured\n"
      "  separately: sleep dies on SIGTERM. A peer is compared with procctx's side that sent its signal.\n");
  Runs runs = run_repetitions(o);
  procctx_rows(runs, n);
  for (std::size_t i = 0; i < o.peers.size(); ++i) peer_rows(o.peers[i], runs.peers[i], runs, n);
}

}  // namespace bench
