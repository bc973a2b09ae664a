// The published views as JSON, as the API shows them and the file sink writes
// them: the protobuf JSON mapping (field names as in the .proto, zero values
// printed), except that a score leaves out the fields that carry no number
// for it.
#pragma once

#include <string>

#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {

std::string ViewJson(const google::protobuf::Message& msg);
// One unit's scores (see ScoresToJsonValue in views_json.cc for what is left out).
std::string ScoresJson(const v1::ProvisionalScores& scores);
// One wijk's quota snapshot: the projected precision leaves out the figures
// it has not got (a half-width without a value, responses needed without a
// figure, the reason when there is one).
std::string QuotaJson(const v1::QuotaSnapshot& snapshot);

}  // namespace wijkpuls
