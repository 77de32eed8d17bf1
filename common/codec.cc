// msgpack codec for the wire protocol. See codec.h and docs/protocol.md.
#include "common/codec.h"

#include <msgpack.hpp>
#include <type_traits>

namespace kv2pc {
namespace {

// msgpack::packer needs a buffer with write(); this one appends to a std::string.
struct StringSink {
  std::string* s;
  void write(const char* data, size_t len) { s->append(data, len); }
};
using Packer = msgpack::packer<StringSink>;

void PackBin(Packer& pk, std::string_view b) {
  pk.pack_bin(static_cast<uint32_t>(b.size()));
  pk.pack_bin_body(b.data(), static_cast<uint32_t>(b.size()));
}
void PackStr(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}
void PackTxn(Packer& pk, const TxnId& t) {
  pk.pack_array(3);
  pk.pack(t.coordinator);
  pk.pack(t.incarnation);
  pk.pack(t.seq);
}

// Counts then writes map entries: each body is written as a map of its present fields.
class MapWriter {
 public:
  explicit MapWriter(Packer& pk) : pk_(pk) {}
  void Begin(uint32_t n) { pk_.pack_map(n); }
  Packer& Key(std::string_view k) {
    PackStr(pk_, k);
    return pk_;
  }

 private:
  Packer& pk_;
};

void EncodeBody(Packer& pk, const BeginRequest& m) {
  pk.pack_map(m.ts ? 1 : 0);
  if (m.ts) {
    PackStr(pk, "ts");
    pk.pack(*m.ts);
  }
}
void EncodeBody(Packer& pk, const PingRequest&) { pk.pack_map(0); }
void EncodeBody(Packer& pk, const StatusRequest& m) {
  pk.pack_map(m.limit ? 1 : 0);
  if (m.limit) {
    PackStr(pk, "limit");
    pk.pack(*m.limit);
  }
}

void EncodeTxnKey(Packer& pk, const std::optional<TxnId>& txn, std::string_view key,
                  uint32_t extra) {
  pk.pack_map((txn ? 1 : 0) + 1 + extra);
  if (txn) {
    PackStr(pk, "txn");
    PackTxn(pk, *txn);
  }
  PackStr(pk, "key");
  PackBin(pk, key);
}
void EncodeBody(Packer& pk, const GetRequest& m) {
  EncodeTxnKey(pk, m.txn, m.key, m.for_update ? 1 : 0);
  if (m.for_update) {
    PackStr(pk, "for_update");
    pk.pack(true);
  }
}
void EncodeBody(Packer& pk, const DeleteRequest& m) { EncodeTxnKey(pk, m.txn, m.key, 0); }
void EncodeBody(Packer& pk, const PutRequest& m) {
  EncodeTxnKey(pk, m.txn, m.key, 1);
  PackStr(pk, "value");
  PackBin(pk, m.value);
}
void EncodeBody(Packer& pk, const ReadRequest& m) {
  EncodeTxnKey(pk, m.txn, m.key, m.for_update ? 3 : 2);
  PackStr(pk, "seq");
  pk.pack(m.seq);
  PackStr(pk, "ts");
  pk.pack(m.ts);
  if (m.for_update) {
    PackStr(pk, "for_update");
    pk.pack(true);
  }
}
void EncodeBody(Packer& pk, const WriteRequest& m) {
  EncodeTxnKey(pk, m.txn, m.key, 3);
  PackStr(pk, "seq");
  pk.pack(m.seq);
  PackStr(pk, "ts");
  pk.pack(m.ts);
  PackStr(pk, "value");
  if (m.value) {
    PackBin(pk, *m.value);
  } else {
    pk.pack_nil();
  }
}
template <typename T>
void EncodeTxnOnly(Packer& pk, const T& m) {
  pk.pack_map(1);
  PackStr(pk, "txn");
  PackTxn(pk, m.txn);
}
void EncodeBody(Packer& pk, const CommitRequest& m) { EncodeTxnOnly(pk, m); }
void EncodeBody(Packer& pk, const ExecRequest& m) {
  pk.pack_map((m.txn ? 1 : 0) + (m.ts ? 1 : 0) + 1 + (m.commit ? 1 : 0));
  if (m.txn) {
    PackStr(pk, "txn");
    PackTxn(pk, *m.txn);
  }
  if (m.ts) {
    PackStr(pk, "ts");
    pk.pack(*m.ts);
  }
  PackStr(pk, "ops");
  pk.pack_array(static_cast<uint32_t>(m.ops.size()));
  for (const ExecOp& op : m.ops) {
    const bool put = op.kind == ExecOp::Kind::kPut;
    pk.pack_map(2 + (put ? 1 : 0) + (op.for_update ? 1 : 0));
    PackStr(pk, "op");
    PackStr(pk, op.kind == ExecOp::Kind::kGet ? "get" : put ? "put" : "delete");
    PackStr(pk, "key");
    PackBin(pk, op.key);
    if (put) {
      PackStr(pk, "value");
      PackBin(pk, op.value);
    }
    if (op.for_update) {
      PackStr(pk, "for_update");
      pk.pack(true);
    }
  }
  if (m.commit) {
    PackStr(pk, "commit");
    pk.pack(true);
  }
}
void EncodeBody(Packer& pk, const AbortRequest& m) { EncodeTxnOnly(pk, m); }
void PackStrArray(Packer& pk, const std::vector<std::string>& v) {
  pk.pack_array(static_cast<uint32_t>(v.size()));
  for (const std::string& s : v) PackStr(pk, s);
}
void EncodeBody(Packer& pk, const PrepareRequest& m) {
  pk.pack_map(2 + !m.participants.empty() + m.one_phase);
  PackStr(pk, "txn");
  PackTxn(pk, m.txn);
  PackStr(pk, "ops");
  pk.pack(m.ops);
  if (!m.participants.empty()) {
    PackStr(pk, "participants");
    PackStrArray(pk, m.participants);
  }
  if (m.one_phase) {
    PackStr(pk, "one_phase");
    pk.pack(true);
  }
}
void EncodeBody(Packer& pk, const HeuristicReportRequest& m) {
  pk.pack_map(3);
  PackStr(pk, "txn");
  PackTxn(pk, m.txn);
  PackStr(pk, "committed");
  pk.pack(m.committed);
  PackStr(pk, "participant");
  PackStr(pk, m.participant);
}
void EncodeBody(Packer& pk, const FailPointRequest& m) {
  pk.pack_map((m.name.empty() ? 0 : 1) + (m.action.empty() ? 0 : 1));
  if (!m.name.empty()) {
    PackStr(pk, "name");
    PackStr(pk, m.name);
  }
  if (!m.action.empty()) {
    PackStr(pk, "action");
    PackStr(pk, m.action);
  }
}
void EncodeBody(Packer& pk, const InDoubtRequest& m) {
  pk.pack_map(m.limit ? 1 : 0);
  if (m.limit) {
    PackStr(pk, "limit");
    pk.pack(*m.limit);
  }
}
void EncodeBody(Packer& pk, const ResolveRequest& m) {
  pk.pack_map(2);
  PackStr(pk, "txn");
  PackTxn(pk, m.txn);
  PackStr(pk, "commit");
  pk.pack(m.commit);
}
void EncodeBody(Packer& pk, const DecideCommitRequest& m) { EncodeTxnOnly(pk, m); }
void EncodeBody(Packer& pk, const DecideAbortRequest& m) { EncodeTxnOnly(pk, m); }
void EncodeBody(Packer& pk, const QueryOutcomeRequest& m) {
  pk.pack_map(1 + m.holder + m.one_phase);
  PackStr(pk, "txn");
  PackTxn(pk, m.txn);
  if (m.holder) {
    PackStr(pk, "holder");
    pk.pack(true);
  }
  if (m.one_phase) {
    PackStr(pk, "one_phase");
    pk.pack(true);
  }
}
void EncodeBody(Packer& pk, const AbortNoticeRequest& m) {
  pk.pack_map(1 + (m.reason != AbortReason::kNone) + !m.error.empty());
  PackStr(pk, "txn");
  PackTxn(pk, m.txn);
  if (m.reason != AbortReason::kNone) {
    PackStr(pk, "reason");
    PackStr(pk, AbortReasonName(m.reason));
  }
  if (!m.error.empty()) {
    PackStr(pk, "error");
    PackStr(pk, m.error);
  }
}

void EncodeTxnStatus(Packer& pk, const TxnStatus& t) {
  pk.pack_map(5 + (t.waiting_for ? 1 : 0) + (t.detail.empty() ? 0 : 1));
  PackStr(pk, "txn");
  PackTxn(pk, t.txn);
  PackStr(pk, "state");
  PackStr(pk, t.state);
  PackStr(pk, "ts");
  pk.pack(t.ts);
  PackStr(pk, "age_ms");
  pk.pack(t.age_ms);
  PackStr(pk, "locks");
  pk.pack(t.locks);
  if (t.waiting_for) {
    PackStr(pk, "waiting_for");
    PackBin(pk, *t.waiting_for);
  }
  if (!t.detail.empty()) {
    PackStr(pk, "detail");
    PackStr(pk, t.detail);
  }
}

void EncodeLockStatus(Packer& pk, const LockStatus& l) {
  pk.pack_map(4);
  PackStr(pk, "key");
  PackBin(pk, l.key);
  PackStr(pk, "mode");
  PackStr(pk, l.mode);
  PackStr(pk, "holders");
  pk.pack_array(static_cast<uint32_t>(l.holders.size()));
  for (const TxnId& h : l.holders) PackTxn(pk, h);
  PackStr(pk, "waiters");
  pk.pack_array(static_cast<uint32_t>(l.waiters.size()));
  for (const LockWaiter& w : l.waiters) {
    pk.pack_map(2);
    PackStr(pk, "txn");
    PackTxn(pk, w.txn);
    PackStr(pk, "mode");
    PackStr(pk, w.mode);
  }
}

void EncodeNodeStatus(Packer& pk, const NodeStatus& st) {
  pk.pack_map(6);
  PackStr(pk, "uptime_ms");
  pk.pack(st.uptime_ms);
  PackStr(pk, "counters");
  pk.pack_map(static_cast<uint32_t>(st.counters.size()));
  for (const auto& [name, value] : st.counters) {
    PackStr(pk, name);
    pk.pack(value);
  }
  PackStr(pk, "txns");
  pk.pack_array(static_cast<uint32_t>(st.txns.size()));
  for (const TxnStatus& t : st.txns) EncodeTxnStatus(pk, t);
  PackStr(pk, "txns_total");
  pk.pack(st.txns_total);
  PackStr(pk, "locks");
  pk.pack_array(static_cast<uint32_t>(st.locks.size()));
  for (const LockStatus& l : st.locks) EncodeLockStatus(pk, l);
  PackStr(pk, "locks_total");
  pk.pack(st.locks_total);
}

void EncodeFailPointState(Packer& pk, const FailPointState& f) {
  pk.pack_map(4);
  PackStr(pk, "name");
  PackStr(pk, f.name);
  PackStr(pk, "action");
  PackStr(pk, f.action);
  PackStr(pk, "hits");
  pk.pack(f.hits);
  PackStr(pk, "held");
  pk.pack(f.held);
}

void EncodeInDoubtTxn(Packer& pk, const InDoubtTxn& t) {
  pk.pack_map(10);
  PackStr(pk, "txn");
  PackTxn(pk, t.txn);
  PackStr(pk, "coordinator");
  PackStr(pk, t.coordinator);
  PackStr(pk, "age_ms");
  pk.pack(t.age_ms);
  PackStr(pk, "prepare_lsn");
  pk.pack(t.prepare_lsn);
  PackStr(pk, "recovered");
  pk.pack(t.recovered);
  PackStr(pk, "participants");
  PackStrArray(pk, t.participants);
  PackStr(pk, "keys");
  pk.pack_array(static_cast<uint32_t>(t.keys.size()));
  for (const std::string& k : t.keys) PackBin(pk, k);
  PackStr(pk, "keys_total");
  pk.pack(t.keys_total);
  PackStr(pk, "waiters");
  pk.pack_array(static_cast<uint32_t>(t.waiters.size()));
  for (const TxnId& w : t.waiters) PackTxn(pk, w);
  PackStr(pk, "why");
  PackStr(pk, t.why);
}

void EncodeBody(Packer& pk, const Reply& r) {
  uint32_t n = 1;
  n += !r.error.empty();
  n += r.reason != AbortReason::kNone;
  n += r.txn.has_value();
  n += r.found.has_value();
  n += r.value.has_value();
  n += r.vote.has_value();
  n += r.outcome.has_value();
  n += r.ts.has_value();
  n += !r.node.empty();
  n += !r.role.empty();
  n += r.status.has_value();
  n += !r.failpoints.empty();
  n += r.in_doubt.has_value();
  n += r.results.has_value();
  pk.pack_map(n);
  PackStr(pk, "code");
  pk.pack(static_cast<uint32_t>(r.code));
  if (!r.error.empty()) {
    PackStr(pk, "error");
    PackStr(pk, r.error);
  }
  if (r.reason != AbortReason::kNone) {
    PackStr(pk, "reason");
    PackStr(pk, AbortReasonName(r.reason));
  }
  if (r.txn) {
    PackStr(pk, "txn");
    PackTxn(pk, *r.txn);
  }
  if (r.found) {
    PackStr(pk, "found");
    pk.pack(*r.found);
  }
  if (r.value) {
    PackStr(pk, "value");
    PackBin(pk, *r.value);
  }
  if (r.vote) {
    PackStr(pk, "vote");
    PackStr(pk, VoteName(*r.vote));
  }
  if (r.outcome) {
    PackStr(pk, "outcome");
    PackStr(pk, OutcomeName(*r.outcome));
  }
  if (r.ts) {
    PackStr(pk, "ts");
    pk.pack(*r.ts);
  }
  if (!r.node.empty()) {
    PackStr(pk, "node");
    PackStr(pk, r.node);
  }
  if (!r.role.empty()) {
    PackStr(pk, "role");
    PackStr(pk, r.role);
  }
  if (r.status) {
    PackStr(pk, "status");
    EncodeNodeStatus(pk, *r.status);
  }
  if (!r.failpoints.empty()) {
    PackStr(pk, "failpoints");
    pk.pack_array(static_cast<uint32_t>(r.failpoints.size()));
    for (const FailPointState& f : r.failpoints) EncodeFailPointState(pk, f);
  }
  if (r.results) {
    PackStr(pk, "results");
    pk.pack_array(static_cast<uint32_t>(r.results->size()));
    for (const ExecResult& e : *r.results) {
      pk.pack_map((e.found ? 1 : 0) + (e.value ? 1 : 0));
      if (e.found) {
        PackStr(pk, "found");
        pk.pack(*e.found);
      }
      if (e.value) {
        PackStr(pk, "value");
        PackBin(pk, *e.value);
      }
    }
  }
  if (r.in_doubt) {
    PackStr(pk, "in_doubt");
    pk.pack_array(static_cast<uint32_t>(r.in_doubt->size()));
    for (const InDoubtTxn& t : *r.in_doubt) EncodeInDoubtTxn(pk, t);
  }
}

// ---- Decoding ----

Status Malformed(std::string m) { return Status::InvalidArgument(std::move(m)); }

// A decoded body map: key -> object, looked up by name.
class Fields {
 public:
  static Result<Fields> From(const msgpack::object& o) {
    if (o.type != msgpack::type::MAP) return Malformed("body is not a map");
    Fields f;
    f.map_ = &o.via.map;
    for (uint32_t i = 0; i < o.via.map.size; i++) {
      const msgpack::object& k = o.via.map.ptr[i].key;
      if (k.type != msgpack::type::STR) return Malformed("body map key is not a string");
    }
    return f;
  }
  const msgpack::object* Find(std::string_view name) const {
    for (uint32_t i = 0; i < map_->size; i++) {
      const msgpack::object& k = map_->ptr[i].key;
      if (std::string_view(k.via.str.ptr, k.via.str.size) == name) return &map_->ptr[i].val;
    }
    return nullptr;
  }

