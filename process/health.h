// What /readyz reports: every condition that keeps wijkpuls from doing its
// job, with a sentence for the operator. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace wijkpuls {

class Health {
 public:
  // A named problem (e.g. "kafka", "dead_letters", "storage", "consumer")
  // is set with a sentence, or cleared with an empty one.
  // `log` false: a known start-up state, not worth a warning.
  void Set(const std::string& component, std::string problem, bool log = true);
  void Clear(const std::string& component) { Set(component, ""); }
  // Ready when no problem is set. `problems` lists "component: sentence".
  bool Ready(std::vector<std::string>* problems = nullptr) const;
  // Whether `component` has a problem, in any pipeline of the instance
  // ("consumer" is also set by a second pipeline's "consumer #2").
  bool Has(const std::string& component) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> problems_;
};

}  // namespace wijkpuls
