#include "engine/sparse_matrix.h"

#include <cmath>
#include <limits>

#include "engine/context.h"
#include "engine/dispatch.h"
#include "engine/error.h"
#include "kernels/registry.h"

namespace gkd {
namespace detail {

// The CSR and its transpose as [n, 1] tensors on one device.
struct SparseStructure {
  int64_t rows = 0, cols = 0, nnz = 0;
  Tensor indptr;       // i64 [rows + 1]
  Tensor indices;      // i32 [nnz]: column of each position
  Tensor t_indptr;     // i64 [cols + 1]
  Tensor t_indices;    // i32 [nnz]: row of each transposed position
  Tensor t_positions;  // i32 [nnz]: CSR position of each transposed position

  SparseStructure to(Device device) const {
    return {rows,
            cols,
            nnz,
            indptr.to(device),
            indices.to(device),
            t_indptr.to(device),
            t_indices.to(device),
            t_positions.to(device)};
  }
};

}  // namespace detail

namespace {

using detail::SparseStructure;

template <class T>
Tensor column(const std::vector<T>& v) {
  return Tensor::from_vector<T>(static_cast<int64_t>(v.size()), 1, v);
}

// The structure of a validated CSR on the CPU, with its transpose by a counting sort on columns
// (stable, so each transposed row lists its rows in increasing order).
SparseStructure build(int64_t rows, int64_t cols, const std::vector<int64_t>& indptr,
                      const std::vector<int32_t>& indices) {
  const auto nnz = static_cast<int64_t>(indices.size());
  std::vector<int64_t> t_indptr(cols + 1, 0);
  for (int32_t c : indices) t_indptr[c + 1]++;
  for (int64_t c = 0; c < cols; ++c) t_indptr[c + 1] += t_indptr[c];
  std::vector<int64_t> next(t_indptr.begin(), t_indptr.end() - 1);
  std::vector<int32_t> t_indices(nnz), t_positions(nnz);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t p = indptr[r]; p < indptr[r + 1]; ++p) {
      const int64_t q = next[indices[p]]++;
      t_indices[q] = static_cast<int32_t>(r);
      t_positions[q] = static_cast<int32_t>(p);
    }
  }
  return {rows,
          cols,
          nnz,
          column(indptr),
          column(indices),
          column(t_indptr),
          column(t_indices),
          column(t_positions)};
}

// A new matrix with the structure of `a` and values f(row, value) (CPU, then moved back).
template <class F>
SparseMatrix map_values(const SparseMatrix& a, F f) {
  const SparseMatrix cpu = a.to(Device::kCPU);  // named: csr points into its arrays
  std::vector<double> out = cpu.values().to_dtype(DType::kF64).to_vector<double>();
  const kernels::CsrView csr = cpu.csr();
  for (int64_t r = 0; r < a.rows(); ++r) {
    f(r, &out[csr.indptr[r]], csr.indptr[r + 1] - csr.indptr[r]);
  }
  return a.with_values(
      Tensor::from_vector<double>(a.nnz(), 1, out).to_dtype(a.dtype()).to(a.device()));
}

}  // namespace

SparseMatrix::SparseMatrix()
    : SparseMatrix(std::make_shared<SparseStructure>(build(0, 0, {0}, {})),
                   Tensor::zeros(0, 1, DType::kF32)) {}

SparseMatrix::SparseMatrix(std::shared_ptr<const SparseStructure> structure, Tensor values)
    : structure_(std::move(structure)), values_(std::move(values)) {}