 private:
  const msgpack::object_map* map_ = nullptr;
};

Status GetUint(const msgpack::object& o, std::string_view what, uint64_t max, uint64_t* out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER || o.via.u64 > max) {
    return Malformed(std::string(what) + " is not an unsigned integer in range");
  }
  *out = o.via.u64;
  return Status::OK();
}

Status GetBytes(const msgpack::object& o, std::string_view what, std::string* out) {
  if (o.type == msgpack::type::BIN) {
    out->assign(o.via.bin.ptr, o.via.bin.size);
  } else if (o.type == msgpack::type::STR) {
    out->assign(o.via.str.ptr, o.via.str.size);
  } else {
    return Malformed(std::string(what) + " is not bin or str");
  }
  return Status::OK();
}

Status GetString(const msgpack::object& o, std::string_view what, std::string* out) {
  if (o.type != msgpack::type::STR) return Malformed(std::string(what) + " is not a str");
  out->assign(o.via.str.ptr, o.via.str.size);
  return Status::OK();
}

Status GetTxn(const msgpack::object& o, TxnId* out) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 3) {
    return Malformed("txn is not an array [coordinator, incarnation, seq]");
  }
  uint64_t c, i, s;
  KV2PC_RETURN_IF_ERROR(GetUint(o.via.array.ptr[0], "txn coordinator", UINT32_MAX, &c));
  KV2PC_RETURN_IF_ERROR(GetUint(o.via.array.ptr[1], "txn incarnation", UINT32_MAX, &i));
  KV2PC_RETURN_IF_ERROR(GetUint(o.via.array.ptr[2], "txn seq", UINT64_MAX, &s));
  *out = TxnId{static_cast<uint32_t>(c), static_cast<uint32_t>(i), s};
  if (!out->valid()) return Malformed("txn has incarnation 0 (not a valid transaction id)");
  return Status::OK();
}

