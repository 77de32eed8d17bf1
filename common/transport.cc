// See transport.h.
#include "common/transport.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
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

void ConfigureCallerSocket(zmq::socket_t& socket, bool accepts_batches) {
  ConfigureSocket(socket);
  if (accepts_batches) {
    // A routing id must be unique per server: the prefix and 16 random hex digits.
    static thread_local std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(getpid())
                                                                         << 32);
    char hex[17];
    snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(rng()));
    socket.set(zmq::sockopt::routing_id, std::string(kBatchingIdPrefix) + hex);
  }
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

bool BatchingEnabled() {
  static const bool enabled = [] {
    const char* v = getenv("KV2PC_BATCHING");
    return v == nullptr || std::string_view(v) != "0";
  }();
  return enabled;
}

void ForEachMessage(std::string_view frame, const DecodeLimits& limits,
                    const std::function<void(Result<Message>, uint64_t)>& fn) {
  size_t offset = 0;
  do {
    uint64_t request_id = 0;
    Result<Message> msg = DecodeNextMessage(frame, &offset, &request_id, limits);
    const bool ok = msg.ok();
    fn(std::move(msg), request_id);
    // The rest of a frame after a message that does not decode is dropped: junk must not
    // turn into one error reply per byte.
    if (!ok) return;
  } while (offset < frame.size());
}

namespace {
constexpr size_t kKeptBatchCapacity = 64 * 1024;
}  // namespace

void ReplySender::Send(const ReplyTo& to, const Reply& reply) {
  replies_sent_++;
  // The first envelope frame is the ROUTER's routing id of the peer.
  bool batches = !to.envelope.empty() &&
                 View(to.envelope.front()).substr(0, kBatchingIdPrefix.size()) == kBatchingIdPrefix;
  if (!batches) {
    frames_sent_++;
    SendReply(*router_, to, reply, &scratch_);
    return;
  }
  std::string key;
  for (const auto& f : to.envelope) {
    key += std::to_string(f.size());
    key += ':';
    key.append(static_cast<const char*>(f.data()), f.size());
  }
  auto [it, inserted] = batches_.try_emplace(std::move(key));
  Batch& b = it->second;
  if (b.envelope.empty()) {
    for (const auto& f : to.envelope) b.envelope.emplace_back(f.data(), f.size());
  }
  if (b.bytes.empty()) dirty_.push_back(it->first);
  EncodeMessage(Message{to.request_id, reply}, &b.bytes);
  if (b.bytes.size() >= kMaxBatchBytes || !BatchingEnabled())
    SendBatch(&b);  // stays in dirty_; Flush skips it
}

void ReplySender::SendBatch(Batch* b) {
  if (b->bytes.empty()) return;
  frames_sent_++;
  std::vector<zmq::message_t> envelope;
  envelope.reserve(b->envelope.size());
  for (const auto& f : b->envelope) envelope.emplace_back(f.data(), f.size());
  SendRouted(*router_, &envelope, b->bytes);
  b->bytes.clear();
  // Kept per peer until the map is cleared: do not keep a large reply's capacity with it.
  if (b->bytes.capacity() > kKeptBatchCapacity) std::string().swap(b->bytes);
}

void ReplySender::Flush() {
  for (const std::string& key : dirty_) {
    auto it = batches_.find(key);
    if (it != batches_.end()) SendBatch(&it->second);
  }
  dirty_.clear();
  // Peers come and go (every client socket has its own id): keep the map small.
  if (batches_.size() > 1024) batches_.clear();
}

void FlushRepliesBeforeExit(zmq::socket_t& router) {
  try {
    router.set(zmq::sockopt::linger, 200);
    router.close();  // libzmq's I/O thread keeps sending for up to the linger
  } catch (const zmq::error_t&) {
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

void ServeRequests(zmq::socket_t& router, int max_frames,
                   const std::function<void(Message, ReplyToPtr)>& dispatch, ReplySender* replies) {
  RoutedRequest req;
  bool dropped = false;
  for (int i = 0; i < max_frames && RecvRouted(router, &req, &dropped); i++) {
    if (dropped) {
      spdlog::warn("dropped a message with bad framing");
      continue;
    }
    auto envelope = std::make_shared<std::vector<zmq::message_t>>(std::move(req.envelope));
    ForEachMessage(View(req.payload), kRequestLimits, [&](Result<Message> msg, uint64_t id) {
      auto to = std::make_shared<ReplyTo>();
      to->request_id = id;
      // Each request of a frame gets its own copy of the envelope (a few bytes).
      to->envelope.reserve(envelope->size());
      for (const auto& f : *envelope) to->envelope.emplace_back(f.data(), f.size());
      if (!msg.ok()) {
        spdlog::warn("rejected a malformed request: {}", msg.status().message());
        replies->Send(*to, Reply::Error(DecodeErrorCode(msg.status()), msg.status().message()));
        return;
      }
      dispatch(std::move(msg).value(), std::move(to));
    });
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
