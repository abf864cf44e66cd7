#include "cgroup_linux.hpp"

#include "proc_linux.hpp"
#include "shown.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::detail::cgroup {
namespace fs = std::filesystem;
namespace {

Error cgroup_error(std::string message) {
  return Error{make_error_code(errc::invalid_argument), std::move(message)};
}

std::string read_file_at(int dir, const char* name) {
  auto text = sys::read_file_at(dir, name);
  return text ? std::move(*text) : std::string{};
}

sys::Ret write_file_at(int dir, const char* name, const std::string& text) {
  return sys::write_file_at(dir, name, text);
}

std::vector<pid_t> procs(const Leaf& leaf) {
  std::vector<pid_t> pids;
  std::istringstream in{read_file_at(leaf.dir.get(), "cgroup.procs")};
  for (pid_t p; in >> p;) pids.push_back(p);
  return pids;
}

std::mutex parent_mu;
std::atomic<unsigned> leaf_seq{0};

// The pid in a leaf's name "procctx-PID-N", or 0 when it is not one of ours.
pid_t leaf_owner(const char* name) {
  const char* p = name;
  if (std::string_view{p}.rfind("procctx-", 0) != 0) return 0;
  p += 8;
  char* end = nullptr;
  long pid = std::strtol(p, &end, 10);
  if (end == p || *end != '-' || pid <= 0) return 0;
  char* end2 = nullptr;
  (void)std::strtoul(end + 1, &end2, 10);
  return end2 != end + 1 && *end2 == '\0' ? static_cast<pid_t>(pid) : 0;
}

// rmdir of `dir` after its sub-cgroups (a command may make its own); the
// kernel refuses (EBUSY) while any process is inside, which is what keeps a
// leaf whose escapees still run.
void remove_tree(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator{dir, ec}) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) remove_tree(e.path());
  }
  (void)sys::remove_dir(dir.c_str());
}

// A procctx killed with SIGKILL never removes its leaves; its children die
// with it (parent_death_signal), leaving the leaves empty. The first leaf a
// process makes under a parent removes such leaves there: named for a pid
// that no longer runs, and not made in the last two seconds (a pid from
// another PID namespace sharing this cgroup says nothing here, and its
// leaf is empty only between mkdir and clone, or after its child is gone).
void remove_orphan_leaves(const fs::path& parent) {
  static std::mutex mu;
  static std::set<fs::path> cleaned;
  {
    std::lock_guard lock{mu};
    if (!cleaned.insert(parent).second) return;
  }
  for (const auto& name : sys::list_dir(parent.string())) {
    pid_t owner = leaf_owner(name.c_str());
    if (owner == 0 || owner == ::getpid()) continue;
    sys::Ret alive = sys::kill(owner, 0);
    if (alive.ok() || alive.err != ESRCH) continue;  // running (or not ours to ask)
    fs::path leaf = parent / name;
    std::error_code ec;
    auto status = fs::symlink_status(leaf, ec);
    if (ec || !fs::is_directory(status)) continue;
    auto changed = fs::last_write_time(leaf, ec);
    if (ec) continue;
    auto age = fs::file_time_type::clock::now() - changed;
    if (age < std::chrono::seconds(2)) continue;
    remove_tree(leaf);
  }
}

}  // namespace

Result<fs::path> default_parent() {
  // Never destroyed: spawns may still run on the loop thread during exit.
  static auto* cached = new std::optional<fs::path>;
  std::lock_guard lock{parent_mu};
  if (*cached) return **cached;

  // Our own cgroup (the "0::" line of /proc/self/cgroup), inside the view
  // of one of the cgroup2 mounts.
  auto own_line = proc::self_cgroup();
  if (!own_line || own_line->empty()) return cgroup_error("no cgroup v2 membership in /proc/self/cgroup");
  const std::string& own = *own_line;
  for (const auto& [root, mount] : proc::cgroup2_mounts()) {
    // Our cgroup must lie inside this mount's view ("/a" holds "/a/b", not "/ab").
    bool inside = root == "/" || (own.rfind(root, 0) == 0 && (own.size() == root.size() || own[root.size()] == '/'));
    if (!inside) continue;
    std::string rel = own.substr(root == "/" ? 0 : root.size());
    fs::path dir = fs::path{mount} / fs::path{rel}.relative_path();
    if (::access(dir.c_str(), W_OK) != 0) {
      return sys::error(errno, concat("cgroup v2 directory ", printable(dir.string()), " is not writable"));
    }
    *cached = dir;
    return dir;
  }
  return cgroup_error("no cgroup2 file system is mounted");
}

