#include "models/selection.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace gkd::models {

bool EpochSelector::observe(const EpochScores& s) {
  GKD_CHECK(paper_every_ >= 1, "[selection] paper_every is ", paper_every_, " (expected >= 1)");
  last_test_ = s.test;
  if (s.epoch % paper_every_ == 0 &&
      (!looked_ || s.val > paper_val_ || s.train_loss < paper_loss_)) {
    paper_val_ = looked_ ? std::max(paper_val_, s.val) : s.val;
    paper_loss_ = looked_ ? std::min(paper_loss_, s.train_loss) : s.train_loss;
    paper_test_ = s.test;
    looked_ = true;
  }
  const bool better =
      best_.epoch == 0 || s.val > best_.val || (s.val == best_.val && s.val_loss < best_.val_loss);
  if (better) best_ = s;
  return better;
}

bool DivergenceMonitor::observe(int64_t epoch, double loss) {
  const bool diverged =
      !std::isfinite(loss) || (jump_ > 0 && seen_ && loss > jump_ * lowest_ && lowest_ > 0);
  if (std::isfinite(loss)) {
    lowest_ = seen_ ? std::min(lowest_, loss) : loss;
    seen_ = true;
  }
  if (!diverged || epoch_ != 0) return false;
  epoch_ = epoch;
  return true;
}

}  // namespace gkd::models
