// Model selection over epochs, shared by the trainers: the clean best-validation rule and the seed
// code's rule (methods.md §1.4), fed one epoch at a time.
#pragma once

#include <cstdint>
#include <limits>

namespace gkd::models {

struct EpochScores {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0;
  double val = 0, val_loss = 0;  // metric (higher is better) and loss on the validation data
  double test = 0;               // metric on the test data
};

class EpochSelector {
 public:
  // The seed code's rule looks every `paper_every` epochs (>= 1).
  explicit EpochSelector(int64_t paper_every = 10) : paper_every_(paper_every) {}

  // Returns true when `s` is the new best-validation epoch: a higher val metric, ties to the lower
  // val loss, then to the earlier epoch.
  bool observe(const EpochScores& s);

  int64_t best_epoch() const { return best_.epoch; }
  double best_val() const { return best_.val; }
  double test_at_best() const { return best_.test; }
  // The seed code's number: every paper_every epochs, a val metric above the best so far *or* a
  // train loss below the lowest so far records the test metric; the last record counts (the last
  // epoch's test when training ended before the first look). It peeks at the test set whenever
  // the loss drops, so it is optimistic.
  double paper_test() const { return looked_ ? paper_test_ : last_test_; }

 private:
  int64_t paper_every_;
  EpochScores best_;
  bool looked_ = false;
  double paper_val_ = 0, paper_loss_ = 0, paper_test_ = 0, last_test_ = 0;
};

// Watches the training loss for divergence: a non-finite loss, or, when jump > 0, a loss above
// jump × the lowest loss seen so far (the official Alignahead runs jump from about 0.01 back to
// about 0.5, an untrained model's loss, late in training).
class DivergenceMonitor {
 public:
  explicit DivergenceMonitor(double jump = 0) : jump_(jump) {}
  // True the first time `loss` counts as divergence; later epochs only update the record.
  bool observe(int64_t epoch, double loss);
  int64_t epoch() const { return epoch_; }  // the first diverging epoch, 0 if none

 private:
  double jump_;
  double lowest_ = 0;
  bool seen_ = false;
  int64_t epoch_ = 0;
};

}  // namespace gkd::models
