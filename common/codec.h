// Encodes and decodes kv2pc wire messages (messages.h) with msgpack. docs/protocol.md is the
// specification; this file is its implementation.
//
// Decoding never throws and never trusts the input: it runs msgpack::unpack under an
// unpack_limit (bounded sizes and nesting), checks every type, and reports what is wrong.
// Unknown map keys are ignored (forward compatibility); missing required ones are errors.
#pragma once

#include <string>
#include <string_view>

#include "common/messages.h"
#include "common/status.h"

namespace kv2pc {

// Appends the msgpack encoding of `msg` to *out.
void EncodeMessage(const Message& msg, std::string* out);
std::string EncodeMessage(const Message& msg);

// How large and deep a decoded message may be. Requests are flat (a txn array inside the
// body map): servers decode everything with kRequestLimits, so no client can make them
// allocate much for a small message. Replies to STATUS carry lists (docs/protocol.md), so
// callers that send STATUS decode with kReplyLimits.
struct DecodeLimits {
  size_t max_array;
  size_t max_map;
  size_t max_depth;
};
inline constexpr DecodeLimits kRequestLimits{1024, 32, 4};  // arrays: PREPARE participants
inline constexpr DecodeLimits kReplyLimits{1u << 20, 1024, 8};

// Decodes one message from `bytes`.
// Returns InvalidArgument when the bytes are not a well-formed message (the reply code is
// MALFORMED_REQUEST), FailedPrecondition when the protocol version is not kProtocolVersion
// (UNSUPPORTED_VERSION). When the header could be read, *request_id (if not null) is set
// even on error, so the error reply can carry the request's id; otherwise it is set to 0.
Result<Message> DecodeMessage(std::string_view bytes, uint64_t* request_id = nullptr,
                              const DecodeLimits& limits = kRequestLimits);

// Decodes the message that starts at *offset in `bytes`, a frame holding one or more messages
// back to back (docs/protocol.md, "Batching"), and moves *offset past it. A message that is
// valid msgpack but not a valid kv2pc message still moves *offset past it (so the next one can
// be read); bytes that are not msgpack at all move *offset to the end (the rest is unusable).
Result<Message> DecodeNextMessage(std::string_view bytes, size_t* offset,
                                  uint64_t* request_id = nullptr,
                                  const DecodeLimits& limits = kRequestLimits);

// Maps a decode Status to the ErrorCode to reply with.
ErrorCode DecodeErrorCode(const Status& s);

// Helpers shared with the WAL record codec and tools: TxnId as msgpack [u32, u32, u64].
// Text form of a key or value for logs and the CLI: printable ASCII as is, other bytes as
// \xNN, truncated to `max_len` bytes with "...".
std::string PrintableBytes(std::string_view bytes, size_t max_len = 64);

}  // namespace kv2pc
