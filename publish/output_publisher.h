// Publishes the committed state to an OutputSink (the compacted output topics,
// or files): a QuotaSnapshot per wijk (key "<wave>/<wijk>") when it changed
// (debounced, and at once when an instrument became COMPLETE), and
// ProvisionalScores per unit (key "<wave>/<level>/<unit>") at most once per
// interval when changed, and everything still unpublished on shutdown. A value
// is computed when it may be sent, from the newest state: not on every
// committed batch (a snapshot projects the wijk's precision, a unit's scores
// estimate all its wijken). Runs on
// its own thread, so publishing never blocks ingestion. At-least-once: a
// failed delivery is retried with the latest value; after a restart every key
// is published once.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "process/state_hub.h"
#include "publish/output_sink.h"
#include "publish/views.h"

namespace wijkpuls {

struct OutputOptions {
  std::chrono::milliseconds quota_debounce{2000};
  std::chrono::milliseconds scores_interval{10000};
  // A task's summary of a wijk is sent at most this often (the summaries
  // topic: docs/design.md, "Several instances"); 0: never.
  std::chrono::milliseconds summary_interval{1000};
  // Every held summary is sent again this often, changed or not: in the
  // compacted topic a late write of an older summary (an instance paused past
  // its session) may be a key's last value, which an instance that starts
  // later would read; 0: never.
  std::chrono::milliseconds summary_refresh{60000};
  std::string instance;  // named in the summaries
  ViewSettings views;
};

struct OutputStats {
  uint64_t published = 0;        // records delivered
  uint64_t errors = 0;           // failed deliveries (retried)
  int64_t queue = 0;             // records waiting in the producer
  int64_t unpublished = 0;       // keys whose latest value is not yet delivered
  std::chrono::system_clock::time_point last_publish{};
};

class OutputPublisher {
 public:
  // `sink` may be null: values are computed but not sent.
  OutputPublisher(const StateHub& hub, std::unique_ptr<OutputSink> sink, OutputOptions options);
  ~OutputPublisher();
  void Start();
  // Publishes what is still unpublished and waits up to `timeout` for it;
  // true when every value was delivered. (Also without Start: the end state
  // published once.)
  bool Stop(std::chrono::milliseconds timeout);
  OutputStats Stats() const;

 private:
  struct KeyState {
    OutputRecord::Kind kind = OutputRecord::Kind::kQuota;
    std::string latest;      // latest serialized value
    std::string delivered;   // last value confirmed delivered
    std::string in_flight;   // value sent, not yet confirmed
    // Not sent again before this (the debounce or interval after a send; after
    // a failed delivery, at most kRetryDelay: the debounce limits how often
    // consumers see a key change, and they have not seen this value).
    std::chrono::steady_clock::time_point not_before{};
    bool urgent = false;     // publish without waiting (an instrument became COMPLETE)
    // Quota and scores keys are built when due, not on every state: `stale`
    // says `latest` is of an older state, whose inputs differ from `inputs`.
    // What to build it from (the newest state's): the wave, and the wijk's
    // quota or the unit.
    bool stale = false;
    struct Inputs {
      const Methodology* methodology = nullptr;
      const DistrictRegister* districts = nullptr;
      UnixNanos watermark = 0;
      std::vector<std::shared_ptr<const WijkState>> wijken;  // held, so a pointer is never reused
      bool operator==(const Inputs&) const = default;
    } inputs;
    const Wave* wave = nullptr;
    WijkQuota quota;
    UnitRef unit;
    std::array<QuotaStatus, kInstrumentCount> built_statuses{};  // of `latest` (quota keys)
  };
  static constexpr std::chrono::milliseconds kRetryDelay{1000};
  void Loop();
  // Takes a new state: marks the keys whose inputs changed, builds at once a
  // quota whose instrument became COMPLETE.
  void Compute(std::shared_ptr<const CommittedState> cs);
  // Serialises a stale key's value from current_ (ToQuotaSnapshot or ComputeScores).
  void Build(KeyState& k);
  void MarkInputs(KeyState& k, KeyState::Inputs inputs);
  void Send(bool all_due);
  void HandleDeliveries(const std::vector<Delivery>& ds);

  const StateHub& hub_;
  std::unique_ptr<OutputSink> sink_;
  OutputOptions options_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  uint64_t seen_version_ = 0;
  std::shared_ptr<const CommittedState> current_;  // the newest state Compute took
  std::map<std::string, KeyState> keys_;  // by Kafka key
  // The summary last encoded per task and wijk: encoded again only when the
  // state (copy-on-write: a new object) or its position changed.
  struct Encoded {
    std::shared_ptr<const WijkState> state;
    SummaryPosition position;
  };
  std::map<std::pair<int32_t, StateKey>, Encoded> summaries_;
  std::chrono::steady_clock::time_point next_summary_refresh_ = std::chrono::steady_clock::now();
  std::map<uint64_t, std::string> in_flight_;  // delivery id -> key
  uint64_t next_id_ = 1;
  mutable std::mutex stats_mu_;
  OutputStats stats_;
};

}  // namespace wijkpuls
