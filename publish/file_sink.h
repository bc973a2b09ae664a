// The published values as JSON lines, for the index pipeline's backfills
// (`--snapshots-out DIR`): DIR/quota.jsonl and DIR/scores.jsonl, one line per
// published value, {"key": "<wave>/<wijk>", "value": {…}} with the value as
// the API shows it (publish/views_json.h). Lines are appended in the order
// values are published; the last line of a key is its current value. A
// delivery is reported once its line is written to the file.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "publish/output_sink.h"

namespace wijkpuls {

class FileSink : public OutputSink {
 public:
  // Creates DIR if needed; appends to files already there. Errors name the path.
  static absl::StatusOr<std::unique_ptr<FileSink>> Open(const std::string& dir);
  ~FileSink() override;
  absl::Status Send(const OutputRecord& record, uint64_t id) override;
  std::vector<Delivery> Poll(std::chrono::milliseconds timeout) override;
  int64_t Queued() const override { return static_cast<int64_t>(written_.size()); }

 private:
  FileSink(int quota_fd, int scores_fd, std::string dir) : fds_{quota_fd, scores_fd}, dir_(std::move(dir)) {}
  int fds_[2];
  std::string dir_;
  std::vector<Delivery> written_;  // reported by the next Poll
};

}  // namespace wijkpuls
