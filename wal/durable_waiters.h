// DurableWaiters: the event-loop side of group commit. A server appends a record, then parks
// what must wait for it (a vote, an acknowledgement, a reply) here; when the log's flusher
// reports progress (LogOptions::on_durable -> an eventfd the loop polls), Poll() runs every
// callback whose LSN is now durable, in LSN order.
//
// Thread-safety: none; used from one event loop. The Log must outlive it.
#pragma once

#include <functional>
#include <map>

#include "common/status.h"
#include "wal/log.h"

namespace kv2pc::wal {

class DurableWaiters {
 public:
  explicit DurableWaiters(const Log* log) : log_(log) {}
  DurableWaiters(const DurableWaiters&) = delete;
  DurableWaiters& operator=(const DurableWaiters&) = delete;

  // Runs fn now if lsn is already durable, else when Poll() sees it durable.
  void WhenDurable(Lsn lsn, std::function<void()> fn);

  // Runs the callbacks whose LSN is durable. Returns the log's failure when it has failed:
  // the waiting callbacks then never run, and the caller must stop (fail-stop; never retry
  // an fsync).
  Status Poll();

  size_t size() const { return waiters_.size(); }

 private:
  const Log* const log_;
  std::multimap<Lsn, std::function<void()>> waiters_;
};

}  // namespace kv2pc::wal
