// See transport.h.
#include "common/transport.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "common/codec.h"
#include "common/types.h"

namespace kv2pc {

namespace {
// What a sender may send: at most a few envelope frames (REQ adds one delimiter; a proxy
// may add more) and the payload. The ROUTER adds the identity in front. Anything longer is
// not a kv2pc peer.
constexpr size_t kMaxFrames = 8;
}  // namespace

void ConfigureSocket(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, kMaxMessageSize);
  socket.set(zmq::sockopt::tcp_keepalive, 1);
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 5000);
  socket.set(zmq::sockopt::sndhwm, 100000);
  socket.set(zmq::sockopt::rcvhwm, 100000);
}

void ConfigureCallerSocket(zmq::socket_t& socket) {
  ConfigureSocket(socket);
  socket.set(zmq::sockopt::immediate, 1);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 500);
}

Status Bind(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot listen on " + endpoint + ": " + e.what());
  }
  return Status::OK();
}

Status Connect(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("cannot connect to " + endpoint + ": " + e.what());
  }
  return Status::OK();
}

bool RecvRouted(zmq::socket_t& router, RoutedRequest* out, bool* dropped) {
  *dropped = false;
  out->envelope.clear();
  std::vector<zmq::message_t> frames;
  try {
    zmq::message_t frame;
    if (!router.recv(frame, zmq::recv_flags::dontwait)) return false;
    frames.push_back(std::move(frame));
    while (frames.back().more()) {
      zmq::message_t next;
      // The rest of a multipart message is already here: libzmq delivers it atomically.
      if (!router.recv(next, zmq::recv_flags::dontwait)) break;
      if (frames.size() < kMaxFrames + 1) {
        frames.push_back(std::move(next));
      } else {
        frames.back() = std::move(next);  // keep draining, remember only that it was too long
        *dropped = true;
      }
    }
  } catch (const zmq::error_t&) {
    *dropped = true;
    return true;
  }
  if (*dropped || frames.size() < 2) {
    *dropped = true;
    return true;
  }
  out->payload = std::move(frames.back());
  frames.pop_back();
  out->envelope = std::move(frames);
  return true;
}

bool SendRouted(zmq::socket_t& router, std::vector<zmq::message_t>* envelope,
                std::string_view payload) {
  try {
    for (auto& f : *envelope) {
      if (!router.send(f, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
    }
    return router.send(zmq::buffer(payload.data(), payload.size()), zmq::send_flags::dontwait)
        .has_value();
  } catch (const zmq::error_t&) {
    return false;  // EHOSTUNREACH and friends: the peer is gone
  }
}

void SendReply(zmq::socket_t& router, const ReplyTo& to, const Reply& reply, std::string* scratch) {
  scratch->clear();
  EncodeMessage(Message{to.request_id, reply}, scratch);
  std::vector<zmq::message_t> envelope;
  envelope.reserve(to.envelope.size());
  for (const auto& f : to.envelope) envelope.emplace_back(f.data(), f.size());
  SendRouted(router, &envelope, *scratch);
}

void FlushRepliesBeforeExit(zmq::socket_t& router) {
  try {
    router.set(zmq::sockopt::linger, 200);
    router.close();  // libzmq's I/O thread keeps sending for up to the linger
  } catch (const zmq::error_t&) {
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

void ServeRequests(zmq::socket_t& router, int max_batch,
                   const std::function<void(Message, ReplyToPtr)>& dispatch, std::string* scratch) {
  RoutedRequest req;
  bool dropped = false;
  for (int i = 0; i < max_batch && RecvRouted(router, &req, &dropped); i++) {
    if (dropped) {
      spdlog::warn("dropped a message with bad framing");
      continue;
    }
    auto to = std::make_shared<ReplyTo>();
    to->envelope = std::move(req.envelope);
    Result<Message> msg = DecodeMessage(View(req.payload), &to->request_id);
    if (!msg.ok()) {
      spdlog::warn("rejected a malformed request: {}", msg.status().message());
      SendReply(router, *to, Reply::Error(DecodeErrorCode(msg.status()), msg.status().message()),
                scratch);
      continue;
    }
    dispatch(std::move(msg).value(), std::move(to));
  }
}

Status SendDealer(zmq::socket_t& dealer, std::string_view payload) {
  try {
    if (!dealer.send(zmq::buffer(payload.data(), payload.size()), zmq::send_flags::dontwait)) {
      return Status::Unavailable("peer not connected");
    }
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("send failed: ") + e.what());
  }
  return Status::OK();
}

bool RecvDealer(zmq::socket_t& dealer, zmq::message_t* payload) {
  try {
    zmq::message_t frame;
    if (!dealer.recv(frame, zmq::recv_flags::dontwait)) return false;
    while (frame.more()) {
      zmq::message_t next;
      if (!dealer.recv(next, zmq::recv_flags::dontwait)) break;
      frame = std::move(next);
    }
    *payload = std::move(frame);
    return true;
  } catch (const zmq::error_t&) {
    return false;
  }
}

}  // namespace kv2pc
