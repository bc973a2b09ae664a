// Micro-benchmarks (Google Benchmark) of what one record costs and of the
// published views. Not a test: bench/run.sh runs it (or run it directly,
// e.g. `wijkpuls_microbench --benchmark_filter=Dedup`).
#include <benchmark/benchmark.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "bench/fixture.h"
#include "validate/decode.h"
#include "publish/views.h"
#include "score/wijk_state.h"
#include "validate/rules.h"
#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls::bench {
namespace {

constexpr int kBatchRecords = 5000;  // the daemon's default pipeline.batch_records

// Visits 0..n-1 in a scrambled but fixed order (n is not a multiple of the step).
size_t Scramble(size_t i, size_t n) { return (i * 7919 + 13) % n; }

// --- decode and validate -----------------------------------------------------

void BM_DecodeValidate(benchmark::State& state) {
  const Season& s = DefaultSeason();
  const RuleContext ctx{s.methodology, s.districts, SystemClock()};
  size_t i = 0;
  for (auto _ : state) {
    const sim::SimRecord& r = s.records[s.responses[i++ % s.responses.size()]];
    absl::StatusOr<RawResponse> raw = DecodeResponse(r.value, r.content_type);
    if (raw.ok()) {
      FieldCheck fc = CheckFields(*raw, ctx);
      if (!fc.reason) benchmark::DoNotOptimize(EvaluateFlags(fc.response, s.methodology));
      benchmark::DoNotOptimize(fc);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeValidate);

// The same JSON record with the .proto's field names.
std::string ProtoNamesJson(const std::string& camel) {
  v1::SurveyResponse m;
  if (!google::protobuf::util::JsonStringToMessage(camel, &m).ok()) std::abort();
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string out;
  google::protobuf::util::MessageToJsonString(m, &out, print);
  return out;
}

// content type: 0 protobuf binary, 1 the JSON mapping as protobuf prints it
// (lowerCamelCase names), 2 the JSON mapping with the .proto's own names
// (snake_case, as a platform is likely to send).
void BM_Decode(benchmark::State& state) {
  const Season& s = DefaultSeason();
  const int kind = static_cast<int>(state.range(0));
  std::vector<std::string> values;
  std::vector<std::string> types;
  for (size_t i : s.responses) {
    const sim::SimRecord& r = s.records[i];
    if ((r.content_type == kJsonContentType) != (kind > 0)) continue;
    values.push_back(kind == 2 ? ProtoNamesJson(r.value) : r.value);
    types.push_back(r.content_type);
  }
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % values.size();
    benchmark::DoNotOptimize(DecodeResponse(values[k], types[k]));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(kind == 0 ? "protobuf binary" : kind == 1 ? "JSON, camelCase" : "JSON, snake_case");
}
BENCHMARK(BM_Decode)->Arg(0)->Arg(1)->Arg(2);

void BM_CheckFields(benchmark::State& state) {
  const Season& s = DefaultSeason();
  std::vector<RawResponse> raws;
  for (size_t i : s.responses) {
    absl::StatusOr<RawResponse> raw = DecodeResponse(s.records[i].value, s.records[i].content_type);
    if (raw.ok()) raws.push_back(std::move(*raw));
  }
  const RuleContext ctx{s.methodology, s.districts, SystemClock()};
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(CheckFields(raws[i++ % raws.size()], ctx));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckFields);

void BM_EvaluateFlags(benchmark::State& state) {
  const Season& s = DefaultSeason();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(EvaluateFlags(s.counted[i++ % s.counted.size()], s.methodology));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluateFlags);

void BM_Pseudonymise(benchmark::State& state) {
  const Season& s = DefaultSeason();
  size_t i = 0;
  for (auto _ : state) {
    const sim::SimRecord& r = s.records[s.responses[i++ % s.responses.size()]];
    benchmark::DoNotOptimize(s.pseudonymiser.Of("2024", r.key));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Pseudonymise);

// --- dedup lookups -----------------------------------------------------------

// A store holding `n` counted responses (and their respondents), written in
// batches as the daemon would, with the memtables flushed by RocksDB as it goes.
struct FilledStore {
  TempDir dir;
  std::unique_ptr<StateStore> store;
  int64_t n = 0;
};

std::string FillId(int64_t i) { return Cat("bench:2024:", i); }

// The i-th filler response: the season's counted response i (cycling), with a
// fresh id and respondent. Assigned into `r` to reuse its buffers.
void FillResponse(const Season& s, int64_t i, CountedResponse& r) {
  r = s.counted[static_cast<size_t>(i) % s.counted.size()];
  r.response_id = FillId(i);
  r.respondent[0] = static_cast<uint8_t>(i);
  r.respondent[1] = static_cast<uint8_t>(i >> 8);
  r.respondent[2] = static_cast<uint8_t>(i >> 16);
}
Outcome FillOutcome(const Season& s, int64_t i) {
  return s.counted_outcome[static_cast<size_t>(i) % s.counted.size()];
}

// Closed by main() before exit: RocksDB must not outlive its own statics.
std::map<int64_t, std::unique_ptr<FilledStore>>& FilledStores() {
  static auto* stores = new std::map<int64_t, std::unique_ptr<FilledStore>>();
  return *stores;
}

FilledStore& StoreWith(int64_t n) {
  std::unique_ptr<FilledStore>& fs = FilledStores()[n];
  if (fs) return *fs;
  fs = std::make_unique<FilledStore>();
  fs->n = n;
  fs->store = OpenStore(fs->dir.path(), /*sync_writes=*/false);
  const Season& s = DefaultSeason();
  std::unique_ptr<StateBatch> batch = fs->store->NewBatch();
  CountedResponse r;
  for (int64_t i = 0; i < n; ++i) {
    FillResponse(s, i, r);
    const std::string& wijk = s.districts.wijken()[r.wijk].id;
    batch->PutCounted(0, r, wijk, FillOutcome(s, i));  // the claim, holding the response
    if ((i + 1) % kBatchRecords == 0) {
      if (!fs->store->Commit(*batch).ok()) std::abort();
      batch = fs->store->NewBatch();
    }
  }
  if (!fs->store->Commit(*batch).ok()) std::abort();
  return *fs;
}

// Waits (up to 3 minutes) until RocksDB reports no pending compaction.
void WaitForCompactions(StateStore& store) {
  for (int i = 0; i < 180 && store.Stats().pending_compaction_bytes > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

void StoreCounters(benchmark::State& state, StateStore& store) {
  const StoreStats st = store.Stats();
  state.counters["sst_MB"] = static_cast<double>(st.sst_bytes) / 1e6;
  state.counters["pending_compaction_MB"] = static_cast<double>(st.pending_compaction_bytes) / 1e6;
  state.counters["memtable_MB"] = static_cast<double>(st.memtable_bytes) / 1e6;
}

// The two lookups that find a redelivered response: its id (where a response
// that was not counted is stored) and its respondent's claim in its wijk
// (where a counted one is). range(0): stored responses; range(1): 1 = hits
// (stored responses again: the id misses, the claim holds it), 0 = misses
// (new ids and respondents); range(2): 0 = right after writing them (as
// during a replay), 1 = once RocksDB's compactions have caught up.
void BM_DedupLookup(benchmark::State& state) {
  const Season& s = DefaultSeason();
  FilledStore& fs = StoreWith(state.range(0));
  if (state.range(2) == 1) WaitForCompactions(*fs.store);
  StoreCounters(state, *fs.store);
  const bool hits = state.range(1) == 1;
  std::unique_ptr<StateBatch> batch = fs.store->NewBatch();
  // The (wave, wijk) prefix of the stored id, so that a hit finds its key.
  auto wijk_of = [&](int64_t i) -> const std::string& {
    return s.districts.wijken()[s.counted[static_cast<size_t>(i) % s.counted.size()].wijk].id;
  };
  int64_t i = 0;
  int64_t found = 0;
  CountedResponse r;
  for (auto _ : state) {
    const int64_t k = static_cast<int64_t>(Scramble(static_cast<size_t>(i++), static_cast<size_t>(fs.n)));
    FillResponse(s, k, r);
    if (!hits) {
      r.response_id = Cat("miss:2024:", k);
      r.respondent[31] ^= 0xFF;  // filler k is the only one with its first 3 bytes
    }
    absl::StatusOr<std::optional<ResponseRecord>> seen =
        batch->GetResponse(0, "2024", wijk_of(k), r.response_id, s.methodology);
    absl::StatusOr<RespondentRecord> claim = batch->GetRespondent(0, "2024", wijk_of(k), r.respondent);
    found += seen.ok() && !seen->has_value() && claim.ok() && claim->response_id == r.response_id;
  }
  state.SetItemsProcessed(state.iterations());
  if (found != (hits ? state.iterations() : 0)) state.SkipWithError("unexpected lookup result");
}
BENCHMARK(BM_DedupLookup)
    ->ArgNames({"stored", "hit", "settled"})
    ->Args({100'000, 0, 0})
    ->Args({100'000, 1, 0})
    ->Args({1'000'000, 0, 0})
    ->Args({1'000'000, 1, 0})
    ->Args({1'000'000, 0, 1})
    ->Args({1'000'000, 1, 1});

// The two respondent lookups of every response that passed the checks (misses
// for a new respondent), against a store of range(0) responses.
void BM_RespondentLookup(benchmark::State& state) {
  FilledStore& fs = StoreWith(state.range(0));
  StoreCounters(state, *fs.store);
  std::unique_ptr<StateBatch> batch = fs.store->NewBatch();
  Digest256 who{};
  int64_t i = 0;
  for (auto _ : state) {
    who[5] = static_cast<uint8_t>(i);
    who[6] = static_cast<uint8_t>(++i >> 8);
    benchmark::DoNotOptimize(batch->GetRespondent(0, "2024", "tussendijken", who));
    benchmark::DoNotOptimize(batch->GetRespondent(0, "2024", "", who));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RespondentLookup)->ArgNames({"stored"})->Arg(1'000'000);

// --- the per-record state update ------------------------------------------------

// --- the storage floor -----------------------------------------------------------

// What the state store alone costs a replay, with no decoding, checks,
// pseudonymisation or aggregates: for each of range(0) counted responses (the
// season's, each with a fresh id and respondent, in its order of arrival, so
// over all wijken) its three dedup lookups, read ahead per window of 256
// records as the pipeline's second thread does, then the response and the
// respondent claim put into a batch, committed with its fsync every 5000
// records, and the store closed at the end. (Since schema 5 the response is
// stored in the claim: one key per counted response.) One thread; the CPU time is that
// of the whole process (RocksDB's flushes and compactions included). Below
// this CPU per record no replay can go with this store (bench/README.md).
void BM_StoreFloor(benchmark::State& state) {
  constexpr int64_t kWindow = 256;  // the daemon's read-ahead window
  const Season& s = DefaultSeason();
  const int64_t n = state.range(0);
  std::vector<CountedResponse> window(kWindow);
  std::vector<const std::string*> wijk_of(kWindow);
  double cpu_s = 0, wall_s = 0;
  int64_t found = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = std::make_unique<TempDir>();
    std::unique_ptr<StateStore> store = OpenStore(dir->path(), /*sync_writes=*/true);
    const std::clock_t cpu0 = std::clock();
    const auto wall0 = std::chrono::steady_clock::now();
    state.ResumeTiming();
    std::unique_ptr<ReadAhead> ahead_owner = store->NewReadAhead();
    ReadAhead& ahead = *ahead_owner;
    std::unique_ptr<StateBatch> batch = store->NewBatch();
    int in_batch = 0;
    for (int64_t i = 0; i < n; i += kWindow) {
      const int64_t size = std::min(kWindow, n - i);
      ahead.Clear();
      for (int64_t j = 0; j < size; ++j) {
        CountedResponse& r = window[static_cast<size_t>(j)];
        FillResponse(s, i + j, r);
        wijk_of[static_cast<size_t>(j)] = &s.districts.wijken()[r.wijk].id;
        ahead.AddResponse(0, r.wave, *wijk_of[static_cast<size_t>(j)], r.response_id);
        ahead.AddRespondent(0, r.wave, *wijk_of[static_cast<size_t>(j)], r.respondent);
        ahead.AddRespondent(0, r.wave, "", r.respondent);
      }
      store->Read(ahead);
      for (int64_t j = 0; j < size; ++j) {
        const CountedResponse& r = window[static_cast<size_t>(j)];
        const std::string& wijk = *wijk_of[static_cast<size_t>(j)];
        found += batch->GetResponse(0, r.wave, wijk, r.response_id, s.methodology, &ahead)->has_value();
        found += batch->GetRespondent(0, r.wave, wijk, r.respondent, &ahead)->state != RespondentState::kUnseen;
        found += batch->GetRespondent(0, r.wave, "", r.respondent, &ahead)->state != RespondentState::kUnseen;
        batch->PutCounted(0, r, wijk, FillOutcome(s, i + j));  // the claim, holding the response
        if (++in_batch == kBatchRecords) {
          batch->PutOffset("wijkprofiel.responses.v1", 0, i + j + 1);
          if (!store->Commit(*batch).ok()) std::abort();
          batch = store->NewBatch();
          in_batch = 0;
        }
      }
    }
    batch->PutOffset("wijkprofiel.responses.v1", 0, n);
    if (!store->Commit(*batch).ok()) std::abort();
    batch.reset();
    StoreCounters(state, *store);
    store.reset();  // waits for RocksDB's background work, as a replay's exit does
    state.PauseTiming();
    cpu_s += static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
    wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    dir.reset();
    state.ResumeTiming();
  }
  const double records = static_cast<double>(state.iterations() * n);
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["cpu_us_per_record"] = 1e6 * cpu_s / records;
  state.counters["wall_us_per_record"] = 1e6 * wall_s / records;
  // The records/s that two cores could give if this were the only work.
  state.counters["two_core_records_per_s"] = 2 * records / cpu_s;
  if (found != 0) state.SkipWithError("a fresh id or respondent was found stored");
}
BENCHMARK(BM_StoreFloor)
    ->ArgNames({"records"})
    ->Arg(1'000'000)
    ->Iterations(1)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// RecordProcessor::Process of the season's records (both topics) into a batch
// of 5000 over a fresh store. range(0) = 1 also counts the commit: the
// aggregates of every touched wijk, the WriteBatch and its fsync, as the
// pipeline does (minus Kafka).
void BM_Process(benchmark::State& state) {
  const Season& s = DefaultSeason();
  const bool with_commit = state.range(0) == 1;
  const int k = static_cast<int>(s.methodology.indicators.size());
  RecordProcessor processor(s.methodology, s.districts, s.pseudonymiser, SystemClock, ProcessorOptions{});
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<StateBatch> batch;
  InstanceState fw;
  TaskChanges dirty;
  size_t next = s.records.size();
  int in_batch = 0;
  auto commit = [&] {
    for (const auto& [task, changed] : dirty) {
      for (const auto& [key, change] : changed) {
        batch->PutAggregates(task, key, *fw.tasks.at(task).Find(key), k, change);
      }
    }
    batch->PutOffset("wijkprofiel.responses.v1", 0, static_cast<int64_t>(next));
    if (!store->Commit(*batch).ok()) std::abort();
    batch = store->NewBatch();
    dirty.clear();
    in_batch = 0;
  };
  for (auto _ : state) {
    if (next == s.records.size()) {  // a fresh store for every pass over the season
      state.PauseTiming();
      batch.reset();
      store.reset();
      dir = std::make_unique<TempDir>();
      store = OpenStore(dir->path(), /*sync_writes=*/true);
      batch = store->NewBatch();
      fw = InstanceState();
      dirty.clear();
      next = 0;
      in_batch = 0;
      state.ResumeTiming();
    }
    const sim::SimRecord& r = s.records[next];
    absl::StatusOr<RecordResult> res =
        processor.Process(ViewOf(r, static_cast<int64_t>(next)), *batch, fw, dirty);
    benchmark::DoNotOptimize(res);
    ++next;
    if (++in_batch == kBatchRecords) {
      if (with_commit) {
        commit();
      } else {
        state.PauseTiming();
        commit();
        state.ResumeTiming();
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(with_commit ? "with commit (sync)" : "commit excluded");
}
BENCHMARK(BM_Process)->ArgNames({"commit"})->Arg(0)->Arg(1)->Iterations(60'000);

void BM_ApplyCounted(benchmark::State& state) {
  const Season& s = DefaultSeason();
  FieldworkState fw;
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ % s.counted.size();
    const CountedResponse& r = s.counted[k];
    WijkState& ws = fw.Mutable(StateKey{r.wave, s.districts.wijken()[r.wijk].id});
    ApplyCounted(ws, r, s.counted_outcome[k], s.methodology, +1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ApplyCounted);

// --- the published views ---------------------------------------------------------

// The state of a whole season (about 30,000 records), processed once.
const FieldworkState& SeasonState() {
  static const FieldworkState* state = [] {
    TempDir dir;
    std::unique_ptr<StateStore> store = OpenStore(dir.path(), /*sync_writes=*/false);
    return new FieldworkState(ProcessSeason(DefaultSeason(), *store, kBatchRecords));
  }();
  return *state;
}

// ComputeScores of all 86 units (71 wijken, 14 gebieden, the city). range(0)
// = 1 also serialises each, as the output publisher does.
void BM_ComputeScoresAllUnits(benchmark::State& state) {
  const Season& s = DefaultSeason();
  const FieldworkState& fw = SeasonState();
  const ViewContext ctx{s.methodology, s.districts, true, "Rotterdam"};
  const std::vector<UnitRef> units = AllUnits(s.districts, ctx.city_name);
  const bool serialise = state.range(0) == 1;
  for (auto _ : state) {
    for (const UnitRef& u : units) {
      v1::ProvisionalScores scores = ComputeScores(u, fw, s.wave, ctx);
      if (serialise) benchmark::DoNotOptimize(scores.SerializeAsString());
      benchmark::DoNotOptimize(scores);
    }
  }
  state.counters["units"] = static_cast<double>(units.size());
  state.SetLabel(serialise ? "ComputeScores + SerializeAsString" : "ComputeScores");
}
BENCHMARK(BM_ComputeScoresAllUnits)->ArgNames({"serialise"})->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// ComputeAllQuotas + ToQuotaSnapshot of every wijk (71).
void BM_QuotaSnapshotAll(benchmark::State& state) {
  const Season& s = DefaultSeason();
  const FieldworkState& fw = SeasonState();
  const ViewContext ctx{s.methodology, s.districts, true, "Rotterdam"};
  const UnixNanos watermark = fw.Watermark(s.wave.id);
  for (auto _ : state) {
    for (const WijkQuota& q : ComputeAllQuotas(fw, s.wave, ctx)) {
      benchmark::DoNotOptimize(ToQuotaSnapshot(q, s.wave, watermark, fw, ctx));
    }
  }
  state.counters["wijken"] = static_cast<double>(s.districts.wijken().size());
}
BENCHMARK(BM_QuotaSnapshotAll)->Unit(benchmark::kMillisecond);

// What every commit costs the pipeline besides RocksDB: Publish copies the
// state map, and the next batch clones each wijk it touches (here: all).
void BM_PublishAndClone(benchmark::State& state) {
  const FieldworkState& season = SeasonState();
  FieldworkState working = season;
  for (auto _ : state) {
    FieldworkState published = working;  // Pipeline::Publish
    for (const auto& [key, ws] : season.wijken()) benchmark::DoNotOptimize(&working.Mutable(key));
    benchmark::DoNotOptimize(published);
  }
  state.counters["wijk_states"] = static_cast<double>(season.wijken().size());
}
BENCHMARK(BM_PublishAndClone)->Unit(benchmark::kMicrosecond);

}  // namespace

void CloseStores() { FilledStores().clear(); }

}  // namespace wijkpuls::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  wijkpuls::bench::CloseStores();
  benchmark::Shutdown();
  return 0;
}
