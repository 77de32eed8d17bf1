// EventLoop timers: order, cancellation (also from inside a callback), and that a cancelled
// timer is gone at once rather than kept until its deadline.
#include "common/event_loop.h"

#include <gtest/gtest.h>

#include <vector>

namespace kv2pc {
namespace {

using std::chrono::milliseconds;

TEST(EventLoopTest, TimersFireInDeadlineOrderAndCancelledOnesNever) {
  EventLoop loop;
  std::vector<int> fired;
  loop.RunAfter(milliseconds(30), [&] { fired.push_back(3); });
  loop.RunAfter(milliseconds(10), [&] { fired.push_back(1); });
  EventLoop::TimerId cancelled = loop.RunAfter(milliseconds(20), [&] { fired.push_back(2); });
  loop.RunAfter(milliseconds(40), [&] {
    fired.push_back(4);
    loop.Stop();
  });
  loop.Cancel(cancelled);
  loop.Cancel(cancelled);  // harmless twice
  loop.Cancel(0);          // never a timer id
  loop.Run();
  EXPECT_EQ(fired, std::vector<int>({1, 3, 4}));
  EXPECT_EQ(loop.pending_timers(), 0u);
}

TEST(EventLoopTest, ACallbackMayCancelALaterTimerAndAddOne) {
  EventLoop loop;
  std::vector<int> fired;
  EventLoop::TimerId later = loop.RunAfter(milliseconds(20), [&] { fired.push_back(99); });
  loop.RunAfter(milliseconds(10), [&] {
    fired.push_back(1);
    loop.Cancel(later);
    loop.RunAfter(milliseconds(5), [&] {
      fired.push_back(2);
      loop.Stop();
    });
  });
  loop.Run();
  EXPECT_EQ(fired, std::vector<int>({1, 2}));
}

TEST(EventLoopTest, CancelledTimersDoNotAccumulate) {
  EventLoop loop;
  for (int i = 0; i < 100000; i++) loop.Cancel(loop.RunAfter(milliseconds(10000), [] {}));
  EXPECT_EQ(loop.pending_timers(), 0u);
}

}  // namespace
}  // namespace kv2pc
