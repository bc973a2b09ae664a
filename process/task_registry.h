// Which pipeline of this process holds which task (input partition of the
// responses topic). An instance runs `pipeline.threads` pipelines, each a
// member of the consumer group with a consumer of its own, over one state
// store (docs/design.md, "Several instances"). The group moves tasks between
// them as between instances; this registry makes the one store safe for it:
// - a pipeline never writes a task another pipeline of the process holds (a
//   late write of one that lost its partitions without noticing yet, a
//   "zombie", is refused and its batch is read again);
// - a pipeline taking a task waits until any write of it by another has
//   ended, so what it loads is the last state written;
// - a task's stored state is dropped only when no pipeline here has held it
//   for pipeline.keep_revoked_s, and never while one takes it.
// With one pipeline it is the bookkeeping of revoked tasks alone. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <vector>

namespace wijkpuls {

class TaskRegistry {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `member` holds `task` from now on. Waits while another member writes or
  // drops it.
  void Take(int member, int32_t task);
  // `member` no longer holds `task` (revoked) since `since`.
  void Give(int member, int32_t task, TimePoint since);
  // A task stored here that no member was given (at the first assignment):
  // unheld since `since`, unless a member holds it. An earlier time stays.
  void Unheld(int32_t task, TimePoint since);
  // The member holding `task`; -1: none.
  int Holder(int32_t task) const;

  // Whether some task has been held by no member for `keep` at `now`.
  bool AnyDue(TimePoint now, std::chrono::seconds keep) const;
  // Those tasks, claimed by `member` to drop in its next write: no member
  // takes them until EndWrite.
  std::vector<int32_t> ClaimDrops(int member, TimePoint now, std::chrono::seconds keep);
  // Before `member` writes a batch of `tasks`: false (and nothing marked) if
  // another member holds one of them, or (`held_only`: the instance runs
  // several pipelines) if `member` does not hold one; else they are marked
  // being written.
  bool BeginWrite(int member, const std::set<int32_t>& tasks, bool held_only = false);
  // After the write (or instead of it): the tasks are free to be taken; the
  // drops claimed are done when `written`, else due again.
  void EndWrite(int member, bool written);
  // Members waiting in Take (for tests).
  int waiting() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<int32_t, int> holder_;
  std::map<int32_t, TimePoint> unheld_;
  std::map<int32_t, int> busy_;                   // task -> member writing or dropping it
  std::map<int, std::vector<int32_t>> dropping_;  // member -> drops claimed
  int waiting_ = 0;
};

}  // namespace wijkpuls
