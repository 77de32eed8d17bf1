// See rpc.h.
#include "common/rpc.h"

#include "common/codec.h"
#include "common/logging.h"
#include "common/transport.h"

namespace kv2pc {

RpcClient::RpcClient(zmq::context_t* context, EventLoop* loop) : context_(context), loop_(loop) {}

Result<size_t> RpcClient::AddPeer(const std::string& name, const std::string& endpoint) {
  auto peer = std::make_unique<Peer>(Peer{name, endpoint, zmq::socket_t(*context_, zmq::socket_type::dealer)});
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
  Message msg{id, std::move(body)};
  buffer_.clear();
  EncodeMessage(msg, &buffer_);
  Status s = SendDealer(peers_[peer]->socket, buffer_);
  if (!s.ok()) {
    std::string why = peers_[peer]->name + " is unavailable (" + s.message() + ")";
    loop_->RunAfter(std::chrono::milliseconds(0), [done = std::move(done), why] {
      done(Status::Unavailable(why));
    });
    return;
  }
  EventLoop::TimerId timer = loop_->RunAfter(timeout, [this, id, peer, timeout] {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    Callback cb = std::move(it->second.done);
    pending_.erase(it);
    cb(Status::TimedOut("no reply from " + peers_[peer]->name + " within " +
                        std::to_string(timeout.count()) + " ms"));
  });
  pending_.emplace(id, Pending{std::move(done), timer});
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
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;  // late reply: its caller already timed out
    Callback cb = std::move(it->second.done);
    loop_->Cancel(it->second.timer);
    pending_.erase(it);
    cb(std::move(*reply));
  }
}

}  // namespace kv2pc