Status RequiredTxn(const Fields& f, TxnId* out) {
  const msgpack::object* o = f.Find("txn");
  if (o == nullptr || o->type == msgpack::type::NIL) return Malformed("missing field txn");
  return GetTxn(*o, out);
}

Status OptionalTxn(const Fields& f, std::optional<TxnId>* out) {
  const msgpack::object* o = f.Find("txn");
  if (o == nullptr || o->type == msgpack::type::NIL) {
    out->reset();
    return Status::OK();
  }
  TxnId t;
  KV2PC_RETURN_IF_ERROR(GetTxn(*o, &t));
  *out = t;
  return Status::OK();
}

Status RequiredBytes(const Fields& f, std::string_view name, std::string* out) {
  const msgpack::object* o = f.Find(name);
  if (o == nullptr) return Malformed("missing field " + std::string(name));
  return GetBytes(*o, name, out);
}

Status RequiredUint32(const Fields& f, std::string_view name, uint32_t* out) {
  const msgpack::object* o = f.Find(name);
  if (o == nullptr) return Malformed("missing field " + std::string(name));
  uint64_t v;
  KV2PC_RETURN_IF_ERROR(GetUint(*o, name, UINT32_MAX, &v));
  *out = static_cast<uint32_t>(v);
  return Status::OK();
}

