// The dead letter of a rejected record (contract: the rejected topic): a
// wijkpuls.v1.Rejection with the original bytes, the reason and where the
// record came from, keyed like the original, with the reason and source as
// headers for consumers that read no protobuf.
#pragma once

#include <string>

#include "process/outgoing.h"
#include "process/record_processor.h"

namespace wijkpuls {

// `result` must be a dead letter (result.reason set).
OutgoingRecord RejectionRecord(const SourceRecord& record, const RecordResult& result,
                               const std::string& rejected_topic);

}  // namespace wijkpuls
