// Coroutines on procctx's awaiter: a minimal task type and the pattern to use
// it with.
//
// `co_await process.completion()` suspends until the child's outcome is known
// and resumes the coroutine on procctx's loop thread. procctx has no task type
// of its own, so this file carries the smallest one that works: Task<T>, a
// coroutine that starts when awaited and hands its value to the coroutine
// that awaits it, and block_on(task), which runs one from plain code.
//
// The pattern:
// - Keep each Process in the coroutine frame (a local) until its co_await is
//   over: the awaiter refers to it, and destroying a running Process stops it.
// - What runs between two co_awaits runs on the loop thread, which serves
//   every child and timer: spawning the next command and bookkeeping are fine;
//   long computation or blocking calls are not. A program with an event loop
//   of its own resumes there instead: procctx/asio.hpp (examples/asio_wait.cpp).
#include <procctx/procctx.hpp>

#include "expect.hpp"

#include <coroutine>
#include <cstdio>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace {

// A lazily started coroutine with a result: `T v = co_await task;` from
// another Task, or `block_on(std::move(task))` from plain code.
template <class T>
class Task {
 public:
  struct promise_type {
    std::optional<T> value;
    std::exception_ptr error;
    std::coroutine_handle<> continuation = std::noop_coroutine();

    Task get_return_object() { return Task{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    // At the end, the awaiting coroutine resumes in its place (no stack growth).
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        return h.promise().continuation;
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_value(T v) { value = std::move(v); }
    void unhandled_exception() { error = std::current_exception(); }
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task(const Task&) = delete;
  Task& operator=(Task&&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  // co_await task: start it; the awaiting coroutine resumes when it is done.
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    handle_.promise().continuation = awaiting;
    return handle_;
  }
  T await_resume() {
    if (handle_.promise().error) std::rethrow_exception(handle_.promise().error);
    return std::move(*handle_.promise().value);
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

// A coroutine nobody awaits: it starts at once and frees itself at the end.
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }  // drive() catches everything
  };
};

template <class T>
Detached drive(Task<T> task, std::shared_ptr<std::promise<T>> result) {
  try {
    result->set_value(co_await task);
  } catch (...) {
    result->set_exception(std::current_exception());
  }
}

// Runs `task` to its end and gives its value, blocking the calling thread
// (never call it on the loop thread, i.e. from inside a Task).
template <class T>
T block_on(Task<T> task) {
  auto result = std::make_shared<std::promise<T>>();
  auto value = result->get_future();
  drive(std::move(task), result);
  return value.get();
}

// One step: spawn, wait without blocking, keep what is needed.
Task<procctx::Completed> run_step(procctx::Command cmd) {
  auto p = cmd.spawn();
  if (!p) throw procctx::Exception(p.error());
  const procctx::Completed& c = co_await p->completion();  // resumes on the loop thread
  co_return c;                                              // a copy: *p goes with this frame
}

struct Build {
  std::string version;
  int tests_code = -1;
  bool loop_thread_resumed = false;
};

// Steps that depend on each other, written as straight-line code.
Task<Build> build(std::thread::id caller) {
  Build b;
  // Commands are made before their co_await: GCC 12 rejects an initializer list
  // of string literals inside a co_await expression.
  auto version = procctx::Command{"/bin/sh", {"-c", "echo 1.2.3"}}.out(procctx::Stdio::capture());
  procctx::Completed v = co_await run_step(std::move(version));
  b.loop_thread_resumed = std::this_thread::get_id() != caller;
  b.version = v.out.str();
  if (!b.version.empty() && b.version.back() == '\n') b.version.pop_back();

  auto tests = procctx::Command{"/bin/sh", {"-c", "test \"$1\" = 1.2.3 && exit 0; exit 1", "sh", b.version}};
  procctx::Completed t = co_await run_step(std::move(tests));
  b.tests_code = t.status.code();
  co_return b;
}

Task<int> failing_step() {
  auto missing = procctx::Command{"/nonexistent/procctx-example-tool"};
  procctx::Completed c = co_await run_step(std::move(missing));  // throws: it cannot start
  co_return c.status.code();
}

void demo() {
  Build b = block_on(build(std::this_thread::get_id()));
  std::printf("version '%s', tests exited %d\n", b.version.c_str(), b.tests_code);
  example::expect(b.version == "1.2.3" && b.tests_code == 0, "each step saw the one before it");
  example::expect(b.loop_thread_resumed, "after co_await the coroutine ran on procctx's loop thread");

  try {
    block_on(failing_step());
    example::expect(false, "a step that cannot start throws");
  } catch (const procctx::Exception& e) {
    std::printf("failing step: %s\n", e.error().message().c_str());
    example::expect(true, "a step that cannot start throws, through every co_await, to block_on's caller");
  }
}

}  // namespace

int main() { return example::run_with_leak_check(demo); }
