// DurableWaiters: the event-loop side of group commit. A server appends a record, then parks
// what must wait for it (a vote, an acknowledgement, a reply) here; when the log's flusher
// reports progress (LogOptions::on_durable -> an eventfd the loop polls), Poll() runs every
// callback whose LSN is now durable, in LSN order, with an OK Status.
//
// When the log has failed (a failed write or fsync, a full disk), Poll() hands the failure
// to every callback still waiting, so each parked request gets a clear answer, and returns
// it: the caller then stops the process (fail-stop, never retry an fsync). A callback given
// an error must not claim that its record is missing: a record whose fsync failed may still
// reach the disk (so a coordinator answers OUTCOME_UNKNOWN, not ABORTED).
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

  using Callback = std::function<void(const Status&)>;

  // Runs fn(OK) now if lsn is already durable, else when Poll() sees it durable (or fails it).
  void WhenDurable(Lsn lsn, Callback fn);

  // Runs the callbacks whose LSN is durable. If the log has failed, runs every remaining
  // callback with the failure and returns it.
  Status Poll();

  size_t size() const { return waiters_.size(); }

 private:
  const Log* const log_;
  std::multimap<Lsn, Callback> waiters_;
};

}  // namespace kv2pc::wal
