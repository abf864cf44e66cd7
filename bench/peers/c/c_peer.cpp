// The hand-written C peers: what a careful C programmer writes with nothing
// but libc, and so the practical limit for every library.
//
//   c_peer posix_spawn W1 N   posix_spawn + waitpid on /bin/true, N times
//   c_peer fork_execve W1 N   fork + execve + waitpid on /bin/true, N times
//   c_peer posix_spawn W5     sh -c 'sleep 30 & sleep 30' in its own process
//                             group, stdout on a pipe read with poll(); at 1 s
//                             kill(-pgid, SIGKILL), close the pipe, waitpid
//   c_peer posix_spawn W6     sh -c 'trap "" TERM; sleep 30' in its own group;
//                             at 0.5 s kill(-pgid, SIGTERM), at +0.5 s SIGKILL
//
// Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" or "W5|W6 <seconds> s" (the time until the
// call returned with the child reaped), as bench/peers/run_peers.sh reads.
// Plain C calls, compiled as C++ only because the project's one language is.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

double now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

[[noreturn]] void die(const char* what, int err) {
  std::fprintf(stderr, "c_peer: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid", errno);
  }
  return status;
}

pid_t spawn(const char* const argv[], const posix_spawn_file_actions_t* fa, bool own_group) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (own_group) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], fa, &attr, const_cast<char* const*>(argv), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) die("posix_spawn", rc);
  return pid;
}

void w1(bool use_fork, int n) {
  const char* const argv[] = {"/bin/true", nullptr};
  double cpu0 = cpu_seconds();
  double t0 = now();
  for (int i = 0; i < n; ++i) {
    pid_t pid = 0;
    if (use_fork) {
      pid = fork();
      if (pid < 0) die("fork", errno);
      if (pid == 0) {
        execve(argv[0], const_cast<char* const*>(argv), environ);
        _exit(127);
      }
    } else {
      pid = spawn(argv, nullptr, false);
    }
    int st = wait_for(pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("/bin/true failed", 0);
  }
  double s = now() - t0;
  std::printf("W1 %.1f spawns/s, %.1f us CPU per spawn\n", n / s, (cpu_seconds() - cpu0) * 1e6 / n);
}

// W5: read stdout until EOF or the deadline; then kill the whole group.
void w5() {
  const char* const argv[] = {"/bin/sh", "-c", "sleep 30 & sleep 30", nullptr};
  double t0 = now();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) die("pipe2", errno);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  pid_t pid = spawn(argv, &fa, true);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  double deadline = t0 + 1.0;
  char buf[4096];
  for (;;) {
    double left = deadline - now();
    if (left <= 0) {
      kill(-pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (rc < 0 && errno != EINTR) die("poll", errno);
    if (rc > 0 && read(fds[0], buf, sizeof buf) == 0) break;
  }
  close(fds[0]);
  wait_for(pid);
  std::printf("W5 %.3f s\n", now() - t0);
}

// W6: wait on a pidfd with a deadline, then SIGTERM the group, then SIGKILL.
void w6() {
  const char* const argv[] = {"/bin/sh", "-c", "trap \"\" TERM; sleep 30", nullptr};
  double t0 = now();
  pid_t pid = spawn(argv, nullptr, true);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) die("pidfd_open", errno);
  auto exited_within = [&](double seconds) {
    pollfd p{pidfd, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(seconds * 1000)) > 0;
  };
  if (!exited_within(0.5)) {
    kill(-pid, SIGTERM);
    if (!exited_within(0.5)) kill(-pid, SIGKILL);
  }
  close(pidfd);
  wait_for(pid);
  std::printf("W6 %.3f s\n", now() - t0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: c_peer posix_spawn|fork_execve W1 N | W5 | W6\n");
    return 2;
  }
  bool use_fork = std::strcmp(argv[1], "fork_execve") == 0;
  const char* w = argv[2];
  if (std::strcmp(w, "W1") == 0) {
    w1(use_fork, argc > 3 ? std::atoi(argv[3]) : 2000);
  } else if (use_fork) {
    std::printf(
        "unsupported: the fork+execve peer is measured on W1 only; its stop logic would be the posix_spawn "
        "peer's\n");
  } else if (std::strcmp(w, "W5") == 0) {
    w5();
  } else if (std::strcmp(w, "W6") == 0) {
    w6();
  } else {
    std::fprintf(stderr, "c_peer: unknown workload %s\n", w);
    return 2;
  }
  return 0;
}
