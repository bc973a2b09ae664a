// The counts behind the quality view (GET /api/v1/quality) of one wijk:
// counted, flagged by flag, rejected by reason, don't-know and refusal
// answers and durations, in total, per mode and per interviewer. Counted
// responses are added with sign +1 and removed on withdrawal with sign -1;
// entries that fall to zero are erased, so a tally equals one rebuilt from
// the stored responses.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "model/response.h"
#include "validate/rules.h"
#include "model/types.h"

namespace wijkpuls {

// Seconds -> responses, in order of seconds, with no zero counts. The
// tallies live in the wijk states that are copied on write once per batch and
// encoded whole into each commit, so this is one sorted array (one allocation
// to copy or free), not a tree of nodes. Adds go to a short unsorted tail
// first, merged into the array when it is full: a sorted insert per response
// (a binary search and a shift of half the array, for the few thousand
// distinct seconds of a wijk) was 6.8% of a replay's CPU (bench/history.md,
// "2026-12-06, evening"). Readers see the merged counts (Sorted()) whether or
// not the tail was merged, without changing the object: a published state is
// read by several threads.
class DurationCounts {
 public:
  using value_type = std::pair<int64_t, int64_t>;
  // The counts in order of seconds: a view of the array, or a merged copy
  // when the tail holds adds.
  class View {
   public:
    std::vector<value_type>::const_iterator begin() const { return data().begin(); }
    std::vector<value_type>::const_iterator end() const { return data().end(); }
    size_t size() const { return data().size(); }
    bool empty() const { return data().empty(); }

   private:
    friend class DurationCounts;
    const std::vector<value_type>& data() const { return sorted_ != nullptr ? *sorted_ : merged_; }
    const std::vector<value_type>* sorted_ = nullptr;
    std::vector<value_type> merged_;
  };

  DurationCounts() = default;
  DurationCounts(std::initializer_list<value_type> entries) { AddAll(entries); }
  // Adds `n` (negative to remove) responses of `secs`; a count that falls to
  // zero is erased, so a tally equals one rebuilt from the stored responses.
  void Add(int64_t secs, int64_t n) {
    if (n == 0) return;
    tail_.emplace_back(secs, n);
    if (tail_.size() >= kTail) Settle();
  }
  // Adds every entry of `other` (one pass over both; counts may be negative).
  void Add(const DurationCounts& other);
  // Adds entries in any order (a second may repeat).
  void AddAll(std::vector<value_type> entries);
  // Merges the tail into the array (an optimisation only: readers merge it too).
  void Settle();
  View Sorted() const;
  size_t size() const { return Sorted().size(); }
  bool empty() const { return tail_.empty() ? v_.empty() : Sorted().empty(); }
  friend bool operator==(const DurationCounts& a, const DurationCounts& b);

 private:
  static constexpr size_t kTail = 32;
  // Merges `sorted` (in order of seconds, one entry per second) into v_.
  void MergeSorted(const std::vector<value_type>& sorted);
  std::vector<value_type> v_;     // sorted, no zero counts
  std::vector<value_type> tail_;  // unsorted adds, fewer than kTail
};

struct QualityGroup {
  int64_t accepted = 0;
  int64_t flagged = 0;
  std::array<int64_t, kQualityFlagCount> by_flag{};
  std::array<int64_t, kRejectReasonCount> rejected{};
  // Kept answer entries of counted responses, and how many were 98, 99, 97.
  int64_t answers = 0;
  int64_t dont_know = 0;
  int64_t refused = 0;
  int64_t not_applicable = 0;
  // Whole seconds from started_at to submitted_at -> counted responses.
  DurationCounts durations;

  bool Empty() const;
  // Adds `other` field by field.
  void Add(const QualityGroup& other);
  friend bool operator==(const QualityGroup&, const QualityGroup&) = default;
};

struct QualityTally {
  QualityGroup total;
  std::array<QualityGroup, kModeCount> by_mode{};
  absl::btree_map<std::string, QualityGroup> by_interviewer;
  absl::btree_map<uint16_t, int64_t> dropped_by_item;  // codebook item -> entries dropped as invalid
  int64_t unknown_items = 0;
  int64_t other_instrument_items = 0;

  // A counted (accepted or flagged) response; sign -1 removes it again.
  void AddCounted(const CountedResponse& r, bool flagged, int sign);
  // A rejected record; sign -1 removes it again.
  void AddRejected(const Attribution& a, RejectReason reason, int sign = 1);
  // Adds another tally, e.g. the change a batch made to this one (whose
  // counts may be negative): adding to T the change from T to T' gives T',
  // erased entries and all, whatever the order changes are added in.
  void Add(const QualityTally& change);
  // Merges the duration tails (DurationCounts::Settle): before a state is
  // encoded and published, so its readers need not merge them.
  void Settle();
  bool Empty() const { return *this == QualityTally{}; }
  friend bool operator==(const QualityTally&, const QualityTally&) = default;
};

// Quartiles of a duration histogram by the nearest-rank method: the smallest
// value with at least ceil(p * N) observations at or below it. Empty: nullopt.
struct Quartiles {
  int64_t q1 = 0, median = 0, q3 = 0;
  int64_t count = 0;
};
std::optional<Quartiles> DurationQuartiles(const DurationCounts& durations);

}  // namespace wijkpuls
