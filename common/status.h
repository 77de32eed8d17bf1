// Status and Result<T>: how kv2pc reports expected failures, as values.
//
// Every function that can fail in an expected way (bad input, unknown transaction, disk full,
// peer down, timeout) returns a Status or a Result<T>; exceptions never cross a module
// boundary (codec.cc and transport.cc catch msgpack and ZeroMQ exceptions at the edge).
// Broken invariants are not Statuses: they are KV2PC_CHECK failures (see logging.h).
//
// Each code tells the caller what to do next:
//   kInvalidArgument  the request is wrong (key > 256 B, value > 1 MiB, malformed): fix it.
//   kNotFound         the named thing (a transaction, a node) does not exist.
//   kAborted          the transaction is over and rolled back: retry it from BEGIN.
//   kFailedPrecondition the request does not fit the current state (e.g. COMMIT of a txn
//                     already committed, a txn busy with another request): do not retry as is.
//   kUnavailable      a peer is down or unreachable: retry later.
//   kTimedOut         no answer in time; the effect may or may not have happened.
//   kCorruption       stored data failed a checksum: stop, an operator must look.
//   kIOError          the operating system refused (disk full, permission): see message.
//   kInternal         a bug or unexpected state, reported instead of crashing a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kv2pc {

class [[nodiscard]] Status {
 public:
  enum class Code : uint8_t {
    kOk = 0,
    kInvalidArgument,
    kNotFound,
    kAborted,
    kFailedPrecondition,
    kUnavailable,
    kTimedOut,
    kCorruption,
    kIOError,
    kInternal,
  };

  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status TimedOut(std::string m) { return {Code::kTimedOut, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsAborted() const { return code_ == Code::kAborted; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  bool IsTimedOut() const { return code_ == Code::kTimedOut; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }

  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;
  static std::string_view CodeName(Code code);

  // Adds context in front of the message: "while X: <message>". No-op on OK.
  Status WithContext(std::string_view context) const;

  bool operator==(const Status& other) const = default;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none. Never holds an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("Result built from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kv2pc

// Returns early with the Status of `expr` when it is not OK.
#define KV2PC_RETURN_IF_ERROR(expr)      \
  do {                                   \
    ::kv2pc::Status _kv2pc_s = (expr);   \
    if (!_kv2pc_s.ok()) return _kv2pc_s; \
  } while (0)

#define KV2PC_CONCAT_INNER(a, b) a##b
#define KV2PC_CONCAT(a, b) KV2PC_CONCAT_INNER(a, b)
// `KV2PC_ASSIGN_OR_RETURN(auto x, F());` binds x to F()'s value or returns its Status.
#define KV2PC_ASSIGN_OR_RETURN(lhs, expr)                                                       \
  auto KV2PC_CONCAT(_kv2pc_r, __LINE__) = (expr);                                               \
  if (!KV2PC_CONCAT(_kv2pc_r, __LINE__).ok()) return KV2PC_CONCAT(_kv2pc_r, __LINE__).status(); \
  lhs = std::move(KV2PC_CONCAT(_kv2pc_r, __LINE__)).value()
