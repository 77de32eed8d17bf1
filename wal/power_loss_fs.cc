// Power-loss FileSystem: see power_loss_fs.h.
#include "wal/power_loss_fs.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

#include "wal/posix_file.h"

namespace kv2pc::wal {
namespace {

// A File whose writes wait in memory until Sync (power_loss_fs.h). Its destruction closes the
// real file and drops the pending bytes, never writing them: that is the whole point.
//
// NOTES: invariants of pending_ (start offset -> bytes)
//   (P1) Extents are non-empty, do not overlap and do not touch: an extent ends strictly
//        before the next one starts (Write merges touching ones), so a write is one lookup.
//   (P2) An extent holds the latest bytes written at its offsets; they override the real
//        file's bytes for reads.
//   (P3) Bytes between the real file's end and a pending extent read as zeros, as a write past
//        the end of a real file would have left them.
class PowerLossFile final : public File {
 public:
  explicit PowerLossFile(std::unique_ptr<File> inner) : inner_(std::move(inner)) {}

  Status Read(uint64_t offset, size_t n, std::string* dst) override {
    std::lock_guard<std::mutex> lock(mu_);
    KV2PC_ASSIGN_OR_RETURN(uint64_t size, SizeLocked());
    const uint64_t end = offset >= size ? offset : std::min<uint64_t>(size, offset + n);
    KV2PC_RETURN_IF_ERROR(inner_->Read(offset, n, dst));
    dst->resize(static_cast<size_t>(end - offset), '\0');  // (P3)
    // Overlay every extent that intersects [offset, end): the first one may start before.
    auto it = pending_.upper_bound(offset);
    if (it != pending_.begin()) --it;
    for (; it != pending_.end() && it->first < end; ++it) {
      const uint64_t ext_end = it->first + it->second.size();
      const uint64_t from = std::max(offset, it->first);
      const uint64_t to = std::min(end, ext_end);
      if (from >= to) continue;
      std::memcpy(dst->data() + (from - offset), it->second.data() + (from - it->first),
                  static_cast<size_t>(to - from));
    }
    return Status::OK();
  }

  Status Write(uint64_t offset, std::string_view data) override {
    if (data.empty()) return Status::OK();
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t end = offset + data.size();
    // The extent to write into: one that starts at or before offset and reaches it (touching
    // counts, so appends grow it in place), else a new one. By (P1) there is at most one.
    auto it = pending_.upper_bound(offset);
    if (it != pending_.begin() && std::prev(it)->first + std::prev(it)->second.size() >= offset) {
      --it;
    } else {
      it = pending_.emplace_hint(it, offset, std::string());
    }
    std::string& bytes = it->second;
    const uint64_t rel = offset - it->first;
    if (bytes.size() < rel + data.size()) bytes.resize(static_cast<size_t>(rel + data.size()));
    std::memcpy(bytes.data() + rel, data.data(), data.size());  // (P2) last write wins
    // Absorb the following extents that the grown one now overlaps or touches (P1); the parts
    // of them past `end` were not overwritten and are kept.
    auto next = std::next(it);
    while (next != pending_.end() && next->first <= it->first + bytes.size()) {
      const uint64_t next_end = next->first + next->second.size();
      if (next_end > end) {
        bytes.append(next->second, static_cast<size_t>(end - next->first), std::string::npos);
      }
      next = pending_.erase(next);
    }
    return Status::OK();
  }

  // Writes the pending extents to the real file in offset order, then fdatasyncs it. An
  // extent leaves pending_ once written, so after a failure the rest stays pending; the
  // caller never retries a failed Sync anyway (file.h).
  Status Sync() override {
    std::lock_guard<std::mutex> lock(mu_);
    while (!pending_.empty()) {
      auto it = pending_.begin();
      KV2PC_RETURN_IF_ERROR(inner_->Write(it->first, it->second));
      pending_.erase(it);
    }
    return inner_->Sync();
  }

  Result<uint64_t> Size() override {
    std::lock_guard<std::mutex> lock(mu_);
    return SizeLocked();
  }

  // Reaches the real file at once (see "What it does NOT simulate" in the header).
  Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> lock(mu_);
    KV2PC_RETURN_IF_ERROR(inner_->Truncate(size));
    auto it = pending_.lower_bound(size);
    pending_.erase(it, pending_.end());  // extents starting at or past the new end
    if (!pending_.empty()) {
      auto last = std::prev(pending_.end());
      if (last->first + last->second.size() > size) {
        last->second.resize(static_cast<size_t>(size - last->first));
      }
    }
    return Status::OK();
  }

 private:
  // The size the process sees: the real file's, extended by pending writes past its end.
  // REQUIRES: mu_ is held.
  Result<uint64_t> SizeLocked() {
    KV2PC_ASSIGN_OR_RETURN(uint64_t size, inner_->Size());
    if (!pending_.empty()) {
      auto last = std::prev(pending_.end());
      size = std::max<uint64_t>(size, last->first + last->second.size());
    }
    return size;
  }

  // Constant after construction.
  const std::unique_ptr<File> inner_;

  // mu_ guards pending_; held across the real file's I/O (only Sync and Read do any). No
  // other lock is taken under it. The WAL never contends on it: each File is used by one
  // thread at a time; the mutex makes concurrent use safe rather than fast.
  std::mutex mu_;
  std::map<uint64_t, std::string> pending_;  // guarded by mu_: start offset -> bytes (P1)-(P3)
};

// Directory operations pass through (ForwardingFileSystem): durable at once as far as a kill
// can tell (see the header's "What it does NOT simulate").
class PowerLossFileSystem final : public ForwardingFileSystem {
 public:
  PowerLossFileSystem() : PowerLossFileSystem(NewPosixFileSystem()) {}

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<File> file, inner()->OpenFile(path, mode));
    return std::unique_ptr<File>(std::make_unique<PowerLossFile>(std::move(file)));
  }

 private:
  explicit PowerLossFileSystem(std::unique_ptr<FileSystem> posix)
      : ForwardingFileSystem(posix.get()), posix_(std::move(posix)) {}
  // Owned here, forwarded to by the base; thread-safe (stateless POSIX calls).
  const std::unique_ptr<FileSystem> posix_;
};

}  // namespace

std::unique_ptr<FileSystem> NewPowerLossFileSystem() {
  return std::make_unique<PowerLossFileSystem>();
}

std::unique_ptr<FileSystem> NewDefaultFileSystem() {
  // Read once per Log::Open; tests set the variable before starting the servers.
  const char* value = std::getenv("KV2PC_SIMULATE_POWER_LOSS");  // NOLINT(concurrency-mt-unsafe)
  if (value != nullptr && std::string_view(value) == "1") return NewPowerLossFileSystem();
  return NewPosixFileSystem();
}

}  // namespace kv2pc::wal
