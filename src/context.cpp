#include <procctx/context.hpp>

#include "context_internal.hpp"
#include "sys_linux.hpp"
#include "timers.hpp"

#include <climits>
#include <mutex>
#include <optional>
#include <thread>

#include <linux/futex.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

// The context takes no mutex and makes no syscall on its hot path (derive,
// register, cancel, unregister), after folly's CancellationState and
// libstdc++'s stop_token: one 32-bit word per context holds "done", a bit
// that locks its two short lists (callbacks, children) for a few
// instructions at a time, and "someone sleeps on me". Only the holder of
// the lock bit changes the word, so unlocking is a plain store. Nothing
// calls out while holding it: callbacks run with it released, one at a
// time. Sleeping (wait(), a Registration waiting for its callback running
// on another thread) is a futex wait on a word, woken only when a sleeper
// said it sleeps. docs/design.md, "Contexts", says why this is safe.

namespace procctx::detail {

struct FromToken {
  std::weak_ptr<ContextState> state;
  void operator()() const noexcept;
};

constexpr std::uint32_t kDone = 1, kLocked = 2, kSleepers = 4;

// What few contexts use, made on first use (a deadline's timer, fd(),
// stop_token(), Context::from()), so that the rest are smaller and cheaper
// to make and drop. Installed under the list lock, never replaced.
struct Extras {
  Timers::Id timer = 0;                               // list lock: own deadline timer, 0 if none
  sys::UniqueFd event;                                // list lock: fd(), created on demand
  std::unique_ptr<std::stop_source> stop_source;      // list lock: stop_token(), on demand
  std::optional<std::stop_callback<FromToken>> from;  // Context::from(), set before publication
};

// One node of the tree. The fields marked "list lock" are read and written
// only while holding kLocked of *this* node's word; err and cause are
// written once, before kDone is published, and read only after it is seen.
struct ContextState : std::enable_shared_from_this<ContextState> {
  explicit ContextState(std::shared_ptr<ContextState> p) : parent(std::move(p)) {}
  ~ContextState();

  const std::shared_ptr<ContextState> parent;
  std::optional<TimePoint> deadline;  // effective; set before publication
  bool check_clock = false;           // this or an ancestor has no timer: done() looks at the clock

  std::atomic<std::uint32_t> word{0};  // kDone | kLocked | kSleepers (a futex word)
  std::error_code err;
  std::shared_ptr<const std::string> cause;

  CallbackNode* head = nullptr;  // list lock: registered callbacks, in order
  CallbackNode* tail = nullptr;
  std::atomic<std::thread::id> running_thread{};  // who runs the callbacks, set before the first runs

  // Children: an intrusive list under this node's list lock; a child's
  // sibling links are under its parent's, and `linked` is written there.
  ContextState* first_child = nullptr;
  ContextState* prev_sibling = nullptr;
  ContextState* next_sibling = nullptr;
  std::atomic<bool> linked{false};
  // While a parent's end goes through its subtree: a strong reference and
  // the next node to end (written and read by that one thread only).
  std::shared_ptr<ContextState> work_pin;
  ContextState* work_next = nullptr;