Status RequiredUint64(const Fields& f, std::string_view name, uint64_t* out) {
  const msgpack::object* o = f.Find(name);
  if (o == nullptr) return Malformed("missing field " + std::string(name));
  return GetUint(*o, name, UINT64_MAX, out);
}

// An optional bool field: absent or nil = false.
Status OptionalBool(const Fields& f, std::string_view name, bool* out) {
  const msgpack::object* o = f.Find(name);
  if (o == nullptr || o->type == msgpack::type::NIL) {
    *out = false;
    return Status::OK();
  }
  if (o->type != msgpack::type::BOOLEAN) return Malformed(std::string(name) + " is not a bool");
  *out = o->via.boolean;
  return Status::OK();
}

template <typename E>
Status EnumByName(const Fields& f, std::string_view name, std::string_view (*namer)(E),
                  std::initializer_list<E> values, std::optional<E>* out) {
  const msgpack::object* o = f.Find(name);
  if (o == nullptr || o->type == msgpack::type::NIL) return Status::OK();
  std::string s;
  KV2PC_RETURN_IF_ERROR(GetString(*o, name, &s));
  for (E v : values) {
    if (namer(v) == s) {
      *out = v;
      return Status::OK();
    }
  }
  return Malformed("unknown " + std::string(name) + " '" + PrintableBytes(s, 32) + "'");
}

// A reply field, or nullptr when it is absent or nil (the two mean the same).
const msgpack::object* Present(const Fields& f, std::string_view name) {
  const msgpack::object* o = f.Find(name);
  return o == nullptr || o->type == msgpack::type::NIL ? nullptr : o;
}

Status GetArray(const msgpack::object& o, std::string_view what,
                const msgpack::object_array** out) {
  if (o.type != msgpack::type::ARRAY) return Malformed(std::string(what) + " is not an array");
  *out = &o.via.array;
  return Status::OK();
}

Status OptionalUint(const Fields& f, std::string_view name, uint64_t max, uint64_t* out) {
  const msgpack::object* o = Present(f, name);
  return o == nullptr ? Status::OK() : GetUint(*o, name, max, out);
}

Status OptionalString(const Fields& f, std::string_view name, std::string* out) {
  const msgpack::object* o = Present(f, name);
  return o == nullptr ? Status::OK() : GetString(*o, name, out);
}

Status GetStrArray(const msgpack::object& o, std::string_view what, std::vector<std::string>* out) {
  const msgpack::object_array* a = nullptr;
  KV2PC_RETURN_IF_ERROR(GetArray(o, what, &a));
  out->resize(a->size);
  for (uint32_t i = 0; i < a->size; i++)
    KV2PC_RETURN_IF_ERROR(GetString(a->ptr[i], what, &(*out)[i]));
  return Status::OK();
}

Status RequiredBool(const Fields& f, std::string_view name, bool* out) {
  const msgpack::object* o = f.Find(name);
  if (o == nullptr) return Malformed("missing field " + std::string(name));
  if (o->type != msgpack::type::BOOLEAN) return Malformed(std::string(name) + " is not a bool");
  *out = o->via.boolean;
  return Status::OK();
}

