// The published views' enums go out as the wire value of their own name.
#include "publish/views.h"

#include <gtest/gtest.h>

#include "score/estimate.h"
#include "score/quota.h"

namespace wijkpuls {
namespace {

TEST(Views, QuotaAndEstimateEnumsGoOutByName) {
  for (QuotaStatus s : {QuotaStatus::kBehind, QuotaStatus::kAtRisk, QuotaStatus::kEarly, QuotaStatus::kOnTrack,
                        QuotaStatus::kComplete}) {
    EXPECT_EQ(v1::QuotaStatus_Name(ToWire(s)), WireName(s));
  }
  for (EstimateStatus s : {EstimateStatus::kOk, EstimateStatus::kLowPrecision, EstimateStatus::kSuppressed}) {
    EXPECT_EQ(v1::EstimateStatus_Name(ToWire(s)), WireName(s));
  }
  for (Band b : {Band::kMuchWorse, Band::kWorse, Band::kAverage, Band::kBetter, Band::kMuchBetter}) {
    EXPECT_EQ(v1::Band_Name(ToWire(b)), WireName(b));
  }
  EXPECT_EQ(ToWire(Band::kNone), v1::BAND_UNSPECIFIED);
}

}  // namespace
}  // namespace wijkpuls
