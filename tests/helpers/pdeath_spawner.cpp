// pdeath_spawner: a parent for the parent-death tests. It spawns
// `procctx_helper sleep 60` with parent_death_signal(SIGKILL) from a thread
// that exits right away, prints "child=PID", and sleeps until killed. With
// "pidns MARKER" it spawns `procctx_helper fork 3 MARKER` under
// Tree::pid_namespace instead (no parent-death signal of its own).
#include <procctx/procctx.hpp>

#include <csignal>
#include <cstdio>
#include <string_view>
#include <thread>

#include <unistd.h>

int main(int argc, char** argv) {
  bool pidns = argc == 4 && std::string_view{argv[2]} == "pidns";
  if (argc != 2 && !pidns) {
    std::fprintf(stderr, "usage: pdeath_spawner HELPER [pidns MARKER]\n");
    return 2;
  }
  pid_t child = 0;
  std::thread spawner([&] {
    auto cmd = pidns ? procctx::Command{argv[1], {"fork", "3", argv[3]}}
                           .tree(procctx::Tree::pid_namespace)
                           .out(procctx::Stdio::null())
                     : procctx::Command{argv[1], {"sleep", "60"}}.parent_death_signal(SIGKILL);
    auto p = cmd.spawn();
    if (!p) {
      std::fprintf(stderr, "pdeath_spawner: %s\n", p.error().message().c_str());
      return;
    }
    child = p->pid();
    p->detach();
  });
  spawner.join();  // the spawning thread is gone; the child must live on
  if (child == 0) return 1;
  std::printf("child=%d\n", child);
  std::fflush(stdout);
  ::sleep(60);
  return 0;
}
