// See event_loop.h.
#include "common/event_loop.h"

#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"

namespace kv2pc {

Notifier::Notifier() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  KV2PC_CHECK(fd_ >= 0, std::string("eventfd: ") + std::strerror(errno));
}

Notifier::~Notifier() { close(fd_); }

void Notifier::Notify() {
  uint64_t one = 1;
  // EAGAIN means the counter is saturated: a wake-up is pending anyway.
  while (write(fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void Notifier::Drain() {
  uint64_t v;
  while (read(fd_, &v, sizeof(v)) < 0 && errno == EINTR) {
  }
}

EventLoop::EventLoop() {
  AddFd(stop_notifier_.fd(), [this] {
    stop_notifier_.Drain();
    stop_ = true;
  });
}

void EventLoop::AddSocket(zmq::socket_t* socket, std::function<void()> on_readable) {
  sources_.push_back(Source{socket, -1, std::move(on_readable)});
}

void EventLoop::AddFd(int fd, std::function<void()> on_readable) {
  sources_.push_back(Source{nullptr, fd, std::move(on_readable)});
}

EventLoop::TimerId EventLoop::RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  TimerId id = next_timer_++;
  auto deadline = Now() + delay;
  timers_.emplace(std::make_pair(deadline, id), std::move(fn));
  deadlines_.emplace(id, deadline);
  return id;
}

void EventLoop::Cancel(TimerId id) {
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;  // fired or cancelled already (or 0: never set)
  timers_.erase(std::make_pair(it->second, id));
  deadlines_.erase(it);
}

void EventLoop::Stop() { stop_notifier_.Notify(); }

void EventLoop::StopOnSignal(int signal_fd) {
  AddFd(signal_fd, [this, signal_fd] {
    signalfd_siginfo info;
    if (read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
      spdlog::info("signal {} received: shutting down", info.ssi_signo);
    }
    stop_ = true;
  });
}

void EventLoop::RunDueTimers() {
  auto now = Now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto fn = std::move(timers_.begin()->second);
    deadlines_.erase(timers_.begin()->first.second);
    timers_.erase(timers_.begin());
    fn();  // may add or cancel timers
  }
}

void EventLoop::Run() {
  std::vector<zmq::pollitem_t> items;
  while (!stop_) {
    items.clear();
    for (const auto& s : sources_) {
      items.push_back(
          zmq::pollitem_t{s.socket != nullptr ? s.socket->handle() : nullptr, s.fd, ZMQ_POLLIN, 0});
    }
    std::chrono::milliseconds timeout(-1);
    if (!timers_.empty()) {
      auto d = std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first.first - Now());
      timeout = std::max(d, std::chrono::milliseconds(0));
    }
    try {
      zmq::poll(items.data(), items.size(), timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      KV2PC_CHECK(false, std::string("zmq::poll: ") + e.what());
    }
    for (size_t i = 0; i < items.size() && !stop_; i++) {
      if (items[i].revents & ZMQ_POLLIN) sources_[i].fn();
    }
    RunDueTimers();
    RunIterationEndHooks();
  }
  RunIterationEndHooks();
}

EventLoop::HookId EventLoop::AddIterationEndHook(std::function<void()> fn) {
  HookId id = next_hook_++;
  hooks_.emplace_back(id, std::move(fn));
  return id;
}

void EventLoop::RemoveIterationEndHook(HookId id) {
  for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
    if (it->first == id) {
      hooks_.erase(it);
      return;
    }
  }
}

void EventLoop::RunIterationEndHooks() {
  for (size_t i = 0; i < hooks_.size(); i++) hooks_[i].second();  // a hook may add hooks
}

}  // namespace kv2pc