Status DecodeFailPointState(const msgpack::object& o, FailPointState* s) {
  KV2PC_ASSIGN_OR_RETURN(Fields f, Fields::From(o));
  KV2PC_RETURN_IF_ERROR(OptionalString(f, "name", &s->name));
  KV2PC_RETURN_IF_ERROR(OptionalString(f, "action", &s->action));
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "hits", UINT64_MAX, &s->hits));
  return OptionalUint(f, "held", UINT64_MAX, &s->held);
}

Status DecodeInDoubtTxn(const msgpack::object& o, InDoubtTxn* t) {
  KV2PC_ASSIGN_OR_RETURN(Fields f, Fields::From(o));
  KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &t->txn));
  KV2PC_RETURN_IF_ERROR(OptionalString(f, "coordinator", &t->coordinator));
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "age_ms", UINT64_MAX, &t->age_ms));
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "prepare_lsn", UINT64_MAX, &t->prepare_lsn));
  KV2PC_RETURN_IF_ERROR(OptionalBool(f, "recovered", &t->recovered));
  if (const msgpack::object* p = Present(f, "participants"); p != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetStrArray(*p, "participants", &t->participants));
  }
  const msgpack::object_array* a = nullptr;
  if (const msgpack::object* k = Present(f, "keys"); k != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*k, "keys", &a));
    t->keys.resize(a->size);
    for (uint32_t i = 0; i < a->size; i++)
      KV2PC_RETURN_IF_ERROR(GetBytes(a->ptr[i], "keys", &t->keys[i]));
  }
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "keys_total", UINT64_MAX, &t->keys_total));
  if (const msgpack::object* w = Present(f, "waiters"); w != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*w, "waiters", &a));
    t->waiters.resize(a->size);
    for (uint32_t i = 0; i < a->size; i++) KV2PC_RETURN_IF_ERROR(GetTxn(a->ptr[i], &t->waiters[i]));
  }
  return OptionalString(f, "why", &t->why);
}

Status DecodeTxnStatus(const msgpack::object& o, TxnStatus* t) {
  KV2PC_ASSIGN_OR_RETURN(Fields f, Fields::From(o));
  KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &t->txn));
  KV2PC_RETURN_IF_ERROR(OptionalString(f, "state", &t->state));
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "ts", UINT64_MAX, &t->ts));
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "age_ms", UINT64_MAX, &t->age_ms));
  uint64_t locks = 0;
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "locks", UINT32_MAX, &locks));
  t->locks = static_cast<uint32_t>(locks);
  if (const msgpack::object* w = Present(f, "waiting_for"); w != nullptr) {
    t->waiting_for.emplace();
    KV2PC_RETURN_IF_ERROR(GetBytes(*w, "waiting_for", &*t->waiting_for));
  }
  return OptionalString(f, "detail", &t->detail);
}

Status DecodeLockStatus(const msgpack::object& o, LockStatus* l) {
  KV2PC_ASSIGN_OR_RETURN(Fields f, Fields::From(o));
  KV2PC_RETURN_IF_ERROR(RequiredBytes(f, "key", &l->key));
  KV2PC_RETURN_IF_ERROR(OptionalString(f, "mode", &l->mode));
  const msgpack::object_array* a = nullptr;
  if (const msgpack::object* h = Present(f, "holders"); h != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*h, "holders", &a));
    l->holders.resize(a->size);
    for (uint32_t i = 0; i < a->size; i++) KV2PC_RETURN_IF_ERROR(GetTxn(a->ptr[i], &l->holders[i]));
  }
  if (const msgpack::object* w = Present(f, "waiters"); w != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*w, "waiters", &a));
    l->waiters.resize(a->size);
    for (uint32_t i = 0; i < a->size; i++) {
      KV2PC_ASSIGN_OR_RETURN(Fields wf, Fields::From(a->ptr[i]));
      KV2PC_RETURN_IF_ERROR(RequiredTxn(wf, &l->waiters[i].txn));
      KV2PC_RETURN_IF_ERROR(OptionalString(wf, "mode", &l->waiters[i].mode));
    }
  }
  return Status::OK();
}

Status DecodeNodeStatus(const msgpack::object& o, NodeStatus* st) {
  KV2PC_ASSIGN_OR_RETURN(Fields f, Fields::From(o));
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "uptime_ms", UINT64_MAX, &st->uptime_ms));
  if (const msgpack::object* c = Present(f, "counters"); c != nullptr) {
    // Fields::From checks that it is a map with string keys.
    KV2PC_RETURN_IF_ERROR(Fields::From(*c).status());
    const msgpack::object_map& m = c->via.map;
    for (uint32_t i = 0; i < m.size; i++) {
      uint64_t v;
      std::string name(m.ptr[i].key.via.str.ptr, m.ptr[i].key.via.str.size);
      KV2PC_RETURN_IF_ERROR(GetUint(m.ptr[i].val, name, UINT64_MAX, &v));
      st->counters.emplace_back(std::move(name), v);
    }
  }
  const msgpack::object_array* a = nullptr;
  if (const msgpack::object* t = Present(f, "txns"); t != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*t, "txns", &a));
    st->txns.resize(a->size);
    for (uint32_t i = 0; i < a->size; i++) {
      KV2PC_RETURN_IF_ERROR(DecodeTxnStatus(a->ptr[i], &st->txns[i]));
    }
  }
  KV2PC_RETURN_IF_ERROR(OptionalUint(f, "txns_total", UINT64_MAX, &st->txns_total));
  if (const msgpack::object* l = Present(f, "locks"); l != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*l, "locks", &a));
    st->locks.resize(a->size);
    for (uint32_t i = 0; i < a->size; i++) {
      KV2PC_RETURN_IF_ERROR(DecodeLockStatus(a->ptr[i], &st->locks[i]));
    }
  }
  return OptionalUint(f, "locks_total", UINT64_MAX, &st->locks_total);
}

