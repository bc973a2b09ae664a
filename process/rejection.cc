#include "process/rejection.h"

#include "model/text.h"
#include "validate/wire.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {

OutgoingRecord RejectionRecord(const SourceRecord& record, const RecordResult& result,
                               const std::string& rejected_topic) {
  v1::Rejection rej;
  rej.set_reason(ToWire(*result.reason));
  rej.set_detail(result.detail);
  rej.set_source_topic(std::string(record.topic));
  rej.set_source_partition(record.partition);
  rej.set_source_offset(record.offset);
  rej.set_original(std::string(record.value));
  rej.set_response_id(result.response_id);
  rej.set_original_content_type(std::string(record.content_type));
  OutgoingRecord out;
  out.topic = rejected_topic;
  out.key = std::string(record.key);
  out.value = rej.SerializeAsString();
  out.headers = {{"wijkpuls-reason", std::string(WireName(*result.reason))},
                 {"wijkpuls-source", Cat(record.topic, "/", record.partition, "/", record.offset)},
                 {"content-type", "application/x-protobuf"}};
  return out;
}

}  // namespace wijkpuls
