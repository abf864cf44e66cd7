#include <procctx/context.hpp>

#include "context_internal.hpp"
#include "sys_linux.hpp"
#include "timers.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include <sys/eventfd.h>
#include <unistd.h>

namespace procctx::detail {

struct FromToken {
  std::weak_ptr<ContextState> state;
  void operator()() const noexcept;
};

// One node of the tree. Guarded by `mu` unless said otherwise.
struct ContextState : std::enable_shared_from_this<ContextState> {
  explicit ContextState(std::shared_ptr<ContextState> p) : parent(std::move(p)) {}
  ~ContextState();

  const std::shared_ptr<ContextState> parent;
  std::optional<TimePoint> deadline;  // effective; set before publication

  std::atomic<bool> is_done{false};  // set once, after err and cause
  std::error_code err;
  std::shared_ptr<const std::string> cause;

  mutable std::mutex mu;
  std::condition_variable cv;  // done, and callbacks finishing

  CallbackNode* head = nullptr;  // registered callbacks, in order
  CallbackNode* tail = nullptr;
  std::thread::id running_thread;  // who runs callbacks once done

  // Children, an intrusive list guarded by *this* node's mu; a child's
  // sibling links and `linked` flag are guarded by its parent's mu.
  ContextState* first_child = nullptr;
  ContextState* prev_sibling = nullptr;
  ContextState* next_sibling = nullptr;
  bool linked = false;