SparseMatrix SparseMatrix::from_csr(int64_t rows, int64_t cols, std::vector<int64_t> indptr,
                                    std::vector<int32_t> indices, Tensor values) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  GKD_CHECK(rows >= 0 && rows <= kMax && cols >= 0 && cols <= kMax,
            "[SparseMatrix::from_csr] shape is [", rows, ", ", cols,
            "] (expected 0 <= rows, cols <= 2^31 - 1)");
  const int64_t nnz = static_cast<int64_t>(indices.size());
  GKD_CHECK(nnz <= kMax, "[SparseMatrix::from_csr] ", nnz,
            " nonzeros (expected at most 2^31 - 1: positions are int32)");
  GKD_CHECK(static_cast<int64_t>(indptr.size()) == rows + 1, "[SparseMatrix::from_csr] indptr has ",
            indptr.size(), " entries (expected rows + 1 = ", rows + 1, ")");
  GKD_CHECK(indptr[0] == 0 && indptr[rows] == nnz, "[SparseMatrix::from_csr] indptr runs from ",
            indptr[0], " to ", indptr[rows], " (expected 0 to nnz = ", nnz, ")");
  for (int64_t r = 0; r < rows; ++r) {
    GKD_CHECK(indptr[r] <= indptr[r + 1], "[SparseMatrix::from_csr] indptr decreases at row ", r,
              " (", indptr[r], " > ", indptr[r + 1], ")");
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t p = indptr[r]; p < indptr[r + 1]; ++p) {
      GKD_CHECK(indices[p] >= 0 && indices[p] < cols, "[SparseMatrix::from_csr] indices[", p,
                "] is ", indices[p], " (expected a column in [0, ", cols, "))");
      GKD_CHECK(p == indptr[r] || indices[p - 1] < indices[p], "[SparseMatrix::from_csr] row ", r,
                " is not strictly increasing at indices[", p, "] (", indices[p - 1], " then ",
                indices[p], ")");
    }
  }
  GKD_CHECK(values.defined() && values.device() == Device::kCPU,
            "[SparseMatrix::from_csr] values must be a CPU tensor");
  GKD_CHECK(values.dtype() == DType::kF32 || values.dtype() == DType::kF64,
            "[SparseMatrix::from_csr] values are ", dtype_name(values.dtype()),
            " (expected f32 or f64)");
  GKD_CHECK(values.rows() == nnz && values.cols() == 1, "[SparseMatrix::from_csr] values is [",
            values.rows(), ", ", values.cols(), "] (expected [nnz, 1] = [", nnz, ", 1])");
  for (double v : values.to_dtype(DType::kF64).to_vector<double>()) {
    GKD_CHECK(std::isfinite(v), "[SparseMatrix::from_csr] values hold ", v,
              " (expected finite values)");
  }
  return SparseMatrix(std::make_shared<SparseStructure>(build(rows, cols, indptr, indices)),
                      values.clone());
}

SparseMatrix SparseMatrix::from_dense(const Tensor& dense) {
  GKD_CHECK(dense.device() == Device::kCPU, "[SparseMatrix::from_dense] expects a CPU tensor");
  const Tensor d = dense.to_dtype(DType::kF64);
  const std::vector<double> v = d.to_vector<double>();
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<double> values;
  for (int64_t r = 0; r < d.rows(); ++r) {
    for (int64_t c = 0; c < d.cols(); ++c) {
      if (v[r * d.cols() + c] != 0.0) {
        indices.push_back(static_cast<int32_t>(c));
        values.push_back(v[r * d.cols() + c]);
      }
    }
    indptr.push_back(static_cast<int64_t>(indices.size()));
  }
  Tensor vals = Tensor::from_vector<double>(static_cast<int64_t>(values.size()), 1, values)
                    .to_dtype(dense.dtype());
  return from_csr(d.rows(), d.cols(), std::move(indptr), std::move(indices), vals);
}

int64_t SparseMatrix::rows() const {
  return structure_->rows;
}
int64_t SparseMatrix::cols() const {
  return structure_->cols;
}
int64_t SparseMatrix::nnz() const {
  return structure_->nnz;
}
Device SparseMatrix::device() const {
  return values_.device();
}
DType SparseMatrix::dtype() const {
  return values_.dtype();
}
const Tensor& SparseMatrix::values() const {
  return values_;
}

SparseMatrix SparseMatrix::with_values(Tensor values) const {
  GKD_CHECK(values.defined() && values.rows() == nnz() && values.cols() == 1,
            "[SparseMatrix::with_values] values is ", values.describe(), " (expected [nnz, 1] = [",
            nnz(), ", 1])");
  GKD_CHECK(values.dtype() == DType::kF32 || values.dtype() == DType::kF64,
            "[SparseMatrix::with_values] values are ", dtype_name(values.dtype()),
            " (expected f32 or f64)");
  GKD_CHECK(values.device() == device(), "[SparseMatrix::with_values] values are on ",
            device_name(values.device()), " (expected ", device_name(device()), ")");
  GKD_CHECK(values.is_contiguous(),
            "[SparseMatrix::with_values] values must be contiguous (got a strided view)");
  return SparseMatrix(structure_, std::move(values));
}

