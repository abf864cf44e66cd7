// A `kill -KILL` of procctx (the OOM killer, a CI runner's timeout) leaves
// nothing of what it ran: the direct child in every tree mode, the whole
// tree under `--tree pidns`, and the cgroup leaf of `--tree cgroup`, which
// the next procctx removes.
#include "cli/cli_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using procctx::Stdio;
using procctx::test::CliTest;
using procctx::test::process_running;
using procctx::test::read_line;

class DiesWithProcctx : public CliTest {
 protected:
  // Starts procctx with `args` running a shell that prints its pid and
  // sleeps; returns that pid (the command's) after killing procctx with
  // SIGKILL.
  static pid_t kill_procctx_under(std::vector<std::string> args) {
    args.insert(args.end(), {"/bin/sh", "-c", "echo $$; exec sleep 30"});
    auto p = procctx::Command{cli(), args}.in(Stdio::null()).out(Stdio::pipe()).err(Stdio::null()).spawn();
    EXPECT_TRUE(p) << p.error().message();
    if (!p) return 0;
    std::string line = read_line(p->out());
    EXPECT_FALSE(line.empty()) << "no pid from the command";
    EXPECT_TRUE(p->signal(SIGKILL));
    (void)p->wait();
    return line.empty() ? 0 : std::stoi(line);
  }
  // The cgroup v2 directory `pid` is in: its "0::" line of /proc/PID/cgroup
  // under where cgroup2 is mounted; empty when there is none.
  static fs::path cgroup_leaf_of(pid_t pid) {
    std::ifstream cg{"/proc/" + std::to_string(pid) + "/cgroup"};
    std::string line, own;
    while (std::getline(cg, line)) {
      if (line.rfind("0::", 0) == 0) own = line.substr(3);
    }
    std::ifstream mi{"/proc/self/mountinfo"};
    while (std::getline(mi, line)) {
      auto dash = line.find(" - cgroup2 ");
      if (dash == std::string::npos || own.empty()) continue;
      std::istringstream head{line.substr(0, dash)};
      std::string id, parent, devno, root, mount;
      head >> id >> parent >> devno >> root >> mount;
      if (root == "/") return fs::path{mount} / fs::path{own}.relative_path();
    }
    return {};
  }
  static bool gone_soon(pid_t pid) {
    for (int i = 0; i < 100 && process_running(pid); ++i) std::this_thread::sleep_for(30ms);
    return !process_running(pid);
  }
};

TEST_F(DiesWithProcctx, RunInEveryTreeMode) {
  for (const char* tree : {"auto", "cgroup", "group", "none"}) {
    pid_t child = kill_procctx_under({"run", "--tree", tree, "--"});
    ASSERT_GT(child, 0) << tree;
    EXPECT_TRUE(gone_soon(child)) << "--tree " << tree << ": the command outlived procctx run";
    if (process_running(child)) ::kill(child, SIGKILL);
  }
}

TEST_F(DiesWithProcctx, Timeout) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"timeout", "30"}, std::vector<std::string>{"timeout", "--foreground", "30"},
        std::vector<std::string>{"timeout", "-s", "INT", "30"}}) {
    pid_t child = kill_procctx_under(args);
    ASSERT_GT(child, 0);
    EXPECT_TRUE(gone_soon(child)) << args.back() << ": the command outlived procctx timeout";
    if (process_running(child)) ::kill(child, SIGKILL);
  }
}

// The cgroup leaf a killed procctx run leaves (empty: its command died with
// it) is removed by the next procctx that makes a leaf under the same parent.
TEST_F(DiesWithProcctx, ItsEmptyCgroupLeafIsRemovedByTheNextRun) {
  auto p =
      procctx::Command{cli(), {"run", "--tree", "cgroup", "--", "/bin/sh", "-c", "echo $$; exec sleep 30"}}
          .in(Stdio::null())
          .out(Stdio::pipe())
          .err(Stdio::capture())
          .spawn();
  ASSERT_TRUE(p);
  pid_t child = std::stoi(read_line(p->out()));
  fs::path leaf = cgroup_leaf_of(child);
  if (leaf.empty() || leaf.filename().string().rfind("procctx-", 0) != 0) {
    (void)p->signal(SIGKILL);
    (void)p->wait();
    GTEST_SKIP() << "no writable cgroup v2 here (the command is in " << leaf << ")";
  }
  ASSERT_TRUE(fs::is_directory(leaf)) << leaf;
  ASSERT_TRUE(p->signal(SIGKILL));
  (void)p->wait();
  ASSERT_TRUE(gone_soon(child));
  EXPECT_TRUE(fs::is_directory(leaf)) << "the kernel removed the leaf itself?";
  // Leaves younger than two seconds may still be another procctx's, between
  // its mkdir and its clone: the next run leaves those alone.
  std::this_thread::sleep_for(2100ms);
  auto next = procctx({"run", "--tree", "cgroup", "--", "true"});
  EXPECT_EQ(next.status.code(), 0) << next.err;
  EXPECT_FALSE(fs::exists(leaf)) << leaf << " is still there";
}


// Host pids of the processes whose command line holds `marker`.
std::vector<pid_t> running_with(const std::string& marker) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in{e.path() / "cmdline", std::ios::binary};
    std::string cmdline{std::istreambuf_iterator<char>{in}, {}};
    pid_t pid = std::stoi(name);
    if (cmdline.find(marker) != std::string::npos && process_running(pid)) out.push_back(pid);
  }
  return out;
}

// Under --tree pidns a grandchild and a setsid daemon die with procctx too.
TEST_F(DiesWithProcctx, UnderPidnsNothingOfTheTreeSurvives) {
  std::string h = helper();
  auto p = procctx::Command{cli(), {"run", "--tree", "pidns", "--", "/bin/sh", "-c",
                                    h + " daemon 41.5301 >/dev/null; echo started; exec " + h + " fork 2 41.5301"}}
               .in(Stdio::null())
               .out(Stdio::pipe())
               .err(Stdio::null())
               .spawn();
  ASSERT_TRUE(p);
  ASSERT_EQ(read_line(p->out()), "started");
  // procctx and its init (their command lines name the marker too), the
  // daemon, the command and its two children.
  for (int i = 0; i < 100 && running_with("41.5301").size() < 6; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_GE(running_with("41.5301").size(), 6u);
  ASSERT_TRUE(p->signal(SIGKILL));
  (void)p->wait();
  for (int i = 0; i < 200 && !running_with("41.5301").empty(); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(running_with("41.5301").empty()) << "something of the namespace outlived procctx run";
}

// Unprivileged, the namespace comes with a user namespace of its own in
// which the command is still who it was (or, where the kernel allows none,
// a process group and a warning saying why).
TEST_F(DiesWithProcctx, UnprivilegedPidnsKeepsTheUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become nobody";
  auto r = procctx::Command{cli(), {"run", "--tree", "pidns", "--json", "-", "--", "/bin/sh", "-c", "id -u"}}
               .user("nobody")
               .cwd("/")
               .env("LC_ALL", "C")
               .in(Stdio::null())
               .out(Stdio::capture())
               .err(Stdio::capture())
               .run();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->status.code(), 0) << r->err.str();
  std::string out = r->out.str();
  EXPECT_EQ(out.rfind("65534\n", 0), 0u) << out;
  if (out.find("\"used\": \"pidns\"") == std::string::npos) {
    EXPECT_NE(r->err.str().find("--tree pidns not available"), std::string::npos) << r->err.str();
  }
}

}  // namespace
