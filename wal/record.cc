// WAL record payloads: see record.h and docs/wal-format.md, "Payloads".
#include "wal/record.h"

#include <cstdio>
#include <exception>
#include <msgpack.hpp>

namespace kv2pc::wal {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

// Bounds for msgpack::unpack, checked while parsing so that a hostile length prefix cannot
// make it allocate: no array longer than a payload could hold, no maps or exts at all.
constexpr size_t kMaxArray = kMaxPayloadSize / 2;
constexpr size_t kMaxStr = 1024;  // node names
constexpr size_t kMaxDepth = 4;   // [txn-array, [[key, value], ...]]

void PackTxn(Packer& pk, const TxnId& txn) {
  pk.pack_array(3);
  pk.pack_uint32(txn.coordinator);
  pk.pack_uint32(txn.incarnation);
  pk.pack_uint64(txn.seq);
}

void PackBin(Packer& pk, std::string_view bytes) {
  pk.pack_bin(static_cast<uint32_t>(bytes.size()));
  pk.pack_bin_body(bytes.data(), static_cast<uint32_t>(bytes.size()));
}

std::string ToString(const msgpack::sbuffer& buf) { return std::string(buf.data(), buf.size()); }

Status Malformed(std::string_view record, std::string_view why) {
  return Status::Corruption("malformed " + std::string(record) + " payload: " + std::string(why));
}

// Reads the payload's top-level array of `min_fields` to `max_fields` elements into *out,
// which stays valid while *handle lives.
Status UnpackArray(std::string_view payload, std::string_view record, uint32_t min_fields,
                   uint32_t max_fields, msgpack::object_handle* handle,
                   const msgpack::object** out) {
  try {
    size_t offset = 0;
    msgpack::unpack_limit limit(kMaxArray, 0, kMaxStr, kMaxValueSize, 0, kMaxDepth);
    *handle = msgpack::unpack(payload.data(), payload.size(), offset, nullptr, nullptr, limit);
    if (offset != payload.size()) return Malformed(record, "trailing bytes");
  } catch (const std::exception& e) {
    return Malformed(record, e.what());
  }
  const msgpack::object& obj = handle->get();
  if (obj.type != msgpack::type::ARRAY || obj.via.array.size < min_fields ||
      obj.via.array.size > max_fields) {
    return Malformed(record, min_fields == max_fields
                                 ? "expected an array of " + std::to_string(min_fields)
                                 : "expected an array of " + std::to_string(min_fields) + " to " +
                                       std::to_string(max_fields));
  }
  *out = &obj;
  return Status::OK();
}

Status UnpackArray(std::string_view payload, std::string_view record, uint32_t fields,
                   msgpack::object_handle* handle, const msgpack::object** out) {
  return UnpackArray(payload, record, fields, fields, handle, out);
}

void PackStrList(Packer& pk, const std::vector<std::string>& items) {
  pk.pack_array(static_cast<uint32_t>(items.size()));
  for (const std::string& s : items) {
    pk.pack_str(static_cast<uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
  }
}

// Reads an array of str (node names) into *out.
Status GetStrList(const msgpack::object& list, std::string_view record, std::string_view what,
                  std::vector<std::string>* out) {
  if (list.type != msgpack::type::ARRAY) {
    return Malformed(record, std::string(what) + " is not an array");
  }
  out->reserve(list.via.array.size);
  for (uint32_t i = 0; i < list.via.array.size; ++i) {
    const msgpack::object& p = list.via.array.ptr[i];
    if (p.type != msgpack::type::STR) return Malformed(record, "participant is not a str");
    out->emplace_back(p.via.str.ptr, p.via.str.size);
  }
  return Status::OK();
}

bool GetUint(const msgpack::object& o, uint64_t max, uint64_t* out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER || o.via.u64 > max) return false;
  *out = o.via.u64;
  return true;
}

Status GetTxn(const msgpack::object& o, std::string_view record, TxnId* txn) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 3) {
    return Malformed(record, "txn is not [coordinator, incarnation, seq]");
  }
  const msgpack::object* f = o.via.array.ptr;
  uint64_t coordinator, incarnation, seq;
  if (!GetUint(f[0], UINT32_MAX, &coordinator) || !GetUint(f[1], UINT32_MAX, &incarnation) ||
      !GetUint(f[2], UINT64_MAX, &seq)) {
    return Malformed(record, "txn fields out of range");
  }
  *txn = TxnId{static_cast<uint32_t>(coordinator), static_cast<uint32_t>(incarnation), seq};
  if (!txn->valid()) return Malformed(record, "txn id with incarnation 0");
  return Status::OK();
}

// Decodes a payload that is just [txn].
template <typename R>
Result<R> DecodeTxnOnly(std::string_view payload, std::string_view record) {
  msgpack::object_handle handle;
  const msgpack::object* obj = nullptr;
  KV2PC_RETURN_IF_ERROR(UnpackArray(payload, record, 1, &handle, &obj));
  R r;
  KV2PC_RETURN_IF_ERROR(GetTxn(obj->via.array.ptr[0], record, &r.txn));
  return r;
}

