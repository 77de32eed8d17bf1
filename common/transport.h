// ZeroMQ framing shared by every kv2pc process (docs/protocol.md, "Framing").
//
// Servers bind a ROUTER socket. A request arrives as [identity, envelope..., payload]: the
// payload is always the last frame; any frames between the identity and the payload (the
// empty delimiter a REQ socket adds, for instance) are the envelope and are echoed back
// unchanged, so REQ, DEALER and ROUTER clients all work. Peers that call servers (the
// coordinator calling participants, participants calling coordinators, the client) use a
// DEALER socket and send just [payload]; replies are matched by request_id, so any number of
// requests can be in flight on one socket.
//
// All sends are non-blocking: a server never waits on a slow or dead peer. Exceptions from
// cppzmq stop here; callers get a Status or a bool.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "common/codec.h"
#include "common/messages.h"
#include "common/status.h"

namespace kv2pc {

// Options every kv2pc socket gets: no linger on close, kMaxMessageSize (a peer sending more
// is disconnected by libzmq before the bytes are read), TCP keepalive and ZMTP heartbeats so
// a dead peer is noticed.
void ConfigureSocket(zmq::socket_t& socket);
// For DEALER sockets that call a server: additionally ZMQ_IMMEDIATE, so that while the peer
// is down a send fails at once instead of queueing (RpcClient decides how long to retry), and
// a reconnect interval of 100 ms backing off to 500 ms. With `accepts_batches`, the socket's
// routing id starts with kBatchingIdPrefix: it tells servers that it reads frames holding
// several replies (see ReplySender).
void ConfigureCallerSocket(zmq::socket_t& socket, bool accepts_batches = true);

// Batching (docs/protocol.md, "Batching"): a frame may carry several messages back to back.
// Servers accept such frames from anyone; they send several replies in one frame only to a
// DEALER whose routing id starts with this prefix (kv2pc's own nodes, client and bench).
inline constexpr std::string_view kBatchingIdPrefix = "kv2pc+b/";
// False when the environment sets KV2PC_BATCHING=0: every message then leaves in its own frame
// as soon as it is made (for measuring what batching buys; docs/benchmarks.md).
bool BatchingEnabled();
// A batch is sent as soon as it reaches this size, well under kMaxMessageSize.
inline constexpr size_t kMaxBatchBytes = 256 * 1024;

// Calls fn(Result<Message>, request_id) for every message in `frame` (one or more back to
// back). Stops after the first message that does not decode (reported once, as an error):
// the rest of that frame is dropped.
void ForEachMessage(std::string_view frame, const DecodeLimits& limits,
                    const std::function<void(Result<Message>, uint64_t request_id)>& fn);

// Binds, turning zmq errors into a Status ("cannot listen on X: Address already in use").
Status Bind(zmq::socket_t& socket, const std::string& endpoint);
Status Connect(zmq::socket_t& socket, const std::string& endpoint);

// A request read from a ROUTER socket.
struct RoutedRequest {
  std::vector<zmq::message_t> envelope;  // identity + any delimiter frames
  zmq::message_t payload;
};

// Where to send the reply to one request read from a ROUTER: its envelope and request id.
// Shared, because a reply may be parked (on a lock, on the disk) and answered later.
struct ReplyTo {
  std::vector<zmq::message_t> envelope;
  uint64_t request_id = 0;
};
using ReplyToPtr = std::shared_ptr<ReplyTo>;

// Sends `reply` to `to` (the envelope is copied, so `to` can be answered again).
// `scratch` is a reusable encode buffer. Never blocks; a reply to a gone peer is dropped.
void SendReply(zmq::socket_t& router, const ReplyTo& to, const Reply& reply, std::string* scratch);

// A server's replies, batched per peer: Send() to a peer that accepts batches (its routing id
// starts with kBatchingIdPrefix) appends the reply to that peer's frame, and Flush() (at the end
// of each event-loop iteration) sends every frame; replies to other peers leave at once. So N
// replies that become ready together (a group commit's votes, say) cost one ZeroMQ message,
// not N. Order per peer is kept. Never blocks; replies to a gone peer are dropped.
class ReplySender {
 public:
  explicit ReplySender(zmq::socket_t* router) : router_(router) {}
  void Send(const ReplyTo& to, const Reply& reply);
  void Flush();
  uint64_t frames_sent() const { return frames_sent_; }
  uint64_t replies_sent() const { return replies_sent_; }
  // True if a frame was sent since the last call (the event loop must then recheck the
  // router: EventLoop::RecheckSocket).
  bool TakeSent() {
    bool sent = frames_sent_ != frames_checked_;
    frames_checked_ = frames_sent_;
    return sent;
  }

 private:
  struct Batch {
    std::vector<zmq::message_t> envelope;
    std::string bytes;
  };
  void SendBatch(Batch* b);
  zmq::socket_t* const router_;
  std::unordered_map<std::string, Batch> batches_;  // by the envelope's bytes
  std::vector<std::string> dirty_;                  // keys of batches_ with bytes to send
  std::string scratch_;
  uint64_t frames_sent_ = 0;
  uint64_t replies_sent_ = 0;
  uint64_t frames_checked_ = 0;
};

// Reads one multipart message without blocking. Returns false when there is none. Messages
// with too many frames or no payload are read whole and dropped (*dropped set to true).
bool RecvRouted(zmq::socket_t& router, RoutedRequest* out, bool* dropped);

// Sends `payload` back along `envelope` (which is consumed). Never blocks: a reply to a peer
// that is gone or not reading is dropped. Returns false if it was dropped.
bool SendRouted(zmq::socket_t& router, std::vector<zmq::message_t>* envelope,
                std::string_view payload);

// Gives replies already queued on `router` a bounded time (up to 200 ms) to leave before the
// process exits: closes the socket with a linger and waits. For fail-stop exits, which skip
// every destructor, so that parked requests answered just before still get their answers.
void FlushRepliesBeforeExit(zmq::socket_t& router);

// Reads up to `max_frames` frames from a server's ROUTER without blocking, decodes every
// request in each and hands it to `dispatch` with where to reply. Bad framing is dropped;
// undecodable payloads get the error reply (MALFORMED_REQUEST or UNSUPPORTED_VERSION) here, so
// dispatch only ever sees well-formed messages. Both go to the log as warnings.
void ServeRequests(zmq::socket_t& router, int max_frames,
                   const std::function<void(Message, ReplyToPtr)>& dispatch, ReplySender* replies);

// Sends one frame on a DEALER socket without blocking. Unavailable if the peer is not
// connected (ZMQ_IMMEDIATE) or its queue is full.
Status SendDealer(zmq::socket_t& dealer, std::string_view payload);

// Reads one whole message from a DEALER without blocking into *payload (the last frame).
// Returns false when none is waiting.
bool RecvDealer(zmq::socket_t& dealer, zmq::message_t* payload);

inline std::string_view View(const zmq::message_t& m) {
  return std::string_view(static_cast<const char*>(m.data()), m.size());
}

}  // namespace kv2pc