Status DecodeReply(const Fields& f, Reply* r) {
  const msgpack::object* o = f.Find("code");
  if (o == nullptr) return Malformed("reply without code");
  uint64_t code;
  KV2PC_RETURN_IF_ERROR(GetUint(*o, "code", 255, &code));
  r->code = static_cast<ErrorCode>(code);
  if ((o = Present(f, "error")) != nullptr)
    KV2PC_RETURN_IF_ERROR(GetString(*o, "error", &r->error));
  if ((o = Present(f, "reason")) != nullptr) {
    std::string s;
    KV2PC_RETURN_IF_ERROR(GetString(*o, "reason", &s));
    r->reason = ParseAbortReason(s).value_or(AbortReason::kNone);
  }
  KV2PC_RETURN_IF_ERROR(OptionalTxn(f, &r->txn));
  if ((o = Present(f, "found")) != nullptr) {
    if (o->type != msgpack::type::BOOLEAN) return Malformed("found is not a bool");
    r->found = o->via.boolean;
  }
  if ((o = Present(f, "value")) != nullptr) {
    r->value.emplace();
    KV2PC_RETURN_IF_ERROR(GetBytes(*o, "value", &*r->value));
  }
  KV2PC_RETURN_IF_ERROR(EnumByName<Vote>(
      f, "vote", VoteName, {Vote::kYes, Vote::kNo, Vote::kReadOnly, Vote::kCommitted}, &r->vote));
  KV2PC_RETURN_IF_ERROR(EnumByName<Outcome>(
      f, "outcome", OutcomeName,
      {Outcome::kCommitted, Outcome::kAborted, Outcome::kPending, Outcome::kUnknown}, &r->outcome));
  if ((o = Present(f, "ts")) != nullptr) {
    uint64_t ts;
    KV2PC_RETURN_IF_ERROR(GetUint(*o, "ts", UINT64_MAX, &ts));
    r->ts = ts;
  }
  if ((o = Present(f, "node")) != nullptr) KV2PC_RETURN_IF_ERROR(GetString(*o, "node", &r->node));
  if ((o = Present(f, "role")) != nullptr) KV2PC_RETURN_IF_ERROR(GetString(*o, "role", &r->role));
  if ((o = Present(f, "status")) != nullptr) {
    r->status.emplace();
    KV2PC_RETURN_IF_ERROR(DecodeNodeStatus(*o, &*r->status));
  }
  const msgpack::object_array* a = nullptr;
  if ((o = Present(f, "failpoints")) != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*o, "failpoints", &a));
    r->failpoints.resize(a->size);
    for (uint32_t i = 0; i < a->size; i++) {
      KV2PC_RETURN_IF_ERROR(DecodeFailPointState(a->ptr[i], &r->failpoints[i]));
    }
  }
  if ((o = Present(f, "results")) != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*o, "results", &a));
    r->results.emplace(a->size);
    for (uint32_t i = 0; i < a->size; i++) {
      KV2PC_ASSIGN_OR_RETURN(Fields ef, Fields::From(a->ptr[i]));
      ExecResult& e = (*r->results)[i];
      if (const msgpack::object* x = Present(ef, "found"); x != nullptr) {
        if (x->type != msgpack::type::BOOLEAN) return Malformed("found is not a bool");
        e.found = x->via.boolean;
      }
      if (const msgpack::object* x = Present(ef, "value"); x != nullptr) {
        e.value.emplace();
        KV2PC_RETURN_IF_ERROR(GetBytes(*x, "value", &*e.value));
      }
    }
  }
  if ((o = Present(f, "in_doubt")) != nullptr) {
    KV2PC_RETURN_IF_ERROR(GetArray(*o, "in_doubt", &a));
    r->in_doubt.emplace(a->size);
    for (uint32_t i = 0; i < a->size; i++) {
      KV2PC_RETURN_IF_ERROR(DecodeInDoubtTxn(a->ptr[i], &(*r->in_doubt)[i]));
    }
  }
  return Status::OK();
}

