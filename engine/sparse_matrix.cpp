#include "engine/sparse_matrix.h"

#include <cmath>
#include <limits>

#include "engine/error.h"

namespace gkd {
namespace detail {

struct SparseHost {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> indptr{0};    // [rows + 1]
  std::vector<int32_t> indices;      // [nnz] column of each position
  std::vector<int64_t> t_indptr{0};  // [cols + 1]
  std::vector<int32_t> t_indices;    // [nnz] row of each transposed position
  std::vector<int32_t> t_positions;  // [nnz] CSR position of each transposed position
};

struct SparseDevice {
  Tensor indptr, indices, t_indptr, t_indices, t_positions;
};

}  // namespace detail

namespace {

using detail::SparseHost;

template <class T>
Tensor column(const std::vector<T>& v, Device device) {
  return Tensor::from_vector<T>(static_cast<int64_t>(v.size()), 1, v).to(device);
}

// Counting sort by column; stable, so each transposed row lists its rows in increasing order.
void build_transpose(SparseHost& h) {
  h.t_indptr.assign(h.cols + 1, 0);
  for (int32_t c : h.indices) h.t_indptr[c + 1]++;
  for (int64_t c = 0; c < h.cols; ++c) h.t_indptr[c + 1] += h.t_indptr[c];
  std::vector<int64_t> next(h.t_indptr.begin(), h.t_indptr.end() - 1);
  h.t_indices.resize(h.indices.size());
  h.t_positions.resize(h.indices.size());
  for (int64_t r = 0; r < h.rows; ++r) {
    for (int64_t p = h.indptr[r]; p < h.indptr[r + 1]; ++p) {
      const int64_t q = next[h.indices[p]]++;
      h.t_indices[q] = static_cast<int32_t>(r);
      h.t_positions[q] = static_cast<int32_t>(p);
    }
  }
}

// A new matrix with the structure of `a` and values f(row, value) (CPU, then moved back).
template <class F>
SparseMatrix map_values(const SparseMatrix& a, F f) {
  const Tensor v = a.values().to(Device::kCPU).to_dtype(DType::kF64);
  std::vector<double> out = v.to_vector<double>();
  const auto& indptr = a.host_indptr();
  for (int64_t r = 0; r < a.rows(); ++r) f(r, &out[indptr[r]], indptr[r + 1] - indptr[r]);
  Tensor nv = Tensor::from_vector<double>(a.nnz(), 1, out).to_dtype(a.dtype());
  return SparseMatrix::from_csr(a.rows(), a.cols(), a.host_indptr(), a.host_indices(), nv)
      .to(a.device());
}

}  // namespace

SparseMatrix::SparseMatrix()
    : SparseMatrix(std::make_shared<SparseHost>(), Tensor::zeros(0, 1, DType::kF32), Device::kCPU) {
}

SparseMatrix::SparseMatrix(std::shared_ptr<const SparseHost> host, Tensor values, Device device)
    : host_(std::move(host)), values_(values.to(device)) {
  auto d = std::make_shared<detail::SparseDevice>();
  d->indptr = column(host_->indptr, device);
  d->indices = column(host_->indices, device);
  d->t_indptr = column(host_->t_indptr, device);
  d->t_indices = column(host_->t_indices, device);
  d->t_positions = column(host_->t_positions, device);
  dev_ = std::move(d);
}

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
  auto h = std::make_shared<SparseHost>();
  h->rows = rows;
  h->cols = cols;
  h->indptr = std::move(indptr);
  h->indices = std::move(indices);
  build_transpose(*h);
  return SparseMatrix(std::move(h), values.clone(), Device::kCPU);
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
  return host_->rows;
}
int64_t SparseMatrix::cols() const {
  return host_->cols;
}
int64_t SparseMatrix::nnz() const {
  return static_cast<int64_t>(host_->indices.size());
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
const std::vector<int64_t>& SparseMatrix::host_indptr() const {
  return host_->indptr;
}
const std::vector<int32_t>& SparseMatrix::host_indices() const {
  return host_->indices;
}

SparseMatrix SparseMatrix::to(Device device) const {
  if (device == this->device()) return *this;
  return SparseMatrix(host_, values_, device);
}

SparseMatrix SparseMatrix::to_dtype(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  return SparseMatrix(host_, values_.to(Device::kCPU).to_dtype(dtype), device());
}

Tensor SparseMatrix::to_dense() const {
  const std::vector<double> v = values_.to(Device::kCPU).to_dtype(DType::kF64).to_vector<double>();
  std::vector<double> out(rows() * cols(), 0.0);
  for (int64_t r = 0; r < rows(); ++r) {
    for (int64_t p = host_->indptr[r]; p < host_->indptr[r + 1]; ++p) {
      out[r * cols() + host_->indices[p]] = v[p];
    }
  }
  return Tensor::from_vector<double>(rows(), cols(), out).to_dtype(dtype());
}

kernels::CsrView SparseMatrix::csr() const {
  return {rows(), cols(), nnz(), dev_->indptr.data<int64_t>(), dev_->indices.data<int32_t>(),
          nullptr};
}

kernels::CsrView SparseMatrix::csr_transposed() const {
  return {cols(),
          rows(),
          nnz(),
          dev_->t_indptr.data<int64_t>(),
          dev_->t_indices.data<int32_t>(),
          dev_->t_positions.data<int32_t>()};
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
