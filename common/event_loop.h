// A single-threaded reactor for kv2pc servers: ZeroMQ sockets, plain file descriptors and
// timers, dispatched from one poll(2) loop.
//
// ZeroMQ sockets are watched through their ZMQ_FD, as libzmq documents: that descriptor only
// says "the socket has commands to process", so readiness is read from ZMQ_EVENTS, and only for
// sockets that may have changed: signalled, just handled, or sent on (RecheckSocket). zmq_poll
// would ask ZMQ_EVENTS of every socket twice per turn (two syscalls each on this kernel); on a
// coordinator with one socket per participant that was most of the loop's system calls.
//
// Why one thread: a server's state (transactions, locks, pending requests) is touched only
// from its loop, so it needs no locks, and many requests are in flight at once because no
// handler ever blocks. Work that must block (fdatasync, SQLite) runs on its own thread and
// reports back through a Notifier (an eventfd the loop polls). Costs: a handler that is slow
// delays everyone; handlers must stay O(small).
//
// Thread-safety: everything here except Notifier::Notify() and Stop() must be called on the
// loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "common/status.h"

namespace kv2pc {

// A wake-up channel from other threads to the loop (eventfd). Notify() is thread-safe and
// async-signal-safe; many notifications before the loop runs coalesce into one wake-up.
class Notifier {
 public:
  Notifier();
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Notify();
  // Clears pending notifications; called by the loop before it handles them.
  void Drain();
  int fd() const { return fd_; }

 private:
  int fd_;
};

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = uint64_t;

  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // `on_readable` runs when the socket has a message; it should read what is there (up to a
  // batch) without blocking. The socket must outlive the loop's use of it.
  void AddSocket(zmq::socket_t* socket, std::function<void()> on_readable);
  // Call after sending on a socket given to AddSocket: libzmq may have taken the socket's
  // readiness signal while sending, so its ZMQ_EVENTS is read again before the loop waits.
  void RecheckSocket(zmq::socket_t* socket);
  void AddFd(int fd, std::function<void()> on_readable);

  TimerId RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);
  // Cancelling a timer that already ran or was cancelled is harmless.
  void Cancel(TimerId id);
  // Timers set and neither run nor cancelled (tests, status).
  size_t pending_timers() const { return timers_.size(); }

  // Hooks run at the end of every iteration, after the handlers and due timers and before the
  // loop waits again: where senders flush what they batched during the iteration (one ZeroMQ
  // message per peer instead of one per request; docs/protocol.md, "Batching").
  using HookId = uint64_t;
  HookId AddIterationEndHook(std::function<void()> fn);
  void RemoveIterationEndHook(HookId id);
  // Runs the hooks now (e.g. before a fail point kills the process, so that what the step
  // "sent" has left this process's buffers). Also run once when Run() returns.
  void RunIterationEndHooks();

  // Stops the loop when `signal_fd` (a signalfd, see TerminationSignalFd) becomes readable,
  // logging which signal arrived.
  void StopOnSignal(int signal_fd);

  // Runs until Stop() is called (from any thread, or from a handler).
  void Run();
  void Stop();

  static Clock::time_point Now() { return Clock::now(); }

 private:
  void RunDueTimers();

  struct Source {
    zmq::socket_t* socket;  // or nullptr for a plain fd
    int fd;                 // the plain fd, or the socket's ZMQ_FD
    std::function<void()> fn;
    bool check = true;   // socket: read ZMQ_EVENTS before waiting
    bool ready = false;  // socket: has a message to read; fd: readable
  };
  // Reads ZMQ_EVENTS of a socket source marked `check`.
  void CheckSocket(Source* s);
  std::vector<Source> sources_;
  // Pending timers by (deadline, id); a cancelled one is erased at once (the servers cancel
  // one per completed RPC, so leaving them to expire would keep ~10 s worth of them).
  std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, Clock::time_point> deadlines_;  // id -> key in timers_
  TimerId next_timer_ = 1;
  std::vector<std::pair<HookId, std::function<void()>>> hooks_;
  HookId next_hook_ = 1;
  Notifier stop_notifier_;
  bool stop_ = false;
};

}  // namespace kv2pc