Result<MessageBody> DecodeBody(MsgType type, const Fields& f) {
  switch (type) {
    case MsgType::kBegin: {
      BeginRequest m;
      if (const msgpack::object* o = Present(f, "ts"); o != nullptr) {
        uint64_t ts;
        KV2PC_RETURN_IF_ERROR(GetUint(*o, "ts", UINT64_MAX, &ts));
        m.ts = ts;
      }
      return MessageBody(m);
    }
    case MsgType::kPing:
      return MessageBody(PingRequest{});
    case MsgType::kStatus: {
      StatusRequest m;
      if (const msgpack::object* o = Present(f, "limit"); o != nullptr) {
        uint64_t limit;
        KV2PC_RETURN_IF_ERROR(GetUint(*o, "limit", UINT32_MAX, &limit));
        m.limit = static_cast<uint32_t>(limit);
      }
      return MessageBody(m);
    }
    case MsgType::kGet: {
      GetRequest m;
      KV2PC_RETURN_IF_ERROR(OptionalTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(RequiredBytes(f, "key", &m.key));
      KV2PC_RETURN_IF_ERROR(OptionalBool(f, "for_update", &m.for_update));
      return MessageBody(std::move(m));
    }
    case MsgType::kPut: {
      PutRequest m;
      KV2PC_RETURN_IF_ERROR(OptionalTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(RequiredBytes(f, "key", &m.key));
      KV2PC_RETURN_IF_ERROR(RequiredBytes(f, "value", &m.value));
      return MessageBody(std::move(m));
    }
    case MsgType::kExec: {
      ExecRequest m;
      KV2PC_RETURN_IF_ERROR(OptionalTxn(f, &m.txn));
      if (const msgpack::object* o = Present(f, "ts"); o != nullptr) {
        uint64_t ts;
        KV2PC_RETURN_IF_ERROR(GetUint(*o, "ts", UINT64_MAX, &ts));
        m.ts = ts;
      }
      KV2PC_RETURN_IF_ERROR(OptionalBool(f, "commit", &m.commit));
      const msgpack::object* o = f.Find("ops");
      if (o == nullptr) return Malformed("missing field ops");
      const msgpack::object_array* a = nullptr;
      KV2PC_RETURN_IF_ERROR(GetArray(*o, "ops", &a));
      if (a->size > kMaxExecOps) {
        return Malformed("EXEC has " + std::to_string(a->size) + " operations; the limit is " +
                         std::to_string(kMaxExecOps));
      }
      m.ops.resize(a->size);
      for (uint32_t i = 0; i < a->size; i++) {
        KV2PC_ASSIGN_OR_RETURN(Fields of, Fields::From(a->ptr[i]));
        ExecOp& op = m.ops[i];
        std::string kind;
        const msgpack::object* k = of.Find("op");
        if (k == nullptr) return Malformed("EXEC operation " + std::to_string(i) + " has no op");
        KV2PC_RETURN_IF_ERROR(GetString(*k, "op", &kind));
        if (kind == "get") {
          op.kind = ExecOp::Kind::kGet;
        } else if (kind == "put") {
          op.kind = ExecOp::Kind::kPut;
          KV2PC_RETURN_IF_ERROR(RequiredBytes(of, "value", &op.value));
        } else if (kind == "delete") {
          op.kind = ExecOp::Kind::kDelete;
        } else {
          return Malformed("EXEC operation " + std::to_string(i) + ": op is \"" +
                           PrintableBytes(kind, 20) + "\", not get, put or delete");
        }
        KV2PC_RETURN_IF_ERROR(RequiredBytes(of, "key", &op.key));
        KV2PC_RETURN_IF_ERROR(OptionalBool(of, "for_update", &op.for_update));
      }
      return MessageBody(std::move(m));
    }
    case MsgType::kDelete: {
      DeleteRequest m;
      KV2PC_RETURN_IF_ERROR(OptionalTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(RequiredBytes(f, "key", &m.key));
      return MessageBody(std::move(m));
    }
    case MsgType::kRead: {
      ReadRequest m;
      KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(RequiredBytes(f, "key", &m.key));
      KV2PC_RETURN_IF_ERROR(RequiredUint32(f, "seq", &m.seq));
      KV2PC_RETURN_IF_ERROR(RequiredUint64(f, "ts", &m.ts));
      KV2PC_RETURN_IF_ERROR(OptionalBool(f, "for_update", &m.for_update));
      return MessageBody(std::move(m));
    }
    case MsgType::kPrepare: {
      PrepareRequest m;
      KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(RequiredUint32(f, "ops", &m.ops));
      if (const msgpack::object* o = Present(f, "participants"); o != nullptr) {
        KV2PC_RETURN_IF_ERROR(GetStrArray(*o, "participants", &m.participants));
      }
      KV2PC_RETURN_IF_ERROR(OptionalBool(f, "one_phase", &m.one_phase));
      return MessageBody(std::move(m));
    }
    case MsgType::kHeuristicReport: {
      HeuristicReportRequest m;
      KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(RequiredBool(f, "committed", &m.committed));
      const msgpack::object* o = f.Find("participant");
      if (o == nullptr) return Malformed("missing field participant");
      KV2PC_RETURN_IF_ERROR(GetString(*o, "participant", &m.participant));
      return MessageBody(std::move(m));
    }
    case MsgType::kFailPoint: {
      FailPointRequest m;
      KV2PC_RETURN_IF_ERROR(OptionalString(f, "name", &m.name));
      KV2PC_RETURN_IF_ERROR(OptionalString(f, "action", &m.action));
      return MessageBody(std::move(m));
    }
    case MsgType::kInDoubt: {
      InDoubtRequest m;
      if (const msgpack::object* o = Present(f, "limit"); o != nullptr) {
        uint64_t limit;
        KV2PC_RETURN_IF_ERROR(GetUint(*o, "limit", UINT32_MAX, &limit));
        m.limit = static_cast<uint32_t>(limit);
      }
      return MessageBody(m);
    }
    case MsgType::kResolve: {
      ResolveRequest m;
      KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(RequiredBool(f, "commit", &m.commit));
      return MessageBody(m);
    }
    case MsgType::kWrite: {
      WriteRequest m;
      KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(RequiredBytes(f, "key", &m.key));
      KV2PC_RETURN_IF_ERROR(RequiredUint32(f, "seq", &m.seq));
      KV2PC_RETURN_IF_ERROR(RequiredUint64(f, "ts", &m.ts));
      const msgpack::object* v = f.Find("value");
      if (v != nullptr && v->type != msgpack::type::NIL) {
        m.value.emplace();
        KV2PC_RETURN_IF_ERROR(GetBytes(*v, "value", &*m.value));
      }
      return MessageBody(std::move(m));
    }
#define KV2PC_TXN_ONLY(kType, Struct)              \
  case MsgType::kType: {                           \
    Struct m;                                      \
    KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &m.txn)); \
    return MessageBody(m);                         \
  }
      KV2PC_TXN_ONLY(kCommit, CommitRequest)
      KV2PC_TXN_ONLY(kAbort, AbortRequest)
      KV2PC_TXN_ONLY(kDecideCommit, DecideCommitRequest)
      KV2PC_TXN_ONLY(kDecideAbort, DecideAbortRequest)
#undef KV2PC_TXN_ONLY
    case MsgType::kQueryOutcome: {
      QueryOutcomeRequest m;
      KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &m.txn));
      KV2PC_RETURN_IF_ERROR(OptionalBool(f, "holder", &m.holder));
      KV2PC_RETURN_IF_ERROR(OptionalBool(f, "one_phase", &m.one_phase));
      return MessageBody(m);
    }
    case MsgType::kAbortNotice: {
      AbortNoticeRequest m;
      KV2PC_RETURN_IF_ERROR(RequiredTxn(f, &m.txn));
      if (const msgpack::object* o = Present(f, "reason"); o != nullptr) {
        std::string s;
        KV2PC_RETURN_IF_ERROR(GetString(*o, "reason", &s));
        m.reason = ParseAbortReason(s).value_or(AbortReason::kNone);
      }
      KV2PC_RETURN_IF_ERROR(OptionalString(f, "error", &m.error));
      return MessageBody(std::move(m));
    }
    case MsgType::kReply: {
      Reply r;
      KV2PC_RETURN_IF_ERROR(DecodeReply(f, &r));
      return MessageBody(std::move(r));
    }
  }
  return Malformed("unknown message type " + std::to_string(static_cast<int>(type)));
}

