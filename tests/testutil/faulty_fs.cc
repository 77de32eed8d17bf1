// FaultyFileSystem: see faulty_fs.h.
#include "tests/testutil/faulty_fs.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <random>

namespace kv2pc::testutil {
namespace {

constexpr uint64_t kSectorSize = 512;

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Normalize(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

Status Errno(const char* op, const std::string& path, int err) {
  std::string m = std::string(op) + " " + path + ": " + std::strerror(err);
  if (err == ENOSPC) m += " (ENOSPC)";
  if (err == EIO) m += " (EIO)";
  return Status::IOError(std::move(m));
}

void ApplyWrite(std::string* data, uint64_t offset, std::string_view bytes) {
  if (data->size() < offset + bytes.size()) data->resize(offset + bytes.size(), '\0');
  std::memcpy(data->data() + offset, bytes.data(), bytes.size());
}

}  // namespace

class FaultyFileSystem::FaultyFile final : public wal::File {
 public:
  FaultyFile(FaultyFileSystem* fs, InodePtr inode, uint64_t gen, std::string path)
      : fs_(fs), inode_(std::move(inode)), gen_(gen), path_(std::move(path)) {}

  Status Read(uint64_t offset, size_t n, std::string* dst) override {
    return fs_->FileRead(inode_, gen_, path_, offset, n, dst);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    return fs_->FileWrite(inode_, gen_, path_, offset, data);
  }
  Status Sync() override { return fs_->FileSync(inode_, gen_, path_); }
  Result<uint64_t> Size() override { return fs_->FileSize(inode_, gen_, path_); }
  Status Truncate(uint64_t size) override { return fs_->FileTruncate(inode_, gen_, path_, size); }

 private:
  FaultyFileSystem* const fs_;
  const InodePtr inode_;
  const uint64_t gen_;
  const std::string path_;
};

class FaultyFileSystem::FaultyLock final : public wal::FileLock {
 public:
  FaultyLock(FaultyFileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  ~FaultyLock() override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    fs_->locked_.erase(path_);
  }

 private:
  FaultyFileSystem* const fs_;
  const std::string path_;
};

// ---- Fault injection ------------------------------------------------------------------------

void FaultyFileSystem::FailNthSync(int nth) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_sync_in_ = nth;
}

void FaultyFileSystem::FailNthDirSync(int nth) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_dir_sync_in_ = nth;
}

void FaultyFileSystem::FailWritesFrom(int nth, int err) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_writes_in_ = nth;
  fail_writes_errno_ = err;
}

void FaultyFileSystem::CrashAtMutation(uint64_t nth, PowerCutMode mode, uint32_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  crash_at_ = mutation_count_ + nth;
  crash_mode_ = mode;
  crash_seed_ = seed;
}

void FaultyFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_sync_in_ = fail_dir_sync_in_ = fail_writes_in_ = 0;
  failing_writes_ = false;
  crash_at_ = 0;
}

void FaultyFileSystem::PowerCut(PowerCutMode mode, uint32_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  PowerCutLocked(mode, seed);
}

void FaultyFileSystem::PowerCutLocked(PowerCutMode mode, uint32_t seed) {
  std::mt19937 rng(seed);
  std::set<Inode*> done;
  for (auto& [path, inode] : durable_files_) {
    if (!done.insert(inode.get()).second) continue;
    std::string data = inode->synced;
    if (mode == PowerCutMode::kKeepRandomSectors) {
      for (const Op& op : inode->unsynced) {
        if (rng() % 2 == 0) continue;
        if (op.truncate) {
          data.resize(op.offset, '\0');
          continue;
        }
        // Each sector the write touched reaches the disk, or not, independently.
        for (uint64_t pos = op.offset; pos < op.offset + op.bytes.size();) {
          uint64_t end = std::min<uint64_t>((pos / kSectorSize + 1) * kSectorSize,
                                            op.offset + op.bytes.size());
          if (rng() % 2 == 0) {
            ApplyWrite(&data, pos, std::string_view(op.bytes).substr(pos - op.offset, end - pos));
          }
          pos = end;
        }
      }
    }
    inode->data = data;
    inode->synced = std::move(data);
    inode->unsynced.clear();
  }
  files_ = durable_files_;
  locked_.clear();  // locks die with the processes that held them
  ++generation_;
  crashed_ = true;
}

