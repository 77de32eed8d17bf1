// See rpc.h.
#include "common/rpc.h"

#include "common/codec.h"
#include "common/logging.h"
#include "common/transport.h"

namespace kv2pc {

namespace {
constexpr std::chrono::milliseconds kBacklogRetry(10);
}  // namespace

RpcClient::RpcClient(zmq::context_t* context, EventLoop* loop,
                     std::chrono::milliseconds connect_grace)
    : context_(context), connect_grace_(connect_grace), loop_(loop) {}

Result<size_t> RpcClient::AddPeer(const std::string& name, const std::string& endpoint) {
  auto peer = std::make_unique<Peer>();
  peer->name = name;
  peer->endpoint = endpoint;
  peer->socket = zmq::socket_t(*context_, zmq::socket_type::dealer);
  ConfigureCallerSocket(peer->socket);
  KV2PC_RETURN_IF_ERROR(Connect(peer->socket, endpoint));
  size_t index = peers_.size();
  loop_->AddSocket(&peer->socket, [this, index] { OnReadable(index); });
  peers_.push_back(std::move(peer));
  return index;
}

void RpcClient::Call(size_t peer, MessageBody body, std::chrono::milliseconds timeout,
                     Callback done) {
  uint64_t id = next_request_id_++;
  EventLoop::TimerId timer = loop_->RunAfter(timeout, [this, id, peer, timeout] {
    Complete(id, Status::TimedOut("no reply from " + peers_[peer]->name + " within " +
                                  std::to_string(timeout.count()) + " ms"));
  });
  pending_.emplace(id, Pending{std::move(done), timer});
  buffer_.clear();
  EncodeMessage(Message{id, std::move(body)}, &buffer_);
  Peer& p = *peers_[peer];
  if (p.backlog.empty() && SendDealer(p.socket, buffer_).ok()) return;
  p.backlog.push_back(Queued{id, buffer_, EventLoop::Now() + std::min(connect_grace_, timeout)});
  if (!p.retry_scheduled) {
    p.retry_scheduled = true;
    loop_->RunAfter(std::chrono::milliseconds(0), [this, peer] { FlushBacklog(peer); });
  }
}

void RpcClient::FlushBacklog(size_t peer) {
  Peer& p = *peers_[peer];
  p.retry_scheduled = false;
  auto now = EventLoop::Now();
  while (!p.backlog.empty()) {
    Queued& q = p.backlog.front();
    if (!pending_.count(q.request_id)) {  // timed out meanwhile
      p.backlog.pop_front();
      continue;
    }
    if (SendDealer(p.socket, q.bytes).ok()) {
      p.backlog.pop_front();
      continue;
    }
    if (now < q.give_up) break;
    uint64_t id = q.request_id;
    p.backlog.pop_front();
    Complete(id, Status::Unavailable(p.name + " is unavailable (not connected for " +
                                     std::to_string(connect_grace_.count()) + " ms)"));
  }
  if (!p.backlog.empty() && !p.retry_scheduled) {
    p.retry_scheduled = true;
    loop_->RunAfter(kBacklogRetry, [this, peer] { FlushBacklog(peer); });
  }
}

void RpcClient::Complete(uint64_t request_id, Result<Reply> result) {
  auto it = pending_.find(request_id);
  if (it == pending_.end()) return;
  Callback cb = std::move(it->second.done);
  loop_->Cancel(it->second.timer);
  pending_.erase(it);
  cb(std::move(result));
}

void RpcClient::OnReadable(size_t peer) {
  zmq::message_t frame;
  // Bounded batch, so one chatty peer cannot starve the others.
  for (int i = 0; i < 1024 && RecvDealer(peers_[peer]->socket, &frame); i++) {
    uint64_t id = 0;
    Result<Message> msg = DecodeMessage(View(frame), &id);
    if (!msg.ok()) {
      spdlog::warn("dropping undecodable reply from {}: {}", peers_[peer]->name,
                   msg.status().ToString());
      continue;
    }
    auto* reply = std::get_if<Reply>(&msg->body);
    if (reply == nullptr) {
      spdlog::warn("dropping non-reply message {} from {}", MsgTypeName(msg->type()),
                   peers_[peer]->name);
      continue;
    }
    Complete(id, std::move(*reply));  // a late reply finds nothing pending and is dropped
  }
}

}  // namespace kv2pc
