// Recomputes every aggregate (quota counts, day counts, statistics, quality
// tallies, watermarks) from the stored responses, with the given methodology
// and register: `wijkpuls rebuild`, and the check that the incrementally kept
// state equals a recomputation.
#pragma once

#include "absl/status/statusor.h"
#include "score/fieldwork_state.h"
#include "process/state.h"
#include "model/district_register.h"
#include "model/methodology.h"

namespace wijkpuls {

struct RebuildCounts {
  int64_t counted = 0;
  int64_t rejected = 0;
  int64_t erased = 0;
};

// By task, as the record path keeps them.
absl::StatusOr<TaskStates> RecomputeAggregates(const StateStore& store, const Methodology& m,
                                                   const DistrictRegister& districts,
                                                   RebuildCounts* counts = nullptr);

}  // namespace wijkpuls
