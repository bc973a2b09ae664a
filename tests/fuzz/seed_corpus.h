// The seed corpus of record_fuzz, written from a simulated season: a few
// records of every outcome, reason and flag (binary and JSON, malformed and
// withdrawals included), and sequences that exercise deduplication, second
// responses and withdrawals in both orders.
#pragma once

#include <string>

#include "model/district_register.h"
#include "model/methodology.h"

namespace wijkpuls::fuzz {

// Writes the seeds into `dir` (created); returns how many.
int WriteSeedCorpus(const Methodology& m, const DistrictRegister& districts,
                    const std::string& dir);

}  // namespace wijkpuls::fuzz