  bool timer_missing = false;      // the loop refused the timer: check the clock (set before publication)
  std::unique_ptr<Extras> extras;  // list lock
};

struct Access {
  static Context context(std::shared_ptr<ContextState> s) { return Context{std::move(s)}; }
  static Canceler canceler(std::shared_ptr<ContextState> s) { return Canceler{std::move(s)}; }
  static const std::shared_ptr<ContextState>& state(const Context& c) { return c.state_; }
};

namespace {

// How many on_done callbacks are registered and not yet released, for
// stats(): one count per thread, written only by its thread with plain
// loads and stores (a shared counter would cost two locked instructions
// per registration), summed under a mutex by whoever asks. A thread's count
// can go below zero (a callback registered on one thread and released on
// another); the sum is right. An exiting thread folds its count into
// `retired`.
struct ThreadCount {
  std::atomic<long> n{0};
  ThreadCount* next = nullptr;
};

struct Counts {
  std::mutex mu;
  ThreadCount* threads = nullptr;
  long retired = 0;
};

Counts& counts() {
  static auto* all = new Counts;  // never destroyed: threads may exit after main
  return *all;
}

thread_local bool count_gone = false;  // this thread's count was folded in (it is exiting)

struct ThisThreadCount {
  ThreadCount c;
  ThisThreadCount() {
    std::lock_guard lock{counts().mu};
    c.next = counts().threads;
    counts().threads = &c;
  }
  ~ThisThreadCount() {
    std::lock_guard lock{counts().mu};
    counts().retired += c.n.load(std::memory_order_relaxed);
    count_gone = true;
    for (ThreadCount** p = &counts().threads; *p; p = &(*p)->next) {
      if (*p == &c) {
        *p = c.next;
        break;
      }
    }
  }
};

void count_registrations(long delta) noexcept {
  if (count_gone) {  // a registration released by another thread_local's destructor
    std::lock_guard lock{counts().mu};
    counts().retired += delta;
    return;
  }
  static thread_local ThisThreadCount mine;
  mine.c.n.store(mine.c.n.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

}  // namespace

std::size_t context_registrations() noexcept {
  std::lock_guard lock{counts().mu};
  long sum = counts().retired;
  for (ThreadCount* t = counts().threads; t; t = t->next) sum += t->n.load(std::memory_order_relaxed);
  return sum > 0 ? static_cast<std::size_t>(sum) : 0;
}

namespace {

// The futex calls are raw on purpose: they wait on and wake the context's
// own words, and a refused or failed one only makes a waiter look again.
void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex,  // seam: a wake-up of our own word
            reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr,
            0);
}

// Sleeps while `word` still holds `expected`, at most `timeout` (nullptr:
// no bound). Returns at once if it holds something else; may return early.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, const timespec* timeout) noexcept {
  ::syscall(SYS_futex,  // seam: a wait on our own word (the caller looks again)
            reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, timeout,
            nullptr, 0);
}

bool is_done(const ContextState& s) noexcept { return s.word.load(std::memory_order_acquire) & kDone; }

std::uint32_t lock(ContextState& s) noexcept;
void unlock(ContextState& s, std::uint32_t value) noexcept;

// The node's Extras, made now if it has none (outside the lock: it allocates).
Extras& extras_of(ContextState& s) {
  std::uint32_t w = lock(s);
  Extras* e = s.extras.get();
  unlock(s, w);
  if (e) return *e;
  auto made = std::make_unique<Extras>();
  w = lock(s);
  if (!s.extras) s.extras = std::move(made);
  e = s.extras.get();
  unlock(s, w);
  return *e;
}

// Takes the list lock; returns the word as it was (without kLocked). Held
// for a few instructions at a time, so a waiter spins a little, then yields.
std::uint32_t lock(ContextState& s) noexcept {
  std::uint32_t old = s.word.load(std::memory_order_relaxed);
  for (int spins = 0;; ++spins) {
    if (!(old & kLocked)) {
      if (s.word.compare_exchange_weak(old, old | kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return old;
      continue;
    }
    if (spins < 64) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    } else {
      ::sched_yield();
    }
    old = s.word.load(std::memory_order_relaxed);
  }
}

// Releases it, leaving `value` (without kLocked) in the word.
void unlock(ContextState& s, std::uint32_t value) noexcept { s.word.store(value, std::memory_order_release); }

void unlink_child_locked(ContextState& parent, ContextState& child) noexcept {
  if (!child.linked.load(std::memory_order_relaxed)) return;
  if (child.prev_sibling)
    child.prev_sibling->next_sibling = child.next_sibling;
  else
    parent.first_child = child.next_sibling;
  if (child.next_sibling) child.next_sibling->prev_sibling = child.prev_sibling;
  child.prev_sibling = child.next_sibling = nullptr;
  child.linked.store(false, std::memory_order_release);
}

// Takes `child` out of its parent's list, if it is still there.
void leave_parent(ContextState& child) noexcept {
  if (!child.parent || !child.linked.load(std::memory_order_acquire)) return;
  ContextState& parent = *child.parent;
  std::uint32_t w = lock(parent);
  unlink_child_locked(parent, child);
  unlock(parent, w);
}

void signal_event_fd(int fd) noexcept {
  std::uint64_t one = 1;
  (void)sys::call(sys::Call::write, [&] { return ::write(fd, &one, sizeof one); });
}

// The first registered callback, out of the list and marked running.
CallbackNode* pop_locked(ContextState& s) noexcept {
  CallbackNode* node = s.head;
  if (!node) return nullptr;
  s.head = node->next;
  if (s.head)
    s.head->prev = nullptr;
  else
    s.tail = nullptr;
  node->prev = node->next = nullptr;
  node->phase.store(CallbackNode::kRunning, std::memory_order_release);
  return node;
}

void release_node(CallbackNode* node) noexcept {
  node->free();
  count_registrations(-1);
}

// Runs the callbacks of a state that has just ended, `first` (already
// popped) then the rest, one at a time with the lock released, so that a
// Registration destroyed meanwhile can still take its callback out.
void run_callbacks(ContextState& s, CallbackNode* node, bool more) noexcept {
  while (node) {
    node->run();
    if (node->orphaned) {
      release_node(node);  // its Registration went away inside it
    } else if (node->phase.exchange(CallbackNode::kFinished, std::memory_order_acq_rel) &
               CallbackNode::kWaiting) {
      // Its Registration waits on another thread (and may free it the moment
      // it sees kFinished: only the word's address is used here).
      futex_wake_all(node->phase);
    }
    if (!more) return;
    std::uint32_t w = lock(s);
    node = pop_locked(s);
    more = s.head != nullptr;
    unlock(s, w);
  }
}

// What end_one found to do once the lock is released.
struct Ending {
  Timers::Id timer = 0;
  int event = -1;
  std::stop_source* stop = nullptr;
  CallbackNode* first = nullptr;
  bool more = false;
};

// Ends one node: publishes err/cause and kDone, takes its live children
// onto `work`, then signals its fd, stop_source and callbacks. A node that
// had already ended is left alone.
void end_one(ContextState& s, std::error_code err, const std::shared_ptr<const std::string>& cause,
             ContextState*& work) noexcept {
  std::uint32_t w = lock(s);
  if (w & kDone) {
    unlock(s, w);
    return;
  }
  s.err = err;
  s.cause = cause;
  while (ContextState* c = s.first_child) {
    unlink_child_locked(s, *c);
    // A child whose last owner is gone is being destroyed; skip it.
    if (auto strong = c->weak_from_this().lock()) {
      c->work_pin = std::move(strong);
      c->work_next = work;
      work = c;
    }
  }
  Ending e;
  if (Extras* x = s.extras.get()) {
    e.timer = std::exchange(x->timer, 0);
    e.event = x->event.get();
    e.stop = x->stop_source.get();
  }
  if (s.head) s.running_thread.store(std::this_thread::get_id(), std::memory_order_relaxed);
  e.first = pop_locked(s);
  e.more = s.head != nullptr;
  unlock(s, w | kDone);
  if (w & kSleepers) futex_wake_all(s.word);
  if (e.event >= 0) signal_event_fd(e.event);
  if (e.timer != 0) {
    if (Timers* t = running_timers()) t->cancel_timer(e.timer);
  }
  if (e.stop) e.stop->request_stop();
  run_callbacks(s, e.first, e.more);
}

// Ends `root` and its whole subtree with err/cause. Iterative (through the
// nodes' own work links), so a chain of any depth costs no stack and no
// allocation.
void end(ContextState& root, std::error_code err, std::shared_ptr<const std::string> cause) noexcept {
  if (is_done(root)) return;
  leave_parent(root);  // a cancelled child must not linger in its parent's list
  ContextState* work = nullptr;
  end_one(root, err, cause, work);
  while (work) {
    ContextState* s = work;
    work = s->work_next;
    std::shared_ptr<ContextState> pin = std::move(s->work_pin);
    end_one(*s, err, cause, work);
  }
}

std::shared_ptr<ContextState> make_child(const std::shared_ptr<ContextState>& parent) {
  auto child = std::make_shared<ContextState>(parent);
  if (!parent) return child;
  child->deadline = parent->deadline;
  child->check_clock = parent->check_clock;
  std::uint32_t w = lock(*parent);
  if (w & kDone) {
    unlock(*parent, w);
    child->err = parent->err;
    child->cause = parent->cause;
    child->word.store(kDone, std::memory_order_release);
    return child;
  }
  child->next_sibling = parent->first_child;
  if (parent->first_child) parent->first_child->prev_sibling = child.get();
  parent->first_child = child.get();
  child->linked.store(true, std::memory_order_relaxed);
  unlock(*parent, w);
  return child;
}

// The deadline check used only when the loop could not take a timer.
void check_missing_timer(ContextState& s) noexcept {
  for (ContextState* p = &s; p; p = p->parent.get()) {
    if (p->timer_missing && !is_done(*p) && p->deadline && detail::now() >= *p->deadline) {
      end(*p, make_error_code(errc::deadline_exceeded), nullptr);
      return;
    }
  }
}

// One timer holding a weak reference: the context ends at `deadline`
// unless it is gone or ended first. Without timers, the clock is checked
// whenever the context is asked.
void arm_deadline(const std::shared_ptr<ContextState>& s, TimePoint deadline) {
  (void)extras_of(*s);  // before the timer can fire
  auto t = timers();
  std::optional<Timers::Id> id;
  if (t) {
    std::weak_ptr<ContextState> weak = s;
    auto added = (*t)->add_timer(deadline, [weak] {
      if (auto strong = weak.lock()) {
        std::uint32_t w = lock(*strong);
        strong->extras->timer = 0;  // it has fired; nothing to cancel later
        unlock(*strong, w);
        end(*strong, make_error_code(errc::deadline_exceeded), nullptr);
      }
    });
    if (added) id = *added;
  }
  if (!id) {
    s->timer_missing = true;
    s->check_clock = true;
    return;
  }
  std::uint32_t w = lock(*s);
  if (!(w & kDone)) s->extras->timer = *id;
  unlock(*s, w);
  if (w & kDone) (*t)->cancel_timer(*id);
}

}  // namespace

void FromToken::operator()() const noexcept {
  if (auto s = state.lock()) {
    static const auto cause = std::make_shared<const std::string>("stop requested");
    end(*s, make_error_code(errc::canceled), cause);
  }
}

ContextState::~ContextState() {
  if (extras) {
    extras->from.reset();  // waits for a stop callback running on another thread
    if (extras->timer != 0) {
      if (Timers* t = running_timers()) t->cancel_timer(extras->timer);
    }
  }
  leave_parent(*this);
}

// The slow paths: sleeping until done, and until a callback has finished.
namespace {

timespec to_timespec(Duration d) noexcept {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// Sleeps until `s` is done or `left` has passed (or a little earlier).
void sleep_on(ContextState& s, Duration left) noexcept {
  std::uint32_t w = lock(s);
  if (w & kDone) {
    unlock(s, w);
    return;
  }
  w |= kSleepers;  // the ender wakes the word only when a sleeper said so
  unlock(s, w);
  timespec ts = to_timespec(left);
  futex_wait(s.word, w, &ts);  // returns at once if the word changed since
}

// Waits until `node`, running on another thread, has finished.
void wait_finished(CallbackNode& node) noexcept {
  std::uint32_t phase = node.phase.fetch_or(CallbackNode::kWaiting, std::memory_order_acq_rel);
  while ((phase & ~CallbackNode::kWaiting) == CallbackNode::kRunning) {
    futex_wait(node.phase, phase | CallbackNode::kWaiting, nullptr);
    phase = node.phase.load(std::memory_order_acquire);
  }
}

void unlink_node_locked(ContextState& s, CallbackNode& node) noexcept {
  if (node.prev)
    node.prev->next = node.next;
  else
    s.head = node.next;
  if (node.next)
    node.next->prev = node.prev;
  else
    s.tail = node.prev;
}

}  // namespace
}  // namespace procctx::detail

namespace procctx {

using detail::Access;
using detail::CallbackNode;
using detail::ContextState;

bool Context::done() const noexcept {
  if (!state_) return false;
  if (detail::is_done(*state_)) return true;
  if (!state_->check_clock) return false;
  detail::check_missing_timer(*state_);
  return detail::is_done(*state_);
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
  for (;;) {
    if (detail::is_done(*state_)) return true;
    // Sleep until `t` or the deadline, whichever is first, counted on the
    // timers' clock (which a test clock moves by hand): a missing timer is
    // then covered by done()'s own check of the clock.
    TimePoint until = t;
    if (state_->deadline && *state_->deadline < until) until = *state_->deadline;
    auto left = until - detail::now();
    if (left > Duration::zero()) {
      detail::sleep_on(*state_, left);
      continue;
    }
    bool d = done();
    if (d || detail::now() >= t) return d;
    // Past the deadline, its timer is due on the loop any moment: wait for
    // it in small steps rather than spin.
    detail::sleep_on(*state_, std::chrono::milliseconds(1));
  }
}

Registration Context::attach(CallbackNode* node) const {
  ContextState& s = *state_;
  std::uint32_t w = detail::lock(s);
  if (!(w & detail::kDone)) {
    node->prev = s.tail;
    if (s.tail)
      s.tail->next = node;
    else
      s.head = node;
    s.tail = node;
    detail::unlock(s, w);
    detail::count_registrations(1);
    return Registration{state_, node};
  }
  detail::unlock(s, w);
  // Ended between the caller's check and the lock: run inline, as promised.
  node->run();
  node->free();
  return {};
}

Result<int> Context::fd() const {
  if (!state_) return -1;
  ContextState& s = *state_;
  detail::Extras& x = detail::extras_of(s);
  std::uint32_t w = detail::lock(s);
  int fd = x.event.get();
  detail::unlock(s, w);
  if (fd >= 0) return fd;
  // Made outside the lock (a syscall); the first to install it wins.
  namespace sys = detail::sys;
  sys::Ret r = sys::call(sys::Call::eventfd, [] { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); });
  if (!r.ok()) return sys::error(r, "context fd: eventfd");
  auto lifted = sys::lift_above_stdio(sys::UniqueFd{static_cast<int>(r.value)});
  if (!lifted) return std::move(lifted).error();
  w = detail::lock(s);
  bool installed = !x.event;
  if (installed) x.event = std::move(*lifted);
  fd = x.event.get();
  detail::unlock(s, w);
  if (installed && (w & detail::kDone)) detail::signal_event_fd(fd);  // ended before it was there
  return fd;
}

std::stop_token Context::stop_token() const {
  if (!state_) return {};  // never stopped, like background()
  ContextState& s = *state_;
  detail::Extras& x = detail::extras_of(s);
  auto made = std::make_unique<std::stop_source>();  // outside the lock: it allocates
  std::uint32_t w = detail::lock(s);
  if (!x.stop_source) x.stop_source = std::move(made);
  std::stop_source* src = x.stop_source.get();
  detail::unlock(s, w);
  if (w & detail::kDone) src->request_stop();  // ended before it was there (a no-op if not first)
  return src->get_token();
}

Context Context::from(std::stop_token token) {
  if (!token.stop_possible()) return background();
  auto s = std::make_shared<ContextState>(nullptr);
  s->extras = std::make_unique<detail::Extras>();
  s->extras->from.emplace(std::move(token), detail::FromToken{s});
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
  return node_ && node_->phase.load(std::memory_order_acquire) == CallbackNode::kRegistered;
}

bool Registration::reset() noexcept {
  CallbackNode* node = std::exchange(node_, nullptr);
  if (!node) return false;
  auto state = std::move(state_);
  std::uint32_t phase = node->phase.load(std::memory_order_acquire);
  if (phase == CallbackNode::kRegistered) {
    // Still in the list, unless the ender takes it out right now: look again under the lock.
    std::uint32_t w = detail::lock(*state);
    // Acquire: it may have run and finished since (kFinished, published by
    // its runner's exchange, not by the lock), and is then freed below.
    phase = node->phase.load(std::memory_order_acquire);
    if (phase == CallbackNode::kRegistered) detail::unlink_node_locked(*state, *node);
    detail::unlock(*state, w);
    if (phase == CallbackNode::kRegistered) {
      detail::release_node(node);
      return true;
    }
  }
  if ((phase & ~CallbackNode::kWaiting) == CallbackNode::kRunning) {
    if (state->running_thread.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
      node->orphaned = true;  // from inside it: freed by run_callbacks once it returns
      return false;
    }
    detail::wait_finished(*node);
  }
  detail::release_node(node);
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
  if (!state_ || detail::is_done(*state_)) return;
  std::shared_ptr<const std::string> c;
  if (!cause.empty()) c = std::make_shared<const std::string>(std::move(cause));
  // A strong copy: a callback may destroy this Canceler (and the last other
  // owner of the state) while the state is still being ended.
  std::shared_ptr<ContextState> keep = state_;
  detail::end(*keep, make_error_code(errc::canceled), std::move(c));
}

WithCancel with_cancel(const Context& parent) {
  auto s = detail::make_child(Access::state(parent));
  return {Access::context(s), Access::canceler(std::move(s))};
}

WithCancel with_deadline(const Context& parent, TimePoint deadline) {
  const auto& p = Access::state(parent);
  auto s = detail::make_child(p);
  if (detail::is_done(*s) || (s->deadline && *s->deadline <= deadline)) {
    // Already over, or the parent ends first: no timer of our own.
    return {Access::context(s), Access::canceler(s)};
  }
  s->deadline = deadline;
  if (deadline <= detail::now()) {
    detail::end(*s, make_error_code(errc::deadline_exceeded), nullptr);
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
