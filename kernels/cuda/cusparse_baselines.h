// The cuSPARSE baselines of the variant tables (kernels/variants.h): SpMM (cusparseSpMM, CSR,
// row-major, ALG2, preprocessed) and SDDMM (cusparseSDDMM, dot, CSR output, preprocessed).
//
// Each keeps one plan: the handle, the 32-bit row offsets and unit weights cuSPARSE needs, the
// descriptors and the preprocessed workspace of its last call's operands, keyed by their
// addresses and shapes. A call on other operands rebuilds it (allocations included), so the first
// call on new operands is not one to time, a plan is not safe to capture in a CUDA graph, and a
// graph that takes over a freed graph's memory at the same size would find a stale plan: these
// are benchmark baselines, never picked by shape.
#pragma once

#include "kernels/sddmm.h"
#include "kernels/spmm.h"

namespace gkd::kernels::cuda {

bool cusparse_spmm_supports(const SpmmArgs<float>& a);  // one head, in-CSR, no mean
void cusparse_spmm_run(const SpmmArgs<float>& a, Stream stream);

bool cusparse_sddmm_supports(const SddmmArgs<float>& a);  // dot, one head
void cusparse_sddmm_run(const SddmmArgs<float>& a, Stream stream);

}  // namespace gkd::kernels::cuda
