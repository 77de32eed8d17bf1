// See floor.h.
#include "bench/floor.h"

#include <chrono>
#include <memory>
#include <vector>

#include "bench/machine.h"
#include "bench/raw_fsync.h"
#include "bench/stats.h"
#include "common/codec.h"
#include "common/messages.h"
#include "common/transport.h"

namespace kv2pc::bench {
namespace {

using Clock = std::chrono::steady_clock;

// The fdatasync measurement: long enough for a few hundred samples on a disk that syncs in a
// few milliseconds, short enough not to delay the run. The file is small so that zero-filling
// it costs little; the WAL's own segments are 16 MiB.
constexpr double kSyncWarmupS = 0.1;
constexpr double kSyncSeconds = 0.5;
constexpr uint64_t kSyncFileSize = 4 << 20;

// A DEALER that sends PINGs one at a time and waits for each reply (by request_id).
class Pinger {
 public:
  static Result<std::unique_ptr<Pinger>> Open(zmq::context_t* context,
                                              const std::string& endpoint) {
    std::unique_ptr<Pinger> p(new Pinger(endpoint));
    try {
      p->socket_ = zmq::socket_t(*context, zmq::socket_type::dealer);
      ConfigureCallerSocket(p->socket_, /*accepts_batches=*/false);  // one PING at a time
    } catch (const zmq::error_t& e) {
      return Status::Internal(std::string("cannot create a ZeroMQ socket: ") + e.what());
    }
    KV2PC_RETURN_IF_ERROR(Connect(p->socket_, endpoint));
    return p;
  }

  // Round-trip time of one PING in nanoseconds. The deadline covers connecting and waiting.
  Result<int64_t> Ping(int timeout_ms) {
    const Clock::time_point start = Clock::now();
    const Clock::time_point deadline = start + std::chrono::milliseconds(timeout_ms);
    const uint64_t id = next_id_++;
    const std::string payload = EncodeMessage(Message{id, PingRequest{}});
    while (!SendDealer(socket_, payload).ok()) {  // ZMQ_IMMEDIATE: fails until connected
      if (!Wait(ZMQ_POLLOUT, deadline)) return NoAnswer(timeout_ms, "could not connect to ");
    }
    for (;;) {
      zmq::message_t frame;
      while (!RecvDealer(socket_, &frame)) {
        if (!Wait(ZMQ_POLLIN, deadline)) return NoAnswer(timeout_ms, "no reply from ");
      }
      uint64_t reply_id = 0;
      Result<Message> msg = DecodeMessage(View(frame), &reply_id);
      if (reply_id != id) continue;  // a late reply to an earlier PING
      if (!msg.ok()) {
        return Status::Internal("unreadable PING reply from " + endpoint_ + ": " +
                                msg.status().message());
      }
      if (!std::holds_alternative<Reply>(msg->body)) {
        return Status::Internal(endpoint_ + " answered PING with a " +
                                std::string(MsgTypeName(msg->type())) + ", not a REPLY");
      }
      return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    }
  }

 private:
  explicit Pinger(std::string endpoint) : endpoint_(std::move(endpoint)) {}

  bool Wait(short events, Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    zmq_pollitem_t item{socket_.handle(), 0, events, 0};
    try {
      zmq::poll(&item, 1, left);
    } catch (const zmq::error_t&) {
      // EINTR: the caller loops until the deadline.
    }
    return true;
  }

  Status NoAnswer(int timeout_ms, const char* what) const {
    return Status::Unavailable(std::string(what) + endpoint_ + " within " +
                               std::to_string(timeout_ms) + " ms (is the cluster running?)");
  }

  const std::string endpoint_;
  zmq::socket_t socket_;
  uint64_t next_id_ = 1;
};

}  // namespace

Status PingOnce(zmq::context_t* context, const std::string& endpoint, int timeout_ms) {
  KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<Pinger> p, Pinger::Open(context, endpoint));
  return p->Ping(timeout_ms).status();
}

Result<RoundTrip> MeasureRoundTrip(zmq::context_t* context, const std::string& endpoint, int count,
                                   int timeout_ms) {
  KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<Pinger> p, Pinger::Open(context, endpoint));
  KV2PC_RETURN_IF_ERROR(p->Ping(timeout_ms).status());  // connects; not counted
  std::vector<int64_t> samples;
  for (int i = 0; i < count; i++) {
    KV2PC_ASSIGN_OR_RETURN(int64_t ns, p->Ping(timeout_ms));
    samples.push_back(ns);
  }
  LatencySummary s = Summarize(&samples);
  return RoundTrip{s.p50_ms, s.p99_ms, s.count};
}

