#include "run_flags.hpp"

#include "durations.hpp"
#include "messages.hpp"
#include "subcommands.hpp"

#include <charconv>
#include <cstdlib>
#include <set>
#include <vector>

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

namespace procctx::cli {
namespace {

constexpr Flag kFlags[] = {
    {0, "timeout", "DURATION",
     "stop the command (with the stop sequence) after DURATION: 1.5s, 250ms, 2m, 1h"},
    {0, "stop", "SEQUENCE",
     "how to stop it: signals, each with the time to wait after it (default TERM,5s,KILL)"},
    {0, "wait-delay", "DURATION",
     "after the command exits, how long to wait for its output pipes to close before naming who holds "
     "them and moving on (default 2s)"},
    {0, "tree", "MODE",
     "what a stop reaches: auto (a cgroup where one can be made, else a process group; the default), "
     "cgroup, group, pidns (a PID namespace of its own: nothing of it survives procctx) or none"},
    {0, "leftovers", "POLICY",
     "processes the command leaves in its tree when it exits: kill (the default) or leave; both are "
     "reported"},
    {0, "keep-fds", "",
     "pass every file descriptor procctx inherited to the command (default: only stdin, stdout "
     "and stderr)"},
    {0, "env-clear", "", "start from an empty environment"},
    {0, "env", "NAME=VALUE", "set a variable (repeatable)", true},
    {0, "env-keep", "NAME", "start from an empty environment but keep NAME from procctx's (repeatable)",
     true},
    {0, "cwd", "DIR", "run in DIR"},
    {0, "user", "USER", "run as USER (name or uid)"},
    {0, "group", "GROUP", "run with primary group GROUP (name or gid)"},
    {0, "groups", "G1,G2", "run with exactly these supplementary groups (names or gids; empty for none)"},
    {0, "no-new-privs", "",
     "set no_new_privs: setuid binaries and file capabilities cannot raise privileges"},
    {0, "rlimit", "NAME=SOFT[:HARD]",
     "set a resource limit: NOFILE=1024, CORE=0, AS=1G:2G, CPU=unlimited (repeatable, once per resource)",
     true},
    {0, "umask", "MODE", "the file mode creation mask, in octal (022)"},
    {0, "memory-max", "BYTES", "cgroup memory.max: 512M, 2G (needs a writable cgroup v2)"},
    {0, "pids-max", "N", "cgroup pids.max (needs a writable cgroup v2)"},
    {0, "cpu-max", "CPUS",
     "cgroup cpu.max as CPUs (0.5) or 'QUOTA PERIOD' in microseconds (needs a writable cgroup v2)"},
    {0, "hardened", "",
     "environment of PATH, LANG, TERM and TZ only, no_new_privs, no inherited fds, umask 077, a new session"},
    {0, "json", "FILE", "write a JSON report of the run to FILE ('-': stdout, after the command's output)"},
    {'v', "verbose", "", "say on stderr each signal the stop sequence sends"},
    {0, "help", "", "show this help and exit"},
    {0, "version", "", "show the version and exit"},
};

constexpr std::string_view kDetails =
    "Runs COMMAND and waits for it. Its output passes through procctx, counted, unless it goes to a\n"
    "terminal. When COMMAND is stopped, by --timeout or because procctx got HUP, INT, QUIT or TERM, the\n"
    "stop sequence reaches its whole tree; a second such signal sends KILL at once. USR1, USR2 and ALRM\n"
    "are passed on to the tree. Signals that procctx's parent left ignored stay ignored. If procctx\n"
    "itself is killed, COMMAND gets KILL.\n"
    "\n"
    "Exit status:\n"
    "  124      the timeout fired\n"
    "  125      procctx itself failed (bad usage, cannot start the command)\n"
    "  126      the command was found but could not be run\n"
    "  127      the command was not found\n"
    "  128+N    the command was killed by signal N, or procctx stopped it on receiving signal N\n"
    "  otherwise the command's own exit status\n";

const Spec kSpec{"run", "[OPTION]... [--] COMMAND [ARG]...", "Run COMMAND under supervision.", kDetails,
                 kFlags};

using Bad = std::optional<std::string>;

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "512M", "2G", "1048576", "64KiB": bytes (binary units).
std::optional<std::uint64_t> parse_size(std::string_view s) {
  std::size_t digits = s.find_first_not_of("0123456789");
  auto n = parse_uint(s.substr(0, digits));
  if (!n) return std::nullopt;
  std::string_view unit = digits == std::string_view::npos ? std::string_view{} : s.substr(digits);
  if (unit.size() > 1 && unit.ends_with("iB")) unit.remove_suffix(2);
  if (unit.size() > 1 && unit.ends_with("B")) unit.remove_suffix(1);
  static constexpr std::pair<std::string_view, int> kShifts[] = {{"", 0},   {"B", 0},  {"K", 10}, {"k", 10},
                                                                 {"M", 20}, {"G", 30}, {"T", 40}};
  for (auto [name, shift] : kShifts) {
    if (unit != name) continue;
    if (*n > (UINT64_MAX >> shift)) return std::nullopt;
    return *n << shift;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_limit_value(std::string_view s) {
  if (s == "unlimited" || s == "infinity") return RLIM_INFINITY;
  return parse_size(s);
}

Principal principal(const std::string& s) {
  if (auto id = parse_uint(s); id && *id <= 0xffffffffu) return Principal{static_cast<unsigned int>(*id)};
  return Principal{s};
}

Bad configure_timing(const Parsed& p, RunPlan& plan) {
  if (auto v = p.value("timeout")) {
    auto d = parse_run_duration(*v);
    if (!d) return flag_value("timeout", *v) + ": " + d.error().message();
    plan.timeout = *d;
  }
  if (auto v = p.value("stop")) {
    auto seq = StopSequence::parse(*v);
    if (!seq) return flag_value("stop", *v) + ": " + seq.error().message();
    plan.stop_text = seq->to_string();
    plan.cmd.stop(*seq);
  }
  if (auto v = p.value("wait-delay")) {
    auto d = parse_run_duration(*v);
    if (!d) return flag_value("wait-delay", *v) + ": " + d.error().message();
    plan.wait_delay = *d;
  }
  plan.cmd.wait_delay(plan.wait_delay);
  return std::nullopt;
}

Bad configure_tree(const Parsed& p, RunPlan& plan) {
  plan.tree_requested = p.value("tree").value_or("auto");
  const std::string& tree = plan.tree_requested;
  if (tree == "auto" || tree == "cgroup") {
    plan.tree = Tree::cgroup;
  } else if (tree == "group") {
    plan.tree = Tree::process_group;
  } else if (tree == "none") {
    plan.tree = Tree::none;
  } else if (tree == "pidns") {
    plan.tree = Tree::pid_namespace;
  } else {
    return flag_value("tree", tree) + ": expected auto, cgroup, group, pidns or none";
  }
  plan.cmd.tree(plan.tree);
  plan.leftover_policy = p.value("leftovers").value_or("kill");
  if (plan.leftover_policy == "kill") {
    plan.cmd.leftovers(Leftovers::kill);
  } else if (plan.leftover_policy == "leave") {
    plan.cmd.leftovers(Leftovers::leave);
  } else {
    return flag_value("leftovers", plan.leftover_policy) + ": expected kill or leave";
  }
  return std::nullopt;
}

// A portable variable name: letters, digits and _, not starting with a digit.
bool variable_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
         std::string_view::npos;
}

Bad configure_env(const Parsed& p, Command& cmd) {
  if (p.has("hardened")) cmd.profile(Profile::hardened());
  auto keep = p.values("env-keep");
  for (const auto& name : keep) {
    if (!variable_name(name)) {
      return flag_value("env-keep", name) +
             ": expected a variable name (letters, digits and _, not starting "
             "with a digit)";
    }
  }
  if (p.has("env-clear") || !keep.empty()) cmd.env_clear();
  if (!keep.empty()) cmd.env_keep(keep);
  for (const auto& kv : p.values("env")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return flag_value("env", kv) + ": expected NAME=VALUE";
    cmd.env(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return std::nullopt;
}

// The passwd entry of `user`, checked here so that the message names the
// flags: its primary group is needed unless --group gives one.
Bad check_user(const std::string& user, bool group_given) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  auto id = parse_uint(user);
  if (id && *id <= 0xffffffffu) {
    ::getpwuid_r(static_cast<uid_t>(*id), &pw, buf.data(), buf.size(), &found);
    if (found == nullptr && !group_given) {
      return flag_value("user", user) + ": uid " + user +
             " has no passwd entry, so no primary group: give one "
             "with --group";
    }
    return std::nullopt;
  }
  ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr) return flag_value("user", user) + ": no such user";
  return std::nullopt;
}

Bad check_group(std::string_view flag, const std::string& group) {
  if (parse_uint(group)) return std::nullopt;
  std::vector<char> buf(16384);
  struct group gr {};
  struct group* found = nullptr;
  ::getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &found);
  if (found == nullptr) return flag_value(flag, group) + ": no such group";
  return std::nullopt;
}

Bad configure_identity(const Parsed& p, Command& cmd) {
  if (auto v = p.value("cwd")) cmd.cwd(*v);
  if (auto v = p.value("user")) {
    if (auto bad = check_user(*v, p.has("group"))) return bad;
    cmd.user(principal(*v));
  }
  if (auto v = p.value("group")) {
    if (auto bad = check_group("group", *v)) return bad;
    cmd.group(principal(*v));
  }
  if (auto v = p.value("groups")) {
    std::vector<Principal> gs;
    std::string_view rest = *v;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string one{rest.substr(0, comma)};
      if (one.empty()) return flag_value("groups", *v) + ": an empty group name";
      if (check_group("groups", one)) return flag_value("groups", *v) + ": no such group " + quote(one);
      gs.push_back(principal(one));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    cmd.groups(gs);
  }
  if (p.has("no-new-privs")) cmd.no_new_privs();
  return std::nullopt;
}

// One --rlimit NAME=SOFT[:HARD], checked as setrlimit(2) would check it.
Bad add_rlimit(const std::string& spec, std::set<int>& seen, Command& cmd) {
  auto eq = spec.find('=');
  if (eq == std::string::npos) return flag_value("rlimit", spec) + ": expected NAME=SOFT[:HARD]";
  std::string name = spec.substr(0, eq);
  int resource = rlimit_from_name(name);
  if (resource < 0) return flag_value("rlimit", spec) + ": unknown resource " + quote(name);
  if (!seen.insert(resource).second) return flag_value("rlimit", spec) + ": " + name + " is given twice";
  std::string values = spec.substr(eq + 1);
  auto colon = values.find(':');
  auto soft = parse_limit_value(values.substr(0, colon));
  auto hard = colon == std::string::npos ? soft : parse_limit_value(values.substr(colon + 1));
  if (!soft || !hard)
    return flag_value("rlimit", spec) + ": limits are numbers (with K, M, G) or 'unlimited'";
  if (*soft > *hard) return flag_value("rlimit", spec) + ": the soft limit is above the hard limit";
  rlimit current{};
  ::getrlimit(static_cast<__rlimit_resource_t>(resource), &current);
  if (*hard > current.rlim_max && ::geteuid() != 0) {
    std::string now = current.rlim_max == RLIM_INFINITY ? "unlimited" : std::to_string(current.rlim_max);
    return flag_value("rlimit", spec) + ": the hard limit is above procctx's own (" + now +
           "), which only root can raise";
  }
  cmd.rlimit(resource, *soft, *hard);
  return std::nullopt;
}

Bad configure_limits(const Parsed& p, Command& cmd) {
  std::set<int> seen;
  for (const auto& spec : p.values("rlimit")) {
    if (auto bad = add_rlimit(spec, seen, cmd)) return bad;
  }
  if (auto v = p.value("umask")) {
    unsigned int mode = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), mode, 8);
    if (v->empty() || ec != std::errc{} || end != v->data() + v->size() || mode > 0777) {
      return flag_value("umask", *v) + ": expected an octal mode from 0 to 777";
    }
    cmd.umask(mode);
  }
  return std::nullopt;
}

