#include "score/fieldwork_state.h"

namespace wijkpuls {

const WijkState* FieldworkState::Find(const StateKey& key) const {
  auto it = wijken_.find(key);
  return it == wijken_.end() ? nullptr : it->second.get();
}

WijkState& FieldworkState::Mutable(const StateKey& key) {
  std::shared_ptr<const WijkState>& slot = wijken_[key];
  if (!slot) {
    slot = std::make_shared<WijkState>();
  } else if (slot.use_count() > 1) {
    slot = std::make_shared<WijkState>(*slot);
  }
  // Sole owner: the object was created non-const, so writing through it is sound.
  return const_cast<WijkState&>(*slot);
}

void FieldworkState::Put(const StateKey& key, std::shared_ptr<const WijkState> state) {
  wijken_[key] = std::move(state);
}

UnixNanos FieldworkState::Watermark(const std::string& wave) const {
  UnixNanos w = 0;
  for (auto it = wijken_.lower_bound(StateKey{wave, ""});
       it != wijken_.end() && it->first.wave == wave; ++it) {
    w = std::max(w, it->second->watermark);
  }
  return w;
}

std::set<std::string> FieldworkState::Waves() const {
  std::set<std::string> out;
  for (const auto& [key, state] : wijken_) out.insert(key.wave);
  return out;
}

bool operator==(const FieldworkState& a, const FieldworkState& b) {
  if (a.wijken_.size() != b.wijken_.size()) return false;
  for (auto ia = a.wijken_.begin(), ib = b.wijken_.begin(); ia != a.wijken_.end(); ++ia, ++ib) {
    if (ia->first != ib->first || !(*ia->second == *ib->second)) return false;
  }
  return true;
}

}  // namespace wijkpuls
