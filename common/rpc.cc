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
    : context_(context), connect_grace_(connect_grace), loop_(loop) {
  hook_ = loop_->AddIterationEndHook([this] { Flush(); });
}

RpcClient::~RpcClient() { loop_->RemoveIterationEndHook(hook_); }

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
  Peer& p = *peers_[peer];
  auto give_up = EventLoop::Now() + std::min(connect_grace_, timeout);
  if (!p.backlog.empty()) {  // keep the order: behind what waits for the peer to connect
    std::string bytes;
    EncodeMessage(Message{id, std::move(body)}, &bytes);
    p.backlog.push_back(Queued{id, std::move(bytes), give_up});
    return;
  }
  if (p.outbox.empty()) p.outbox_give_up = give_up;
  p.outbox_give_up = std::min(p.outbox_give_up, give_up);
  EncodeMessage(Message{id, std::move(body)}, &p.outbox);
  p.outbox_ids.emplace_back(id, p.outbox.size());
  if (!p.dirty) {
    p.dirty = true;
    dirty_.push_back(peer);
  }
  if (p.outbox.size() >= kMaxBatchBytes || !BatchingEnabled()) FlushOutbox(peer);
}

void RpcClient::Flush() {
  for (size_t peer : dirty_) {
    peers_[peer]->dirty = false;
    FlushOutbox(peer);
  }
  dirty_.clear();
}

void RpcClient::FlushOutbox(size_t peer) {
  Peer& p = *peers_[peer];
  if (p.outbox.empty()) return;
  loop_->RecheckSocket(&p.socket);
  if (p.backlog.empty() && SendDealer(p.socket, p.outbox).ok()) {
    frames_sent_++;
    requests_sent_ += p.outbox_ids.size();
  } else {
    // Not connected: each request waits in the backlog on its own (it may time out alone).
    size_t start = 0;
    for (const auto& [id, end] : p.outbox_ids) {
      p.backlog.push_back(Queued{id, p.outbox.substr(start, end - start), p.outbox_give_up});
      start = end;
    }
    if (!p.retry_scheduled) {
      p.retry_scheduled = true;
      loop_->RunAfter(std::chrono::milliseconds(0), [this, peer] { FlushBacklog(peer); });
    }
  }
  p.outbox.clear();
  p.outbox_ids.clear();
  if (p.outbox.capacity() > kMaxBatchBytes) std::string().swap(p.outbox);  // after a huge one
}

void RpcClient::FlushBacklog(size_t peer) {
  Peer& p = *peers_[peer];
  p.retry_scheduled = false;
  auto now = EventLoop::Now();
  while (!p.backlog.empty()) {
    // One frame with every request that still waits, oldest first (up to kMaxBatchBytes).
    buffer_.clear();
    size_t n = 0;
    for (const Queued& q : p.backlog) {
      if (!pending_.count(q.request_id)) continue;  // timed out meanwhile
      if (n > 0 && buffer_.size() + q.bytes.size() > kMaxBatchBytes) break;
      buffer_ += q.bytes;
      n++;
    }
    if (n == 0) {
      p.backlog.clear();
      break;
    }
    loop_->RecheckSocket(&p.socket);
    if (SendDealer(p.socket, buffer_).ok()) {
      frames_sent_++;
      requests_sent_ += n;
      while (n > 0) {
        if (pending_.count(p.backlog.front().request_id)) n--;
        p.backlog.pop_front();
      }
      continue;
    }
    // Not connected yet: fail what waited too long, keep the rest for the next try.
    while (!p.backlog.empty() &&
           (!pending_.count(p.backlog.front().request_id) || now >= p.backlog.front().give_up)) {
      uint64_t id = p.backlog.front().request_id;
      p.backlog.pop_front();
      Complete(id, Status::Unavailable(p.name + " is unavailable (not connected for " +
                                       std::to_string(connect_grace_.count()) + " ms)"));
    }
    break;
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
    ForEachMessage(View(frame), kReplyLimits, [&](Result<Message> msg, uint64_t id) {
      if (!msg.ok()) {
        spdlog::warn("dropping undecodable reply from {}: {}", peers_[peer]->name,
                     msg.status().ToString());
        return;
      }
      auto* reply = std::get_if<Reply>(&msg->body);
      if (reply == nullptr) {
        spdlog::warn("dropping non-reply message {} from {}", MsgTypeName(msg->type()),
                     peers_[peer]->name);
        return;
      }
      Complete(id, std::move(*reply));  // a late reply finds nothing pending and is dropped
    });
  }
}

void AddBatchingCounters(const ReplySender& replies,
                         std::initializer_list<const RpcClient*> callers, NodeStatus* status) {
  uint64_t requests = 0, frames = 0;
  for (const RpcClient* c : callers) {
    requests += c->requests_sent();
    frames += c->frames_sent();
  }
  auto& c = status->counters;
  c.emplace_back("replies_sent", replies.replies_sent());
  c.emplace_back("reply_frames_sent", replies.frames_sent());
  c.emplace_back("requests_sent", requests);
  c.emplace_back("request_frames_sent", frames);
}

}  // namespace kv2pc