void FaultyFileSystem::Restart() {
  std::lock_guard<std::mutex> lock(mu_);
  crashed_ = false;
  crash_at_ = 0;
}

bool FaultyFileSystem::crashed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return crashed_;
}

Status FaultyFileSystem::BeginMutation(const char* op, const std::string& path) {
  ++mutation_count_;
  if (crash_at_ != 0 && mutation_count_ == crash_at_) {
    crash_at_ = 0;
    PowerCutLocked(crash_mode_, crash_seed_);
  }
  return CheckAlive(op, path);
}

Status FaultyFileSystem::CheckAlive(const char* op, const std::string& path) const {
  if (crashed_) return Errno(op, path, EIO);
  return Status::OK();
}

bool FaultyFileSystem::ParentExists(const std::string& path) const {
  return dirs_.count(Parent(path)) > 0;
}

// ---- Inspection -----------------------------------------------------------------------------

int FaultyFileSystem::sync_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sync_count_;
}

uint64_t FaultyFileSystem::mutation_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mutation_count_;
}

bool FaultyFileSystem::Exists(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  return files_.count(Normalize(path)) > 0;
}

std::string FaultyFileSystem::Contents(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(Normalize(path));
  return it == files_.end() ? std::string() : it->second->data;
}

void FaultyFileSystem::SetContents(const std::string& path, const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string p = Normalize(path);
  InodePtr& inode = files_[p];
  if (inode == nullptr) inode = std::make_shared<Inode>();
  inode->data = inode->synced = data;
  inode->unsynced.clear();
  durable_files_[p] = inode;
}

// ---- wal::FileSystem --------------------------------------------------------------------------

Result<std::unique_ptr<wal::File>> FaultyFileSystem::OpenFile(const std::string& raw_path,
                                                              OpenMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string path = Normalize(raw_path);
  auto it = files_.find(path);
  if (mode == OpenMode::kOpenExisting) {
    KV2PC_RETURN_IF_ERROR(CheckAlive("open", path));
    if (it == files_.end()) return Errno("open", path, ENOENT);
    return std::unique_ptr<wal::File>(new FaultyFile(this, it->second, generation_, path));
  }
  KV2PC_RETURN_IF_ERROR(BeginMutation("create", path));
  if (it != files_.end()) return Errno("create", path, EEXIST);
  if (!ParentExists(path)) return Errno("create", path, ENOENT);
  auto inode = std::make_shared<Inode>();
  files_[path] = inode;
  return std::unique_ptr<wal::File>(new FaultyFile(this, inode, generation_, path));
}

Status FaultyFileSystem::CreateDir(const std::string& raw_path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string path = Normalize(raw_path);
  KV2PC_RETURN_IF_ERROR(CheckAlive("mkdir", path));
  for (std::string p = path; dirs_.insert(p).second; p = Parent(p)) {
  }
  return Status::OK();
}

Status FaultyFileSystem::SyncDir(const std::string& raw_path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string dir = Normalize(raw_path);
  KV2PC_RETURN_IF_ERROR(BeginMutation("fsync directory", dir));
  if (fail_dir_sync_in_ > 0 && --fail_dir_sync_in_ == 0) {
    return Errno("fsync directory", dir, EIO);
  }
  for (auto it = durable_files_.begin(); it != durable_files_.end();) {
    it = (Parent(it->first) == dir && files_.count(it->first) == 0) ? durable_files_.erase(it)
                                                                    : std::next(it);
  }
  for (const auto& [path, inode] : files_) {
    if (Parent(path) == dir) durable_files_[path] = inode;
  }
  return Status::OK();
}

