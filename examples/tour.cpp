// tour: the README's API tour, compiled and run so the README stays true.
#include <procctx/procctx.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include <sys/resource.h>

using namespace std::chrono_literals;

int main() {
  // A context with a deadline; `cancel` ends it early (and on destruction).
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 30s);

  // A command is a value: nothing runs until spawn() or run().
  procctx::Command cmd{"make", {"-j8"}};
  cmd.cwd("/src")
      .env_clear()
      .env("PATH", "/usr/bin:/bin")
      .out(procctx::Stdio::capture())  // kept in memory (64 MiB head+tail by default)
      .err(procctx::Stdio::capture())
      .stop({{SIGTERM, 5s}, {SIGKILL}})  // what "stop" means, as data
      .wait_delay(2s)                    // bound on pipes held by grandchildren
      .tree(procctx::Tree::cgroup);      // or process_group (default), none

  auto done = cmd.run(ctx);  // Result<Completed>
  if (!done) {               // could not start: says exactly why
    std::cerr << done.error().message() << "\n";
  } else {
    std::cout << done->status.to_string() << " stop_reason=" << procctx::to_string(done->stop_reason)
              << " out=" << done->out.text().size() << " bytes\n";
  }

  // The hardened profile, as in the README (with a program that exists everywhere).
  auto hardened = procctx::Command{"/bin/sh", {"-c", "umask; env"}}
                      .profile(procctx::Profile::hardened({"PATH", "LANG"}))
                      .user("nobody")
                      .rlimit(RLIMIT_AS, 1 << 30, 1 << 30)
                      .out(procctx::Stdio::capture())
                      .run(ctx);
  if (hardened)
    std::cout << "hardened: " << hardened->status.to_string() << ", sees:\n" << hardened->out.text();
  else
    std::cout << "hardened: " << hardened.error().message() << "\n";

  // Many at once, and a pipeline (as in the README).
  std::vector<std::string> files;
  for (int i = 0; i < 3; ++i) {
    files.push_back("/tmp/procctx-tour-" + std::to_string(::getpid()) + "-" + std::to_string(i));
    std::ofstream{files.back()} << "some text " << i << "\n";
  }
  {
    procctx::Group g{ctx, {.limit = 8, .fail_fast = true}};
    for (const auto& f : files) g.spawn(procctx::Command{"gzip", {"-k", f}});
    for (const procctx::Outcome& o : g.wait())
      if (!o.success()) std::cerr << (o.error ? o.error->message() : o.completed->status.to_string()) << "\n";
  }
  for (const auto& f : files) {
    std::remove(f.c_str());
    std::remove((f + ".gz").c_str());
  }
  auto words = (procctx::Command{"cat", {"/etc/os-release"}} |
                procctx::Command{"wc", {"-w"}}.out(procctx::Stdio::capture()))
                   .pipefail()
                   .run(ctx);
  if (!words) return 1;
  std::cout << "words in /etc/os-release: " << words->stages.back().out.text();

  // The same shape, for a command that exists everywhere.
  auto ls = procctx::Command{"ls", {"/"}}.out(procctx::Stdio::capture()).run(ctx);
  if (!ls) return 1;
  std::cout << "ls / " << ls->status.to_string() << ", " << ls->out.text().size() << " bytes captured\n";
  return ls->status.success() ? 0 : 1;
}
