// Evaluation metrics on host copies of logits, in percent. Masks are u8 [N, 1] (undefined = every
// row); an empty selection gives 0.
#pragma once

#include "engine/tensor.h"

namespace gkd::models {

// Rows whose argmax (first maximum on ties) equals the label. logits: [N, C]; labels: i64/i32 [N,
// 1].
double accuracy(const Tensor& logits, const Tensor& labels, const Tensor& mask = {});

// Micro-averaged F1 of multi-label predictions: label j is predicted when sigmoid(logit) >= 0.5
// (i.e. logit >= 0), or, with `raw_logit_rule`, when the raw logit >= 0.5 (the seed code's rule).
// logits, targets: [N, L] (targets 0/1, any floating dtype).
double micro_f1(const Tensor& logits, const Tensor& targets, const Tensor& mask = {},
                bool raw_logit_rule = false);

// Area under the ROC curve of one binary task (ties get half credit, as sklearn). scores: [N, 1]
// (a logit or probability; only the order matters); targets: [N, 1] 0/1. Throws gkd::Error when
// the selection holds only one class (the AUC is undefined).
double roc_auc(const Tensor& scores, const Tensor& targets, const Tensor& mask = {});

}  // namespace gkd::models