Status FaultyFileSystem::Rename(const std::string& raw_from, const std::string& raw_to) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string from = Normalize(raw_from);
  std::string to = Normalize(raw_to);
  KV2PC_RETURN_IF_ERROR(BeginMutation("rename", from));
  auto it = files_.find(from);
  if (it == files_.end()) return Errno("rename", from, ENOENT);
  if (!ParentExists(to)) return Errno("rename", to, ENOENT);
  InodePtr inode = it->second;
  files_.erase(it);
  files_[to] = std::move(inode);
  return Status::OK();
}

Status FaultyFileSystem::RemoveFile(const std::string& raw_path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string path = Normalize(raw_path);
  KV2PC_RETURN_IF_ERROR(BeginMutation("unlink", path));
  if (files_.erase(path) == 0) return Errno("unlink", path, ENOENT);
  return Status::OK();
}

Result<std::vector<std::string>> FaultyFileSystem::ListDir(const std::string& raw_path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string dir = Normalize(raw_path);
  KV2PC_RETURN_IF_ERROR(CheckAlive("opendir", dir));
  if (dirs_.count(dir) == 0) return Errno("opendir", dir, ENOENT);
  std::vector<std::string> names;
  for (const auto& [path, inode] : files_) {
    if (Parent(path) == dir) names.push_back(path.substr(dir == "/" ? 1 : dir.size() + 1));
  }
  return names;
}

Result<std::unique_ptr<wal::FileLock>> FaultyFileSystem::LockFile(const std::string& raw_path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string path = Normalize(raw_path);
  KV2PC_RETURN_IF_ERROR(CheckAlive("lock", path));
  if (!locked_.insert(path).second) return Errno("lock", path, EWOULDBLOCK);
  return std::unique_ptr<wal::FileLock>(new FaultyLock(this, path));
}

// ---- File operations ------------------------------------------------------------------------

Status FaultyFileSystem::FileRead(const InodePtr& inode, uint64_t gen, const std::string& path,
                                  uint64_t offset, size_t n, std::string* dst) {
  std::lock_guard<std::mutex> lock(mu_);
  if (gen != generation_) return Errno("pread", path, EIO);
  KV2PC_RETURN_IF_ERROR(CheckAlive("pread", path));
  dst->clear();
  if (offset < inode->data.size()) *dst = inode->data.substr(offset, n);
  return Status::OK();
}

Status FaultyFileSystem::FileWrite(const InodePtr& inode, uint64_t gen, const std::string& path,
                                   uint64_t offset, std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  KV2PC_RETURN_IF_ERROR(BeginMutation("pwrite", path));
  if (gen != generation_) return Errno("pwrite", path, EIO);
  if (fail_writes_in_ > 0 && --fail_writes_in_ == 0) failing_writes_ = true;
  if (failing_writes_) return Errno("pwrite", path, fail_writes_errno_);
  ApplyWrite(&inode->data, offset, data);
  inode->unsynced.push_back(Op{false, offset, std::string(data)});
  return Status::OK();
}

Status FaultyFileSystem::FileSync(const InodePtr& inode, uint64_t gen, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  KV2PC_RETURN_IF_ERROR(BeginMutation("fdatasync", path));
  if (gen != generation_) return Errno("fdatasync", path, EIO);
  if (fail_sync_in_ > 0 && --fail_sync_in_ == 0) return Errno("fdatasync", path, EIO);
  inode->synced = inode->data;
  inode->unsynced.clear();
  ++sync_count_;
  return Status::OK();
}

Result<uint64_t> FaultyFileSystem::FileSize(const InodePtr& inode, uint64_t gen,
                                            const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (gen != generation_) return Errno("fstat", path, EIO);
  KV2PC_RETURN_IF_ERROR(CheckAlive("fstat", path));
  return static_cast<uint64_t>(inode->data.size());
}

Status FaultyFileSystem::FileTruncate(const InodePtr& inode, uint64_t gen, const std::string& path,
                                      uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  KV2PC_RETURN_IF_ERROR(BeginMutation("ftruncate", path));
  if (gen != generation_) return Errno("ftruncate", path, EIO);
  inode->data.resize(size, '\0');
  inode->unsynced.push_back(Op{true, size, {}});
  return Status::OK();
}

}  // namespace kv2pc::testutil
