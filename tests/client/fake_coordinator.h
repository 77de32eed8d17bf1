// A stand-in coordinator for client tests: a ROUTER socket on a free 127.0.0.1 port, served
// by its own thread with its own ZeroMQ context, answering each request with whatever a
// test-supplied handler returns (canned replies, stale replies, or nothing at all).
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/messages.h"

namespace kv2pc {

class FakeCoordinator {
 public:
  // Returns the payloads to send back for `request`, in order; none to stay silent.
  // Runs on the server thread.
  using Handler = std::function<std::vector<std::string>(const Message& request)>;

  // Binds tcp://127.0.0.1:* and starts serving; endpoint() is valid on return.
  explicit FakeCoordinator(Handler handler);
  ~FakeCoordinator();  // stops the thread; waits at most one poll interval

  FakeCoordinator(const FakeCoordinator&) = delete;
  FakeCoordinator& operator=(const FakeCoordinator&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  // The requests received so far (decodable ones only), in arrival order.
  std::vector<Message> requests() const;

  // The encoded REPLY to the request with `request_id`.
  static std::string Answer(uint64_t request_id, const Reply& reply);
  static std::string Answer(const Message& request, const Reply& reply) {
    return Answer(request.request_id, reply);
  }

 private:
  void Serve(std::promise<std::string>* bound);

  // Constant after construction.
  Handler handler_;
  std::string endpoint_;

  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Message> requests_;  // guarded by mu_
  std::thread thread_;
};

// A handler that behaves like a tiny coordinator, enough to drive the shell and the CLI:
// BEGIN hands out T0.1.1, T0.1.2, ...; GET/PUT/DELETE act at once on one map (no isolation);
// COMMIT/ABORT end an open transaction, TXN_NOT_FOUND otherwise; PING answers
// "coordinator-0 (coordinator)". Scripted failures: any operation on the key "locked" is
// ABORTED (LOCK_TIMEOUT) and ends its transaction; a request touching the key "silent" gets
// no reply.
FakeCoordinator::Handler TinyStore();

// An endpoint on which nothing listens (a port that was just free).
std::string DeadEndpoint();

}  // namespace kv2pc
