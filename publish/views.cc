#include "publish/views.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

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


void FillScore(const ScoreValue& s, v1::Score* out, double z) {
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
    out->set_half_width(z * s.score_se);
  }
  if (s.reference) {
    out->set_has_reference(true);
    out->set_reference(*s.reference);
    if (s.has_value) out->set_delta(s.score - *s.reference);
  }
}

void FillAtClose(const ScoreValue& s, v1::Score* out, double z) {
  out->set_status_at_close(ToWire(s.status));
  if (s.has_value) {
    out->set_has_value_at_close(true);
    out->set_half_width_at_close(z * s.score_se);
  }
}

v1::PrecisionAtClose PrecisionAtClose(const WijkPrecision& p) {
  return p.imprecise_at_close ? v1::IMPRECISE_AT_CLOSE : v1::PRECISE_AT_CLOSE;
}

void FillPrecision(const IndexPrecision& p, v1::IndexPrecision* out) {
  out->set_index(p.id);
  out->set_instrument(ToWire(p.instrument));
  out->set_growth(p.growth);
  if (p.has_value) {
    out->set_has_half_width(true);
    out->set_half_width(p.half_width);
  }
  if (p.has_value_at_close) {
    out->set_has_half_width_at_close(true);
    out->set_half_width_at_close(p.half_width_at_close);
  }
  out->set_status_at_close(ToWire(p.status_at_close));
  out->set_imprecise_at_close(p.imprecise_at_close);
  if (p.responses_needed) {
    out->set_has_responses_needed(true);
    out->set_responses_needed(static_cast<int32_t>(std::min<int64_t>(*p.responses_needed, INT32_MAX)));
  } else {
    out->set_needed_reason(std::string(Describe(p.needed_reason)));
  }
  for (const CellGain& c : p.cells) {
    v1::CellGain* o = out->add_cells();
    o->set_age_band(ToWire(CellAge(c.cell)));
    o->set_sex(ToWire(CellSex(c.cell)));
    o->set_empty(c.empty);
    o->set_gain(c.gain);
    o->set_allocated(static_cast<int32_t>(std::min<int64_t>(c.allocated, INT32_MAX)));
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

WijkPrecision PrecisionOf(const WijkQuota& q, const FieldworkState& state, const Wave& wave,
                          const ViewContext& ctx) {
  const Wijk& w = ctx.districts.wijken()[q.wijk];
  const UnitMember member{&w.population, state.Find(StateKey{wave.id, w.id})};
  const UnitScores now = ComputeUnitScores(std::span<const UnitMember>(&member, 1), ctx.methodology, nullptr);
  return ProjectWijk(member, q, now, ctx.methodology);
}

v1::QuotaSnapshot ToQuotaSnapshot(const WijkQuota& q, const Wave& wave, UnixNanos watermark,
                                  const FieldworkState& state, const ViewContext& ctx) {
  const Wijk& w = ctx.districts.wijken()[q.wijk];
  v1::QuotaSnapshot out;
  out.set_wave(wave.id);
  out.set_wijk(w.id);
  out.set_wijk_name(w.name);
  out.set_gebied(ctx.districts.gebieden()[w.gebied].id);
  out.set_gebied_name(ctx.districts.gebieden()[w.gebied].name);
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
  const WijkPrecision precision = PrecisionOf(q, state, wave, ctx);
  out.set_precision_at_close(PrecisionAtClose(precision));
  out.set_precision_target(ctx.methodology.estimation.precision_target);
  for (const IndexPrecision& p : precision.indices) FillPrecision(p, out.add_precision());
  for (std::string& label : CellsBehind(q)) out.add_cells_behind(std::move(label));
  out.set_cells_behind_count(out.cells_behind_size());
  out.set_risk(QuotaRisk(q));
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
  const double z = m.estimation.z;
  for (const ScoreValue& s : scores.indicators) FillScore(s, out.add_indicators(), z);
  for (const ScoreValue& s : scores.themes) FillScore(s, out.add_themes(), z);
  for (const ScoreValue& s : scores.indices) FillScore(s, out.add_indices(), z);
  for (size_t i = 0; i < m.indicators.size(); ++i) out.mutable_indicators(static_cast<int>(i))->set_parent(m.indicators[i].theme);
  for (size_t t = 0; t < m.themes.size(); ++t) out.mutable_themes(static_cast<int>(t))->set_parent(m.themes[t].index);
  if (unit.level == kLevelWijk && unit.wijken.size() == 1) {
    out.set_gebied(ctx.districts.gebieden()[ctx.districts.wijken()[unit.wijken[0]].gebied].id);
    if (auto f = m.focus.find(unit.unit); f != m.focus.end()) {
      out.set_focus(true);
      for (size_t i = 0; i < m.indices.size(); ++i) {
        auto t = f->second.find(m.indices[i].id);
        if (t == f->second.end()) continue;
        v1::Score* x = out.mutable_indices(static_cast<int>(i));
        x->set_has_target(true);
        x->set_target(t->second);
        if (x->has_value() && x->score_se() > 0) {
          x->set_probability_above_target(0.5 * std::erfc(-(x->score() - t->second) / (x->score_se() * std::sqrt(2.0))));
        } else if (x->has_value()) {
          x->set_probability_above_target(x->score() > t->second ? 1.0 : 0.0);
        }
      }
    }
    // The projection to the close of fieldwork, from the wijk's quota at the
    // same watermark.
    const int w = unit.wijken[0];
    const WijkQuota q = ComputeWijkQuota(ctx.districts.wijken()[w], w, members[0].state, wave, watermark, m);
    const WijkPrecision p = ProjectWijk(members[0], q, scores, m);
    out.set_precision_at_close(PrecisionAtClose(p));
    for (size_t i = 0; i < p.at_close.indicators.size(); ++i) FillAtClose(p.at_close.indicators[i], out.mutable_indicators(i), z);
    for (size_t i = 0; i < p.at_close.themes.size(); ++i) FillAtClose(p.at_close.themes[i], out.mutable_themes(i), z);
    for (size_t i = 0; i < p.at_close.indices.size(); ++i) FillAtClose(p.at_close.indices[i], out.mutable_indices(i), z);
  }
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
