// The summaries topic read whole (docs/design.md, "Several instances"): every
// partition from its beginning, assigned and not subscribed (outside any
// consumer group, the GlobalKTable pattern), so that every instance holds
// every task's latest summary of every wijk and computes the same views. Each
// decoded summary is handed on; which one is newest is the global stage's
// rule (score/global_stage.h), not the reader's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kafka/kafka_settings.h"
#include "process/health.h"
#include "score/aggregates_codec.h"

namespace wijkpuls {

class SummariesReader {
 public:
  // Called on the reader's thread with the summaries of one poll.
  using Handler = std::function<void(std::vector<Summary>)>;
  // Until caught up, `health` (may be null) has the problem "summaries": the
  // views may lack other instances' wijken.
  static absl::StatusOr<std::unique_ptr<SummariesReader>> Make(const KafkaSettings& settings, int indicator_count,
                                                               Handler handler, Health* health);
  ~SummariesReader();
  void Start();
  void Stop();

  // Every partition has been read to the end it had when it was assigned:
  // the views reflect every summary written before this instance started.
  bool CaughtUp() const;
  // Why not yet (for /readyz); empty once caught up.
  std::string Status() const;
  struct Counts {
    int64_t read = 0;     // summaries decoded and handed on
    int64_t corrupt = 0;  // records that are not a summary (ignored)
  };
  Counts counts() const;

 private:
  struct Impl;
  explicit SummariesReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wijkpuls