  Timers::Id timer = 0;                               // own deadline timer, 0 if none
  bool timer_missing = false;                         // the loop refused the timer: check the clock
  sys::UniqueFd event;                                // fd(), created on demand
  std::unique_ptr<std::stop_source> stop_source;      // stop_token(), on demand
  std::optional<std::stop_callback<FromToken>> from;  // Context::from()
};

struct Access {
  static Context context(std::shared_ptr<ContextState> s) { return Context{std::move(s)}; }
  static Canceler canceler(std::shared_ptr<ContextState> s) { return Canceler{std::move(s)}; }
  static const std::shared_ptr<ContextState>& state(const Context& c) { return c.state_; }
};

std::atomic<std::size_t> live_registrations{0};
std::size_t context_registrations() noexcept { return live_registrations.load(std::memory_order_relaxed); }

namespace {

void unlink_child_locked(ContextState& parent, ContextState& child) noexcept {
  if (!child.linked) return;
  if (child.prev_sibling)
    child.prev_sibling->next_sibling = child.next_sibling;
  else
    parent.first_child = child.next_sibling;
  if (child.next_sibling) child.next_sibling->prev_sibling = child.prev_sibling;
  child.prev_sibling = child.next_sibling = nullptr;
  child.linked = false;
}

void signal_event_fd(int fd) noexcept {
  std::uint64_t one = 1;
  (void)sys::call(sys::Call::write, [&] { return ::write(fd, &one, sizeof one); });
}

// Runs the callbacks of a state that has just ended, one at a time, so that
// a Registration destroyed meanwhile can still take its callback out.
void run_callbacks(ContextState& s) noexcept {
  std::unique_lock lock{s.mu};
  s.running_thread = std::this_thread::get_id();
  while (CallbackNode* node = s.head) {
    s.head = node->next;
    if (s.head)
      s.head->prev = nullptr;
    else
      s.tail = nullptr;
    node->prev = node->next = nullptr;
    node->phase = CallbackNode::Phase::running;
    lock.unlock();
    node->run();
    lock.lock();
    if (node->orphaned) {
      lock.unlock();
      node->free();
      live_registrations.fetch_sub(1, std::memory_order_relaxed);
      lock.lock();
    } else {
      node->phase = CallbackNode::Phase::finished;
    }
    s.cv.notify_all();
  }
  s.running_thread = std::thread::id{};
}

// Ends `root` and its whole subtree with err/cause. Iterative, so a chain of
// any depth costs no stack.
// Ends one node; appends its live children to `work`. False if it had
// already ended.
void end_one(ContextState& s, std::error_code err, const std::shared_ptr<const std::string>& cause,
             std::vector<std::shared_ptr<ContextState>>& work) noexcept {
  Timers::Id timer;
  std::stop_source* stop = nullptr;
  {
    std::lock_guard lock{s.mu};
    if (s.is_done.load(std::memory_order_relaxed)) return;
    s.err = err;
    s.cause = cause;
    s.is_done.store(true, std::memory_order_release);
    while (ContextState* c = s.first_child) {
      unlink_child_locked(s, *c);
      // A child whose last owner is gone is being destroyed; skip it.
      if (auto strong = c->weak_from_this().lock()) work.push_back(std::move(strong));
    }
    timer = std::exchange(s.timer, 0);
    if (s.event) signal_event_fd(s.event.get());
    stop = s.stop_source.get();
  }
  s.cv.notify_all();
  if (timer != 0) {
    if (Timers* t = running_timers()) t->cancel_timer(timer);
  }
  if (stop) stop->request_stop();
  run_callbacks(s);
}

// Ends `root` and its whole subtree with err/cause. Iterative, so a chain of
// any depth costs no stack; a node without children allocates nothing.
void end(const std::shared_ptr<ContextState>& root, std::error_code err,
         std::shared_ptr<const std::string> cause) noexcept {
  if (root->is_done.load(std::memory_order_acquire)) return;
  if (root->parent) {
    // Leave the parent's list now: a cancelled child must not linger there.
    std::lock_guard lock{root->parent->mu};
    unlink_child_locked(*root->parent, *root);
  }
  std::vector<std::shared_ptr<ContextState>> work;
  end_one(*root, err, cause, work);
  while (!work.empty()) {
    std::shared_ptr<ContextState> s = std::move(work.back());
    work.pop_back();
    end_one(*s, err, cause, work);
  }
}

std::shared_ptr<ContextState> make_child(const std::shared_ptr<ContextState>& parent) {
  auto child = std::make_shared<ContextState>(parent);
  if (!parent) return child;
  child->deadline = parent->deadline;
  std::lock_guard lock{parent->mu};
  if (parent->is_done.load(std::memory_order_relaxed)) {
    child->err = parent->err;
    child->cause = parent->cause;
    child->is_done.store(true, std::memory_order_release);
    return child;
  }
  child->next_sibling = parent->first_child;
  if (parent->first_child) parent->first_child->prev_sibling = child.get();
  parent->first_child = child.get();
  child->linked = true;
  return child;
}

// The deadline check used only when the loop could not take a timer.
void check_missing_timer(const std::shared_ptr<ContextState>& s) noexcept {
  for (ContextState* p = s.get(); p; p = p->parent.get()) {
    if (p->timer_missing && !p->is_done.load(std::memory_order_acquire) && p->deadline &&
        detail::now() >= *p->deadline) {
      end(p->shared_from_this(), make_error_code(errc::deadline_exceeded), nullptr);
      return;
    }
  }
}

// One timer holding a weak reference: the context ends at `deadline`
// unless it is gone or ended first. Without timers, the clock is checked
// whenever the context is asked.
void arm_deadline(const std::shared_ptr<ContextState>& s, TimePoint deadline) {
  auto t = timers();
  if (!t) {
    s->timer_missing = true;
    return;
  }
  std::weak_ptr<ContextState> weak = s;
  auto id = (*t)->add_timer(deadline, [weak] {
    if (auto strong = weak.lock()) {
      {
        std::lock_guard lock{strong->mu};
        strong->timer = 0;  // it has fired; nothing to cancel later
      }
      end(strong, make_error_code(errc::deadline_exceeded), nullptr);
    }
  });
  if (!id) {
    s->timer_missing = true;
    return;
  }
  std::lock_guard lock{s->mu};
  if (s->is_done.load(std::memory_order_relaxed))
    (*t)->cancel_timer(*id);
  else
    s->timer = *id;
}

}  // namespace

void FromToken::operator()() const noexcept {
  if (auto s = state.lock()) {
    static const auto cause = std::make_shared<const std::string>("stop requested");
    end(s, make_error_code(errc::canceled), cause);
  }
}

ContextState::~ContextState() {
  from.reset();  // waits for a stop callback running on another thread
  if (timer != 0) {
    if (Timers* t = running_timers()) t->cancel_timer(timer);
  }
  if (parent) {
    std::lock_guard lock{parent->mu};
    unlink_child_locked(*parent, *this);
  }
}

}  // namespace procctx::detail

