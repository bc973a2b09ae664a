// Every value of the vocabulary's enums goes out as the wire value of its own
// name, and comes back from it: by table, never by numeric position.
#include "validate/wire.h"

#include <gtest/gtest.h>

namespace wijkpuls {
namespace {

TEST(Wire, EveryEnumValueMapsToTheWireValueOfItsName) {
  for (RejectReason r : kAllRejectReasons) {
    EXPECT_EQ(v1::RejectReason_Name(ToWire(r)), WireName(r));
  }
  for (Instrument i : kAllInstruments) {
    EXPECT_EQ(v1::Instrument_Name(ToWire(i)), WireName(i));
    EXPECT_EQ(InstrumentFromWire(ToWire(i)), i);
  }
  for (Mode m : kAllModes) {
    EXPECT_EQ(v1::Mode_Name(ToWire(m)), WireName(m));
    EXPECT_EQ(ModeFromWire(ToWire(m)), m);
  }
  for (AgeBand a : AllValues<AgeBand, kAgeBandCount>()) {
    EXPECT_EQ(v1::AgeBand_Name(ToWire(a)), WireName(a));
    EXPECT_EQ(AgeBandFromWire(ToWire(a)), a);
  }
  for (Sex s : AllValues<Sex, kSexCount>()) {
    EXPECT_EQ(v1::Sex_Name(ToWire(s)), WireName(s));
    EXPECT_EQ(SexFromWire(ToWire(s)), s);
  }
  // The wire's UNSPECIFIED and numbers it does not define are no value.
  EXPECT_EQ(InstrumentFromWire(0), std::nullopt);
  EXPECT_EQ(ModeFromWire(5), std::nullopt);
  EXPECT_EQ(AgeBandFromWire(-1), std::nullopt);
  EXPECT_EQ(SexFromWire(3), std::nullopt);
  // Every wire reject reason but UNSPECIFIED is some internal reason's.
  for (int w = 1; w <= v1::RejectReason_MAX; ++w) {
    if (!v1::RejectReason_IsValid(w)) continue;
    bool found = false;
    for (RejectReason r : kAllRejectReasons) found = found || ToWire(r) == w;
    EXPECT_TRUE(found) << v1::RejectReason_Name(static_cast<v1::RejectReason>(w));
  }
}

}  // namespace
}  // namespace wijkpuls
