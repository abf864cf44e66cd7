// process.cpp — Process, the handle: every call goes to the child's state.
#include <procctx/process.hpp>

#include "child_linux.hpp"

namespace procctx {

Process::Process(std::shared_ptr<detail::ChildState> s) noexcept : state_(std::move(s)) {}
Process::Process(Process&&) noexcept = default;

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    Process dying{std::move(*this)};
    state_ = std::move(o.state_);
    in_ = std::move(o.in_);
    out_ = std::move(o.out_);
    err_ = std::move(o.err_);
  }
  return *this;
}

Process::~Process() {
  if (!state_) return;
  in_.close();
  out_.close();
  err_.close();
  state_->drop();
}

pid_t Process::pid() const noexcept { return state_ ? state_->pid() : 0; }
const Completed& Process::wait() const { return state_->wait(); }
const Completed* Process::try_wait() const noexcept { return state_->try_wait(); }
const Completed* Process::wait_for(Duration d) const { return state_->wait_for(d); }
Result<void> Process::signal(int sig) const { return state_->signal(sig); }
Result<void> Process::signal_tree(int sig) const { return state_->signal_tree(sig); }
Result<void> Process::kill() const { return state_->kill(); }
void Process::stop() const { state_->stop(); }
void Process::on_exit(std::function<void(const Completed&)> fn) const { state_->on_exit(std::move(fn)); }

void Process::detach() noexcept {
  if (state_) state_->detach();
}

std::future<Completed> Process::wait_async() const {
  auto promise = std::make_shared<std::promise<Completed>>();
  auto future = promise->get_future();
  on_exit([promise](const Completed& c) { promise->set_value(c); });
  return future;
}

}  // namespace procctx