SparseMatrix SparseMatrix::to(Device device) const {
  if (device == this->device()) return *this;
  return SparseMatrix(std::make_shared<SparseStructure>(structure_->to(device)),
                      values_.to(device));
}

SparseMatrix SparseMatrix::to_dtype(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  return with_values(values_.to(Device::kCPU).to_dtype(dtype).to(device()));
}

Tensor SparseMatrix::to_dense() const {
  const SparseMatrix cpu = to(Device::kCPU);
  const std::vector<double> v = cpu.values_.to_dtype(DType::kF64).to_vector<double>();
  const kernels::CsrView csr = cpu.csr();
  std::vector<double> out(rows() * cols(), 0.0);
  for (int64_t r = 0; r < rows(); ++r) {
    for (int64_t p = csr.indptr[r]; p < csr.indptr[r + 1]; ++p) {
      out[r * cols() + csr.indices[p]] = v[p];
    }
  }
  return Tensor::from_vector<double>(rows(), cols(), out).to_dtype(dtype());
}

kernels::CsrView SparseMatrix::csr() const {
  const SparseStructure& s = *structure_;
  return {s.rows, s.cols, s.nnz, s.indptr.data<int64_t>(), s.indices.data<int32_t>(), nullptr};
}

kernels::CsrView SparseMatrix::csr_transposed() const {
  const SparseStructure& s = *structure_;
  return {s.cols,
          s.rows,
          s.nnz,
          s.t_indptr.data<int64_t>(),
          s.t_indices.data<int32_t>(),
          s.t_positions.data<int32_t>()};
}

SparseMatrix SparseMatrix::dropout(const Context& ctx, float p_drop, uint64_t seed,
                                   uint64_t stream) const {
  GKD_CHECK(device() == ctx.device(), "[SparseMatrix::dropout] the matrix is on ",
            device_name(device()), " but the context is ", device_name(ctx.device()));
  GKD_CHECK(p_drop >= 0.0f && p_drop < 1.0f, "[SparseMatrix::dropout] p is ", p_drop,
            " (expected 0 <= p < 1)");
  const Device d = device();
  const int64_t n = nnz();
  const auto i32 = [&] { return Tensor::empty(n, 1, DType::kI32, d); };
  Tensor indptr = Tensor::empty(rows() + 1, 1, DType::kI64, d);
  Tensor indices = i32(), kept_values = Tensor::empty(n, 1, dtype(), d);
  Tensor t_indptr = Tensor::empty(cols() + 1, 1, DType::kI64, d);
  Tensor t_indices = i32(), t_positions = i32(), position = i32();
  ops::detail::dispatch_float(ctx, "sparse_dropout", dtype(), [&](auto tag) {
    using T = decltype(tag);
    const kernels::SparseDropoutArgs<T> args{csr(),
                                             csr_transposed(),
                                             values_.data<T>(),
                                             p_drop,
                                             seed,
                                             stream,
                                             indptr.data<int64_t>(),
                                             indices.data<int32_t>(),
                                             kept_values.data<T>(),
                                             t_indptr.data<int64_t>(),
                                             t_indices.data<int32_t>(),
                                             t_positions.data<int32_t>(),
                                             position.data<int32_t>()};
    ops::detail::launch(ctx, args, kernels::cpu::sparse_dropout<T>, kernels::cuda::sparse_dropout);
  });
  const int64_t kept = indptr.slice_rows(rows(), rows() + 1).to(Device::kCPU).item<int64_t>();
  auto s = std::make_shared<SparseStructure>(
      SparseStructure{rows(), cols(), kept, indptr, indices.slice_rows(0, kept), t_indptr,
                      t_indices.slice_rows(0, kept), t_positions.slice_rows(0, kept)});
  return SparseMatrix(std::move(s), kept_values.slice_rows(0, kept));
}

SparseMatrix SparseMatrix::row_normalized() const {
  return map_values(*this, [](int64_t, double* v, int64_t n) {
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += v[k];
    for (int64_t k = 0; k < n; ++k) v[k] = sum != 0 ? v[k] / sum : 0.0;
  });
}

SparseMatrix SparseMatrix::binarized() const {
  return map_values(*this, [](int64_t, double* v, int64_t n) {
    for (int64_t k = 0; k < n; ++k) v[k] = 1.0;
  });
}

}  // namespace gkd