std::string EncodeTxnOnly(const TxnId& txn) {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(1);
  PackTxn(pk, txn);
  return ToString(buf);
}

// PREPARE's payload, which ONE_PHASE_COMMIT shares (without participants):
// [txn, [[key, value | nil], ...]] and, when `participants` is not empty, the list of them.
std::string EncodeWrites(const TxnId& txn, const std::vector<WriteOp>& writes,
                         const std::vector<std::string>& participants) {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  // Without participants, the two-element form records had before the list existed.
  pk.pack_array(participants.empty() ? 2 : 3);
  PackTxn(pk, txn);
  pk.pack_array(static_cast<uint32_t>(writes.size()));
  for (const WriteOp& w : writes) {
    pk.pack_array(2);
    PackBin(pk, w.key);
    if (w.value.has_value()) {
      PackBin(pk, *w.value);
    } else {
      pk.pack_nil();
    }
  }
  if (!participants.empty()) PackStrList(pk, participants);
  return ToString(buf);
}

// Decodes what EncodeWrites writes, for the record type `name`: an array of 2 to
// `max_fields` elements (3 for PREPARE, 2 for ONE_PHASE_COMMIT, which lists no participants).
Result<PrepareRecord> DecodeWrites(std::string_view payload, std::string_view name,
                                   uint32_t max_fields) {
  msgpack::object_handle handle;
  const msgpack::object* obj = nullptr;
  KV2PC_RETURN_IF_ERROR(UnpackArray(payload, name, 2, max_fields, &handle, &obj));
  PrepareRecord r;
  KV2PC_RETURN_IF_ERROR(GetTxn(obj->via.array.ptr[0], name, &r.txn));
  const msgpack::object& writes = obj->via.array.ptr[1];
  if (writes.type != msgpack::type::ARRAY) return Malformed(name, "writes is not an array");
  r.writes.reserve(writes.via.array.size);
  for (uint32_t i = 0; i < writes.via.array.size; ++i) {
    const msgpack::object& w = writes.via.array.ptr[i];
    if (w.type != msgpack::type::ARRAY || w.via.array.size != 2) {
      return Malformed(name, "write is not [key, value]");
    }
    const msgpack::object& key = w.via.array.ptr[0];
    const msgpack::object& value = w.via.array.ptr[1];
    if (key.type != msgpack::type::BIN || key.via.bin.size > kMaxKeySize) {
      return Malformed(name, "key is not a bin of at most " + std::to_string(kMaxKeySize));
    }
    WriteOp op;
    op.key.assign(key.via.bin.ptr, key.via.bin.size);
    if (value.type == msgpack::type::BIN) {
      op.value.emplace(value.via.bin.ptr, value.via.bin.size);  // size bounded by the limit
    } else if (value.type != msgpack::type::NIL) {
      return Malformed(name, "value is neither bin nor nil");
    }
    r.writes.push_back(std::move(op));
  }
  if (obj->via.array.size == 3) {
    KV2PC_RETURN_IF_ERROR(GetStrList(obj->via.array.ptr[2], name, "participants", &r.participants));
  }
  return r;
}

// Appends s escaped: printable ASCII as is except the list syntax and '\'; the rest as \xNN.
void AppendEscaped(std::string* out, std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\' && c != ',' && c != '[' && c != ']') {
      out->push_back(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out->append(hex);
    }
  }
}

void AppendList(std::string* out, std::string_view label, const std::vector<std::string>& items) {
  constexpr size_t kShown = 8;
  *out += ' ';
  *out += label;
  *out += "=[";
  for (size_t i = 0; i < items.size() && i < kShown; ++i) {
    if (i > 0) *out += ',';
    AppendEscaped(out, items[i]);
  }
  if (items.size() > kShown) *out += ",...+" + std::to_string(items.size() - kShown);
  *out += ']';
}

}  // namespace

std::string_view RecordTypeName(uint8_t type) {
  switch (type) {
    case kPrepare:
      return "PREPARE";
    case kCommit:
      return "COMMIT";
    case kAbort:
      return "ABORT";
    case kOnePhaseCommit:
      return "ONE_PHASE_COMMIT";
    case kDecisionCommit:
      return "DECISION_COMMIT";
    case kEnd:
      return "END";
  }
  return "UNKNOWN";
}

std::string PrepareRecord::Encode() const { return EncodeWrites(txn, writes, participants); }

Result<PrepareRecord> PrepareRecord::Decode(std::string_view payload) {
  return DecodeWrites(payload, "PREPARE", /*max_fields=*/3);
}

std::string OnePhaseCommitRecord::Encode() const { return EncodeWrites(txn, writes, {}); }

Result<OnePhaseCommitRecord> OnePhaseCommitRecord::Decode(std::string_view payload) {
  KV2PC_ASSIGN_OR_RETURN(PrepareRecord r,
                         DecodeWrites(payload, "ONE_PHASE_COMMIT", /*max_fields=*/2));
  return OnePhaseCommitRecord{r.txn, std::move(r.writes)};
}