namespace procctx {

using detail::Access;
using detail::CallbackNode;
using detail::ContextState;

bool Context::done() const noexcept {
  if (!state_) return false;
  if (state_->is_done.load(std::memory_order_acquire)) return true;
  detail::check_missing_timer(state_);
  return state_->is_done.load(std::memory_order_acquire);
}

std::error_code Context::err() const noexcept {
  if (!done()) return {};
  return state_->err;
}

std::string Context::cause() const {
  if (!done()) return {};
  return state_->cause ? *state_->cause : state_->err.message();
}

std::optional<TimePoint> Context::deadline() const noexcept {
  if (!state_) return std::nullopt;
  return state_->deadline;
}

void Context::wait() const {
  if (!state_) {
    // background() never ends; waiting on it is waiting forever.
    for (;;) std::this_thread::sleep_for(std::chrono::hours(24));
  }
  while (!wait_for(std::chrono::seconds(1))) {}
}

bool Context::wait_for(Duration d) const {
  auto now = detail::now();
  return wait_until(d >= TimePoint::max() - now ? TimePoint::max() : now + d);
}

bool Context::wait_until(TimePoint t) const {
  if (!state_) {
    // background() never ends: sleep out the time, on the timers' clock.
    for (auto now = detail::now(); now < t; now = detail::now()) std::this_thread::sleep_for(t - now);
    return false;
  }
  std::unique_lock lock{state_->mu};
  for (;;) {
    if (state_->is_done.load(std::memory_order_acquire)) return true;
    // Sleep until `t` or the deadline, whichever is first, counted on the
    // timers' clock (which a test clock moves by hand): a missing timer is
    // then covered by done()'s own check of the clock.
    TimePoint until = t;
    if (state_->deadline && *state_->deadline < until) until = *state_->deadline;
    auto left = until - detail::now();
    if (left > Duration::zero()) {
      if (state_->cv.wait_for(lock, left) == std::cv_status::no_timeout) continue;
    }
    lock.unlock();
    bool d = done();
    if (d || detail::now() >= t) return d;
    lock.lock();
    // Past the deadline, its timer is due on the loop any moment: wait for
    // the notification in small steps rather than spin.
    (void)state_->cv.wait_for(lock, std::chrono::milliseconds(1));
  }
}

Registration Context::attach(CallbackNode* node) const {
  {
    std::lock_guard lock{state_->mu};
    if (!state_->is_done.load(std::memory_order_relaxed)) {
      node->prev = state_->tail;
      if (state_->tail)
        state_->tail->next = node;
      else
        state_->head = node;
      state_->tail = node;
      detail::live_registrations.fetch_add(1, std::memory_order_relaxed);
      return Registration{state_, node};
    }
  }
  // Ended between the caller's check and the lock: run inline, as promised.
  node->run();
  node->free();
  return {};
}

Result<int> Context::fd() const {
  if (!state_) return -1;
  std::lock_guard lock{state_->mu};
  if (!state_->event) {
    namespace sys = detail::sys;
    sys::Ret r = sys::call(sys::Call::eventfd, [] { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); });
    if (!r.ok()) return sys::error(r, "context fd: eventfd");
    auto lifted = sys::lift_above_stdio(sys::UniqueFd{static_cast<int>(r.value)});
    if (!lifted) return std::move(lifted).error();
    state_->event = std::move(*lifted);
    if (state_->is_done.load(std::memory_order_relaxed)) detail::signal_event_fd(state_->event.get());
  }
  return state_->event.get();
}

