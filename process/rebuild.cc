#include "process/rebuild.h"

#include "process/record_processor.h"
#include "score/wijk_state.h"

namespace wijkpuls {

absl::StatusOr<TaskStates> RecomputeAggregates(const StateStore& store, const Methodology& m,
                                               const DistrictRegister& districts,
                                               RebuildCounts* counts) {
  TaskStates tasks;
  RebuildCounts local;
  absl::Status st = store.ForEachResponse(
      m, [&](int32_t task, std::string_view wave, std::string_view wijk, std::string_view,
             const ResponseRecord& rec) {
        FieldworkState& state = tasks[task];
        // Attributed exactly as the record processor did: by the wave and
        // wijk the record was sent with, where they are known.
        Attribution a = rec.attribution;
        a.wave = m.FindWave(wave);
        a.wijk = districts.FindWijk(wijk);
        const StateKey key = AttributionKey(a, districts);
        if (rec.erased) {
          ++local.erased;
        } else if (rec.outcome == Outcome::kRejected) {
          ++local.rejected;
          if (*rec.reason != RejectReason::kWithdrawn) ApplyRejected(state.Mutable(key), a, *rec.reason);
        } else if (rec.response) {
          ++local.counted;
          ApplyCounted(state.Mutable(key), *rec.response, rec.outcome, m, +1);
        }
        if (rec.passed_checks && rec.submitted_at) {
          WijkState& ws = state.Mutable(key);
          ws.watermark = std::max(ws.watermark, *rec.submitted_at);
        }
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  if (counts) *counts = local;
  return tasks;
}

}  // namespace wijkpuls
