// See event_loop.h.
#include "common/event_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
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
  int fd = socket->get(zmq::sockopt::fd);
  sources_.push_back(Source{socket, fd, std::move(on_readable)});
}

void EventLoop::AddFd(int fd, std::function<void()> on_readable) {
  sources_.push_back(Source{nullptr, fd, std::move(on_readable)});
}

void EventLoop::RecheckSocket(zmq::socket_t* socket) {
  for (Source& s : sources_) {
    if (s.socket == socket) s.check = true;
  }
}

void EventLoop::CheckSocket(Source* s) {
  s->check = false;
  try {
    // Processes the socket's pending commands, which also clears its ZMQ_FD.
    s->ready = (s->socket->get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
  } catch (const zmq::error_t&) {
    s->ready = true;  // let the handler meet the error
  }
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
  std::vector<pollfd> fds;
  while (!stop_) {
    bool any_ready = false;
    for (Source& s : sources_) {
      if (s.socket != nullptr && s.check) CheckSocket(&s);
      any_ready |= s.socket != nullptr && s.ready;
    }
    int timeout_ms = -1;
    if (any_ready) {
      timeout_ms = 0;
    } else if (!timers_.empty()) {
      auto d = std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first.first - Now());
      timeout_ms = static_cast<int>(std::clamp<int64_t>(d.count(), 0, INT32_MAX));
    }
    fds.clear();
    for (const Source& s : sources_) fds.push_back(pollfd{s.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      KV2PC_CHECK(errno == EINTR, std::string("poll: ") + std::strerror(errno));
      continue;
    }
    for (size_t i = 0; i < sources_.size(); i++) {
      Source& s = sources_[i];
      if ((fds[i].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
      if (s.socket != nullptr) {
        CheckSocket(&s);  // signalled: what does it have?
      } else {
        s.ready = true;
      }
    }
    // Sources are added before Run (RpcClient::AddPeer at start-up): a handler must not add
    // one, since that could move the std::function being called.
    for (size_t i = 0; i < sources_.size() && !stop_; i++) {
      if (!sources_[i].ready) continue;
      sources_[i].ready = false;
      // A socket's handler reads a bounded batch and receiving takes its signal: look again.
      if (sources_[i].socket != nullptr) sources_[i].check = true;
      sources_[i].fn();
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
