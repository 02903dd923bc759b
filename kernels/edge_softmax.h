// Edge softmax over each destination's in-edges, per head (GAT attention, LSP local structure),
// and the per-node KL divergence between two such edge distributions (structure KL).
//
// For a CSR row v (destination) and head h, over the positions p of row v with e = eid(p):
//   edge_softmax:          p[e, h] = exp(z[e, h] - m_v) / Σ_{e' in row v} exp(z[e', h] - m_v),
//                          m_v = max over the row (only for stability); with `log`, the kernel
//                          writes log p = z - m_v - log Σ exp(z - m_v) instead, which never
//                          underflows (f32 p does once a row's logits span ~100). Rows without
//                          edges write nothing. Bytes: 2*E*H*4 read + E*H*4 written;
//                          FLOPs: ~4*E*H (+ 2*E*H exp).
//   edge_softmax_backward: from the forward output y (p, or log p with `log`):
//                          dz[e, h] (+)= p (dp - Σ_{row} p dp)      (softmax)
//                          dz[e, h] (+)= dlp - p Σ_{row} dlp         (log-softmax, p = exp(log p))
//                          Bytes: 2*E*H*4 read twice + E*H*4; FLOPs: 4*E*H.
//   edge_kl:               kl[v, h] (+)= Σ_{e in row v} p[e, h] (log p[e, h] - log q[e, h]),
//                          KL(p_v || q_v), from log-probabilities lp = log p and lq = log q (so
//                          tiny probabilities keep their logs); a term with p = 0 counts 0.
//                          Bytes: 2*E*H*4 + N*H*4; FLOPs: ~4*E*H (+ E*H exp).
//   edge_kl_backward:      dlp[e, h] (+)= dkl[v, h] p (lp - lq + 1),  dlq[e, h] (+)= -dkl[v, h] p
//                          (both 0 where p = 0). Bytes: 2*E*H*4 + N*H*4 read, up to 2*E*H*4
//                          written; FLOPs: ~6*E*H.
// Each row's max and exp-sum are in double, in CSR order, then one write pass, so results are
// deterministic at any thread count.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

template <class T>
struct EdgeSoftmaxArgs {
  CsrView a;          // in-CSR: row = destination
  ConstMatView<T> z;  // [E, H] logits, canonical edge order
  MatView<T> p;       // [E, H] p or log p, overwritten (every edge lies in a row); may alias z
  bool log;           // write log p
  // CUDA only: the variant to run, by name (kernels/variants.h); null: the one chosen by shape.
  // The CPU twin ignores it.
  const char* variant = nullptr;
};

template <class T>
struct EdgeSoftmaxBackwardArgs {
  CsrView a;           // in-CSR: row = destination
  ConstMatView<T> y;   // [E, H] the forward's output: p, or log p with `log`
  ConstMatView<T> dy;  // [E, H] gradient of y
  MatView<T> dz;       // [E, H]; overwritten or accumulated
  bool log;            // the forward wrote log p
  bool accumulate;
};

template <class T>
struct EdgeKlArgs {
  CsrView a;           // in-CSR: row = destination
  ConstMatView<T> lp;  // [E, H] log of the reference distribution (rows sum to 1 per head)
  ConstMatView<T> lq;  // [E, H] log of the other distribution, finite where p > 0
  MatView<T> kl;       // [a.rows, H]; overwritten (rows without edges get 0) or accumulated
  bool accumulate;
};

template <class T>
struct EdgeKlBackwardArgs {
  CsrView a;            // in-CSR: row = destination
  ConstMatView<T> lp;   // [E, H] as in the forward
  ConstMatView<T> lq;   // [E, H] as in the forward
  ConstMatView<T> dkl;  // [a.rows, H] gradient of kl
  MatView<T> dlp;       // [E, H], or data = null to skip; overwritten or accumulated
  MatView<T> dlq;       // [E, H], or data = null to skip; overwritten or accumulated
  bool accumulate;
};

}  // namespace gkd::kernels
