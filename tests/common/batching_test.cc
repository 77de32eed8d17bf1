// Batching (docs/protocol.md, "Batching"): several messages in one frame, decoded one by one;
// a server's replies batched per peer only for peers whose routing id asks for it; RpcClient
// sending the requests of one loop iteration as one frame.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/codec.h"
#include "common/event_loop.h"
#include "common/rpc.h"
#include "common/transport.h"

namespace kv2pc {
namespace {

using std::chrono::milliseconds;

std::string Encoded(uint64_t id, MessageBody body) {
  return EncodeMessage(Message{id, std::move(body)});
}

TEST(BatchingTest, DecodeNextMessageWalksAFrameOfSeveralMessages) {
  std::string frame = Encoded(1, PingRequest{}) + Encoded(2, CommitRequest{TxnId{0, 1, 5}}) +
                      Encoded(3, PingRequest{});
  size_t offset = 0;
  std::vector<uint64_t> ids;
  while (offset < frame.size()) {
    uint64_t id = 0;
    auto m = DecodeNextMessage(frame, &offset, &id);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->request_id, id);
    ids.push_back(id);
  }
  EXPECT_EQ(ids, std::vector<uint64_t>({1, 2, 3}));
  // DecodeMessage still takes exactly one message.
  auto whole = DecodeMessage(frame);
  ASSERT_FALSE(whole.ok());
  EXPECT_NE(whole.status().message().find("trailing bytes"), std::string::npos);
}

TEST(BatchingTest, ForEachMessageStopsAtTheFirstUndecodableMessage) {
  // A valid PING, then a msgpack value that is not a message, then another PING: the bad one
  // is reported once and the rest of the frame is dropped (junk must not fan out into one
  // error reply per byte).
  std::string frame =
      Encoded(1, PingRequest{}) + std::string(100, '\x01') + Encoded(2, PingRequest{});
  std::vector<std::pair<bool, uint64_t>> seen;
  ForEachMessage(frame, kRequestLimits,
                 [&](Result<Message> m, uint64_t id) { seen.emplace_back(m.ok(), id); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].first);
  EXPECT_EQ(seen[0].second, 1u);
  EXPECT_FALSE(seen[1].first);
}

// A ROUTER served on its own thread by an EventLoop with ServeRequests and a ReplySender, as the
// servers do; every request is answered with an empty OK reply.
class EchoServer {
 public:
  EchoServer() {
    ConfigureSocket(router_);
    router_.bind("tcp://127.0.0.1:*");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    loop_.AddSocket(&router_, [this] {
      ServeRequests(
          router_, 1024, [this](Message, ReplyToPtr to) { replies_.Send(*to, Reply{}); },
          &replies_);
    });
    loop_.AddIterationEndHook([this] {
      replies_.Flush();
      if (replies_.TakeSent()) loop_.RecheckSocket(&router_);
    });
    thread_ = std::thread([this] { loop_.Run(); });
  }
  ~EchoServer() {
    loop_.Stop();
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  zmq::context_t context_;
  zmq::socket_t router_{context_, zmq::socket_type::router};
  ReplySender replies_{&router_};
  EventLoop loop_;
  std::string endpoint_;
  std::thread thread_;
};

// Sends `frame` on a fresh DEALER and collects the reply frames until `expected` replies came
// (or 5 s passed): the request ids of each frame, in order.
std::vector<std::vector<uint64_t>> Exchange(const std::string& endpoint, bool accepts_batches,
                                            const std::string& frame, size_t expected) {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  ConfigureCallerSocket(s, accepts_batches);
  s.set(zmq::sockopt::rcvtimeo, 5000);
  s.set(zmq::sockopt::immediate, 0);  // queue until connected
  s.connect(endpoint);
  s.send(zmq::buffer(frame));
  std::vector<std::vector<uint64_t>> frames;
  size_t replies = 0;
  while (replies < expected) {
    zmq::message_t m;
    if (!s.recv(m)) break;
    std::vector<uint64_t> ids;
    ForEachMessage(View(m), kReplyLimits, [&](Result<Message> msg, uint64_t id) {
      EXPECT_TRUE(msg.ok());
      ids.push_back(id);
    });
    replies += ids.size();
    frames.push_back(ids);
  }
  return frames;
}

TEST(BatchingTest, ServerBatchesRepliesOnlyForPeersThatAskForIt) {
  EchoServer server;
  std::string frame;
  for (uint64_t id = 1; id <= 5; id++) frame += Encoded(id, PingRequest{});

  auto batched = Exchange(server.endpoint(), true, frame, 5);
  ASSERT_EQ(batched.size(), 1u) << "one frame in, one frame of replies out";
  EXPECT_EQ(batched[0], std::vector<uint64_t>({1, 2, 3, 4, 5}));

  auto plain = Exchange(server.endpoint(), false, frame, 5);
  ASSERT_EQ(plain.size(), 5u) << "a peer that did not ask gets one reply per frame";
  for (uint64_t i = 0; i < 5; i++) EXPECT_EQ(plain[i], std::vector<uint64_t>({i + 1}));
}

TEST(BatchingTest, JunkInsideABatchGetsOneErrorAndTheRestOfItsFrameIsDropped) {
  EchoServer server;
  std::string frame =
      Encoded(7, PingRequest{}) + std::string(50, '\x01') + Encoded(8, PingRequest{});
  auto frames = Exchange(server.endpoint(), true, frame, 2);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], std::vector<uint64_t>({7, 0}));  // the error reply has request id 0
  // Nothing more comes: the PING after the junk was dropped with it.
}

