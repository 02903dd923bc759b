#include "models/metrics.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "engine/error.h"

namespace gkd::models {
namespace {

std::vector<double> host(const Tensor& t) {
  return t.to(Device::kCPU).to_dtype(DType::kF64).to_vector<double>();
}

std::vector<uint8_t> host_mask(const Tensor& mask, int64_t rows, const char* op) {
  if (!mask.defined()) return std::vector<uint8_t>(rows, 1);
  GKD_CHECK(mask.dtype() == DType::kU8 && mask.rows() == rows && mask.cols() == 1, "[", op,
            "] mask is ", mask.describe(), " (expected [", rows, ", 1] u8)");
  return mask.to(Device::kCPU).to_vector<uint8_t>();
}

}  // namespace

double accuracy(const Tensor& logits, const Tensor& labels, const Tensor& mask) {
  GKD_CHECK(labels.rows() == logits.rows() && labels.cols() == 1, "[accuracy] labels are ",
            labels.describe(), " (expected [", logits.rows(), ", 1])");
  const std::vector<double> z = host(logits);
  const std::vector<double> y = host(labels);
  const std::vector<uint8_t> m = host_mask(mask, logits.rows(), "accuracy");
  const int64_t c = logits.cols();
  int64_t right = 0, total = 0;
  for (int64_t i = 0; i < logits.rows(); ++i) {
    if (!m[i]) continue;
    const auto row = z.begin() + i * c;
    right += static_cast<double>(std::max_element(row, row + c) - row) == y[i];
    ++total;
  }
  return total ? 100.0 * static_cast<double>(right) / static_cast<double>(total) : 0.0;
}

double micro_f1(const Tensor& logits, const Tensor& targets, const Tensor& mask,
                bool raw_logit_rule) {
  GKD_CHECK(logits.same_shape(targets), "[micro_f1] targets are ", targets.describe(),
            " (expected the logits' shape ", logits.describe(), ")");
  const std::vector<double> z = host(logits), t = host(targets);
  const std::vector<uint8_t> m = host_mask(mask, logits.rows(), "micro_f1");
  const double threshold = raw_logit_rule ? 0.5 : 0.0;
  int64_t tp = 0, fp = 0, fn = 0;
  for (int64_t i = 0; i < logits.rows(); ++i) {
    if (!m[i]) continue;
    for (int64_t j = 0; j < logits.cols(); ++j) {
      const bool pred = z[i * logits.cols() + j] >= threshold;
      const bool truth = t[i * logits.cols() + j] > 0.5;
      tp += pred && truth;
      fp += pred && !truth;
      fn += !pred && truth;
    }
  }
  const int64_t denom = 2 * tp + fp + fn;
  return denom ? 100.0 * 2.0 * static_cast<double>(tp) / static_cast<double>(denom) : 0.0;
}

double roc_auc(const Tensor& scores, const Tensor& targets, const Tensor& mask) {
  GKD_CHECK(scores.cols() == 1 && targets.cols() == 1 && scores.rows() == targets.rows(),
            "[roc_auc] scores ", scores.describe(), " and targets ", targets.describe(),
            " (expected two [N, 1] tensors)");
  const std::vector<double> s = host(scores), t = host(targets);
  const std::vector<uint8_t> m = host_mask(mask, scores.rows(), "roc_auc");
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < scores.rows(); ++i) {
    if (m[i]) idx.push_back(i);
  }
  std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return s[a] < s[b]; });
  // Mann-Whitney U: the sum of the positives' ranks, tied scores sharing their average rank.
  double rank_sum = 0, positives = 0;
  for (size_t k = 0; k < idx.size();) {
    size_t end = k;
    while (end < idx.size() && s[idx[end]] == s[idx[k]]) ++end;
    const double avg_rank = 0.5 * static_cast<double>(k + 1 + end);
    for (size_t q = k; q < end; ++q) {
      if (t[idx[q]] > 0.5) {
        rank_sum += avg_rank;
        positives += 1;
      }
    }
    k = end;
  }
  const double negatives = static_cast<double>(idx.size()) - positives;
  GKD_CHECK(positives > 0 && negatives > 0, "[roc_auc] the selection has ", positives,
            " positives and ", negatives, " negatives (expected both classes)");
  return 100.0 * (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

}  // namespace gkd::models
