// WAL writing primitives: see log_writer.h.
#include "wal/log_writer.h"

#include <algorithm>

#include "wal/coding.h"
#include "wal/log_format.h"

namespace kv2pc::wal {

void EncodeRecord(std::string* dst, uint8_t type, Lsn lsn, Lsn durable_lsn,
                  std::string_view payload) {
  const size_t start = dst->size();
  dst->resize(start + kRecordHeaderSize);
  char* h = dst->data() + start;
  EncodeFixed32(h + 4, static_cast<uint32_t>(payload.size()));
  h[8] = static_cast<char>(type);
  EncodeFixed64(h + 9, lsn);
  EncodeFixed64(h + 17, durable_lsn);
  dst->append(payload);
  // The CRC covers the header fields after it and the payload, now contiguous in dst.
  EncodeFixed32(dst->data() + start,
                ComputeRecordCrc(dst->data() + start, static_cast<uint32_t>(payload.size())));
}

Status WriteZeros(File* file, uint64_t begin, uint64_t end) {
  static constexpr size_t kChunk = 1 << 20;
  const std::string zeros(std::min<uint64_t>(kChunk, end > begin ? end - begin : 0), '\0');
  for (uint64_t pos = begin; pos < end;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, end - pos));
    KV2PC_RETURN_IF_ERROR(file->Write(pos, std::string_view(zeros.data(), n)));
    pos += n;
  }
  return Status::OK();
}

SegmentWriter::SegmentWriter(std::string path, Lsn first_lsn, std::unique_ptr<File> file,
                             uint64_t offset, uint64_t capacity)
    : path_(std::move(path)),
      first_lsn_(first_lsn),
      file_(std::move(file)),
      offset_(offset),
      capacity_(capacity) {}

bool SegmentWriter::empty() const { return offset_ == kSegmentHeaderSize; }

Status SegmentWriter::Append(std::string_view data) {
  KV2PC_RETURN_IF_ERROR(file_->Write(offset_, data));
  offset_ += data.size();
  return Status::OK();
}

Status SegmentWriter::Sync() { return file_->Sync(); }

Status SegmentWriter::Grow(uint64_t new_capacity) {
  KV2PC_RETURN_IF_ERROR(WriteZeros(file_.get(), capacity_, new_capacity));
  capacity_ = new_capacity;
  return Status::OK();
}

Result<std::unique_ptr<SegmentWriter>> CreateSegment(FileSystem* fs, const std::string& dir,
                                                     Lsn first_lsn, uint64_t size,
                                                     const std::string& recycle_path, bool sync) {
  const std::string final_path = JoinPath(dir, SegmentFileName(first_lsn));
  std::string build_path;
  std::unique_ptr<File> file;
  if (recycle_path.empty()) {
    build_path = JoinPath(dir, TempFileName(first_lsn));
    // A leftover from an interrupted creation would make kCreateNew fail; it holds nothing.
    (void)fs->RemoveFile(build_path);
    KV2PC_ASSIGN_OR_RETURN(file, fs->OpenFile(build_path, FileSystem::OpenMode::kCreateNew));
    // Real zeros, not fallocate: an fdatasync that must also persist block allocation and
    // file size costs a journal commit on every group commit; overwriting allocated, written
    // blocks does not (PostgreSQL pre-allocates its WAL the same way).
    KV2PC_RETURN_IF_ERROR(WriteZeros(file.get(), 0, size));
  } else {
    build_path = recycle_path;
    KV2PC_ASSIGN_OR_RETURN(file, fs->OpenFile(build_path, FileSystem::OpenMode::kOpenExisting));
  }
  KV2PC_RETURN_IF_ERROR(file->Write(0, EncodeSegmentHeader(first_lsn)));
  if (sync) KV2PC_RETURN_IF_ERROR(file->Sync());
  KV2PC_RETURN_IF_ERROR(fs->Rename(build_path, final_path));
  if (sync) KV2PC_RETURN_IF_ERROR(fs->SyncDir(dir));
  return std::make_unique<SegmentWriter>(final_path, first_lsn, std::move(file), kSegmentHeaderSize,
                                         size);
}

}  // namespace kv2pc::wal