Result<Leaf> create_leaf(const fs::path& given, const CgroupLimits& limits) {
  fs::path parent = given;
  if (parent.empty()) {
    auto d = default_parent();
    if (!d) return std::move(d).error();
    parent = *d;
  }
  remove_orphan_leaves(parent);
  Leaf leaf;
  for (int attempt = 0;; ++attempt) {
    leaf.path = parent / ("procctx-" + std::to_string(::getpid()) + "-" + std::to_string(leaf_seq++));
    const char* p = leaf.path.c_str();
    sys::Ret r = sys::call(sys::Call::mkdir, [&] { return ::mkdir(p, 0755); });
    if (r.ok()) break;
    // A leaf left by an earlier process with our pid: take the next name.
    if (r.err == EEXIST && attempt < 16) continue;
    return sys::error(r, concat("create cgroup ", printable(leaf.path.string())));
  }
  const char* p = leaf.path.c_str();
  sys::Ret r = sys::call(sys::Call::open, [&] { return ::open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
  if (!r.ok()) {
    (void)sys::remove_dir(p);
    return sys::error(r, concat("open cgroup ", printable(leaf.path.string())));
  }
  leaf.dir.reset(static_cast<int>(r.value));

  auto apply = [&](const char* controller, const char* file, const std::string& value,
                   const char* option) -> Result<void> {
    if (::faccessat(leaf.dir.get(), file, W_OK, 0) != 0) {
      // Try to enable the controller for our leaves; fails where the parent
      // holds processes itself (cgroup v2's no-internal-process rule).
      sys::Ret p_fd = sys::call(sys::Call::open,
                                [&] { return ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
      if (p_fd.ok()) {
        sys::UniqueFd pd{static_cast<int>(p_fd.value)};
        (void)write_file_at(pd.get(), "cgroup.subtree_control", std::string{"+"} + controller);
      }
    }
    sys::Ret w = write_file_at(leaf.dir.get(), file, value);
    if (!w.ok()) {
      std::string available = read_file_at(leaf.dir.get(), "cgroup.controllers");
      if (!available.empty() && available.back() == '\n') available.pop_back();
      return sys::error(
          w, std::string{option} + " " + value + ": cannot write " + file + " in " + printable(leaf.path.string()) +
                 " (controllers available there: " + (available.empty() ? "none" : available) + ")");
    }
    return {};
  };
  Result<void> ok;
  if (limits.memory_max) ok = apply("memory", "memory.max", std::to_string(*limits.memory_max), "memory_max");
  if (ok && limits.pids_max) ok = apply("pids", "pids.max", std::to_string(*limits.pids_max), "pids_max");
  if (ok && limits.cpu_max) ok = apply("cpu", "cpu.max", *limits.cpu_max, "cpu_max");
  if (!ok) {
    release(leaf);
    return std::move(ok).error();
  }
  return leaf;
}

Result<void> kill_all(const Leaf& leaf) {
  sys::Ret r = write_file_at(leaf.dir.get(), "cgroup.kill", "1");
  if (r.ok()) return {};
  if (r.err != ENOENT) return sys::error(r, concat("write cgroup.kill in ", printable(leaf.path.string())));
  return signal_all(leaf, SIGKILL);  // before Linux 5.14
}

Result<void> signal_all(const Leaf& leaf, int sig) {
  for (pid_t pid : procs(leaf)) {
    sys::Ret r = sys::call(sys::Call::kill, [&] { return ::kill(pid, sig); });
    if (!r.ok() && r.err != ESRCH) return sys::error(r, "kill " + std::to_string(pid));
  }
  return {};
}

bool populated(const Leaf& leaf) {
  return read_file_at(leaf.dir.get(), "cgroup.events").find("populated 1") != std::string::npos;
}

std::vector<ProcessRef> members(const Leaf& leaf) {
  std::vector<ProcessRef> out;
  for (pid_t pid : procs(leaf)) out.push_back({pid, proc::comm(pid)});
  return out;
}

bool oom_killed(const Leaf& leaf) {
  std::istringstream in{read_file_at(leaf.dir.get(), "memory.events")};
  std::string key;
  long value;
  while (in >> key >> value) {
    if (key == "oom_kill" && value > 0) return true;
  }
  return false;
}

void release(Leaf& leaf) {
  if (!leaf.dir) return;
  auto pids = procs(leaf);
  if (!pids.empty()) {
    auto parent_dir = leaf.path.parent_path();
    sys::Ret r = sys::call(sys::Call::open,
                           [&] { return ::open(parent_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
    if (r.ok()) {
      sys::UniqueFd pd{static_cast<int>(r.value)};
      for (pid_t pid : pids) (void)write_file_at(pd.get(), "cgroup.procs", std::to_string(pid));
    }
  }
  leaf.dir.reset();
  (void)sys::remove_dir(leaf.path.c_str());
}

}  // namespace procctx::detail::cgroup
