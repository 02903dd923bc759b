// CUDA twins of the dense elementwise and reduction kernels (kernels/dense.h). Elementwise kernels
// are grid-stride loops over the logical [rows, cols] index (so strided views work); reductions
// give every output to one thread or one warp with a fixed assignment of elements, so a result is
// the same on every run (its summation order differs from the CPU twin's, within the parity
// tolerance). Sums accumulate in double, as the CPU twins do.
#include <cuda_runtime.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/math.h"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

// Element k of a [rows, cols] view, row-major.
struct Index {
  int64_t i, j;
};
__device__ inline Index at(int64_t k, int64_t cols) {
  return {k / cols, k % cols};
}

// A broadcast operand: a size-1 dimension gets stride 0 (numpy rules).
struct Bcast {
  const float* data;
  int64_t row_stride, col_stride;
  __device__ float operator()(int64_t i, int64_t j) const {
    return data[i * row_stride + j * col_stride];
  }
};
Bcast bcast(const ConstMatView<float>& v) {
  return {v.data, v.rows > 1 ? v.ld : 0, v.cols > 1 ? 1 : 0};
}

// kernels/math.h's activations with CUDA's float functions (expm1f keeps ELU precise near 0; the
// sigmoid's branch keeps expf's argument <= 0).
__device__ inline float activate(Activation act, float z, float slope) {
  switch (act) {
    case Activation::kNone:
      return z;
    case Activation::kRelu:
      return relu(z);
    case Activation::kElu:
      return z > 0.0f ? z : expm1f(z);
    case Activation::kLeakyRelu:
      return leaky_relu(z, slope);
    case Activation::kSigmoid: {
      if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
      const float e = expf(z);
      return e / (1.0f + e);
    }
    case Activation::kTanh:
      return tanhf(z);
  }
  return z;
}

__device__ inline float activation_grad(Activation act, float y, float slope) {
  switch (act) {
    case Activation::kNone:
      return 1.0f;
    case Activation::kRelu:
      return relu_grad_from_output(y);
    case Activation::kElu:
      return elu_grad_from_output(y);
    case Activation::kLeakyRelu:
      return leaky_relu_grad_from_output(y, slope);
    case Activation::kSigmoid:
      return sigmoid_grad_from_output(y);
    case Activation::kTanh:
      return tanh_grad_from_output(y);
  }
  return 1.0f;
}

// The element functions of unary and binary.
struct Identity {
  __device__ float operator()(float v) const { return v; }
};
struct Exp {
  __device__ float operator()(float v) const { return expf(v); }
};
struct Log {
  __device__ float operator()(float v) const { return logf(v); }
};
struct Add {
  __device__ float operator()(float u, float v) const { return u + v; }
};
struct Mul {
  __device__ float operator()(float u, float v) const { return u * v; }
};
struct Div {
  __device__ float operator()(float u, float v) const { return u / v; }
};

__global__ void axpby_kernel(AxpbyArgs<float> a) {
  const int64_t n = a.y.rows * a.y.cols;
  GKD_GRID_STRIDE(k, n) {
    const Index e = at(k, a.y.cols);
    float& y = a.y(e.i, e.j);
    // beta = 0 never reads y (it may hold NaN).
    y = a.beta == 0.0f ? a.alpha * a.x(e.i, e.j) : a.alpha * a.x(e.i, e.j) + a.beta * y;
  }
}

__global__ void bias_act_kernel(BiasActArgs<float> a) {
  const int64_t n = a.y.rows * a.y.cols;
  GKD_GRID_STRIDE(k, n) {
    const Index e = at(k, a.y.cols);
    const float z = a.bias ? a.x(e.i, e.j) + a.bias[e.j] : a.x(e.i, e.j);
    a.y(e.i, e.j) = activate(a.act, z, a.slope);
  }
}

// dx (+)= dy act'(y), elementwise.
__global__ void bias_act_dx_kernel(BiasActBackwardArgs<float> a) {
  const int64_t n = a.y.rows * a.y.cols;
  GKD_GRID_STRIDE(k, n) {
    const Index e = at(k, a.y.cols);
    const float dz = a.dy(e.i, e.j) * activation_grad(a.act, a.y(e.i, e.j), a.slope);
    float& dx = a.dx(e.i, e.j);
    dx = a.accumulate ? dx + dz : dz;
  }
}

