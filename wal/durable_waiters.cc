// See durable_waiters.h.
#include "wal/durable_waiters.h"

namespace kv2pc::wal {

void DurableWaiters::WhenDurable(Lsn lsn, Callback fn) {
  if (lsn <= log_->durable_lsn()) {
    fn(Status::OK());
    return;
  }
  waiters_.emplace(lsn, std::move(fn));
}

Status DurableWaiters::Poll() {
  Lsn durable = log_->durable_lsn();
  while (!waiters_.empty() && waiters_.begin()->first <= durable) {
    auto fn = std::move(waiters_.begin()->second);
    waiters_.erase(waiters_.begin());
    fn(Status::OK());  // may add waiters: the loop re-reads begin()
  }
  Status failure = log_->failure();
  if (failure.ok()) return failure;
  while (!waiters_.empty()) {
    auto fn = std::move(waiters_.begin()->second);
    waiters_.erase(waiters_.begin());
    fn(failure);
  }
  return failure;
}

}  // namespace kv2pc::wal