Result<Floor> MeasureFloor(const FloorInputs& inputs, zmq::context_t* context) {
  Floor floor;
  {
    KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> scratch,
                           ScratchDir::Create(inputs.sync_parent, "kv2pc-bench-floor."));
    floor.fsync_dir = inputs.sync_parent;
    KV2PC_ASSIGN_OR_RETURN(floor.fs_type, FileSystemName(scratch->path()));
    RawSyncOptions o;
    o.dir = scratch->path();
    o.mode = RawSyncMode::kOverwrite;
    o.write_size = inputs.write_size;
    o.warmup_s = kSyncWarmupS;
    o.seconds = kSyncSeconds;
    o.file_size = kSyncFileSize;
    KV2PC_ASSIGN_OR_RETURN(RawSyncResult r, MeasureRawSync(o));
    floor.fsync_p50_ms = r.latency.p50_ms;
    floor.fsync_p99_ms = r.latency.p99_ms;
    floor.fsync_samples = r.latency.count;
  }
  KV2PC_ASSIGN_OR_RETURN(floor.coordinator_rtt, MeasureRoundTrip(context, inputs.coordinator,
                                                                 inputs.pings, inputs.timeout_ms));
  floor.participant_rtt = floor.coordinator_rtt;
  if (!inputs.participant.empty()) {
    KV2PC_ASSIGN_OR_RETURN(
        floor.participant_rtt,
        MeasureRoundTrip(context, inputs.participant, inputs.pings, inputs.timeout_ms));
    floor.participant_measured = true;
    floor.participant_name = inputs.participant_name;
  }
  return floor;
}

FloorModel TxnFloorModel(WorkloadKind kind, bool exec) {
  if (exec) {
    // EXEC: the reads in one request (participants in parallel: one r_p), the writes and the
    // commit in another (pipelined writes travel with the PREPARE: one r_p, then two f).
    switch (kind) {
      case WorkloadKind::kSingle:
        return {1, 1, 1, "r_c + r_p + f (one EXEC: put, one-phase commit)"};
      case WorkloadKind::kTransfer:
      case WorkloadKind::kHot:
        return {2, 2, 2, "2 r_c + 2 r_p + 2 f (EXEC reads; EXEC writes + commit)"};
      case WorkloadKind::kReadOnly:
        return {1, 2, 0, "r_c + 2 r_p (one EXEC: reads, then READ_ONLY votes)"};
      case WorkloadKind::kYcsbA:
        return {1, 1.5, 0.5,
                "r_c + 1.5 r_p + 0.5 f (mean of read r_c + 2 r_p, update r_c + r_p + f)"};
    }
  }
  switch (kind) {
    case WorkloadKind::kSingle:
      return {3, 2, 1, "3 r_c + 2 r_p + f (one-phase commit)"};
    case WorkloadKind::kTransfer:
    case WorkloadKind::kHot:
      return {6, 5, 2, "6 r_c + 5 r_p + 2 f"};
    case WorkloadKind::kReadOnly:
      return {6, 5, 0, "6 r_c + 5 r_p"};
    case WorkloadKind::kYcsbA:
      return {3, 2, 0.5, "3 r_c + 2 r_p + 0.5 f (mean of read 3 r_c + 2 r_p, update + f)"};
  }
  return {};
}

FloorModel CommitFloorModel(WorkloadKind kind, bool exec) {
  // With EXEC a read-only commit request carries its reads: they and the votes are two r_p.
  if (kind == WorkloadKind::kReadOnly) {
    return exec ? FloorModel{1, 2, 0, "r_c + 2 r_p"} : FloorModel{1, 1, 0, "r_c + r_p"};
  }
  // One key written: one-phase commit, one forced write at the participant and none at the
  // coordinator (KV2PC_ONE_PHASE=0 on the coordinator makes it 2 f again).
  if (kind == WorkloadKind::kSingle || kind == WorkloadKind::kYcsbA) {
    return {1, 1, 1, "r_c + r_p + f (one-phase)"};
  }
  return {1, 1, 2, "r_c + r_p + 2 f"};
}

double FloorMs(const FloorModel& model, const Floor& floor) {
  return model.client_rtts * floor.coordinator_rtt.p50_ms +
         model.participant_rtts * floor.participant_rtt.p50_ms + model.fsyncs * floor.fsync_p50_ms;
}

}  // namespace kv2pc::bench
