// Where rejected records go. The pipeline sends a batch's dead letters, then
// waits for all of them to be delivered before it commits the batch: input
// offsets never pass a rejection that is not yet on the dead-letter topic.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "process/outgoing.h"

namespace wijkpuls {

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual void Send(OutgoingRecord record) = 0;
  // Waits until every record sent so far is delivered, retrying failed ones.
  // Unavailable when `timeout` passes first; the records stay pending and a
  // later Flush goes on with them.
  virtual absl::Status Flush(std::chrono::milliseconds timeout) = 0;
  virtual size_t Pending() const = 0;
  // Forgets pending records: their batch was abandoned and will be redone.
  // After a Flush that ran out of time, each of them counts as a failure.
  virtual void Discard() = 0;
  // Dead letters not delivered so far (for metrics): failed delivery
  // attempts, and letters still undelivered when a Flush ran out of time and
  // their batch was abandoned (an attempt is counted once). A broker that
  // holds produce requests without answering (a partition without a leader)
  // reports no failed attempt within the wait: only the abandonment shows.
  virtual uint64_t Failures() const = 0;
  // Whether the sink's brokers are reachable (for /readyz).
  virtual bool Connected() const { return true; }
};

// Dead letters into a file of length-delimited wijkpuls.v1.FileRecord (replay).
class FileDeadLetters : public DeadLetterSink {
 public:
  static absl::StatusOr<std::unique_ptr<FileDeadLetters>> Open(const std::string& path);
  ~FileDeadLetters() override;
  void Send(OutgoingRecord record) override;
  absl::Status Flush(std::chrono::milliseconds timeout) override;
  size_t Pending() const override { return buffer_count_; }
  void Discard() override;
  uint64_t Failures() const override { return 0; }  // replay has no metrics

 private:
  FileDeadLetters(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
  std::string buffer_;
  size_t buffer_count_ = 0;
};

}  // namespace wijkpuls