std::stop_token Context::stop_token() const {
  if (!state_) return {};  // never stopped, like background()
  std::stop_source* src;
  bool already;
  {
    std::lock_guard lock{state_->mu};
    if (!state_->stop_source) state_->stop_source = std::make_unique<std::stop_source>();
    src = state_->stop_source.get();
    already = state_->is_done.load(std::memory_order_relaxed);
  }
  if (already) src->request_stop();
  return src->get_token();
}

Context Context::from(std::stop_token token) {
  if (!token.stop_possible()) return background();
  auto s = std::make_shared<ContextState>(nullptr);
  s->from.emplace(std::move(token), detail::FromToken{s});
  return Access::context(std::move(s));
}

Registration& Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    reset();
    state_ = std::move(o.state_);
    node_ = std::exchange(o.node_, nullptr);
  }
  return *this;
}

bool Registration::active() const noexcept {
  if (!node_) return false;
  std::lock_guard lock{state_->mu};
  return node_->phase == CallbackNode::Phase::registered;
}

bool Registration::reset() noexcept {
  CallbackNode* node = std::exchange(node_, nullptr);
  if (!node) return false;
  auto state = std::move(state_);
  std::unique_lock lock{state->mu};
  switch (node->phase) {
    case CallbackNode::Phase::registered:
      if (node->prev)
        node->prev->next = node->next;
      else
        state->head = node->next;
      if (node->next)
        node->next->prev = node->prev;
      else
        state->tail = node->prev;
      lock.unlock();
      node->free();
      detail::live_registrations.fetch_sub(1, std::memory_order_relaxed);
      return true;
    case CallbackNode::Phase::running:
      if (state->running_thread == std::this_thread::get_id()) {
        node->orphaned = true;  // freed by run_callbacks once it returns
        return false;
      }
      state->cv.wait(lock, [&] { return node->phase != CallbackNode::Phase::running; });
      break;
    case CallbackNode::Phase::finished:
      break;
  }
  lock.unlock();
  node->free();
  detail::live_registrations.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

Canceler& Canceler::operator=(Canceler&& o) noexcept {
  if (this != &o) {
    (*this)();
    state_ = std::move(o.state_);
  }
  return *this;
}

Canceler::~Canceler() { (*this)(); }

void Canceler::operator()(std::string cause) const {
  if (!state_ || state_->is_done.load(std::memory_order_acquire)) return;
  std::shared_ptr<const std::string> c;
  if (!cause.empty()) c = std::make_shared<const std::string>(std::move(cause));
  // A strong copy: a callback may destroy this Canceler (and the last other
  // owner of the state) while the state is still being ended.
  std::shared_ptr<ContextState> keep = state_;
  detail::end(keep, make_error_code(errc::canceled), std::move(c));
}

WithCancel with_cancel(const Context& parent) {
  auto s = detail::make_child(Access::state(parent));
  return {Access::context(s), Access::canceler(s)};
}

WithCancel with_deadline(const Context& parent, TimePoint deadline) {
  const auto& p = Access::state(parent);
  auto s = detail::make_child(p);
  if (s->is_done.load(std::memory_order_acquire) || (s->deadline && *s->deadline <= deadline)) {
    // Already over, or the parent ends first: no timer of our own.
    return {Access::context(s), Access::canceler(s)};
  }
  s->deadline = deadline;
  if (deadline <= detail::now()) {
    detail::end(s, make_error_code(errc::deadline_exceeded), nullptr);
    return {Access::context(s), Access::canceler(s)};
  }
  if (deadline == TimePoint::max()) return {Access::context(s), Access::canceler(s)};
  detail::arm_deadline(s, deadline);
  return {Access::context(s), Access::canceler(s)};
}

WithCancel with_timeout(const Context& parent, Duration timeout) {
  auto now = detail::now();
  TimePoint deadline = timeout >= TimePoint::max() - now ? TimePoint::max() : now + timeout;
  return with_deadline(parent, deadline);
}

}  // namespace procctx
