// BackgroundWorker: one thread that runs posted tasks in order, so that an event loop can hand
// off work that may block on the disk (directory fsyncs when trimming a log) instead of
// stalling every request behind it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace kv2pc {

class BackgroundWorker {
 public:
  BackgroundWorker();
  // Runs the tasks already posted, then joins the thread.
  ~BackgroundWorker();
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;

  // Thread-safe. `task` runs on the worker thread, after every task posted before it.
  void Post(std::function<void()> task);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;               // signalled by Post() and the destructor
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::thread thread_;
};

}  // namespace kv2pc
