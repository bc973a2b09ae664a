#include "bench/fixture.h"
#include "store/state_store.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "validate/decode.h"
#include "validate/rules.h"

#ifndef WIJKPULS_SOURCE_DIR
#error "WIJKPULS_SOURCE_DIR must name the source tree (bench/CMakeLists.txt sets it)"
#endif

namespace wijkpuls::bench {
namespace {

template <typename T>
T OrDie(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "bench: %s: %s\n", what, std::string(v.status().message()).c_str());
    std::abort();
  }
  return std::move(*v);
}

void Check(const absl::Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "bench: %s: %s\n", what, std::string(st.message()).c_str());
    std::abort();
  }
}

Season* MakeSeason() {
  static const Methodology m =
      OrDie(LoadMethodology(WIJKPULS_SOURCE_DIR "/config/methodology.yaml"), "methodology");
  static const DistrictRegister d =
      OrDie(DistrictRegister::Load(WIJKPULS_SOURCE_DIR "/config/districts.csv"), "districts");
  static const Pseudonymiser p = Pseudonymiser::Ephemeral();
  sim::SimOptions so;
  so.seed = 1;
  so.scale = 1.0;
  const Wave* wave = m.FindWave(so.wave);
  if (wave == nullptr) {
    std::fprintf(stderr, "bench: wave %s is not in the methodology\n", so.wave.c_str());
    std::abort();
  }
  auto* s = new Season{m, d, p, *wave, sim::Generate(m, d, so), {}, {}, {}};
  const RuleContext ctx{m, d, SystemClock()};
  for (size_t i = 0; i < s->records.size(); ++i) {
    const sim::SimRecord& r = s->records[i];
    if (r.topic != so.responses_topic) continue;
    s->responses.push_back(i);
    absl::StatusOr<RawResponse> raw = DecodeResponse(r.value, r.content_type);
    if (!raw.ok()) continue;
    FieldCheck fc = CheckFields(*raw, ctx);
    if (fc.reason) continue;
    fc.response.respondent = p.Of(fc.response.wave, raw->respondent_ref);
    fc.response.flags = EvaluateFlags(fc.response, m);
    s->counted_outcome.push_back(fc.response.flags.Empty() ? Outcome::kAccepted : Outcome::kFlagged);
    s->counted.push_back(std::move(fc.response));
  }
  return s;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/wijkpuls-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("bench: mkdtemp");
    std::abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

const Season& DefaultSeason() {
  static const Season* season = MakeSeason();
  return *season;
}

SourceRecord ViewOf(const sim::SimRecord& r, int64_t offset) {
  SourceRecord s;
  s.topic = r.topic;
  s.partition = r.partition;
  s.offset = offset;
  s.key = r.key;
  s.value = r.value;
  s.content_type = r.content_type;
  return s;
}

std::unique_ptr<StateStore> OpenStore(const std::string& dir, bool sync_writes) {
  StoreOptions o;
  o.dir = dir;
  o.sync_writes = sync_writes;
  o.min_free_bytes = 0;
  return OrDie(OpenStateStore(o), "state store");
}

FieldworkState ProcessSeason(const Season& season, StateStore& store, int batch_records) {
  RecordProcessor processor(season.methodology, season.districts, season.pseudonymiser, SystemClock,
                            ProcessorOptions{});
  InstanceState state;
  TaskChanges dirty;
  std::unique_ptr<StateBatch> batch = store.NewBatch();
  int in_batch = 0;
  int64_t offset = 0;
  for (const sim::SimRecord& r : season.records) {
    absl::StatusOr<RecordResult> res = processor.Process(ViewOf(r, offset++), *batch, state, dirty);
    Check(res.status(), "processing the season");
    if (++in_batch == batch_records) {
      Check(store.Commit(*batch), "commit");
      batch = store.NewBatch();
      in_batch = 0;
    }
  }
  Check(store.Commit(*batch), "commit");
  return SumOfTasks(state.tasks);
}

}  // namespace wijkpuls::bench
