// command.cpp — Command's setters, Stdio's read-back, Profile and
// StopSequence's defaults. Nothing here runs anything.
#include <procctx/command.hpp>
#include <procctx/process.hpp>

namespace procctx {

const std::string& Stdio::bytes() const noexcept {
  static const std::string none;
  return data_ ? *data_ : none;
}

const RelayOptions& Stdio::relay_options() const noexcept {
  static const RelayOptions defaults;
  return relay_ ? *relay_ : defaults;
}

StopSequence::StopSequence() : steps_{{SIGTERM, std::chrono::seconds(5)}, {SIGKILL, {}}} {}

Profile Profile::hardened(std::vector<std::string> env_allow) {
  Profile p;
  p.env_allow = std::move(env_allow);
  p.no_new_privs = true;
  p.umask = 077;
  p.new_session = true;
  p.parent_death_signal = SIGKILL;
  p.close_passed_fds = true;
  return p;
}

Command::Command(std::string program, std::vector<std::string> args) {
  o_.program = std::move(program);
  o_.args = std::move(args);
}

Command& Command::arg(std::string a) {
  o_.args.push_back(std::move(a));
  return *this;
}
Command& Command::args(std::vector<std::string> a) {
  o_.args = std::move(a);
  return *this;
}
Command& Command::arg0(std::string a) {
  o_.arg0 = std::move(a);
  return *this;
}
Command& Command::cwd(std::filesystem::path dir) {
  o_.cwd = std::move(dir);
  return *this;
}

Command& Command::env_clear() {
  o_.env.clear = true;
  o_.env.edits.clear();
  return *this;
}
Command& Command::env(std::string key, std::string value) {
  o_.env.edits.emplace_back(std::move(key), std::move(value));
  return *this;
}
Command& Command::env_remove(std::string key) {
  o_.env.edits.emplace_back(std::move(key), std::nullopt);
  return *this;
}
Command& Command::env_keep(std::vector<std::string> keys) {
  o_.env.keep.insert(o_.env.keep.end(), keys.begin(), keys.end());
  return *this;
}

Command& Command::user(Principal u) {
  o_.user = std::move(u);
  return *this;
}
Command& Command::group(Principal g) {
  o_.group = std::move(g);
  return *this;
}
Command& Command::groups(std::vector<Principal> gs) {
  o_.groups = std::move(gs);
  return *this;
}
Command& Command::no_new_privs() {
  o_.no_new_privs = true;
  return *this;
}
Command& Command::rlimit(int resource, std::uint64_t soft, std::uint64_t hard) {
  o_.rlimits.push_back({resource, soft, hard});
  return *this;
}
Command& Command::umask(unsigned int mode) {
  o_.umask = mode;
  return *this;
}
Command& Command::new_session() {
  o_.new_session = true;
  return *this;
}
Command& Command::parent_death_signal(int sig) {
  o_.parent_death_signal = sig;
  return *this;
}
Command& Command::pass_fd(int parent_fd, int child_fd) {
  o_.passed_fds.emplace_back(parent_fd, child_fd);
  return *this;
}
Command& Command::keep_inherited_fds() {
  o_.keep_inherited_fds = true;
  return *this;
}
Command& Command::shell_fallback() {
  o_.shell_fallback = true;
  return *this;
}
Command& Command::keep_ignored_signals(std::vector<int> reset) {
  o_.keep_ignored_signals = true;
  o_.reset_signals = std::move(reset);
  return *this;
}
Command& Command::foreground_terminal(int tty_fd) {
  o_.foreground_terminal = tty_fd;
  return *this;
}
Command& Command::on_stop_signal(std::function<void(const SignalSent&)> fn) {
  o_.on_stop_signal = std::move(fn);
  return *this;
}

Command& Command::profile(const Profile& p) {
  if (p.env_allow) {
    env_clear();
    o_.env.keep = *p.env_allow;
  }
  if (p.no_new_privs) o_.no_new_privs = true;
  if (p.umask) o_.umask = p.umask;
  if (p.new_session) o_.new_session = true;
  if (p.parent_death_signal) o_.parent_death_signal = p.parent_death_signal;
  if (p.close_passed_fds) o_.passed_fds.clear();
  return *this;
}

Command& Command::in(Stdio s) {
  o_.stdio[0] = std::move(s);
  return *this;
}
Command& Command::out(Stdio s) {
  o_.stdio[1] = std::move(s);
  return *this;
}
Command& Command::err(Stdio s) {
  o_.stdio[2] = std::move(s);
  return *this;
}

Command& Command::stop(StopSequence s) {
  o_.stop = std::move(s);
  return *this;
}
Command& Command::wait_delay(Duration d) {
  o_.wait_delay = d;
  return *this;
}
Command& Command::tree(Tree t) {
  o_.tree = t;
  return *this;
}
Command& Command::path_lookup(PathLookup p) {
  o_.path_lookup = p;
  return *this;
}
Command& Command::leftovers(Leftovers l) {
  o_.leftovers = l;
  return *this;
}
Command& Command::cgroup_parent(std::filesystem::path p) {
  o_.cgroup_parent = std::move(p);
  return *this;
}
Command& Command::memory_max(std::uint64_t bytes) {
  o_.limits.memory_max = bytes;
  o_.tree = Tree::cgroup;
  return *this;
}
Command& Command::pids_max(std::uint64_t n) {
  o_.limits.pids_max = n;
  o_.tree = Tree::cgroup;
  return *this;
}
Command& Command::cpu_max(std::string quota_period) {
  o_.limits.cpu_max = std::move(quota_period);
  o_.tree = Tree::cgroup;
  return *this;
}

std::vector<std::string> Command::argv() const {
  std::vector<std::string> argv;
  argv.reserve(o_.args.size() + 1);
  argv.push_back(o_.arg0 ? *o_.arg0 : o_.program);
  argv.insert(argv.end(), o_.args.begin(), o_.args.end());
  return argv;
}

}  // namespace procctx
