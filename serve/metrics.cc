#include "serve/metrics.h"

#include <prometheus/text_serializer.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "score/quota.h"
#include "publish/views.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

prometheus::Histogram& MakeHistogram(prometheus::Registry& r, const std::string& name,
                                     const std::string& help, prometheus::Histogram::BucketBoundaries b) {
  return BuildHistogram().Name(name).Help(help).Register(r).Add({}, std::move(b));
}

// Advances a Prometheus counter to a count kept elsewhere (`seen`: the count it
// has reached). A count that went down was started again (a store opened
// again): the counter goes on from there, as counters never fall.
// The fields of /proc/self/stat after the command name (which may hold spaces
// and parentheses: it ends at the last ')'), numbered from 3 as in proc(5).
std::vector<std::string> ProcStatFields() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields{"", "", ""};
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(text.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// memory.max of this process's cgroup (v2), or v1's memory.limit_in_bytes; 0
// when unlimited or unknown.
double CgroupMemoryLimit() {
  std::ifstream cg("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(cg, line)) {
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  }
  for (const std::string& file : {"/sys/fs/cgroup" + path + "/memory.max", std::string("/sys/fs/cgroup/memory.max"),
                                  std::string("/sys/fs/cgroup/memory/memory.limit_in_bytes")}) {
    std::ifstream in(file);
    std::string v;
    if (!(in >> v)) continue;
    if (v == "max") return 0;
    const double bytes = std::strtod(v.c_str(), nullptr);
    return bytes > 0 && bytes < 9.2e18 ? bytes : 0;  // v1's "unlimited" is near 2^63
  }
  return 0;
}

void FollowCount(prometheus::Counter& c, uint64_t now, uint64_t& seen) {
  if (now < seen) seen = 0;
  c.Increment(static_cast<double>(now - seen));
  seen = now;
}

}  // namespace

