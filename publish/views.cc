#include "publish/views.h"

#include "validate/wire.h"

#include "model/text.h"

namespace wijkpuls {
namespace {

google::protobuf::Timestamp ToTimestamp(UnixNanos t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(t / kNanosPerSecond);
  ts.set_nanos(static_cast<int32_t>(t % kNanosPerSecond));
  if (ts.nanos() < 0) {
    ts.set_seconds(ts.seconds() - 1);
    ts.set_nanos(ts.nanos() + static_cast<int32_t>(kNanosPerSecond));
  }
  return ts;
}


void FillScore(const ScoreValue& s, v1::Score* out) {
  out->set_id(s.id);
  out->set_status(ToWire(s.status));
  out->set_n(static_cast<int32_t>(s.n));
  out->set_n_eff(s.n_eff);
  out->set_components_used(s.components_used);
  out->set_components_total(s.components_total);
  if (s.has_value) {
    out->set_has_value(true);
    out->set_value(s.value);
    out->set_value_se(s.value_se);
    out->set_score(s.score);
    out->set_score_se(s.score_se);
    out->set_ci_low(s.ci_low);
    out->set_ci_high(s.ci_high);
    out->set_band(ToWire(s.band));
  }
  if (s.reference) {
    out->set_has_reference(true);
    out->set_reference(*s.reference);
    if (s.has_value) out->set_delta(s.score - *s.reference);
  }
}

}  // namespace

v1::QuotaStatus ToWire(QuotaStatus s) {
  switch (s) {
    case QuotaStatus::kBehind: return v1::BEHIND;
    case QuotaStatus::kAtRisk: return v1::AT_RISK;
    case QuotaStatus::kEarly: return v1::EARLY;
    case QuotaStatus::kOnTrack: return v1::ON_TRACK;
    case QuotaStatus::kComplete: return v1::COMPLETE;
  }
  return v1::QUOTA_STATUS_UNSPECIFIED;
}

v1::EstimateStatus ToWire(EstimateStatus s) {
  switch (s) {
    case EstimateStatus::kOk: return v1::OK;
    case EstimateStatus::kLowPrecision: return v1::LOW_PRECISION;
    case EstimateStatus::kSuppressed: return v1::SUPPRESSED;
  }
  return v1::ESTIMATE_STATUS_UNSPECIFIED;
}

v1::Band ToWire(Band b) {
  switch (b) {
    case Band::kNone: return v1::BAND_UNSPECIFIED;
    case Band::kMuchWorse: return v1::MUCH_WORSE;
    case Band::kWorse: return v1::WORSE;
    case Band::kAverage: return v1::AVERAGE;
    case Band::kBetter: return v1::BETTER;
    case Band::kMuchBetter: return v1::MUCH_BETTER;
  }
  return v1::BAND_UNSPECIFIED;
}

std::vector<WijkQuota> ComputeAllQuotas(const FieldworkState& state, const Wave& wave,
                                        const ViewContext& ctx) {
  const UnixNanos watermark = state.Watermark(wave.id);
  std::vector<WijkQuota> out;
  const auto& wijken = ctx.districts.wijken();
  out.reserve(wijken.size());
  for (size_t i = 0; i < wijken.size(); ++i) {
    const WijkState* s = state.Find(StateKey{wave.id, wijken[i].id});
    out.push_back(ComputeWijkQuota(wijken[i], static_cast<int>(i), s, wave, watermark,
                                   ctx.methodology));
  }
  return out;
}

v1::QuotaSnapshot ToQuotaSnapshot(const WijkQuota& q, const Wave& wave, UnixNanos watermark,
                                  const ViewContext& ctx) {
  const Wijk& w = ctx.districts.wijken()[q.wijk];
  v1::QuotaSnapshot out;
  out.set_wave(wave.id);
  out.set_wijk(w.id);
  out.set_wijk_name(w.name);
  out.set_gebied(ctx.districts.gebieden()[w.gebied].id);
  if (watermark != 0) *out.mutable_watermark() = ToTimestamp(watermark);
  out.set_days_elapsed(q.progress.elapsed);
  out.set_days_remaining(q.progress.remaining);
  out.set_invited(static_cast<int32_t>(q.invited));
  out.set_response_rate(q.response_rate);
  out.set_status(ToWire(q.status));
  for (const InstrumentQuota& iq : q.instruments) {
    v1::InstrumentQuota* o = out.add_instruments();
    o->set_instrument(ToWire(iq.instrument));
    o->set_target(static_cast<int32_t>(iq.target));
    o->set_net(static_cast<int32_t>(iq.net));
    o->set_accepted(static_cast<int32_t>(iq.accepted));
    o->set_flagged(static_cast<int32_t>(iq.flagged));
    o->set_rejected(static_cast<int32_t>(iq.rejected));
    o->set_surplus(static_cast<int32_t>(iq.surplus));
    o->set_rate(iq.rate);
    o->set_projected(iq.projected);
    o->set_status(ToWire(iq.status));
    o->set_expected_by_now(iq.expected_by_now);
    for (int c = 0; c < kCellCount; ++c) {
      const CellQuota& cq = iq.cells[c];
      v1::QuotaCell* oc = out.add_cells();
      oc->set_instrument(ToWire(iq.instrument));
      oc->set_age_band(ToWire(CellAge(c)));
      oc->set_sex(ToWire(CellSex(c)));
      oc->set_target(static_cast<int32_t>(cq.target));
      oc->set_net(static_cast<int32_t>(cq.net));
      oc->set_accepted(static_cast<int32_t>(cq.accepted));
      oc->set_flagged(static_cast<int32_t>(cq.flagged));
      oc->set_rejected(static_cast<int32_t>(cq.rejected));
      oc->set_surplus(static_cast<int32_t>(cq.surplus));
      oc->set_behind(cq.behind);
      oc->set_expected_by_now(cq.expected_by_now);
    }
  }
  out.set_provisional(ctx.provisional);
  out.set_methodology_hash(ctx.methodology.sha256);
  out.set_register_hash(ctx.districts.sha256());
  return out;
}

std::vector<UnitRef> AllUnits(const DistrictRegister& d, const std::string& city_name) {
  std::vector<UnitRef> units;
  for (size_t i = 0; i < d.wijken().size(); ++i) {
    units.push_back(UnitRef{std::string(kLevelWijk), d.wijken()[i].id, d.wijken()[i].name,
                            {static_cast<int>(i)}});
  }
  UnitRef city{std::string(kLevelStad), std::string(kCityUnit), city_name, {}};
  for (const Gebied& g : d.gebieden()) {
    units.push_back(UnitRef{std::string(kLevelGebied), g.id, g.name, g.wijken});
  }
  for (size_t i = 0; i < d.wijken().size(); ++i) city.wijken.push_back(static_cast<int>(i));
  units.push_back(std::move(city));
  return units;
}

std::optional<UnitRef> FindUnit(const DistrictRegister& d, std::string_view level,
                                std::string_view unit, const std::string& city_name) {
  if (level == kLevelWijk) {
    if (std::optional<int> w = d.FindWijk(unit)) {
      return UnitRef{std::string(level), d.wijken()[*w].id, d.wijken()[*w].name, {*w}};
    }
  } else if (level == kLevelGebied) {
    if (std::optional<int> g = d.FindGebied(unit)) {
      const Gebied& gb = d.gebieden()[*g];
      return UnitRef{std::string(level), gb.id, gb.name, gb.wijken};
    }
  } else if (level == kLevelStad && unit == kCityUnit) {
    UnitRef city{std::string(kLevelStad), std::string(kCityUnit), city_name, {}};
    for (size_t i = 0; i < d.wijken().size(); ++i) city.wijken.push_back(static_cast<int>(i));
    return city;
  }
  return std::nullopt;
}

v1::ProvisionalScores ComputeScores(const UnitRef& unit, const FieldworkState& state,
                                    const Wave& wave, const ViewContext& ctx) {
  const Methodology& m = ctx.methodology;
  std::vector<UnitMember> members;
  int64_t counted = 0;
  for (int w : unit.wijken) {
    const Wijk& wijk = ctx.districts.wijken()[w];
    const WijkState* s = state.Find(StateKey{wave.id, wijk.id});
    members.push_back(UnitMember{&wijk.population, s});
    if (s) {
      for (const CellTally& c : s->cells) counted += c.accepted;
    }
  }
  auto ref = m.references.find(Cat(unit.level, "/", unit.unit));
  UnitScores scores =
      ComputeUnitScores(members, m, ref == m.references.end() ? nullptr : &ref->second);

  v1::ProvisionalScores out;
  out.set_wave(wave.id);
  out.set_level(unit.level);
  out.set_unit(unit.unit);
  out.set_unit_name(unit.name);
  const UnixNanos watermark = state.Watermark(wave.id);
  if (watermark != 0) *out.mutable_watermark() = ToTimestamp(watermark);
  out.set_responses_counted(static_cast<int32_t>(counted));
  out.set_provisional(ctx.provisional);
  out.set_methodology_hash(m.sha256);
  out.set_register_hash(ctx.districts.sha256());
  for (const ScoreValue& s : scores.indicators) FillScore(s, out.add_indicators());
  for (const ScoreValue& s : scores.themes) FillScore(s, out.add_themes());
  for (const ScoreValue& s : scores.indices) FillScore(s, out.add_indices());
  return out;
}

int32_t OutputOwner(std::string_view key, int32_t partitions) {
  uint32_t h = 2166136261u;
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return partitions > 0 ? static_cast<int32_t>(h % static_cast<uint32_t>(partitions)) : 0;
}

std::string QuotaKey(const std::string& wave, const std::string& wijk) {
  return Cat(wave, "/", wijk);
}

std::string ScoresKey(const std::string& wave, const UnitRef& unit) {
  return Cat(wave, "/", unit.level, "/", unit.unit);
}

}  // namespace wijkpuls
