// Fused local-structure KL (LSP, methods.md §1.3) for Q (student, reference) feature pairs on one
// graph, in one pass over the in-CSR per pair, never materialising an E×F tensor. For a
// destination v, a pair q with features hs [N, Ds] (student) and ht [N, Dt] (reference), and the
// in-edges e = u -> v of v:
//   a^s_e = K(hs_u, hs_v), a^t_e = K(ht_u, ht_v)
//   log P_e = a_e − max − log Σ_{e' in(v)} exp(a_e' − max)          (double)
//   kl[q, v] = Σ_e P^t_e (log P^t_e − log P^s_e)                     (0 without in-edges)
// with the kernels K: l1-exp exp(−‖x − y‖₁ / τ), linear ⟨x, y⟩, polynomial (⟨x, y⟩ + c)^d,
// rbf exp(−‖x − y‖² / 2σ²), cosine ⟨x, y⟩ / (max(|x|, ε) max(|y|, ε)).
// The forward also writes, per pair and edge, the derivatives of kl[q, dst(e)] with respect to
// the kernel values: coef_s[q, e] = P^s_e − P^t_e and coef_t[q, e] = P^t_e (log P^t_e − log P^s_e
// − kl[q, v]), 2·Q·E scalars in all.
// Sides shared between pairs (the same view: data, shape and ld) are computed once: with S
// distinct sides, Bytes: S·(E·D·4 gathered + N·D·4) + Q·3·E·4; FLOPs: about 3·S·E·D + 4·Q·E.
//
// structure_kl_backward: for L = Σ_{q, v} dkl[q, v] · kl[q, v], the gradients of the selected
// sides. With g_e = dkl[q, dst(e)] · coef[q, e], dh_x (+)= Σ_e g_e ∂a_e/∂h_x over the edges that
// touch node x: as destination (in-CSR rows) and as source (out-CSR rows), two row-parallel passes
// with one writer per row, no atomics, one pair of passes per distinct (side, output): the pairs
// routing a gradient there have their g_e summed first. Kernel values are recomputed, not stored.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

enum class StructureKernelOp { kL1Exp, kLinear, kPolynomial, kRbf, kCosine };

struct StructureKernelParams {
  StructureKernelOp op = StructureKernelOp::kL1Exp;
  double tau = 100.0;   // l1-exp, > 0
  double shift = 1.0;   // polynomial c
  double degree = 2.0;  // polynomial d
  double sigma = 1.0;   // rbf, > 0
};

template <class T>
struct StructurePair {
  ConstMatView<T> hs;  // [N, Ds] student features
  ConstMatView<T> ht;  // [N, Dt] reference features
};

template <class T>
struct StructureKlArgs {
  CsrView in;                     // rows = destinations, canonical edge order
  const StructurePair<T>* pairs;  // [Q], host array
  int64_t num_pairs = 0;          // Q
  StructureKernelParams kernel;
  MatView<T> kl;      // [Q, N] overwritten
  MatView<T> coef_s;  // [Q, E] overwritten
  MatView<T> coef_t;  // [Q, E] overwritten
};

template <class T>
struct StructureKlBackwardArgs {
  CsrView in;                     // rows = destinations
  CsrView out;                    // rows = sources, edge_ids -> canonical id
  const StructurePair<T>* pairs;  // [Q], host array
  int64_t num_pairs = 0;
  StructureKernelParams kernel;
  ConstMatView<T> dkl;     // [Q, N] gradient of kl
  ConstMatView<T> coef_s;  // [Q, E] from the forward
  ConstMatView<T> coef_t;  // [Q, E] from the forward
  // [Q] host arrays of [N, Ds] / [N, Dt] views, accumulated into (+=; pairs may share one
  // output, they are processed in order); null, or an entry with data = null, skips that side.
  const MatView<T>* dhs;
  const MatView<T>* dht;
};

}  // namespace gkd::kernels