Metrics::Metrics(std::string version)
    : registry_(std::make_shared<prometheus::Registry>()),
      records_(BuildCounter().Name("wijkpuls_records_total")
                   .Help("Input records committed, by kind (response, withdrawal) and outcome")
                   .Register(*registry_)),
      rejections_(BuildCounter().Name("wijkpuls_rejections_total")
                      .Help("Rejected (dead-lettered) input records by reason and kind")
                      .Register(*registry_)),
      flags_(BuildCounter().Name("wijkpuls_flags_total")
                 .Help("Quality flags raised on counted responses, by flag (a response may carry several)")
                 .Register(*registry_)),
      withdrawals_(BuildCounter().Name("wijkpuls_withdrawn_responses_total")
                       .Help("Counted responses erased because their respondent withdrew")
                       .Register(*registry_)),
      commit_seconds_(MakeHistogram(*registry_, "wijkpuls_batch_commit_seconds",
                                    "Time to commit one batch: dead letters delivered and the state write",
                                    {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      batch_records_(MakeHistogram(*registry_, "wijkpuls_batch_records", "Records per committed batch",
                                   {1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 50000})),
      lag_(BuildGauge().Name("wijkpuls_consumer_lag").Help("Records in the partition not yet committed").Register(*registry_)),
      committed_offset_(BuildGauge().Name("wijkpuls_partition_committed_offset")
                            .Help("Next offset stored with the state, per input partition")
                            .Register(*registry_)),
      high_watermark_(BuildGauge().Name("wijkpuls_partition_high_watermark")
                          .Help("High watermark of the input partition as last fetched")
                          .Register(*registry_)),
      rebalances_(BuildCounter().Name("wijkpuls_rebalances_total")
                      .Help("Responses partitions given to (assigned) or taken from (revoked) this instance, by the group")
                      .Register(*registry_)),
      rebalance_seconds_(MakeHistogram(*registry_, "wijkpuls_rebalance_pause_seconds",
                                       "Time the pipeline was held by one assignment or revocation (the open batch "
                                       "committed, tasks taken over loaded)",
                                       {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
      owned_partitions_(BuildGauge().Name("wijkpuls_owned_partitions")
                            .Help("Responses partitions (tasks) this instance holds")
                            .Register(*registry_).Add({})),
      restore_remaining_(BuildGauge().Name("wijkpuls_restore_remaining_records")
                             .Help("Records still to read of a partition given without its state here (read from "
                                   "its start); 0 once read to its end")
                             .Register(*registry_)),
      summary_offset_(BuildGauge().Name("wijkpuls_reflected_offset")
                          .Help("Per responses partition, the next offset that the figures this instance shows "
                                "reflect (its own tasks' and the summaries read from the other instances)")
                          .Register(*registry_)),
      dead_letters_pending_(BuildGauge().Name("wijkpuls_dead_letters_pending")
                                .Help("Dead letters of the open batch not yet delivered")
                                .Register(*registry_).Add({})),
      dead_letter_failures_(BuildCounter().Name("wijkpuls_dead_letter_errors_total")
                                .Help("Failed attempts to deliver a dead letter (retried)")
                                .Register(*registry_).Add({})),
      storage_errors_(BuildCounter().Name("wijkpuls_storage_errors_total")
                          .Help("Failed reads or writes of the state directory")
                          .Register(*registry_).Add({})),
      rollbacks_(BuildCounter().Name("wijkpuls_batch_rollbacks_total")
                     .Help("Batches abandoned (dead letters or state write failing) and read again")
                     .Register(*registry_).Add({})),
      last_commit_(BuildGauge().Name("wijkpuls_last_commit_timestamp_seconds")
                       .Help("Unix time of the last committed batch").Register(*registry_).Add({})),
      last_record_(BuildGauge().Name("wijkpuls_last_record_timestamp_seconds")
                       .Help("Unix time the last input record was committed").Register(*registry_).Add({})),
      ready_(BuildGauge().Name("wijkpuls_ready").Help("1 when /readyz reports ready").Register(*registry_).Add({})),
      not_ready_(BuildGauge().Name("wijkpuls_not_ready")
                     .Help("1 for each component that keeps wijkpuls from being ready")
                     .Register(*registry_)),
      watermark_(BuildGauge().Name("wijkpuls_watermark_timestamp_seconds")
                     .Help("Event-time watermark of the wave (largest valid submitted_at)")
                     .Register(*registry_)),
      days_remaining_(BuildGauge().Name("wijkpuls_fieldwork_days_remaining")
                          .Help("Fieldwork round days after the watermark's date").Register(*registry_)),
      quota_net_(BuildGauge().Name("wijkpuls_quota_net").Help("Net completes per wijk and instrument").Register(*registry_)),
      quota_target_(BuildGauge().Name("wijkpuls_quota_target").Help("Net target per wijk and instrument").Register(*registry_)),
      quota_projected_(BuildGauge().Name("wijkpuls_quota_projected")
                           .Help("Projected net at the end of fieldwork per wijk and instrument")
                           .Register(*registry_)),
      quota_status_(BuildGauge().Name("wijkpuls_quota_status")
                        .Help("1 for the current status of a wijk's instrument (state set)")
                        .Register(*registry_)),
      cells_behind_(BuildGauge().Name("wijkpuls_quota_cells_behind")
                        .Help("Age x sex quota cells behind per wijk and instrument").Register(*registry_)),
      imprecise_at_close_(BuildGauge().Name("wijkpuls_index_imprecise_at_close")
                              .Help("1 when a wijk's index is projected SUPPRESSED or wider than the precision "
                                    "target at the close of fieldwork (IMPRECISE_AT_CLOSE)")
                              .Register(*registry_)),
      half_width_at_close_(BuildGauge().Name("wijkpuls_index_half_width_at_close")
                               .Help("Projected 95% half-width of a wijk's index at the close of fieldwork, "
                                     "in score points (absent while it has no value)")
                               .Register(*registry_)),
      response_rate_(BuildGauge().Name("wijkpuls_response_rate")
                         .Help("(accepted + flagged) / invited per wijk").Register(*registry_)),
      invited_(BuildGauge().Name("wijkpuls_invited")
                   .Help("Invited (gross sample) per wijk, from the register; weights response rates")
                   .Register(*registry_)),
      quota_responses_(BuildGauge().Name("wijkpuls_quota_responses")
                           .Help("Responses in the quota state per wijk and instrument, by outcome "
                                 "(accepted, flagged, rejected)")
                           .Register(*registry_)),
      state_live_bytes_(BuildGauge().Name("wijkpuls_state_live_bytes")
                            .Help("Estimated live data in the state directory").Register(*registry_).Add({})),
      state_sst_bytes_(BuildGauge().Name("wijkpuls_state_sst_bytes")
                           .Help("Size of the state directory's table files").Register(*registry_).Add({})),
      state_pending_compaction_(BuildGauge().Name("wijkpuls_state_pending_compaction_bytes")
                                    .Help("Bytes RocksDB estimates it must compact").Register(*registry_).Add({})),
      state_memtable_bytes_(BuildGauge().Name("wijkpuls_state_memtable_bytes")
                                .Help("Bytes in RocksDB's memtables (written, not yet flushed to table files)")
                                .Register(*registry_).Add({})),
      state_block_cache_(BuildCounter().Name("wijkpuls_state_block_cache_total")
                             .Help("Block cache lookups of the state store by block (filter, index, "
                                   "data) and result (hit; miss: read from the files)")
                             .Register(*registry_)),
      output_published_(BuildCounter().Name("wijkpuls_output_published_total")
                            .Help("Quota and score records delivered to the output topics")
                            .Register(*registry_).Add({})),
      output_errors_(BuildCounter().Name("wijkpuls_output_errors_total")
                         .Help("Failed deliveries to the output topics (retried)").Register(*registry_).Add({})),
      output_queue_(BuildGauge().Name("wijkpuls_output_queue")
                        .Help("Output records waiting in the producer").Register(*registry_).Add({})),
      output_unpublished_(BuildGauge().Name("wijkpuls_output_unpublished")
                              .Help("Output keys whose latest value is not yet delivered")
                              .Register(*registry_).Add({})),
      last_publish_(BuildGauge().Name("wijkpuls_last_publish_timestamp_seconds")
                        .Help("Unix time of the last delivered output record").Register(*registry_).Add({})),
      http_open_(BuildGauge().Name("wijkpuls_http_connections")
                     .Help("HTTP connections open now, all listeners")
                     .Register(*registry_).Add({})),
      http_accepted_(BuildCounter().Name("wijkpuls_http_connections_accepted_total")
                         .Help("HTTP connections accepted, all listeners")
                         .Register(*registry_).Add({})),
      http_refused_(BuildCounter().Name("wijkpuls_http_refused_total")
                        .Help("HTTP connections or requests refused by the connection layer, by reason")
                        .Register(*registry_)),
      process_cpu_(BuildCounter().Name("process_cpu_seconds_total")
                       .Help("Total user and system CPU time spent in seconds.").Register(*registry_).Add({})),
      process_rss_(BuildGauge().Name("process_resident_memory_bytes")
                       .Help("Resident memory size in bytes.").Register(*registry_).Add({})),
      process_vsize_(BuildGauge().Name("process_virtual_memory_bytes")
                         .Help("Virtual memory size in bytes.").Register(*registry_).Add({})),
      process_open_fds_(BuildGauge().Name("process_open_fds")
                            .Help("Number of open file descriptors.").Register(*registry_).Add({})),
      process_max_fds_(BuildGauge().Name("process_max_fds")
                           .Help("Maximum number of open file descriptors.").Register(*registry_).Add({})),
      process_start_(BuildGauge().Name("process_start_time_seconds")
                         .Help("Start time of the process since unix epoch in seconds.").Register(*registry_).Add({})),
      memory_limit_(BuildGauge().Name("wijkpuls_memory_limit_bytes")
                        .Help("The memory the process may use: its cgroup's memory.max (systemd MemoryMax=, a "
                              "Kubernetes limit); 0 when there is none")
                        .Register(*registry_).Add({})) {
  BuildGauge().Name("wijkpuls_build_info").Help("Version of the running wijkpuls").Register(*registry_)
      .Add({{"version", version}}).Set(1);
  for (const char* reason : {"connections", "timeout", "too_large", "bad_request", "tls_handshake"}) {
    http_refused_.Add({{"reason", reason}});
  }
  // Every label value exists from the start, so rates and alerts see zeros.
  // Every label value exists from the start, so rates and alerts see zeros;
  // the per-record hooks use these pointers (no label maps on the hot path).
  for (Outcome o : kAllOutcomes) {
    response_outcome_[static_cast<int>(o)] = &records_.Add({{"kind", "response"}, {"outcome", std::string(Name(o))}});
  }
  for (WithdrawalOutcome o : {WithdrawalOutcome::kErased, WithdrawalOutcome::kRecorded, WithdrawalOutcome::kRejected}) {
    withdrawal_outcome_[static_cast<int>(o)] = &records_.Add({{"kind", "withdrawal"}, {"outcome", std::string(Name(o))}});
  }
  for (RejectReason r : kAllRejectReasons) {
    response_reason_[static_cast<int>(r)] = &rejections_.Add({{"reason", std::string(WireName(r))}, {"kind", "response"}});
  }
  // A withdrawal can only be rejected for these.
  for (RejectReason r : {RejectReason::kOversized, RejectReason::kDecodeError, RejectReason::kMissingField,
                         RejectReason::kUnknownWave, RejectReason::kUnknownWijk}) {
    withdrawal_reason_[static_cast<int>(r)] = &rejections_.Add({{"reason", std::string(WireName(r))}, {"kind", "withdrawal"}});
  }
  for (QualityFlag f : kAllQualityFlags) flag_[static_cast<int>(f)] = &flags_.Add({{"flag", std::string(WireName(f))}});
  erased_ = &withdrawals_.Add({});
  unknown_fields_ = &BuildCounter()
                         .Name("wijkpuls_unknown_fields_total")
                         .Help("Fields of input responses that the schema does not know: kept out of "
                               "everything, never a reason to reject (a producer on a newer schema)")
                         .Register(*registry_)
                         .Add({});
}

void Metrics::SetSources(MetricSources sources) {
  std::lock_guard<std::mutex> lock(scrape_mu_);
  sources_ = std::move(sources);
}

void Metrics::OnRecord(const std::string&, const RecordResult& r) {
  const bool response = r.kind == RecordKind::kResponse;
  (response ? response_outcome_[static_cast<int>(r.outcome)] : withdrawal_outcome_[static_cast<int>(r.withdrawal)])
      ->Increment();
  if (r.reason) {
    const int i = static_cast<int>(*r.reason);
    prometheus::Counter* c = response ? response_reason_[i] : withdrawal_reason_[i];
    if (c == nullptr) {  // not a reason a withdrawal is expected to have
      c = &rejections_.Add({{"reason", std::string(WireName(*r.reason))}, {"kind", "withdrawal"}});
      withdrawal_reason_[i] = c;
    }
    c->Increment();
  }
  if (!r.flags.Empty()) {
    for (QualityFlag f : kAllQualityFlags) {
      if (r.flags.Has(f)) flag_[static_cast<int>(f)]->Increment();
    }
  }
  if (r.erased > 0) erased_->Increment(r.erased);
  if (r.unknown_fields > 0) unknown_fields_->Increment(r.unknown_fields);
}

void Metrics::OnErased(int responses) {
  if (responses > 0) erased_->Increment(responses);
}

void Metrics::OnBatchCommitted(int records, double seconds) {
  commit_seconds_.Observe(seconds);
  batch_records_.Observe(records);
  const double now = NowSeconds();
  last_commit_.Set(now);
  if (records > 0) last_record_.Set(now);
}

void Metrics::OnPartitions(const std::vector<PartitionStatus>& partitions) {
  // A partition that moved to another instance is its series there: here they go.
  std::set<std::pair<std::string, int32_t>> now;
  for (const PartitionStatus& p : partitions) now.insert({p.tp.topic, p.tp.partition});
  for (const auto& [topic, partition] : partitions_seen_) {
    if (now.count({topic, partition})) continue;
    const prometheus::Labels labels{{"topic", topic}, {"partition", std::to_string(partition)}};
    for (auto* family : {&committed_offset_, &high_watermark_, &lag_}) {
      if (family->Has(labels)) family->Remove(&family->Add(labels));
    }
  }
  partitions_seen_ = std::move(now);
  for (const PartitionStatus& p : partitions) {
    const prometheus::Labels labels{{"topic", p.tp.topic}, {"partition", std::to_string(p.tp.partition)}};
    committed_offset_.Add(labels).Set(static_cast<double>(p.committed));
    if (p.high_watermark >= 0) {
      high_watermark_.Add(labels).Set(static_cast<double>(p.high_watermark));
      // Records before the low watermark are gone (retention): they are not lag.
      const int64_t from = std::max(p.committed, p.low_watermark);
      lag_.Add(labels).Set(static_cast<double>(std::max<int64_t>(0, p.high_watermark - from)));
    }
  }
}

void Metrics::OnDeadLetters(size_t pending, uint64_t failures) {
  dead_letters_pending_.Set(static_cast<double>(pending));
  if (failures > dead_letter_failures_seen_) {
    dead_letter_failures_.Increment(static_cast<double>(failures - dead_letter_failures_seen_));
    dead_letter_failures_seen_ = failures;
  }
}

void Metrics::OnStorageError() { storage_errors_.Increment(); }
void Metrics::OnRollback() { rollbacks_.Increment(); }

void Metrics::OnRebalance(bool assigned, size_t partitions, double seconds) {
  rebalances_.Add({{"kind", assigned ? "assigned" : "revoked"}}).Increment(static_cast<double>(partitions));
  rebalance_seconds_.Observe(seconds);
}

void Metrics::OnTasks(size_t owned, const std::map<int32_t, int64_t>& restore_remaining) {
  owned_partitions_.Set(static_cast<double>(owned));
  for (int32_t p : restoring_seen_) {
    if (!restore_remaining.count(p)) restore_remaining_.Add({{"partition", std::to_string(p)}}).Set(0);
  }
  for (const auto& [p, n] : restore_remaining) {
    restore_remaining_.Add({{"partition", std::to_string(p)}}).Set(static_cast<double>(n));
    restoring_seen_.insert(p);
  }
}

void Metrics::RefreshFieldwork(const CommittedState& cs) {
  for (const auto& [task, position] : cs.reflected) {
    if (task >= 0) summary_offset_.Add({{"partition", std::to_string(task)}}).Set(static_cast<double>(position.responses));
  }
  const Methodology& m = *cs.methodology;
  const DistrictRegister& d = *cs.districts;
  const std::set<std::string> waves = cs.state.Waves();
  for (const Wave& wave : m.waves) {
    if (!waves.count(wave.id)) continue;
    const ViewContext ctx = sources_.views.ContextFor(m, d, wave);
    const UnixNanos wm = cs.state.Watermark(wave.id);
    watermark_.Add({{"wave", wave.id}}).Set(static_cast<double>(wm) / 1e9);
    for (const WijkQuota& q : ComputeAllQuotas(cs.state, wave, ctx)) {
      const Wijk& w = d.wijken()[q.wijk];
      const std::string& gebied = d.gebieden()[w.gebied].id;
      days_remaining_.Add({{"wave", wave.id}}).Set(q.progress.remaining);
      response_rate_.Add({{"wave", wave.id}, {"wijk", w.id}, {"gebied", gebied}}).Set(q.response_rate);
      invited_.Add({{"wave", wave.id}, {"wijk", w.id}, {"gebied", gebied}}).Set(static_cast<double>(q.invited));
      for (const InstrumentQuota& iq : q.instruments) {
        const prometheus::Labels l{{"wave", wave.id}, {"wijk", w.id}, {"gebied", gebied},
                                   {"instrument", std::string(ShortName(iq.instrument))}};
        quota_net_.Add(l).Set(static_cast<double>(iq.net));
        quota_target_.Add(l).Set(static_cast<double>(iq.target));
        quota_projected_.Add(l).Set(iq.projected);
        int behind = 0;
        for (const CellQuota& c : iq.cells) behind += c.behind;
        cells_behind_.Add(l).Set(behind);
        for (const auto& [outcome, n] : {std::pair{"accepted", iq.accepted}, std::pair{"flagged", iq.flagged},
                                         std::pair{"rejected", iq.rejected}}) {
          prometheus::Labels lo = l;
          lo["outcome"] = outcome;
          quota_responses_.Add(lo).Set(static_cast<double>(n));
        }
        for (QuotaStatus s : {QuotaStatus::kBehind, QuotaStatus::kAtRisk, QuotaStatus::kEarly,
                              QuotaStatus::kOnTrack, QuotaStatus::kComplete}) {
          prometheus::Labels ls = l;
          ls["status"] = std::string(WireName(s));
          quota_status_.Add(ls).Set(iq.status == s ? 1 : 0);
        }
      }
      for (const IndexPrecision& p : PrecisionOf(q, cs.state, wave, ctx).indices) {
        const prometheus::Labels l{{"wave", wave.id}, {"wijk", w.id}, {"gebied", gebied}, {"index", p.id}};
        imprecise_at_close_.Add(l).Set(p.imprecise_at_close ? 1 : 0);
        if (p.has_value_at_close) {
          half_width_at_close_.Add(l).Set(p.half_width_at_close);
        } else if (half_width_at_close_.Has(l)) {
          half_width_at_close_.Remove(&half_width_at_close_.Add(l));
        }
      }
    }
  }
}

void Metrics::RefreshProcess() {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const std::vector<std::string> f = ProcStatFields();
  if (f.size() > 24) {
    const double cpu = (std::strtod(f[14].c_str(), nullptr) + std::strtod(f[15].c_str(), nullptr)) / ticks;
    if (cpu > process_cpu_seen_) {
      process_cpu_.Increment(cpu - process_cpu_seen_);
      process_cpu_seen_ = cpu;
    }
    process_vsize_.Set(std::strtod(f[23].c_str(), nullptr));
    process_rss_.Set(std::strtod(f[24].c_str(), nullptr) * page);
    static const double start = [&] {
      // starttime (field 22) is in ticks after boot; btime in /proc/stat is the boot's Unix time.
      std::ifstream stat("/proc/stat");
      std::string key;
      double btime = 0;
      while (stat >> key) {
        if (key == "btime") {
          stat >> btime;
          break;
        }
      }
      return btime + std::strtod(f[22].c_str(), nullptr) / ticks;
    }();
    process_start_.Set(start);
  }
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    ++fds;
  }
  process_open_fds_.Set(fds);
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) process_max_fds_.Set(static_cast<double>(nofile.rlim_cur));
  memory_limit_.Set(CgroupMemoryLimit());
}

std::string Metrics::Scrape() {
  std::lock_guard<std::mutex> lock(scrape_mu_);
  RefreshProcess();
  if (sources_.hub) {
    if (std::shared_ptr<const CommittedState> cs = sources_.hub->Current(); cs && cs->version != fieldwork_version_) {
      RefreshFieldwork(*cs);
      fieldwork_version_ = cs->version;
    }
  }
  if (sources_.health) {
    std::vector<std::string> problems;
    const bool ready = sources_.health->Ready(&problems);
    ready_.Set(ready ? 1 : 0);
    for (const char* c : {"kafka", "consumer", "dead_letters", "storage", "summaries", "restore"}) {
      not_ready_.Add({{"component", c}}).Set(sources_.health->Has(c) ? 1 : 0);
    }
  }
  if (sources_.store_stats) {
    const StoreStats s = sources_.store_stats();
    state_live_bytes_.Set(static_cast<double>(s.live_data_bytes));
    state_sst_bytes_.Set(static_cast<double>(s.sst_bytes));
    state_pending_compaction_.Set(static_cast<double>(s.pending_compaction_bytes));
    state_memtable_bytes_.Set(static_cast<double>(s.memtable_bytes));
    static constexpr const char* kBlocks[StoreStats::kBlockKinds] = {"filter", "index", "data"};
    for (int b = 0; b < StoreStats::kBlockKinds; ++b) {
      const uint64_t now[2] = {s.block_cache_hits[b], s.block_cache_misses[b]};
      for (int r = 0; r < 2; ++r) {
        FollowCount(state_block_cache_.Add({{"block", kBlocks[b]}, {"result", r == 0 ? "hit" : "miss"}}),
                    now[r], block_cache_seen_[r][b]);
      }
    }
  }
  if (sources_.http_stats) {
    const HttpStats h = sources_.http_stats();
    http_open_.Set(static_cast<double>(h.open));
    FollowCount(http_accepted_, h.accepted, http_seen_[0]);
    const std::pair<const char*, uint64_t> refused[] = {
        {"connections", h.refused}, {"timeout", h.timed_out},         {"too_large", h.too_large},
        {"bad_request", h.bad_requests}, {"tls_handshake", h.tls_failures}};
    for (size_t i = 0; i < std::size(refused); ++i) {
      FollowCount(http_refused_.Add({{"reason", refused[i].first}}), refused[i].second, http_seen_[i + 1]);
    }
  }
  if (sources_.output_stats) {
    const OutputStats o = sources_.output_stats();
    FollowCount(output_published_, o.published, output_published_seen_);
    FollowCount(output_errors_, o.errors, output_errors_seen_);
    output_queue_.Set(static_cast<double>(o.queue));
    output_unpublished_.Set(static_cast<double>(o.unpublished));
    if (o.last_publish.time_since_epoch().count() > 0) {
      last_publish_.Set(std::chrono::duration<double>(o.last_publish.time_since_epoch()).count());
    }
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace wijkpuls
