#include "distill/cohort_state.h"

#include <string>

namespace gkd::distill {

CohortState::CohortState(const std::vector<models::ModelState>& states,
                         std::vector<std::vector<Tensor>>& best, const std::vector<Alw>& alw,
                         const std::vector<std::unique_ptr<autograd::Adam>>& optimizers)
    : states_(states), best_(best) {
  // Names are "s<k>/<tensor>", student by student.
  const auto prefix = [](size_t k) { return std::string("s").append(std::to_string(k)) + "/"; };
  for (size_t k = 0; k < states.size(); ++k) {
    for (const auto& [name, t] : states[k]) live_.emplace_back(prefix(k) + name, t);
  }
  // The ALW factors come after every model tensor: the best snapshots cover the models only.
  for (size_t k = 0; k < alw.size(); ++k) {
    if (!alw[k].chi) continue;
    live_.emplace_back(prefix(k) + "alw.chi", &alw[k].chi->value);
    live_.emplace_back(prefix(k) + "alw.phi", &alw[k].phi->value);
  }
  for (const auto& opt : optimizers) optimizers_.push_back(opt.get());
}

bool CohortState::load(const models::StateFileOptions& file, int64_t history_columns,
                       models::TrainState* state) {
  if (!models::load_train_state(file, history_columns, state, {live_, best_flat_, optimizers_})) {
    return false;
  }
  size_t at = 0;
  for (size_t k = 0; k < states_.size() && !best_flat_.empty(); ++k) {
    best_[k].assign(best_flat_.begin() + at, best_flat_.begin() + at + states_[k].size());
    at += states_[k].size();
  }
  return true;
}

void CohortState::save(const models::StateFileOptions& file, const models::TrainState& state) {
  best_flat_.clear();
  for (size_t k = 0; k < best_.size() && !best_.front().empty(); ++k) {
    best_flat_.insert(best_flat_.end(), best_[k].begin(), best_[k].end());
  }
  models::save_train_state(file, state, {live_, best_flat_, optimizers_});
}

std::string joined_reports(const std::vector<models::StepGuard>& guards) {
  std::string reports;
  for (const models::StepGuard& guard : guards) {
    if (!guard.report().empty()) reports += (reports.empty() ? "" : "; ") + guard.report();
  }
  return reports;
}

}  // namespace gkd::distill