TEST(BatchingTest, RpcClientSendsTheCallsOfOneIterationAsOneFrame) {
  EchoServer server;
  zmq::context_t ctx;
  EventLoop loop;
  RpcClient rpc(&ctx, &loop);
  auto peer = rpc.AddPeer("echo", server.endpoint());
  ASSERT_TRUE(peer.ok());
  // Wait for the connection, so that the calls below are not held back in the backlog.
  int answered = 0;
  loop.RunAfter(milliseconds(0), [&] {
    rpc.Call(*peer, PingRequest{}, milliseconds(5000), [&](Result<Reply> r) {
      EXPECT_TRUE(r.ok());
      answered++;
      // The connection is up: ten calls from one callback leave together.
      for (int i = 0; i < 10; i++) {
        rpc.Call(*peer, PingRequest{}, milliseconds(5000), [&](Result<Reply> r2) {
          EXPECT_TRUE(r2.ok()) << r2.status().ToString();
          if (++answered == 11) loop.Stop();
        });
      }
    });
  });
  loop.RunAfter(milliseconds(10000), [&] { loop.Stop(); });  // bounded
  loop.Run();
  EXPECT_EQ(answered, 11);
  EXPECT_EQ(rpc.requests_sent(), 11u);
  // The first PING may have been retried from the backlog while the connection came up, but the
  // ten calls made together left in one frame.
  EXPECT_LE(rpc.frames_sent(), 2u);
  EXPECT_EQ(rpc.in_flight(), 0u);
}

TEST(BatchingTest, IterationEndHooksRunAfterEachIterationAndCanBeRemoved) {
  EventLoop loop;
  std::vector<std::string> order;
  auto hook = loop.AddIterationEndHook([&] { order.push_back("hook"); });
  loop.RunAfter(milliseconds(0), [&] {
    order.push_back("timer1");
    loop.RunAfter(milliseconds(1), [&] {
      order.push_back("timer2");
      loop.RemoveIterationEndHook(hook);
      loop.RunAfter(milliseconds(1), [&] {
        order.push_back("timer3");
        loop.Stop();
      });
    });
  });
  loop.Run();
  // An iteration may also end without a timer due (poll can return a little early), so the
  // hook may run more often between the timers; what matters is that it ran after timer1's
  // iteration and never after its removal.
  ASSERT_GE(order.size(), 4u);
  EXPECT_EQ(order[0], "timer1");
  EXPECT_EQ(order[1], "hook");
  auto t2 = std::find(order.begin(), order.end(), "timer2");
  ASSERT_NE(t2, order.end());
  EXPECT_EQ(std::count(t2, order.end(), "hook"), 0);
  EXPECT_EQ(order.back(), "timer3");
}

}  // namespace
}  // namespace kv2pc
