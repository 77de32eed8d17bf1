// RpcClient: asynchronous requests from an event-loop server to its peers (the coordinator to
// its participants, a participant to coordinators), many in flight on one DEALER socket per
// peer, matched to their replies by request_id.
//
// Every Call() ends in exactly one callback on the loop's thread, never inside Call() itself:
// the peer's Reply, Unavailable when the message could not be sent (peer down: the DEALER
// has ZMQ_IMMEDIATE), or TimedOut when no reply came in time. A reply that arrives after its
// timeout is dropped. The caller decides what a failure means (e.g. abort the transaction).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "common/event_loop.h"
#include "common/messages.h"
#include "common/status.h"

namespace kv2pc {

class RpcClient {
 public:
  using Callback = std::function<void(Result<Reply>)>;

  // `context` and `loop` must outlive this object.
  RpcClient(zmq::context_t* context, EventLoop* loop);
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Connects a DEALER to `endpoint` and registers it with the loop. Returns the peer index.
  Result<size_t> AddPeer(const std::string& name, const std::string& endpoint);

  void Call(size_t peer, MessageBody body, std::chrono::milliseconds timeout, Callback done);

  const std::string& peer_name(size_t peer) const { return peers_[peer]->name; }
  size_t peer_count() const { return peers_.size(); }
  size_t in_flight() const { return pending_.size(); }

 private:
  struct Peer {
    std::string name;
    std::string endpoint;
    zmq::socket_t socket;
  };
  struct Pending {
    Callback done;
    EventLoop::TimerId timer;
  };
  void OnReadable(size_t peer);

  zmq::context_t* const context_;
  EventLoop* const loop_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t next_request_id_ = 1;
  std::string buffer_;  // reused encode buffer
};

}  // namespace kv2pc