__global__ void bias_act_dbias_kernel(BiasActBackwardArgs<float> a) {
  const int64_t j = blockIdx.x * int64_t{kColTile} + threadIdx.x;
  const bool active = j < a.y.cols;
  const double total = column_total(a.y.rows, active, [&](int64_t i) {
    return static_cast<double>(a.dy(i, j) * activation_grad(a.act, a.y(i, j), a.slope));
  });
  if (active && threadIdx.y == 0) store(a.dbias[j], total, a.accumulate);
}

template <class Fn>
__global__ void unary_kernel(UnaryArgs<float> a, Bcast x, Fn f) {
  const int64_t n = a.y.rows * a.y.cols;
  GKD_GRID_STRIDE(k, n) {
    const Index e = at(k, a.y.cols);
    const float value = a.alpha * f(x(e.i, e.j));
    float& y = a.y(e.i, e.j);
    y = a.accumulate ? y + value : value;
  }
}

template <class Fn>
__global__ void binary_kernel(BinaryArgs<float> a, Bcast l, Bcast r, Fn f) {
  const int64_t n = a.y.rows * a.y.cols;
  GKD_GRID_STRIDE(k, n) {
    const Index e = at(k, a.y.cols);
    const float value = a.alpha * f(l(e.i, e.j), r(e.i, e.j));
    float& y = a.y(e.i, e.j);
    y = a.accumulate ? y + value : value;
  }
}

// One warp per row: lanes take columns lane, lane + 32, ...; a shuffle tree adds the lanes.
__global__ void row_sums_kernel(ReduceSumArgs<float> a) {
  const int64_t warps = int64_t{gridDim.x} * (blockDim.x / 32);
  const int lane = threadIdx.x % 32;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x / 32} + threadIdx.x / 32; i < a.x.rows;
       i += warps) {
    double acc = 0;
    for (int64_t j = lane; j < a.x.cols; j += 32) acc += a.x(i, j);
    acc = warp_sum(acc);
    if (lane == 0) store(a.y(i, 0), double(a.alpha) * acc, a.accumulate);
  }
}

__global__ void col_sums_kernel(ReduceSumArgs<float> a) {
  const int64_t j = blockIdx.x * int64_t{kColTile} + threadIdx.x;
  const bool active = j < a.x.cols;
  const double total = column_total(a.x.rows, active, [&](int64_t i) { return double(a.x(i, j)); });
  if (active && threadIdx.y == 0) store(a.y(0, j), double(a.alpha) * total, a.accumulate);
}

// The total: one block; thread t sums elements t, t + kBlock, ... of the logical index in order.
__global__ void total_sum_kernel(ReduceSumArgs<float> a) {
  const int64_t n = a.x.rows * a.x.cols;
  double acc = 0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) {
    const Index e = at(k, a.x.cols);
    acc += a.x(e.i, e.j);
  }
  const double total = block_sum(acc);
  if (threadIdx.x == 0) store(a.y(0, 0), double(a.alpha) * total, a.accumulate);
}

// One thread per (node, head): the head's F products summed left to right in double, as the CPU
// twin does (so the scores agree bit for bit).
__global__ void head_dot_kernel(HeadDotArgs<float> a) {
  const int64_t f = a.z.cols / a.heads;
  GKD_GRID_STRIDE(k, a.z.rows * a.heads) {
    const Index e = at(k, a.heads);
    const float* z = &a.z(e.i, e.j * f);
    const float* w = a.a + e.j * f;
    double acc = 0;
    for (int64_t j = 0; j < f; ++j) acc += z[j] * w[j];
    a.s(e.i, e.j) = static_cast<float>(acc);
  }
}

__global__ void head_dot_dz_kernel(HeadDotBackwardArgs<float> a) {
  const int64_t f = a.z.cols / a.heads;
  GKD_GRID_STRIDE(k, a.z.rows * a.z.cols) {
    const Index e = at(k, a.z.cols);
    const float value = a.gs(e.i, e.j / f) * a.a[e.j];
    float& dz = a.dz(e.i, e.j);
    dz = a.dz_accumulate ? dz + value : value;
  }
}

