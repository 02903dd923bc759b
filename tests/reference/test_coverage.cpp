// The reference-coverage gate: every kernel of kernels/kernels.def is named here with the suite
// that checks its CPU twin against an independent dense formulation. Adding a kernel without
// adding it here (and writing that test) fails this suite.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "kernels/registry.h"

namespace {

const std::map<std::string, std::string> kReferenceTests = {
    {"fill", "unit/test_tensor.cpp"},
    {"axpby", "reference/test_dense.cpp"},
    {"bias_act", "reference/test_dense.cpp"},
    {"bias_act_backward", "reference/test_dense.cpp"},
    {"unary", "reference/test_dense.cpp"},
    {"binary", "reference/test_dense.cpp"},
    {"reduce_sum", "reference/test_dense.cpp"},
    {"head_dot", "reference/test_dense.cpp"},
    {"head_dot_backward", "reference/test_dense.cpp"},
    {"dropout", "reference/test_dense.cpp"},
    {"softmax_rows", "reference/test_dense.cpp"},
    {"softmax_rows_backward", "reference/test_dense.cpp"},
    {"gemm", "reference/test_dense.cpp"},
    {"batch_norm", "reference/test_norm.cpp"},
    {"structure_kl", "reference/test_structure.cpp"},
    {"cohort_kl", "reference/test_structure.cpp"},
    {"cohort_kl_backward", "reference/test_structure.cpp"},
    {"structure_kl_backward", "reference/test_structure.cpp"},
    {"batch_norm_backward", "reference/test_norm.cpp"},
    {"cross_entropy", "reference/test_loss.cpp"},
    {"bce_with_logits", "reference/test_loss.cpp"},
    {"kl_div", "reference/test_loss.cpp"},
    {"softmax_entropy", "reference/test_loss.cpp"},
    {"mse", "reference/test_loss.cpp"},
    {"scaled_add", "reference/test_loss.cpp"},
    {"spmm", "reference/test_spmm.cpp"},
    {"sparse_dropout", "reference/test_sparse_matrix.cpp"},
    {"sddmm", "reference/test_sddmm.cpp"},
    {"sddmm_backward", "reference/test_sddmm.cpp"},
    {"u_add_v", "reference/test_sddmm.cpp"},
    {"edge_reduce", "reference/test_sddmm.cpp"},
    {"edge_map", "reference/test_sddmm.cpp"},
    {"edge_map_backward", "reference/test_sddmm.cpp"},
    {"edge_softmax", "reference/test_edge_softmax.cpp"},
    {"edge_softmax_backward", "reference/test_edge_softmax.cpp"},
    {"edge_kl", "reference/test_edge_softmax.cpp"},
    {"edge_kl_backward", "reference/test_edge_softmax.cpp"},
    {"segment_reduce", "reference/test_segment.cpp"},
    {"segment_reduce_backward", "reference/test_segment.cpp"},
    {"gather_rows", "reference/test_segment.cpp"},
    {"scatter_add_rows", "reference/test_segment.cpp"},
    {"adam", "reference/test_optim.cpp"},
    {"sgd", "reference/test_optim.cpp"},
};

}  // namespace

TEST_CASE("reference: every kernel in kernels.def has a reference test, and only those") {
  for (const auto& k : gkd::kernels::kKernels) {
    CAPTURE(k.name);
    CHECK(kReferenceTests.count(k.name) == 1);
  }
  CHECK(kReferenceTests.size() == gkd::kernels::kNumKernels);
}
