// A SurveyResponse with every field set (three answers, one a missing code),
// for the decoders' fast-path tests.
#pragma once

#include <string>

#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls::testing {

inline v1::SurveyResponse EveryFieldResponse() {
  v1::SurveyResponse m;
  m.set_response_id("r-1");
  m.set_respondent_ref("INV-1");
  m.set_wave("2024");
  m.set_wijk("tussendijken");
  m.set_instrument(v1::Instrument(1));
  m.set_mode(v1::Mode(3));
  m.set_age_band(v1::AgeBand(2));
  m.set_sex(v1::Sex(1));
  m.mutable_started_at()->set_seconds(1'700'000'000);
  m.mutable_submitted_at()->set_seconds(1'700'000'600);
  m.mutable_submitted_at()->set_nanos(120'000'000);
  m.set_interviewer_id("int-7");
  m.set_consent(true);
  m.set_instrument_version("vm-2024.1");
  for (int i = 0; i < 3; ++i) {
    v1::Answer* a = m.add_answers();
    a->set_item("V0" + std::to_string(i + 1));
    a->set_value(i == 2 ? 98 : i);
  }
  return m;
}

}  // namespace wijkpuls::testing