Bad configure_cgroup(const Parsed& p, Command& cmd) {
  if (auto v = p.value("memory-max")) {
    auto bytes = parse_size(*v);
    if (!bytes) return flag_value("memory-max", *v) + ": expected bytes, e.g. 512M or 2G";
    cmd.memory_max(*bytes);
  }
  if (auto v = p.value("pids-max")) {
    auto n = parse_uint(*v);
    if (!n || *n == 0) return flag_value("pids-max", *v) + ": expected a positive number";
    cmd.pids_max(*n);
  }
  if (auto v = p.value("cpu-max")) {
    if (v->find(' ') != std::string::npos) {
      cmd.cpu_max(*v);
    } else {
      char* end = nullptr;
      double cpus = std::strtod(v->c_str(), &end);
      if (v->empty() || *end != '\0' || !(cpus > 0) || cpus > 4096) {
        return flag_value("cpu-max", *v) + ": expected CPUs (0.5) or 'QUOTA PERIOD'";
      }
      cmd.cpu_max(std::to_string(static_cast<long>(cpus * 100000)) + " 100000");
    }
  }
  return std::nullopt;
}

}  // namespace

const Spec& run_spec() { return kSpec; }

std::string flag_value(std::string_view flag, const std::string& value) {
  return "--" + std::string{flag} + " " + quote(value);
}

std::optional<std::string> make_run_plan(const Parsed& p, RunPlan& plan) {
  const auto& argv = p.operands;
  plan.program = argv[0];
  plan.cmd = Command{argv[0], {argv.begin() + 1, argv.end()}};
  plan.stop_text = StopSequence{}.to_string();
  plan.new_session = p.has("hardened");
  // The command never outlives procctx, even a procctx killed by SIGKILL.
  plan.cmd.parent_death_signal(SIGKILL);
  plan.verbose = p.has("verbose");
  plan.json_path = p.value("json");
  for (auto step : {configure_timing, configure_tree}) {
    if (auto bad = step(p, plan)) return bad;
  }
  for (auto step : {configure_env, configure_identity, configure_limits, configure_cgroup}) {
    if (auto bad = step(p, plan.cmd)) return bad;
  }
  return std::nullopt;
}

}  // namespace procctx::cli
