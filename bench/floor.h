// kv2pc-bench --floor: what a transaction cannot beat on this machine, measured in the same
// run (docs/benchmarks.md, "kv2pc-bench").
//
// Two costs bound a durable two-phase commit from below:
//   f    one fdatasync after overwriting a few bytes of a pre-allocated, zero-filled file, on
//        the file system of the cluster's data (bench/raw_fsync.h, overwrite mode: what the
//        WAL does), median;
//   r_c  one request/reply between the bench and a coordinator: PING, median of a few hundred;
//   r_p  the same between a coordinator and a participant, measured as the bench's PING to a
//        participant (the same ZeroMQ path over loopback; r_c when the layout is unknown).
//
// What the coordinator waits for before it answers COMMIT (docs/architecture.md, "Two-phase
// commit"): PREPARE to every participant in parallel (one r_p), each of which forces its
// PREPARE record before voting YES (f), then its own DECISION_COMMIT record (f). DECIDE_COMMIT
// goes out after the reply, so it is not on the client's path. Every GET/PUT is one r_c plus
// one r_p (the coordinator forwards it as READ/WRITE to the key's participant). So:
//
//   commit floor           = r_c + r_p + 2 f        (read-only: r_c + r_p, nothing is logged;
//                                                    one key written: r_c + r_p + f, one-phase)
//   transaction floor      = (1 + ops) r_c + ops r_p + commit floor
// With --api interactive (one request per BEGIN, GET, PUT, COMMIT):
//     single               = 3 r_c + 2 r_p + f      (one-phase commit: one forced write)
//     transfer, hot        = 6 r_c + 5 r_p + 2 f    (BEGIN, 2 GET, 2 PUT, COMMIT)
//     readonly             = 6 r_c + 5 r_p          (BEGIN, 4 GET, COMMIT; all READ_ONLY)
//     ycsb-a               = 3 r_c + 2 r_p + 0.5 f  (mean of a read, 3 r_c + 2 r_p, and an
//                                                    update, 3 r_c + 2 r_p + f)
// With --api exec (the default; reads in one EXEC, writes and commit in another, pipelined
// writes riding with the PREPARE; shares of different participants in parallel):
//     single               = r_c + r_p + f
//     transfer, hot        = 2 r_c + 2 r_p + 2 f
//     readonly             = r_c + 2 r_p            (reads, then the READ_ONLY votes)
//     ycsb-a               = r_c + 1.5 r_p + 0.5 f  (mean of read r_c + 2 r_p, update
//                                                    r_c + r_p + f)
//
// It ignores CPU time in the servers and the bench and any queueing: a floor for one client
// alone. With group commit many transactions share each fdatasync, so throughput can exceed
// 1 / floor by far; latency cannot go below it.
#pragma once

#include <cstdint>
#include <string>
#include <zmq.hpp>

#include "bench/workloads.h"
#include "common/status.h"

namespace kv2pc::bench {

// One PING to `endpoint` on a fresh DEALER. OK when a reply comes within timeout_ms;
// Unavailable otherwise (the message says which endpoint).
Status PingOnce(zmq::context_t* context, const std::string& endpoint, int timeout_ms);

// Median and count of `count` sequential PINGs to `endpoint` (after one untimed PING that
// waits for the connection). Unavailable when any PING gets no reply within timeout_ms.
struct RoundTrip {
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t samples = 0;
};
Result<RoundTrip> MeasureRoundTrip(zmq::context_t* context, const std::string& endpoint, int count,
                                   int timeout_ms);

struct FloorInputs {
  std::string sync_parent;       // a scratch directory for the fdatasync file is made here
  std::string coordinator;       // endpoint
  std::string participant;       // endpoint; empty: r_p is taken to be r_c
  std::string participant_name;  // for the report
  size_t write_size = 128;       // bytes per overwrite (about one WAL record)
  int pings = 300;
  int timeout_ms = 15000;
};

struct Floor {
  double fsync_p50_ms = 0;
  double fsync_p99_ms = 0;
  uint64_t fsync_samples = 0;
  std::string fsync_dir;  // where the file was (removed afterwards)
  std::string fs_type;
  RoundTrip coordinator_rtt;
  RoundTrip participant_rtt;  // == coordinator_rtt when participant_measured is false
  bool participant_measured = false;
  std::string participant_name;
};

// Measures f, r_c and r_p. IOError from the file system, Unavailable when a node does not
// answer its PINGs.
Result<Floor> MeasureFloor(const FloorInputs& inputs, zmq::context_t* context);

// How many of each cost one transaction of `kind` pays at least (the table above).
struct FloorModel {
  double client_rtts = 0;       // r_c
  double participant_rtts = 0;  // r_p
  double fsyncs = 0;            // f
  std::string formula;          // e.g. "3 r_c + 2 r_p + 2 f"
};
// `exec`: kv2pc-bench --api exec (the default), see TxnFloorModel's comments in floor.cc.
FloorModel TxnFloorModel(WorkloadKind kind, bool exec);
// The COMMIT request (with --api exec: the EXEC that commits) alone: r_c + r_p + 2 f
// (read-only: r_c + r_p; with exec, whose commit request carries the reads, r_c + 2 r_p).
FloorModel CommitFloorModel(WorkloadKind kind, bool exec);
double FloorMs(const FloorModel& model, const Floor& floor);

}  // namespace kv2pc::bench
