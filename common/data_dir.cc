// See data_dir.h.
#include "common/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kv2pc {

namespace {
Status Errno(const std::string& what) { return Status::IOError(what + ": " + strerror(errno)); }

Status SyncPath(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("open " + path);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return Status::IOError("fsync " + path + ": " + strerror(err));
  return Status::OK();
}
}  // namespace

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  std::string path = dir + "/LOCK";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot open " + path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return Status::Unavailable(dir + " is in use by another process (" + path + " is locked)");
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() { close(fd_); }

Status WriteFileDurably(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open " + tmp);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Errno("write " + tmp);
      close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return Status::IOError("fsync " + tmp + ": " + strerror(err));
  if (rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename " + tmp);
  std::string dir = std::filesystem::path(path).parent_path().string();
  return SyncPath(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace kv2pc
