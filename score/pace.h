// Net responses against plan, day by day (the pace chart of the scores page):
// for a set of wijken (one wijk, a gebied, the city) and each instrument, the
// cumulative net per calendar day from the first fieldwork day up to the
// watermark's date, beside the even-pace line target x e(d) / (e + r), where
// e(d) is the round days through day d (methodology section 7). A pure
// function of the per-day counts of the quota state.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "model/methodology.h"
#include "model/types.h"
#include "score/wijk_state.h"

namespace wijkpuls {

struct PaceDay {
  DayNumber day = 0;
  int64_t net = 0;         // net responses submitted that day
  int64_t cumulative = 0;  // net submitted up to and including that day
  double expected = 0;     // target * e(day) / (e + r)
};

struct InstrumentPace {
  Instrument instrument = Instrument::kVeiligheidsmonitor;
  int64_t target = 0;
  std::vector<PaceDay> days;  // from the wave's first round day to the watermark's date
};

// One wijk of the unit: its net target per instrument and its state (may be null).
struct PaceMember {
  int64_t target = 0;
  const WijkState* state = nullptr;
};

// No watermark: no days. Responses dated before the first round day (none
// are counted: the window starts with it) and after the watermark's date
// (none exist: the watermark is the latest date) need no care; days outside
// the rounds (a summer break, the grace period of late papers) carry their
// responses and keep the even-pace line flat.
std::array<InstrumentPace, kInstrumentCount> ComputePace(std::span<const PaceMember> members, const Wave& wave,
                                                         UnixNanos watermark, const Methodology& m);

}  // namespace wijkpuls
