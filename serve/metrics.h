// The Prometheus metrics of wijkpuls (catalogue: docs/metrics.md). Pipeline
// figures arrive through the PipelineObserver hooks; fieldwork figures,
// storage and output figures are refreshed from their sources on scrape.
// Labels stay bounded: never a respondent, interviewer or response id.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "process/health.h"
#include "publish/output_publisher.h"
#include "process/pipeline.h"
#include "process/state_hub.h"
#include "publish/views.h"
#include "process/state.h"

namespace wijkpuls {

// The HTTP connections' counts since start (serve/http_connections.h).
struct HttpStats {
  int64_t open = 0;
  uint64_t accepted = 0;
  uint64_t refused = 0;       // over http.max_connections
  uint64_t timed_out = 0;
  uint64_t too_large = 0;
  uint64_t bad_requests = 0;  // framing errors
  uint64_t tls_failures = 0;  // failed handshakes
};

// Sources read on scrape; any may be null.
struct MetricSources {
  const StateHub* hub = nullptr;
  const Health* health = nullptr;
  std::function<StoreStats()> store_stats;
  std::function<OutputStats()> output_stats;
  ViewSettings views;
  std::function<HttpStats()> http_stats;
};

class Metrics : public PipelineObserver {
 public:
  explicit Metrics(std::string version);
  void SetSources(MetricSources sources);

  // PipelineObserver
  void OnRecord(const std::string& topic, const RecordResult& result) override;
  void OnErased(int responses) override;
  void OnBatchCommitted(int records, double seconds) override;
  void OnPartitions(const std::vector<PartitionStatus>& partitions) override;
  void OnDeadLetters(size_t pending, uint64_t failures) override;
  void OnStorageError() override;
  void OnRollback() override;
  void OnRebalance(bool assigned, size_t partitions, double seconds) override;
  void OnTasks(size_t owned, const std::map<int32_t, int64_t>& restore_remaining) override;

  // The text exposition, after refreshing the scrape-time figures.
  std::string Scrape();

 private:
  void RefreshFieldwork(const CommittedState& cs);

  std::shared_ptr<prometheus::Registry> registry_;
  MetricSources sources_;
  std::mutex scrape_mu_;
  uint64_t fieldwork_version_ = 0;

  prometheus::Family<prometheus::Counter>& records_;
  std::array<prometheus::Counter*, kOutcomeCount> response_outcome_{};
  std::array<prometheus::Counter*, 3> withdrawal_outcome_{};
  std::array<prometheus::Counter*, kRejectReasonCount> response_reason_{};
  std::array<prometheus::Counter*, kRejectReasonCount> withdrawal_reason_{};
  std::array<prometheus::Counter*, kQualityFlagCount> flag_{};
  prometheus::Counter* erased_ = nullptr;
  prometheus::Counter* unknown_fields_ = nullptr;
  prometheus::Family<prometheus::Counter>& rejections_;
  prometheus::Family<prometheus::Counter>& flags_;
  prometheus::Family<prometheus::Counter>& withdrawals_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram& batch_records_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& committed_offset_;
  prometheus::Family<prometheus::Gauge>& high_watermark_;
  std::set<std::pair<std::string, int32_t>> partitions_seen_;  // series of the partitions held
  prometheus::Family<prometheus::Counter>& rebalances_;
  prometheus::Histogram& rebalance_seconds_;
  prometheus::Gauge& owned_partitions_;
  prometheus::Family<prometheus::Gauge>& restore_remaining_;
  std::set<int32_t> restoring_seen_;
  prometheus::Family<prometheus::Gauge>& summary_offset_;
  prometheus::Gauge& dead_letters_pending_;
  prometheus::Counter& dead_letter_failures_;
  uint64_t dead_letter_failures_seen_ = 0;
  prometheus::Counter& storage_errors_;
  prometheus::Counter& rollbacks_;
  prometheus::Gauge& last_commit_;
  prometheus::Gauge& last_record_;
  prometheus::Gauge& ready_;
  prometheus::Family<prometheus::Gauge>& not_ready_;
  prometheus::Family<prometheus::Gauge>& watermark_;
  prometheus::Family<prometheus::Gauge>& days_remaining_;
  prometheus::Family<prometheus::Gauge>& quota_net_;
  prometheus::Family<prometheus::Gauge>& quota_target_;
  prometheus::Family<prometheus::Gauge>& quota_projected_;
  prometheus::Family<prometheus::Gauge>& quota_status_;
  prometheus::Family<prometheus::Gauge>& cells_behind_;
  prometheus::Family<prometheus::Gauge>& imprecise_at_close_;
  prometheus::Family<prometheus::Gauge>& half_width_at_close_;
  prometheus::Family<prometheus::Gauge>& response_rate_;
  prometheus::Family<prometheus::Gauge>& invited_;
  prometheus::Family<prometheus::Gauge>& quota_responses_;
  prometheus::Gauge& state_live_bytes_;
  prometheus::Gauge& state_sst_bytes_;
  prometheus::Gauge& state_pending_compaction_;
  prometheus::Gauge& state_memtable_bytes_;
  prometheus::Family<prometheus::Counter>& state_block_cache_;
  // By StoreStats::Block, hits then misses: the store's counts already added.
  uint64_t block_cache_seen_[2][StoreStats::kBlockKinds] = {};
  prometheus::Counter& output_published_;
  prometheus::Counter& output_errors_;
  prometheus::Gauge& output_queue_;
  prometheus::Gauge& output_unpublished_;
  prometheus::Gauge& last_publish_;
  uint64_t output_published_seen_ = 0;
  uint64_t output_errors_seen_ = 0;
  prometheus::Gauge& http_open_;
  prometheus::Counter& http_accepted_;
  prometheus::Family<prometheus::Counter>& http_refused_;
  // The standard process metrics (as the Prometheus client libraries name
  // them), read from /proc at each scrape.
  prometheus::Counter& process_cpu_;
  prometheus::Gauge& process_rss_;
  prometheus::Gauge& process_vsize_;
  prometheus::Gauge& process_open_fds_;
  prometheus::Gauge& process_max_fds_;
  prometheus::Gauge& process_start_;
  prometheus::Gauge& memory_limit_;
  double process_cpu_seen_ = 0;
  void RefreshProcess();
  uint64_t http_seen_[6] = {};  // accepted, then refused by reason as in Scrape
};

}  // namespace wijkpuls
