#include "terminal.hpp"

#include <csignal>

#include <fcntl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace procctx::cli {

Terminal::Terminal() {
  ::signal(SIGTTIN, SIG_IGN);
  ::signal(SIGTTOU, SIG_IGN);
  if (::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp()) {
    fd_ = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  }
}

Terminal::~Terminal() {
  take_back();
  if (fd_ >= 0) ::close(fd_);
}

void Terminal::follow(const Process& p) {
  if (fd_ < 0) return;
  process_ = &p;
  // The child took the terminal itself before it ran; doing it here too is
  // what shells do, so the order between the two never matters.
  ::tcsetpgrp(fd_, p.pid());
}

void Terminal::on_child_signal() {
  if (process_ == nullptr) return;
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(process_->pid()), &info, WSTOPPED | WNOHANG) != 0) return;
  if (info.si_pid != process_->pid() || info.si_code != CLD_STOPPED) return;
  int why = info.si_status;
  if (why != SIGTSTP && why != SIGTTIN && why != SIGTTOU) return;
  take_back();
  ::kill(::getpid(), SIGSTOP);
  // Continued: the terminal goes back to the child only if the shell made
  // procctx the foreground again (fg, not bg).
  if (::tcgetpgrp(fd_) == ::getpgrp()) ::tcsetpgrp(fd_, process_->pid());
  (void)process_->signal_tree(SIGCONT);
}

void Terminal::take_back() noexcept {
  if (process_ != nullptr && fd_ >= 0) ::tcsetpgrp(fd_, ::getpgrp());
}

}  // namespace procctx::cli
