#include "kafka/kafka_dead_letters.h"

#include <thread>

#include "model/log.h"
#include "model/text.h"

namespace wijkpuls {
namespace {
constexpr auto kRetryBackoff = std::chrono::milliseconds(500);
}

absl::StatusOr<std::unique_ptr<KafkaDeadLetters>> KafkaDeadLetters::Make(const KafkaSettings& settings) {
  std::unique_ptr<KafkaDeadLetters> d(new KafkaDeadLetters(settings));
  absl::StatusOr<std::unique_ptr<KafkaProducer>> p = KafkaProducer::Make(settings, "dead-letters");
  if (!p.ok()) return p.status();
  d->producer_ = std::move(*p);
  return d;
}

void KafkaDeadLetters::Send(OutgoingRecord record) {
  // Produced at once, so that most are delivered by the time the batch
  // is written and the flush only waits for the last ones. Whether delivered
  // or not, the batch is still written only after a flush has seen every one
  // of them acknowledged.
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_id_++;
  auto [it, inserted] = pending_.emplace(id, Letter{std::move(record), false, {}});
  if (!producer_->Fatal(nullptr) && producer_->Produce(it->second.record, id).ok()) {
    it->second.in_flight = true;
  }
}

uint64_t KafkaDeadLetters::Mark() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_id_ - 1;
}

size_t KafkaDeadLetters::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

uint64_t KafkaDeadLetters::Failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

bool KafkaDeadLetters::Connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  // The producer's connectivity is read from statistics served by Poll, which
  // runs only while letters wait; and librdkafka connects only when it has
  // something to send. With nothing waiting its last word is stale (it said
  // "down" for good after an outage whose last letters were delivered before
  // the next statistics: /readyz stayed 503): the consumer speaks for the brokers.
  return pending_.empty() || producer_->Connected();
}

void KafkaDeadLetters::Discard() {
  std::lock_guard<std::mutex> lock(mu_);
  // Abandoned undelivered: a failure, unless its attempt failed (and counted) already.
  if (gave_up_) {
    for (const auto& [id, letter] : pending_) failures_ += letter.failure_counted ? 0 : 1;
  }
  gave_up_ = false;
  pending_.clear();
}

void KafkaDeadLetters::ProduceWaiting() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [id, letter] : pending_) {
    if (letter.in_flight || letter.retry_at > now) continue;
    absl::Status st = producer_->Produce(letter.record, id);
    if (st.ok()) {
      letter.in_flight = true;
      letter.failure_counted = false;
    } else if (absl::IsResourceExhausted(st)) {
      return;  // queue full: poll, then go on
    } else {
      ++failures_;
      letter.failure_counted = true;
      last_error_ = std::string(st.message());
      letter.retry_at = now + kRetryBackoff;
    }
  }
}

absl::Status KafkaDeadLetters::FlushUpTo(std::chrono::milliseconds timeout, uint64_t mark) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // pending_ is ordered by id: the first one says whether any up to the mark is left.
      if (pending_.empty() || pending_.begin()->first > mark) break;
      std::string why;
      if (producer_->Fatal(&why)) {
        // The idempotent producer cannot go on; a new one resends what is pending.
        spdlog::error("dead-letter producer failed fatally ({}); replacing it", why);
        producer_->Flush(0);
        absl::StatusOr<std::unique_ptr<KafkaProducer>> p = KafkaProducer::Make(settings_, "dead-letters");
        if (!p.ok()) return p.status();
        producer_ = std::move(*p);
        for (auto& [id, letter] : pending_) letter.in_flight = false;
      }
      ProduceWaiting();
    }
    // Delivery reports are served here alone, without the lock: Send goes on.
    std::vector<Delivery> deliveries = producer_->Poll(20);
    std::lock_guard<std::mutex> lock(mu_);
    for (const Delivery& d : deliveries) {
      auto it = pending_.find(d.id);
      // From a discarded batch: counted when it was discarded.
      if (it == pending_.end()) continue;
      if (d.ok) {
        pending_.erase(it);
      } else {
        ++failures_;
        last_error_ = d.error;
        it->second.in_flight = false;
        it->second.failure_counted = true;
        it->second.retry_at = std::chrono::steady_clock::now() + kRetryBackoff;
      }
    }
    if (!pending_.empty() && pending_.begin()->first <= mark && std::chrono::steady_clock::now() >= deadline) {
      gave_up_ = true;
      size_t left = 0;
      for (auto it = pending_.begin(); it != pending_.end() && it->first <= mark; ++it) ++left;
      return absl::UnavailableError(Cat(left, " dead letters not yet delivered",
                                        last_error_.empty() ? "" : " (last error: ", last_error_,
                                        last_error_.empty() ? "" : ")"));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  gave_up_ = false;
  return absl::OkStatus();
}

}  // namespace wijkpuls
