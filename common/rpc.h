// RpcClient: asynchronous requests from an event-loop server to its peers (the coordinator to
// its participants, a participant to coordinators), many in flight on one DEALER socket per
// peer, matched to their replies by request_id.
//
// Every Call() ends in exactly one callback on the loop's thread, never inside Call() itself:
// the peer's Reply, Unavailable when the message could not be sent, or TimedOut when no reply
// came in time. A reply that arrives after its timeout is dropped. The caller decides what a
// failure means (e.g. abort the transaction).
//
// Batching: Call() only encodes the request into its peer's outbox; at the end of the loop's
// iteration (EventLoop::AddIterationEndHook) each outbox leaves as one ZeroMQ message holding
// every request made to that peer in the iteration (docs/protocol.md, "Batching"). A reply
// frame may likewise hold several replies.
//
// Sending to a peer that is down: the DEALERs have ZMQ_IMMEDIATE, so libzmq queues nothing
// for a disconnected peer and a send fails at once. Such messages wait in a per-peer backlog
// (in order) and are retried every few milliseconds for up to `connect_grace`: long enough
// to ride out the reconnect after a peer restarts (libzmq retries the connection every
// 100-500 ms), short enough that a peer that stays down fails requests quickly with
// Unavailable instead of leaving them to their full timeout.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "common/event_loop.h"
#include "common/messages.h"
#include "common/status.h"
#include "common/transport.h"

namespace kv2pc {

class RpcClient {
 public:
  using Callback = std::function<void(Result<Reply>)>;

  // `context` and `loop` must outlive this object.
  RpcClient(zmq::context_t* context, EventLoop* loop,
            std::chrono::milliseconds connect_grace = std::chrono::milliseconds(2000));
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Connects a DEALER to `endpoint` and registers it with the loop. Returns the peer index.
  Result<size_t> AddPeer(const std::string& name, const std::string& endpoint);

  void Call(size_t peer, MessageBody body, std::chrono::milliseconds timeout, Callback done);

  const std::string& peer_name(size_t peer) const { return peers_[peer]->name; }
  size_t peer_count() const { return peers_.size(); }
  size_t in_flight() const { return pending_.size(); }
  // Frames sent and requests sent since construction (requests / frames = the mean batch).
  uint64_t frames_sent() const { return frames_sent_; }
  uint64_t requests_sent() const { return requests_sent_; }

 private:
  struct Queued {
    uint64_t request_id;
    std::string bytes;
    EventLoop::Clock::time_point give_up;
  };
  struct Peer {
    std::string name;
    std::string endpoint;
    zmq::socket_t socket;
    std::deque<Queued> backlog;  // not yet sent: the peer was not connected
    bool retry_scheduled = false;
    // Encoded this iteration, sent by Flush(): the bytes and (request id, end offset) of each.
    std::string outbox;
    std::vector<std::pair<uint64_t, size_t>> outbox_ids;
    EventLoop::Clock::time_point outbox_give_up{};  // the earliest give-up of the outbox
    bool dirty = false;
  };
  struct Pending {
    Callback done;
    EventLoop::TimerId timer;
  };
  void OnReadable(size_t peer);
  // Sends every peer's outbox (the loop's iteration-end hook).
  void Flush();
  void FlushOutbox(size_t peer);
  // Sends what the backlog holds, in order, until a send fails; fails what waited too long.
  void FlushBacklog(size_t peer);
  // Ends a pending call with `result` (cancelling its timer).
  void Complete(uint64_t request_id, Result<Reply> result);

  zmq::context_t* const context_;
  const std::chrono::milliseconds connect_grace_;
  EventLoop* const loop_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t next_request_id_ = 1;
  std::vector<size_t> dirty_;  // peers with a non-empty outbox
  EventLoop::HookId hook_ = 0;
  std::string buffer_;  // reused frame buffer for the backlog
  uint64_t frames_sent_ = 0;
  uint64_t requests_sent_ = 0;
};

// Appends the batching counters of a server's STATUS (docs/protocol.md 5.12): replies_sent,
// reply_frames_sent, requests_sent and request_frames_sent (over every RpcClient it calls with).
void AddBatchingCounters(const ReplySender& replies,
                         std::initializer_list<const RpcClient*> callers, NodeStatus* status);

}  // namespace kv2pc