std::string CommitRecord::Encode() const { return EncodeTxnOnly(txn); }
Result<CommitRecord> CommitRecord::Decode(std::string_view payload) {
  return DecodeTxnOnly<CommitRecord>(payload, "COMMIT");
}

std::string AbortRecord::Encode() const { return EncodeTxnOnly(txn); }
Result<AbortRecord> AbortRecord::Decode(std::string_view payload) {
  return DecodeTxnOnly<AbortRecord>(payload, "ABORT");
}

std::string EndRecord::Encode() const { return EncodeTxnOnly(txn); }
Result<EndRecord> EndRecord::Decode(std::string_view payload) {
  return DecodeTxnOnly<EndRecord>(payload, "END");
}

std::string DecisionCommitRecord::Encode() const {
  msgpack::sbuffer buf;
  Packer pk(&buf);
  pk.pack_array(2);
  PackTxn(pk, txn);
  PackStrList(pk, participants);
  return ToString(buf);
}

Result<DecisionCommitRecord> DecisionCommitRecord::Decode(std::string_view payload) {
  constexpr std::string_view kName = "DECISION_COMMIT";
  msgpack::object_handle handle;
  const msgpack::object* obj = nullptr;
  KV2PC_RETURN_IF_ERROR(UnpackArray(payload, kName, 2, &handle, &obj));
  DecisionCommitRecord r;
  KV2PC_RETURN_IF_ERROR(GetTxn(obj->via.array.ptr[0], kName, &r.txn));
  KV2PC_RETURN_IF_ERROR(GetStrList(obj->via.array.ptr[1], kName, "participants", &r.participants));
  return r;
}

Result<TxnId> RecordTxn(const RecordView& record) {
  switch (record.type) {
    case kPrepare: {
      KV2PC_ASSIGN_OR_RETURN(PrepareRecord r, PrepareRecord::Decode(record.payload));
      return r.txn;
    }
    case kCommit: {
      KV2PC_ASSIGN_OR_RETURN(CommitRecord r, CommitRecord::Decode(record.payload));
      return r.txn;
    }
    case kAbort: {
      KV2PC_ASSIGN_OR_RETURN(AbortRecord r, AbortRecord::Decode(record.payload));
      return r.txn;
    }
    case kOnePhaseCommit: {
      KV2PC_ASSIGN_OR_RETURN(OnePhaseCommitRecord r, OnePhaseCommitRecord::Decode(record.payload));
      return r.txn;
    }
    case kDecisionCommit: {
      KV2PC_ASSIGN_OR_RETURN(DecisionCommitRecord r, DecisionCommitRecord::Decode(record.payload));
      return r.txn;
    }
    case kEnd: {
      KV2PC_ASSIGN_OR_RETURN(EndRecord r, EndRecord::Decode(record.payload));
      return r.txn;
    }
  }
  return Status::InvalidArgument("unknown WAL record type " + std::to_string(record.type));
}

std::string DescribeRecord(const RecordView& record) {
  std::string out = "LSN " + std::to_string(record.lsn) + " ";
  std::string_view name = RecordTypeName(record.type);
  if (name == "UNKNOWN") {
    return out + "type=" + std::to_string(record.type) + " (unknown) " +
           std::to_string(record.payload.size()) + " bytes";
  }
  out += name;
  auto undecodable = [&](const Status& s) { return out + " <undecodable: " + s.message() + ">"; };
  // " T0.1.5 keys=[a,b] deletes=[c]": what a PREPARE or ONE_PHASE_COMMIT writes.
  auto append_writes = [&](const TxnId& txn, const std::vector<WriteOp>& writes) {
    out += ' ' + txn.ToString();
    std::vector<std::string> puts, deletes;
    for (const WriteOp& w : writes) (w.value.has_value() ? puts : deletes).push_back(w.key);
    AppendList(&out, "keys", puts);
    if (!deletes.empty()) AppendList(&out, "deletes", deletes);
  };
  if (record.type == kPrepare) {
    Result<PrepareRecord> r = PrepareRecord::Decode(record.payload);
    if (!r.ok()) return undecodable(r.status());
    append_writes(r->txn, r->writes);
    if (!r->participants.empty()) AppendList(&out, "participants", r->participants);
    return out;
  }
  if (record.type == kOnePhaseCommit) {
    Result<OnePhaseCommitRecord> r = OnePhaseCommitRecord::Decode(record.payload);
    if (!r.ok()) return undecodable(r.status());
    append_writes(r->txn, r->writes);
    return out;
  }
  if (record.type == kDecisionCommit) {
    Result<DecisionCommitRecord> r = DecisionCommitRecord::Decode(record.payload);
    if (!r.ok()) return undecodable(r.status());
    out += ' ' + r->txn.ToString();
    AppendList(&out, "participants", r->participants);
    return out;
  }
  Result<TxnId> txn = RecordTxn(record);
  if (!txn.ok()) return undecodable(txn.status());
  return out + ' ' + txn->ToString();
}

}  // namespace kv2pc::wal
