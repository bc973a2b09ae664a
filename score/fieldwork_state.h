// All aggregate state: one WijkState per (wave, wijk), shared copy-on-write so
// that a published snapshot stays immutable while the pipeline goes on.
// Not thread-safe: one writer (the pipeline) owns a FieldworkState; readers
// get their own copy (cheap: it copies pointers).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "score/wijk_state.h"

namespace wijkpuls {

// The aggregates a batch changed, each with what it changed in its quality
// tally: the store writes quota and statistics whole, but the quality tally
// as its change, since the tally grows with the season (a duration entry per
// distinct second, a group per interviewer) and its change with the batch.
using ChangedAggregates = std::map<StateKey, QualityTally>;

class FieldworkState {
 public:
  using Map = std::map<StateKey, std::shared_ptr<const WijkState>>;

  const WijkState* Find(const StateKey& key) const;
  // The state of `key` for writing; clones it first when a snapshot shares it.
  WijkState& Mutable(const StateKey& key);
  void Put(const StateKey& key, std::shared_ptr<const WijkState> state);
  void Clear() { wijken_.clear(); }

  // The wave's event-time watermark: the largest over its wijken; 0 if none.
  UnixNanos Watermark(const std::string& wave) const;
  const Map& wijken() const { return wijken_; }
  std::set<std::string> Waves() const;

  friend bool operator==(const FieldworkState& a, const FieldworkState& b);

 private:
  Map wijken_;
};

}  // namespace wijkpuls
