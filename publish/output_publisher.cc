#include "publish/output_publisher.h"

#include <pthread.h>

#include <algorithm>
#include <cstdlib>

#include "model/log.h"
#include "publish/views.h"
#include "score/aggregates_codec.h"
#include "model/text.h"

namespace wijkpuls {

OutputPublisher::OutputPublisher(const StateHub& hub, std::unique_ptr<OutputSink> sink, OutputOptions options)
    : hub_(hub), sink_(std::move(sink)), options_(std::move(options)) {}

OutputPublisher::~OutputPublisher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void OutputPublisher::Start() { thread_ = std::thread([this] { Loop(); }); }

namespace {
// Whether this instance publishes `key` (CommittedState::owned).
bool Mine(const CommittedState& cs, const std::string& key) {
  return !cs.owned || cs.input_partitions <= 0 || cs.owned->count(OutputOwner(key, cs.input_partitions)) > 0;
}
}  // namespace

void OutputPublisher::MarkInputs(KeyState& k, KeyState::Inputs inputs) {
  if (k.inputs == inputs && !k.latest.empty()) return;
  k.inputs = std::move(inputs);
  k.stale = true;
}

void OutputPublisher::Compute(std::shared_ptr<const CommittedState> newest) {
  current_ = std::move(newest);
  const CommittedState& cs = *current_;
  // Keys that another instance publishes now (a rebalance moved them): not
  // sent from here any more.
  std::erase_if(keys_, [&](const auto& kv) {
    if (kv.second.kind == OutputRecord::Kind::kSummary) {
      const int32_t task = std::atoi(kv.first.c_str());
      return !cs.tasks.count(task);
    }
    return !Mine(cs, kv.first);
  });
  std::erase_if(summaries_, [&](const auto& kv) { return !cs.tasks.count(kv.first.first); });
  // Set again below for every key this state has; the wave points into its methodology.
  for (auto& [key, k] : keys_) k.wave = nullptr;
  const Methodology& m = *cs.methodology;
  const DistrictRegister& d = *cs.districts;
  const std::set<std::string> waves = cs.state.Waves();
  for (const Wave& wave : m.waves) {
    if (!waves.count(wave.id)) continue;
    const ViewContext ctx = options_.views.ContextFor(m, d, wave);
    const UnixNanos watermark = cs.state.Watermark(wave.id);
    auto inputs_of = [&](const std::vector<int>& wijken) {
      KeyState::Inputs in{&m, &d, watermark, {}};
      in.wijken.reserve(wijken.size());
      for (int w : wijken) {
        auto at = cs.state.wijken().find(StateKey{wave.id, d.wijken()[w].id});
        in.wijken.push_back(at == cs.state.wijken().end() ? nullptr : at->second);
      }
      return in;
    };
    // The quotas themselves are cheap (counts and the pace); the snapshot
    // projects the wijk's precision, built when due (Send).
    for (WijkQuota& q : ComputeAllQuotas(cs.state, wave, ctx)) {
      const std::string key = QuotaKey(wave.id, d.wijken()[q.wijk].id);
      if (!Mine(cs, key)) continue;
      KeyState& k = keys_[key];
      k.kind = OutputRecord::Kind::kQuota;
      k.wave = &wave;
      MarkInputs(k, inputs_of({q.wijk}));
      for (size_t i = 0; i < q.instruments.size(); ++i) {
        if (!k.latest.empty() && q.instruments[i].status == QuotaStatus::kComplete &&
            k.built_statuses[i] != QuotaStatus::kComplete) {
          k.urgent = true;  // an instrument became COMPLETE: sent at once
        }
      }
      k.quota = std::move(q);
    }
    for (UnitRef& unit : AllUnits(d, options_.views.city_name)) {
      const std::string key = ScoresKey(wave.id, unit);
      if (!Mine(cs, key)) continue;
      KeyState& k = keys_[key];
      k.kind = OutputRecord::Kind::kScores;
      k.wave = &wave;
      MarkInputs(k, inputs_of(unit.wijken));
      k.unit = std::move(unit);
    }
  }
  // A key of a wave this state no longer has keeps its last value.
  for (auto& [key, k] : keys_) k.stale = k.stale && k.wave != nullptr;
  if (options_.summary_interval.count() <= 0) return;
  const int indicators = static_cast<int>(m.indicators.size());
  for (const auto& [task, state] : cs.tasks) {
    auto at = cs.task_positions.find(task);
    const SummaryPosition position = at == cs.task_positions.end() ? SummaryPosition{} : at->second;
    for (const auto& [key, w] : state.wijken()) {
      Encoded& e = summaries_[{task, key}];
      if (e.state == w && e.position == position) continue;
      e.state = w;
      e.position = position;
      KeyState& k = keys_[SummaryKey(task, key)];
      k.kind = OutputRecord::Kind::kSummary;
      k.latest = EncodeSummary(task, key, position, *w, indicators, options_.instance);
    }
  }
}

void OutputPublisher::Build(KeyState& k) {
  k.stale = false;
  const CommittedState& cs = *current_;
  const ViewContext ctx = options_.views.ContextFor(*cs.methodology, *cs.districts, *k.wave);
  std::string bytes;
  if (k.kind == OutputRecord::Kind::kQuota) {
    bytes = ToQuotaSnapshot(k.quota, *k.wave, cs.state.Watermark(k.wave->id), cs.state, ctx).SerializeAsString();
    for (size_t i = 0; i < k.quota.instruments.size(); ++i) k.built_statuses[i] = k.quota.instruments[i].status;
  } else {
    bytes = ComputeScores(k.unit, cs.state, *k.wave, ctx).SerializeAsString();
  }
  if (bytes != k.latest) k.latest = std::move(bytes);
}

void OutputPublisher::Send(bool all_due) {
  const auto now = std::chrono::steady_clock::now();
  int64_t unpublished = 0;
  for (auto& [key, k] : keys_) {
    const bool due = all_due || k.urgent || now >= k.not_before;
    if (k.stale && due) Build(k);
    if (k.stale || k.latest == k.delivered) {
      unpublished += k.stale;  // its newest value is not built yet
      continue;
    }
    ++unpublished;
    if (!sink_ || k.latest == k.in_flight) continue;
    if (!due) continue;
    const uint64_t id = next_id_++;
    absl::Status st = sink_->Send(OutputRecord{k.kind, key, k.latest}, id);
    if (!st.ok()) {
      if (!absl::IsResourceExhausted(st)) spdlog::warn("publishing {}: {}", key, MessageOf(st));
      break;  // queue full or broken: try again on the next round
    }
    k.in_flight = k.latest;
    k.not_before = now + (k.kind == OutputRecord::Kind::kQuota    ? options_.quota_debounce
                          : k.kind == OutputRecord::Kind::kScores ? options_.scores_interval
                                                                  : options_.summary_interval);
    k.urgent = false;
    in_flight_[id] = key;
  }
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_.unpublished = unpublished;
  stats_.queue = sink_ ? sink_->Queued() : 0;
}

void OutputPublisher::HandleDeliveries(const std::vector<Delivery>& ds) {
  for (const Delivery& d : ds) {
    auto it = in_flight_.find(d.id);
    if (it == in_flight_.end()) continue;
    auto key = keys_.find(it->second);
    if (key == keys_.end()) {  // published by another instance now
      in_flight_.erase(it);
      continue;
    }
    KeyState& k = key->second;
    std::lock_guard<std::mutex> lock(stats_mu_);
    if (d.ok) {
      k.delivered = k.in_flight;
      ++stats_.published;
      stats_.last_publish = std::chrono::system_clock::now();
    } else {
      ++stats_.errors;
      k.not_before = std::min(k.not_before, std::chrono::steady_clock::now() + kRetryDelay);
      spdlog::warn("publishing {} failed ({}); will retry", it->second, d.error);
    }
    k.in_flight.clear();
    in_flight_.erase(it);
  }
}

void OutputPublisher::Loop() {
  pthread_setname_np(pthread_self(), "wp-publish");  // in top -H, perf and bench/run.py
  while (!stop_.load()) {
    std::shared_ptr<const CommittedState> cs = hub_.WaitNewer(seen_version_, std::chrono::milliseconds(200));
    if (cs && cs->version > seen_version_) {
      seen_version_ = cs->version;
      Compute(std::move(cs));
    }
    if (options_.summary_refresh.count() > 0 && std::chrono::steady_clock::now() >= next_summary_refresh_) {
      next_summary_refresh_ = std::chrono::steady_clock::now() + options_.summary_refresh;
      for (auto& [key, k] : keys_) {
        if (k.kind == OutputRecord::Kind::kSummary && k.in_flight.empty()) k.delivered.clear();
      }
    }
    Send(false);
    if (sink_) HandleDeliveries(sink_->Poll(std::chrono::milliseconds(0)));
  }
}

bool OutputPublisher::Stop(std::chrono::milliseconds timeout) {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (std::shared_ptr<const CommittedState> cs = hub_.Current(); cs && cs->version > seen_version_) {
    seen_version_ = cs->version;
    Compute(std::move(cs));
  }
  if (!sink_) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Send(true);
    HandleDeliveries(sink_->Poll(std::chrono::milliseconds(50)));
    bool done = in_flight_.empty();
    for (const auto& [key, k] : keys_) done = done && k.latest == k.delivered;
    if (done) return true;
  }
  spdlog::warn("shutdown: {} output records not confirmed; they will be published after restart",
               in_flight_.size());
  return false;
}

OutputStats OutputPublisher::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace wijkpuls
