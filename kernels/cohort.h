// Fused cohort class KL (deep mutual learning, GML): K students' logits on the same N rows, each
// student's KL to every peer in one pass, the peers being fixed references (no gradient into a
// peer through another student's term). With q_k = softmax(z_k / T) per row:
//   kl[m, v] = T² / (K − 1) Σ_{p ≠ m} Σ_c q_p(v, c) (log q_p(v, c) − log q_m(v, c))
// computing each student's (log-)softmax once per row: K·N·C exponentials instead of the
// 2·K·(K − 1)·N·C of K(K − 1) separate KL calls. The forward also writes q [K·N, C] (student k's
// rows at k·N) for the backward:
//   cohort_kl_backward: dz_m(v, c) (+)= dkl[m, v] · T (q_m(v, c) − mean_{p ≠ m} q_p(v, c))
// Bytes: K·N·C·4 read + K·N·C·4 written (+ K·N·4); FLOPs: about K·N·C (the peer sums are
// shared: Σ_{p≠m} q_p = Σ_p q_p − q_m).
// K = 1 gives kl = 0 and no gradient.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

template <class T>
struct CohortKlArgs {
  const ConstMatView<T>* logits;  // [K] host array of [N, C] views
  int64_t students = 0;           // K >= 1
  double temperature = 1.0;       // T > 0
  MatView<T> kl;                  // [K, N] overwritten
  MatView<T> probs;               // [K·N, C] overwritten: q_k at rows k·N ..
};

template <class T>
struct CohortKlBackwardArgs {
  ConstMatView<T> probs;  // [K·N, C] from the forward
  int64_t students = 0;
  double temperature = 1.0;
  ConstMatView<T> dkl;        // [K, N]
  const MatView<T>* dlogits;  // [K] host array of [N, C] views, accumulated into; an entry
                              // with data = null skips that student
};

}  // namespace gkd::kernels
