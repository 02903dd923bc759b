// What the node and graph cohort trainers share beyond the training step: the cohort's state file
// (models/train_state.h: every student's tensors and ALW factors as one list of live tensors, the
// students' best snapshots as one flat list, their optimizers in order, their histories side by
// side) and the students' non-finite guards.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "autograd/optim.h"
#include "distill/alw.h"
#include "engine/tensor.h"
#include "models/checkpoint.h"
#include "models/model.h"
#include "models/step_guard.h"
#include "models/train_state.h"

namespace gkd::distill {

class CohortState {
 public:
  // `states[k]` is student k's model state, `best[k]` its best snapshot (kept up to date by the
  // trainer), `alw[k]` its ALW factors (may be empty). All must outlive this object.
  CohortState(const std::vector<models::ModelState>& states, std::vector<std::vector<Tensor>>& best,
              const std::vector<Alw>& alw,
              const std::vector<std::unique_ptr<autograd::Adam>>& optimizers);

  // As load_train_state, then best[k] from the file and replay(k, m) for every recorded epoch m
  // of every student k, in the order they were seen (epoch by epoch, student by student).
  template <class M, size_t N, class Replay>
  bool resume(const models::StateFileOptions& file, const models::MetricFields<M, N>& fields,
              models::TrainState* state, const Replay& replay) {
    const auto count = static_cast<int64_t>(states_.size());
    if (!load(file, models::history_width(fields) * count, state)) return false;
    std::vector<std::vector<M>> rows;
    for (int64_t k = 0; k < count; ++k)
      rows.push_back(models::history_rows(state->history, fields, k));
    for (int64_t e = 0; e < state->epoch; ++e) {
      for (int64_t k = 0; k < count; ++k) replay(k, rows[k][e]);
    }
    return true;
  }
  // As save_train_state, with best[k] as they are now; `state`'s epoch and history come from the
  // students' histories.
  template <class M, size_t N>
  void save(const models::StateFileOptions& file, const models::MetricFields<M, N>& fields,
            const std::vector<const std::vector<M>*>& histories, models::TrainState state) {
    if (file.path.empty()) return;
    state.epoch = static_cast<int64_t>(histories.front()->size());
    state.history = models::history_tensor(histories, fields);
    save(file, state);
  }

 private:
  bool load(const models::StateFileOptions& file, int64_t history_columns,
            models::TrainState* state);
  void save(const models::StateFileOptions& file, const models::TrainState& state);

  const std::vector<models::ModelState>& states_;
  std::vector<std::vector<Tensor>>& best_;
  models::ModelState live_;
  std::vector<Tensor> best_flat_;
  std::vector<autograd::Optimizer*> optimizers_;
};

// One guard per student, reporting as "student k (arch)".
template <class Student>
std::vector<models::StepGuard> student_guards(const std::vector<Student*>& students,
                                              models::NonFinitePolicy policy) {
  std::vector<models::StepGuard> guards;
  for (size_t k = 0; k < students.size(); ++k) {
    guards.emplace_back(
        "student " + std::to_string(k) + " (" + models::arch_name(students[k]->config().arch) + ")",
        students[k]->named_parameters(), policy);
  }
  return guards;
}

// The guards' reports joined with "; " ("" when none found anything).
std::string joined_reports(const std::vector<models::StepGuard>& guards);

}  // namespace gkd::distill
