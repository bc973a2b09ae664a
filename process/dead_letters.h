// Where rejected records go. The pipeline sends a batch's dead letters as it
// decides its records; the commit thread waits for all of them to be
// delivered before it writes the batch: input offsets never pass a rejection
// that is not yet on the dead-letter topic.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "process/outgoing.h"

namespace wijkpuls {

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // On the pipeline thread.
  virtual void Send(OutgoingRecord record) = 0;
  // Names the letters sent so far, for FlushUpTo.
  virtual uint64_t Mark() const = 0;
  // Waits until every letter sent up to `mark` is delivered, retrying failed
  // ones; letters sent after it may be delivered too, or not yet. Unavailable
  // when `timeout` passes first; the letters stay pending and a later flush
  // goes on with them. It may run on another thread (the commit thread) while
  // Send goes on, never two at a time.
  virtual absl::Status FlushUpTo(std::chrono::milliseconds timeout, uint64_t mark) = 0;
  // Every letter sent so far.
  absl::Status Flush(std::chrono::milliseconds timeout) { return FlushUpTo(timeout, Mark()); }
  // Thread-safe.
  virtual size_t Pending() const = 0;
  // Forgets pending records: their batch was abandoned and will be redone.
  // After a flush that ran out of time, each of them counts as a failure.
  // Never while a flush runs.
  virtual void Discard() = 0;
  // Dead letters not delivered so far (for metrics): failed delivery
  // attempts, and letters still undelivered when a flush ran out of time and
  // their batch was abandoned (an attempt is counted once). A broker that
  // holds produce requests without answering (a partition without a leader)
  // reports no failed attempt within the wait: only the abandonment shows.
  // Thread-safe.
  virtual uint64_t Failures() const = 0;
  // Whether letters waiting can reach the sink's brokers (for /readyz): true
  // when none wait. Thread-safe.
  virtual bool Connected() const { return true; }
};

// Dead letters into a file of length-delimited wijkpuls.v1.FileRecord (replay).
class FileDeadLetters : public DeadLetterSink {
 public:
  static absl::StatusOr<std::unique_ptr<FileDeadLetters>> Open(const std::string& path);
  ~FileDeadLetters() override;
  void Send(OutgoingRecord record) override;
  uint64_t Mark() const override;
  absl::Status FlushUpTo(std::chrono::milliseconds timeout, uint64_t mark) override;
  size_t Pending() const override;
  void Discard() override;
  uint64_t Failures() const override { return 0; }  // replay has no metrics

 private:
  FileDeadLetters(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  const int fd_;
  const std::string path_;
  mutable std::mutex mu_;
  // Letters not yet written: buffer_ holds those after the first `written_`
  // bytes of all letters ever sent; ends_ the end of each (in those bytes).
  std::string buffer_;
  std::deque<uint64_t> ends_;
  uint64_t written_ = 0;
  uint64_t sent_ = 0;  // bytes of all letters sent: the mark
};

}  // namespace wijkpuls
