// See checkpointer.h.
#include "participant/checkpointer.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace kv2pc::participant {

Checkpointer::Checkpointer(std::unique_ptr<SqliteStore> store, wal::Log* log)
    : applied_lsn_(store->applied_lsn()), store_(std::move(store)), log_(log) {
  thread_ = std::thread([this] { Loop(); });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Checkpointer::Submit(std::vector<wal::WriteOp> writes, Lsn lsn, Lsn pin,
                          std::vector<TxnId> one_phase) {
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& w : writes) pending_[std::move(w.key)] = std::move(w.value);
    pending_one_phase_.insert(pending_one_phase_.end(), one_phase.begin(), one_phase.end());
    pending_lsn_ = std::max(pending_lsn_, lsn);
    pending_pin_ = pin;  // the newest pin describes the log as of pending_lsn_
  }
  cv_.notify_one();
}

Lsn Checkpointer::applied_lsn() const {
  std::lock_guard<std::mutex> l(mu_);
  return applied_lsn_;
}

void Checkpointer::Loop() {
  int failures = 0;
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [this] { return stop_ || pending_lsn_ > applied_lsn_; });
    if (pending_lsn_ <= applied_lsn_) return;  // stop_ and nothing left
    std::map<std::string, std::optional<std::string>> batch;
    batch.swap(pending_);
    std::vector<TxnId> one_phase;
    one_phase.swap(pending_one_phase_);
    Lsn lsn = pending_lsn_;
    Lsn pin = pending_pin_;
    l.unlock();
    std::vector<KeyWrite> writes;
    writes.reserve(batch.size());
    for (auto& [k, v] : batch) writes.push_back(KeyWrite{k, v});
    Status s = store_->ApplyBatch(writes, lsn, one_phase);
    if (s.ok() && log_ != nullptr) {
      Status trim = log_->RemoveSegmentsBefore(std::min(pin, lsn + 1));
      // A failed unlink leaves a segment behind (tried again next time); a failed directory
      // fsync fails the log, which the event loop notices and stops on.
      if (!trim.ok()) spdlog::warn("cannot trim the WAL: {}", trim.ToString());
    }
    l.lock();
    if (s.ok()) {
      applied_lsn_ = lsn;
      failures = 0;
      continue;
    }
    // Keep the batch under anything submitted meanwhile (newer values win), retry later.
    for (auto& [k, v] : batch) pending_.try_emplace(k, std::move(v));
    // Its ids go before those submitted meanwhile: SQLite evicts the oldest first.
    pending_one_phase_.insert(pending_one_phase_.begin(), one_phase.begin(), one_phase.end());
    if (++failures == 1 || failures % 100 == 0) {
      spdlog::error("checkpoint to SQLite failed ({} times): {}", failures, s.ToString());
    }
    bool stopping = stop_;
    cv_.wait_for(l, std::chrono::milliseconds(stopping ? 0 : 1000));
    if (stopping) return;  // the WAL still has everything; recovery replays it
  }
}

}  // namespace kv2pc::participant