bool KnownType(uint64_t t) {
  switch (static_cast<MsgType>(t)) {
    case MsgType::kBegin:
    case MsgType::kGet:
    case MsgType::kPut:
    case MsgType::kDelete:
    case MsgType::kCommit:
    case MsgType::kAbort:
    case MsgType::kExec:
    case MsgType::kRead:
    case MsgType::kWrite:
    case MsgType::kPrepare:
    case MsgType::kDecideCommit:
    case MsgType::kDecideAbort:
    case MsgType::kQueryOutcome:
    case MsgType::kAbortNotice:
    case MsgType::kHeuristicReport:
    case MsgType::kPing:
    case MsgType::kStatus:
    case MsgType::kFailPoint:
    case MsgType::kInDoubt:
    case MsgType::kResolve:
    case MsgType::kReply:
      return t <= 255;
  }
  return false;
}

}  // namespace

void EncodeMessage(const Message& msg, std::string* out) {
  StringSink sink{out};
  Packer pk(sink);
  pk.pack_array(4);
  pk.pack(kProtocolVersion);
  pk.pack(static_cast<uint32_t>(msg.type()));
  pk.pack(msg.request_id);
  std::visit([&pk](const auto& body) { EncodeBody(pk, body); }, msg.body);
}

std::string EncodeMessage(const Message& msg) {
  std::string out;
  EncodeMessage(msg, &out);
  return out;
}

Result<Message> DecodeNextMessage(std::string_view bytes, size_t* offset, uint64_t* request_id,
                                  const DecodeLimits& limits) {
  if (request_id != nullptr) *request_id = 0;
  if (*offset >= bytes.size()) {
    *offset = bytes.size();
    return Malformed("empty message");
  }
  if (bytes.size() > static_cast<size_t>(kMaxMessageSize)) {
    *offset = bytes.size();
    return Malformed("message of " + std::to_string(bytes.size()) + " bytes exceeds the limit");
  }
  // Bounds on what one message may contain: no msgpack container or string can claim more
  // than the message could hold, and nesting stays as shallow as the messages need.
  const msgpack::unpack_limit limit(limits.max_array, limits.max_map, /*str=*/kMaxMessageSize,
                                    /*bin=*/kMaxMessageSize, /*ext=*/0, limits.max_depth);
  msgpack::object_handle oh;
  try {
    msgpack::unpack(oh, bytes.data(), bytes.size(), *offset, nullptr, nullptr, limit);
  } catch (const std::exception& e) {
    *offset = bytes.size();  // where the next message would start is unknown: give up the rest
    return Malformed(std::string("not a valid msgpack message: ") + e.what());
  }
  const msgpack::object& root = oh.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 4) {
    return Malformed("message is not an array [version, type, request_id, body]");
  }
  const msgpack::object* a = root.via.array.ptr;
  uint64_t version, type, rid;
  KV2PC_RETURN_IF_ERROR(GetUint(a[0], "protocol version", UINT32_MAX, &version));
  KV2PC_RETURN_IF_ERROR(GetUint(a[1], "message type", UINT32_MAX, &type));
  KV2PC_RETURN_IF_ERROR(GetUint(a[2], "request_id", UINT64_MAX, &rid));
  if (request_id != nullptr) *request_id = rid;
  if (version != kProtocolVersion) {
    return Status::FailedPrecondition("protocol version " + std::to_string(version) +
                                      " is not supported (this node speaks " +
                                      std::to_string(kProtocolVersion) + ")");
  }
  if (!KnownType(type)) return Malformed("unknown message type " + std::to_string(type));
  KV2PC_ASSIGN_OR_RETURN(Fields fields, Fields::From(a[3]));
  KV2PC_ASSIGN_OR_RETURN(MessageBody body, DecodeBody(static_cast<MsgType>(type), fields));
  return Message{rid, std::move(body)};
}

Result<Message> DecodeMessage(std::string_view bytes, uint64_t* request_id,
                              const DecodeLimits& limits) {
  size_t offset = 0;
  Result<Message> msg = DecodeNextMessage(bytes, &offset, request_id, limits);
  if (msg.ok() && offset != bytes.size()) return Malformed("trailing bytes after the message");
  return msg;
}

ErrorCode DecodeErrorCode(const Status& s) {
  return s.code() == Status::Code::kFailedPrecondition ? ErrorCode::kUnsupportedVersion
                                                       : ErrorCode::kMalformedRequest;
}

std::string PrintableBytes(std::string_view bytes, size_t max_len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  size_t n = std::min(bytes.size(), max_len);
  out.reserve(n + 8);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (bytes.size() > max_len) out += "...";
  return out;
}

}  // namespace kv2pc
