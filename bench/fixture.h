// Shared inputs of the micro-benchmarks: the default methodology and register,
// a seeded simulated season, and throw-away RocksDB state directories. Built
// once per process and kept (benchmarks only read them, except the stores,
// which each benchmark makes for itself).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "process/record_processor.h"
#include "score/fieldwork_state.h"
#include "sim/simulator.h"
#include "store/state_store.h"
#include "model/district_register.h"
#include "model/methodology.h"
#include "validate/pseudonymiser.h"

namespace wijkpuls::bench {

// A directory under $TMPDIR (or /tmp) removed with everything in it when the
// object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Season {
  const Methodology& methodology;
  const DistrictRegister& districts;
  const Pseudonymiser& pseudonymiser;
  const Wave& wave;
  std::vector<sim::SimRecord> records;    // production order, both topics
  std::vector<size_t> responses;          // indices of response records
  // Responses that pass CheckFields, with their flags evaluated.
  std::vector<CountedResponse> counted;
  std::vector<Outcome> counted_outcome;
};

// The default definitions (config/methodology.yaml, config/districts.csv) and
// a season of about 30,000 records (seed 1). Aborts when they cannot be loaded.
const Season& DefaultSeason();

// A SourceRecord that views `r`.
SourceRecord ViewOf(const sim::SimRecord& r, int64_t offset);

// A fresh state store in `dir` (sync as given).
std::unique_ptr<StateStore> OpenStore(const std::string& dir, bool sync_writes);

// Processes every record of the season through a RecordProcessor into `store`,
// committing every `batch_records` records, and returns the in-memory state.
FieldworkState ProcessSeason(const Season& season, StateStore& store, int batch_records);

}  // namespace wijkpuls::bench
