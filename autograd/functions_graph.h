// Differentiable graph functions (message passing). Each records one tape node whose backward
// reuses the forward kernels on the transposed CSR, so gradients are deterministic.
#pragma once

#include "autograd/tape.h"
#include "engine/graph.h"

namespace gkd::autograd {

// y[v] = Σ_{u -> v} w[e, h] x[u] per head (ops::spmm). edge_w: [E, H] or an undefined Var for
// all-ones weights; mean divides by the in-degree (only without edge_w: scale the weights instead).
Var spmm(const Graph& g, Var x, Var edge_w = {}, bool mean = false);

}  // namespace gkd::autograd
