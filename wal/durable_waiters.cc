// See durable_waiters.h.
#include "wal/durable_waiters.h"

namespace kv2pc::wal {

void DurableWaiters::WhenDurable(Lsn lsn, std::function<void()> fn) {
  if (lsn <= log_->durable_lsn()) {
    fn();
    return;
  }
  waiters_.emplace(lsn, std::move(fn));
}

Status DurableWaiters::Poll() {
  Status failure = log_->failure();
  if (!failure.ok()) return failure;
  Lsn durable = log_->durable_lsn();
  while (!waiters_.empty() && waiters_.begin()->first <= durable) {
    auto fn = std::move(waiters_.begin()->second);
    waiters_.erase(waiters_.begin());
    fn();  // may add waiters: the loop re-reads begin()
  }
  return Status::OK();
}

}  // namespace kv2pc::wal
