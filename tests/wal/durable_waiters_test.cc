// DurableWaiters: callbacks run in LSN order once durable, and every parked callback hears the
// failure when the log fails (so servers answer parked requests before they stop).
#include "wal/durable_waiters.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "tests/testutil/faulty_fs.h"

namespace kv2pc::wal {
namespace {

class DurableWaitersTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> Open() {
    LogOptions o;
    o.lazy_flush_delay = std::chrono::seconds(60);
    o.dir = "/log";
    o.segment_size = 64 * 1024;
    o.fs = &fs_;
    auto log = Log::Open(o, [](const RecordView&) { return Status::OK(); });
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return std::move(log).value();
  }
  testutil::FaultyFileSystem fs_;
};

TEST_F(DurableWaitersTest, RunsCallbacksInLsnOrderOnceDurable) {
  auto log = Open();
  DurableWaiters w(log.get());
  std::vector<Lsn> ran;
  // Lazy records: the flusher leaves them alone (for lazy_flush_delay, 60 s here) until
  // WaitDurable asks, so both callbacks are parked first -- with forced ones it may already
  // have synced `a` and `b`, and the callbacks run at once in registration order.
  Lsn a = *log->AppendLazy(1, "a");
  Lsn b = *log->AppendLazy(1, "b");
  ASSERT_LT(log->durable_lsn(), a);
  w.WhenDurable(b, [&](const Status& s) {
    EXPECT_TRUE(s.ok());
    ran.push_back(b);
  });
  w.WhenDurable(a, [&](const Status& s) {
    EXPECT_TRUE(s.ok());
    ran.push_back(a);
  });
  ASSERT_TRUE(log->WaitDurable(b).ok());
  EXPECT_TRUE(w.Poll().ok());
  EXPECT_EQ(ran, (std::vector<Lsn>{a, b}));
  EXPECT_EQ(w.size(), 0u);
  bool now = false;  // already durable: runs at once
  w.WhenDurable(a, [&](const Status&) { now = true; });
  EXPECT_TRUE(now);
}

TEST_F(DurableWaitersTest, EveryParkedCallbackHearsTheFailure) {
  auto log = Open();
  DurableWaiters w(log.get());
  ASSERT_TRUE(log->WaitDurable(*log->Append(1, "fine")).ok());
  fs_.FailNthSync(1);
  int failed = 0;
  for (int i = 0; i < 3; i++) {
    // The flusher may fail the log before all three are appended: then Append itself refuses.
    Result<Lsn> lsn = log->Append(1, "doomed");
    if (!lsn.ok()) {
      failed += lsn.status().IsIOError();
      continue;
    }
    w.WhenDurable(*lsn, [&](const Status& s) { failed += s.IsIOError(); });
  }
  (void)log->WaitDurable(log->last_lsn());  // the flusher hits the failed sync
  Status s = w.Poll();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ(failed, 3);
  EXPECT_EQ(w.size(), 0u);
}

}  // namespace
}  // namespace kv2pc::wal
