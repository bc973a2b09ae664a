// The vocabulary's enums as the wire contract's (proto/wijkpuls/v1), by an
// explicit table each: a switch over every value, so that a value added to an
// enum and not mapped fails to compile (-Wswitch, warnings are errors), and a
// value the .proto lacks cannot be named. validate_test checks that every
// value maps to the wire value of its own name (WireName). Never by numeric
// position: the internal and the wire numbers differ (OVERSIZED is 0 inside,
// 13 on the wire).
#pragma once

#include <optional>

#include "model/types.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {

v1::RejectReason ToWire(RejectReason r);
v1::Instrument ToWire(Instrument i);
v1::Mode ToWire(Mode m);
v1::AgeBand ToWire(AgeBand a);
v1::Sex ToWire(Sex s);

// The wire's numbers as received (RawResponse): nullopt for UNSPECIFIED and
// for numbers the contract does not define.
std::optional<Instrument> InstrumentFromWire(int v);
std::optional<Mode> ModeFromWire(int v);
std::optional<AgeBand> AgeBandFromWire(int v);
std::optional<Sex> SexFromWire(int v);

}  // namespace wijkpuls
