// A `kill -KILL` of procctx (the OOM killer, a CI runner's timeout) leaves
// nothing of what it ran: the direct child in every tree mode, and the
// cgroup leaf of `--tree cgroup`, which the next procctx removes.
#include "cli/cli_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
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

}  // namespace