__global__ void head_dot_da_kernel(HeadDotBackwardArgs<float> a) {
  const int64_t j = blockIdx.x * int64_t{kColTile} + threadIdx.x;
  const bool active = j < a.z.cols;
  const int64_t head = active ? j / (a.z.cols / a.heads) : 0;
  const double total = column_total(
      a.z.rows, active, [&](int64_t i) { return static_cast<double>(a.gs(i, head) * a.z(i, j)); });
  if (active && threadIdx.y == 0) store(a.da[j], total, a.da_accumulate);
}

unsigned warp_grid(int64_t rows) {
  return grid_for(rows, kBlock / 32);
}

}  // namespace

void axpby(const AxpbyArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  axpby_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("axpby");
}

void bias_act(const BiasActArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  bias_act_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("bias_act");
}

void bias_act_backward(const BiasActBackwardArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  // The bias gradient first: dx may alias dy, and the column sums read dy.
  if (a.dbias != nullptr && a.y.cols > 0) {
    bias_act_dbias_kernel<<<column_tiles(a.y.cols), dim3(kColTile, kRowLanes), 0, raw(stream)>>>(a);
    check_launch("bias_act_backward");
  }
  if (a.dx.data != nullptr && n > 0) {
    bias_act_dx_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
    check_launch("bias_act_backward");
  }
}

void unary(const UnaryArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  const unsigned grid = grid_for(n, kBlock);
  switch (a.op) {
    case UnaryOp::kScale:
      unary_kernel<<<grid, kBlock, 0, raw(stream)>>>(a, bcast(a.x), Identity{});
      break;
    case UnaryOp::kExp:
      unary_kernel<<<grid, kBlock, 0, raw(stream)>>>(a, bcast(a.x), Exp{});
      break;
    case UnaryOp::kLog:
      unary_kernel<<<grid, kBlock, 0, raw(stream)>>>(a, bcast(a.x), Log{});
      break;
  }
  check_launch("unary");
}

void binary(const BinaryArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  const unsigned grid = grid_for(n, kBlock);
  const Bcast l = bcast(a.a), r = bcast(a.b);
  switch (a.op) {
    case BinaryOp::kAdd:
      binary_kernel<<<grid, kBlock, 0, raw(stream)>>>(a, l, r, Add{});
      break;
    case BinaryOp::kMul:
      binary_kernel<<<grid, kBlock, 0, raw(stream)>>>(a, l, r, Mul{});
      break;
    case BinaryOp::kDiv:
      binary_kernel<<<grid, kBlock, 0, raw(stream)>>>(a, l, r, Div{});
      break;
  }
  check_launch("binary");
}

void reduce_sum(const ReduceSumArgs<float>& a, Stream stream) {
  switch (a.axis) {
    case SumAxis::kRows:
      if (a.x.rows == 0) return;
      row_sums_kernel<<<warp_grid(a.x.rows), kBlock, 0, raw(stream)>>>(a);
      break;
    case SumAxis::kCols:
      if (a.x.cols == 0) return;
      col_sums_kernel<<<column_tiles(a.x.cols), dim3(kColTile, kRowLanes), 0, raw(stream)>>>(a);
      break;
    case SumAxis::kAll:
      total_sum_kernel<<<1, kBlock, 0, raw(stream)>>>(a);
      break;
  }
  check_launch("reduce_sum");
}

void head_dot(const HeadDotArgs<float>& a, Stream stream) {
  const int64_t n = a.z.rows * a.heads;
  if (n == 0) return;
  head_dot_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("head_dot");
}

void head_dot_backward(const HeadDotBackwardArgs<float>& a, Stream stream) {
  const int64_t n = a.z.rows * a.z.cols;
  if (a.dz.data != nullptr && n > 0) {
    head_dot_dz_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
    check_launch("head_dot_backward");
  }
  if (a.da != nullptr && a.z.cols > 0) {
    head_dot_da_kernel<<<column_tiles(a.z.cols), dim3(kColTile, kRowLanes), 0, raw(stream)>>>(a);
    check_launch("head_dot_backward");
  }
}

}  // namespace gkd::kernels::cuda
