// The published views of the state: quota snapshots per wijk (with gebied
// and city totals) and provisional scores per unit, as the wire messages of
// proto/. The Kafka topics and the JSON API serve these same messages, so
// they cannot disagree.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "score/estimate.h"
#include "score/fieldwork_state.h"
#include "score/precision.h"
#include "score/quota.h"
#include "model/district_register.h"
#include "model/methodology.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {

// The score/ enums as the wire's, by table (validate/wire.h has the vocabulary's).
v1::QuotaStatus ToWire(QuotaStatus s);
v1::EstimateStatus ToWire(EstimateStatus s);
v1::Band ToWire(Band b);

struct ViewContext {
  const Methodology& methodology;
  const DistrictRegister& districts;
  bool provisional = true;  // false once the wave is closed in the configuration
  std::string city_name = "Rotterdam";
};

// What the views take from the configuration, the same for the output
// topics, the API and the metrics.
struct ViewSettings {
  std::set<std::string> closed_waves;  // fieldwork closed: the views say provisional: false
  std::string city_name = "Rotterdam";
  bool Provisional(const Wave& wave) const { return !closed_waves.count(wave.id); }
  ViewContext ContextFor(const Methodology& m, const DistrictRegister& d, const Wave& wave) const {
    return ViewContext{m, d, Provisional(wave), city_name};
  }
};

inline constexpr std::string_view kLevelWijk = "wijk";
inline constexpr std::string_view kLevelGebied = "gebied";
inline constexpr std::string_view kLevelStad = "stad";
inline constexpr std::string_view kCityUnit = "stad";

// Quota of every wijk of the register in register order.
std::vector<WijkQuota> ComputeAllQuotas(const FieldworkState& state, const Wave& wave,
                                        const ViewContext& ctx);
// The snapshot of one wijk, with its projected precision at the close of
// fieldwork (methodology section 8) from `state`.
v1::QuotaSnapshot ToQuotaSnapshot(const WijkQuota& q, const Wave& wave, UnixNanos watermark,
                                  const FieldworkState& state, const ViewContext& ctx);
// The projection of one wijk whose quota is `q`.
WijkPrecision PrecisionOf(const WijkQuota& q, const FieldworkState& state, const Wave& wave,
                          const ViewContext& ctx);

// A scored unit: wijk, gebied or the city.
struct UnitRef {
  std::string level;
  std::string unit;
  std::string name;
  std::vector<int> wijken;  // register indices
};
// All units: the wijken, the gebieden, then the city (71 + 14 + 1 by default).
std::vector<UnitRef> AllUnits(const DistrictRegister& districts, const std::string& city_name);
std::optional<UnitRef> FindUnit(const DistrictRegister& districts, std::string_view level,
                                std::string_view unit, const std::string& city_name);

v1::ProvisionalScores ComputeScores(const UnitRef& unit, const FieldworkState& state,
                                    const Wave& wave, const ViewContext& ctx);

// "<wave>/<wijk>" and "<wave>/<level>/<unit>": the keys of the compacted topics.
std::string QuotaKey(const std::string& wave, const std::string& wijk);
// The responses partition whose owner publishes an output key (FNV-1a of the
// key, modulo the partitions): with several instances each key has one
// publisher, whichever wijken it counts.
int32_t OutputOwner(std::string_view key, int32_t partitions);
std::string ScoresKey(const std::string& wave, const UnitRef& unit);

}  // namespace wijkpuls
