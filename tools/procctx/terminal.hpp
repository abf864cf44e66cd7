// terminal.hpp — the controlling terminal, and the job control that lets a
// command in its own process group behave as a shell's job would.
#pragma once

#include <procctx/procctx.hpp>

namespace procctx::cli {

class Terminal {
 public:
  // Finds the terminal when procctx runs in its foreground process group
  // (an interactive shell's job); ignores SIGTTIN and SIGTTOU so procctx can
  // take the terminal back from a background group.
  Terminal();
  // Gives the terminal back to procctx's group if it was handed out.
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // The terminal's fd (for Command::foreground_terminal), or -1 when procctx
  // is not in its foreground.
  int fd() const noexcept { return fd_; }

  // `p`'s process group was made the terminal's foreground before it ran;
  // from now on job control follows it (see on_child_signal).
  void follow(const Process& p);

  // On SIGCHLD: when the command stopped for job control (Ctrl-Z, a read in
  // the background), procctx stops too, with the terminal back in its own
  // group, so the shell sees the job stopped; once continued (fg, bg) it
  // hands the terminal over again if it is the foreground, and continues
  // the command.
  void on_child_signal();

  // The terminal back to procctx's process group (if it was handed out).
  void take_back() noexcept;

 private:
  int fd_ = -1;
  const Process* process_ = nullptr;
};

}  // namespace procctx::cli
