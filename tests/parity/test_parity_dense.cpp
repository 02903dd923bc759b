// CUDA twins of the dense, dropout, softmax and optimizer kernels against their CPU twins: fresh
// random inputs each run (the seed is printed on failure), outputs poisoned with NaN before the
// call so an unwritten element fails, strided views (a column slice of a wider tensor), widths
// that are not multiples of a warp and tolerances that grow with the reduction length.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/context.h"
#include "engine/ops_dense.h"
#include "engine/ops_optim.h"
#include "engine/sparse_matrix.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using test::close_ratio;
using test::to_eigen;

namespace {

constexpr double kTol = 1e-5;  // elementwise float math (expf, tanhf: a few ulp)

// Shapes with odd widths, a single row or column, and more rows than one CUDA block covers.
const std::vector<std::pair<int64_t, int64_t>> kShapes = {
    {1, 1}, {1, 37}, {300, 1}, {67, 33}, {513, 130}};

// A [rows, cols] column slice of a wider tensor filled with `fill`, on `device`.
Tensor strided(int64_t rows, int64_t cols, Device device, double fill) {
  return Tensor::full(rows, cols + 3, fill, DType::kF32, device).slice_cols(1, 1 + cols);
}

// x as a strided view on the device (same values).
Tensor on_device_strided(const Tensor& x) {
  Tensor view = strided(x.rows(), x.cols(), Device::kCUDA, NAN);
  view.copy_from(x.to(Device::kCUDA));
  return view;
}

void check_close(const Tensor& cuda, const Tensor& cpu, double tol) {
  CHECK(close_ratio(to_eigen(cuda), to_eigen(cpu), tol, tol) <= 1.0);
}

}  // namespace

TEST_CASE("parity: axpby, unary and binary with broadcasting and accumulation") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const auto& shape : kShapes) {
    // Named copies: doctest's CAPTURE is a lambda, which cannot capture structured bindings
    // (clang 14).
    const int64_t rows = shape.first, cols = shape.second;
    const uint64_t seed = test::fresh_seed();
    CAPTURE(rows);
    CAPTURE(cols);
    CAPTURE(seed);
    const Tensor x = test::random_tensor(rows, cols, DType::kF32, seed);
    const Tensor y0 = test::random_tensor(rows, cols, DType::kF32, seed + 1);
    for (const double beta : {0.0, 0.5}) {
      Tensor want = y0.clone();
      ops::axpby(cpu, 1.5, x, beta, want);
      Tensor got = beta == 0.0 ? strided(rows, cols, Device::kCUDA, NAN) : on_device_strided(y0);
      ops::axpby(gpu, 1.5, on_device_strided(x), beta, got);
      check_close(got, want, kTol);
    }
    const Tensor positive = test::random_tensor(rows, cols, DType::kF32, seed + 2, 0.1, 2.0);
    for (const ops::UnaryOp op : {ops::UnaryOp::kScale, ops::UnaryOp::kExp, ops::UnaryOp::kLog}) {
      for (const bool accumulate : {false, true}) {
        Tensor want = y0.clone();
        ops::unary(cpu, op, positive, want, -0.7, accumulate);
        Tensor got = accumulate ? on_device_strided(y0) : strided(rows, cols, Device::kCUDA, NAN);
        ops::unary(gpu, op, on_device_strided(positive), got, -0.7, accumulate);
        check_close(got, want, kTol);
      }
    }
    // Broadcast a [1, C] row and a [R, 1] column against the full operand.
    const Tensor row = test::random_tensor(1, cols, DType::kF32, seed + 3, 0.5, 2.0);
    const Tensor col = test::random_tensor(rows, 1, DType::kF32, seed + 4, 0.5, 2.0);
    for (const ops::BinaryOp op : {ops::BinaryOp::kAdd, ops::BinaryOp::kMul, ops::BinaryOp::kDiv}) {
      for (const Tensor* b : {&x, &row, &col}) {
        for (const bool accumulate : {false, true}) {
          Tensor want = y0.clone();
          ops::binary(cpu, op, positive, *b, want, 2.0, accumulate);
          Tensor got = accumulate ? on_device_strided(y0) : strided(rows, cols, Device::kCUDA, NAN);
          ops::binary(gpu, op, on_device_strided(positive), b->to(Device::kCUDA), got, 2.0,
                      accumulate);
          check_close(got, want, kTol);
        }
      }
    }
  }
}

TEST_CASE("parity: bias_act and its backward for every activation") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  using A = ops::Activation;
  for (const auto& shape : kShapes) {
    // Named copies: doctest's CAPTURE is a lambda, which cannot capture structured bindings
    // (clang 14).
    const int64_t rows = shape.first, cols = shape.second;
    const uint64_t seed = test::fresh_seed();
    CAPTURE(rows);
    CAPTURE(cols);
    CAPTURE(seed);
    const Tensor x = test::random_away_from_zero(rows, cols, DType::kF32, seed, 0.05, 3.0);
    const Tensor bias = test::random_tensor(1, cols, DType::kF32, seed + 1, -0.01, 0.01);
    const Tensor dy = test::random_tensor(rows, cols, DType::kF32, seed + 2);
    const Tensor dx0 = test::random_tensor(rows, cols, DType::kF32, seed + 3);
    for (const A act : {A::kNone, A::kRelu, A::kElu, A::kLeakyRelu, A::kSigmoid, A::kTanh}) {
      CAPTURE(static_cast<int>(act));
      for (const bool with_bias : {false, true}) {
        const Tensor b = with_bias ? bias : Tensor();
        Tensor want = Tensor::zeros(rows, cols, DType::kF32);
        ops::bias_act(cpu, x, b, act, 0.2, want);
        Tensor got = strided(rows, cols, Device::kCUDA, NAN);
        ops::bias_act(gpu, on_device_strided(x), b.defined() ? b.to(Device::kCUDA) : b, act, 0.2,
                      got);
        check_close(got, want, kTol);

        // Backward from the CPU forward's output, overwriting and accumulating; db sums rows.
        for (const bool accumulate : {false, true}) {
          Tensor want_dx = dx0.clone();
          Tensor want_db = test::random_tensor(1, cols, DType::kF32, seed + 4);
          Tensor got_db = accumulate ? want_db.to(Device::kCUDA)
                                     : Tensor::full(1, cols, NAN, DType::kF32, Device::kCUDA);
          ops::bias_act_backward(cpu, want, dy, act, 0.2, want_dx, &want_db, accumulate);
          Tensor got_dx =
              accumulate ? on_device_strided(dx0) : strided(rows, cols, Device::kCUDA, NAN);
          ops::bias_act_backward(gpu, on_device_strided(want), on_device_strided(dy), act, 0.2,
                                 got_dx, &got_db, accumulate);
          check_close(got_dx, want_dx, kTol);
          check_close(got_db, want_db, kTol * std::sqrt(double(rows)));
        }
      }
    }
  }
}

TEST_CASE("parity: reduce_sum over all, rows and columns") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const auto& shape : kShapes) {
    // Named copies: doctest's CAPTURE is a lambda, which cannot capture structured bindings
    // (clang 14).
    const int64_t rows = shape.first, cols = shape.second;
    const uint64_t seed = test::fresh_seed();
    CAPTURE(rows);
    CAPTURE(cols);
    CAPTURE(seed);
    const Tensor x = test::random_tensor(rows, cols, DType::kF32, seed);
    const Tensor dx = on_device_strided(x);
    for (const ops::SumAxis axis : {ops::SumAxis::kAll, ops::SumAxis::kRows, ops::SumAxis::kCols}) {
      const int64_t out_rows = axis == ops::SumAxis::kRows ? rows : 1;
      const int64_t out_cols = axis == ops::SumAxis::kCols ? cols : 1;
      const int64_t length = axis == ops::SumAxis::kAll    ? rows * cols
                             : axis == ops::SumAxis::kRows ? cols
                                                           : rows;
      for (const bool accumulate : {false, true}) {
        const Tensor y0 = test::random_tensor(out_rows, out_cols, DType::kF32, seed + 5);
        Tensor want = y0.clone();
        ops::reduce_sum(cpu, x, axis, want, 0.5, accumulate);
        Tensor got = accumulate ? y0.to(Device::kCUDA)
                                : Tensor::full(out_rows, out_cols, NAN, DType::kF32, Device::kCUDA);
        ops::reduce_sum(gpu, dx, axis, got, 0.5, accumulate);
        check_close(got, want, kTol * std::sqrt(double(length)));
      }
    }
  }
}

TEST_CASE("parity: head_dot and its backward") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  const std::vector<std::pair<int64_t, int64_t>> heads_and_widths = {{1, 7}, {8, 8}, {3, 33}};
  for (const auto& shape : kShapes) {
    for (const auto& hf : heads_and_widths) {
      // Named copies: doctest's CAPTURE is a lambda, which cannot capture structured bindings.
      const int64_t rows = shape.first, heads = hf.first, f = hf.second, cols = heads * f;
      const uint64_t seed = test::fresh_seed();
      CAPTURE(rows);
      CAPTURE(heads);
      CAPTURE(f);
      CAPTURE(seed);
      const Tensor z = test::random_tensor(rows, cols, DType::kF32, seed);
      const Tensor a = test::random_tensor(1, cols, DType::kF32, seed + 1);
      const Tensor gs = test::random_tensor(rows, heads, DType::kF32, seed + 2);
      const Tensor dz0 = test::random_tensor(rows, cols, DType::kF32, seed + 3);
      const Tensor da0 = test::random_tensor(1, cols, DType::kF32, seed + 4);
      const Tensor a_gpu = a.to(Device::kCUDA);
      Tensor want = Tensor::zeros(rows, heads, DType::kF32);
      ops::head_dot(cpu, z, a, heads, want);
      Tensor got = strided(rows, heads, Device::kCUDA, NAN);
      ops::head_dot(gpu, on_device_strided(z), a_gpu, heads, got);
      check_close(got, want, kTol * std::sqrt(double(f)));
      for (const bool accumulate : {false, true}) {
        Tensor want_dz = dz0.clone(), want_da = da0.clone();
        ops::head_dot_backward(cpu, z, a, heads, gs, &want_dz, accumulate, &want_da, accumulate);
        Tensor got_dz =
            accumulate ? on_device_strided(dz0) : strided(rows, cols, Device::kCUDA, NAN);
        Tensor got_da = accumulate ? da0.to(Device::kCUDA)
                                   : Tensor::full(1, cols, NAN, DType::kF32, Device::kCUDA);
        ops::head_dot_backward(gpu, on_device_strided(z), a_gpu, heads, on_device_strided(gs),
                               &got_dz, accumulate, &got_da, accumulate);
        check_close(got_dz, want_dz, kTol);
        check_close(got_da, want_da, kTol * std::sqrt(double(rows)));
      }
    }
  }
}

TEST_CASE("parity: dropout draws the CPU's mask bit for bit") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const auto& shape : kShapes) {
    // Named copies: doctest's CAPTURE is a lambda, which cannot capture structured bindings
    // (clang 14).
    const int64_t rows = shape.first, cols = shape.second;
    const uint64_t seed = test::fresh_seed();
    CAPTURE(rows);
    CAPTURE(cols);
    CAPTURE(seed);
    const Tensor x = test::random_away_from_zero(rows, cols, DType::kF32, seed);
    for (const double p : {0.0, 0.3, 0.9}) {
      for (const bool accumulate : {false, true}) {
        const Tensor y0 = test::random_tensor(rows, cols, DType::kF32, seed + 1);
        Tensor want = y0.clone();
        ops::dropout(cpu, x, p, seed, 11, want, accumulate);
        Tensor got = accumulate ? on_device_strided(y0) : strided(rows, cols, Device::kCUDA, NAN);
        ops::dropout(gpu, on_device_strided(x), p, seed, 11, got, accumulate);
        // The same mask: equal elementwise (x * scale rounds the same on both).
        CHECK(to_eigen(got) == to_eigen(want));
      }
    }
  }
}

TEST_CASE("parity: sparse_dropout keeps the CPU's entries, in the CPU's order") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const auto& shape : kShapes) {
    const int64_t rows = shape.first, cols = shape.second;
    const uint64_t seed = test::fresh_seed();
    CAPTURE(rows);
    CAPTURE(cols);
    CAPTURE(seed);
    // About a third of the entries stored; every row and column may be empty.
    std::vector<float> values =
        test::random_away_from_zero(rows, cols, DType::kF32, seed).to_vector<float>();
    const std::vector<float> draws =
        test::random_tensor(rows, cols, DType::kF32, seed + 1, 0, 1).to_vector<float>();
    for (size_t i = 0; i < values.size(); ++i) {
      if (draws[i] > 0.33f) values[i] = 0.0f;
    }
    const SparseMatrix a = SparseMatrix::from_dense(Tensor::from_vector<float>(rows, cols, values));
    for (const float p : {0.0f, 0.6f}) {
      const SparseMatrix want = a.dropout(cpu, p, seed, 3);
      const SparseMatrix got = a.to(Device::kCUDA).dropout(gpu, p, seed, 3).to(Device::kCPU);
      REQUIRE(got.nnz() == want.nnz());
      const auto same = [](const kernels::CsrView& x, const kernels::CsrView& y) {
        CHECK(std::vector<int64_t>(x.indptr, x.indptr + x.rows + 1) ==
              std::vector<int64_t>(y.indptr, y.indptr + y.rows + 1));
        CHECK(std::vector<int32_t>(x.indices, x.indices + x.nnz) ==
              std::vector<int32_t>(y.indices, y.indices + y.nnz));
        if (x.edge_ids) {
          CHECK(std::vector<int32_t>(x.edge_ids, x.edge_ids + x.nnz) ==
                std::vector<int32_t>(y.edge_ids, y.edge_ids + y.nnz));
        }
      };
      same(got.csr(), want.csr());
      same(got.csr_transposed(), want.csr_transposed());
      CHECK(got.values().to_vector<float>() == want.values().to_vector<float>());
    }
  }
}

TEST_CASE("parity: softmax and log-softmax rows, forward and backward") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const auto& shape : kShapes) {
    // Named copies: doctest's CAPTURE is a lambda, which cannot capture structured bindings
    // (clang 14).
    const int64_t rows = shape.first, cols = shape.second;
    const uint64_t seed = test::fresh_seed();
    CAPTURE(rows);
    CAPTURE(cols);
    CAPTURE(seed);
    const Tensor x = test::random_tensor(rows, cols, DType::kF32, seed, -5.0, 5.0);
    const Tensor dy = test::random_tensor(rows, cols, DType::kF32, seed + 1);
    const double tol = kTol * std::sqrt(double(cols));
    for (const bool log : {false, true}) {
      Tensor want = Tensor::zeros(rows, cols, DType::kF32);
      ops::softmax_rows(cpu, x, want, log);
      Tensor got = strided(rows, cols, Device::kCUDA, NAN);
      ops::softmax_rows(gpu, on_device_strided(x), got, log);
      check_close(got, want, tol);
      for (const bool accumulate : {false, true}) {
        const Tensor dx0 = test::random_tensor(rows, cols, DType::kF32, seed + 2);
        Tensor want_dx = dx0.clone();
        ops::softmax_rows_backward(cpu, want, dy, want_dx, log, accumulate);
        Tensor got_dx =
            accumulate ? on_device_strided(dx0) : strided(rows, cols, Device::kCUDA, NAN);
        ops::softmax_rows_backward(gpu, on_device_strided(want), on_device_strided(dy), got_dx, log,
                                   accumulate);
        check_close(got_dx, want_dx, tol);
      }
    }
  }
}

TEST_CASE("parity: Adam, AdamW and SGD over more tensors than one launch holds") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  const uint64_t seed = test::fresh_seed();
  CAPTURE(seed);
  // 40 tensors (two launches of the CUDA twin), sizes from 1 to several blocks.
  std::vector<Tensor> p_cpu, g_cpu, m_cpu, v_cpu, p_gpu, g_gpu, m_gpu, v_gpu;
  std::vector<int64_t> steps;
  for (int64_t i = 0; i < 40; ++i) {
    const int64_t n = 1 + (i * 97) % 700;
    p_cpu.push_back(test::random_tensor(n, 1, DType::kF32, seed + 4 * i));
    g_cpu.push_back(test::random_tensor(n, 1, DType::kF32, seed + 4 * i + 1));
    m_cpu.push_back(test::random_tensor(n, 1, DType::kF32, seed + 4 * i + 2, -0.1, 0.1));
    v_cpu.push_back(test::random_tensor(n, 1, DType::kF32, seed + 4 * i + 3, 0.0, 0.1));
    p_gpu.push_back(p_cpu.back().to(Device::kCUDA));
    g_gpu.push_back(g_cpu.back().to(Device::kCUDA));
    m_gpu.push_back(m_cpu.back().to(Device::kCUDA));
    v_gpu.push_back(v_cpu.back().to(Device::kCUDA));
    steps.push_back(1 + i % 5);
  }
  for (const bool decoupled : {false, true}) {
    const ops::AdamOptions o{.lr = 0.01, .weight_decay = 0.05, .decoupled_weight_decay = decoupled};
    ops::adam_step(cpu, p_cpu, g_cpu, m_cpu, v_cpu, steps, o);
    ops::adam_step(gpu, p_gpu, g_gpu, m_gpu, v_gpu, steps, o);
    for (size_t i = 0; i < p_cpu.size(); ++i) {
      check_close(p_gpu[i], p_cpu[i], kTol);
      check_close(m_gpu[i], m_cpu[i], kTol);
      check_close(v_gpu[i], v_cpu[i], kTol);
    }
  }
  for (const bool nesterov : {false, true}) {
    const ops::SgdOptions o{
        .lr = 0.1, .momentum = 0.9, .dampening = 0.0, .weight_decay = 0.01, .nesterov = nesterov};
    // m_* serve as momentum buffers; step 1 overwrites them, step 2 reads them.
    for (const int64_t step : {int64_t{1}, int64_t{2}}) {
      const std::vector<int64_t> sgd_steps(p_cpu.size(), step);
      ops::sgd_step(cpu, p_cpu, g_cpu, m_cpu, sgd_steps, o);
      ops::sgd_step(gpu, p_gpu, g_gpu, m_gpu, sgd_steps, o);
      for (size_t i = 0; i < p_cpu.size(); ++i) {
        check_close(p_gpu[i], p_cpu[i], kTol);
        check_close(m_gpu[i], m_cpu[i], kTol);
      }
    }
  }
}

TEST_CASE("parity: gemm through cuBLAS, transposed, strided and batched") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  const uint64_t seed = test::fresh_seed();
  CAPTURE(seed);
  for (const int64_t m : {int64_t{1}, int64_t{37}, int64_t{130}}) {
    for (const int64_t n : {int64_t{1}, int64_t{64}}) {
      const int64_t k = 45;
      for (const bool trans_a : {false, true}) {
        for (const bool trans_b : {false, true}) {
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(trans_a);
          CAPTURE(trans_b);
          const Tensor a =
              test::random_tensor(trans_a ? k : m, trans_a ? m : k, DType::kF32, seed + m);
          const Tensor b =
              test::random_tensor(trans_b ? n : k, trans_b ? k : n, DType::kF32, seed + n);
          const Tensor c0 = test::random_tensor(m, n, DType::kF32, seed + 7);
          for (const double beta : {0.0, 0.5}) {
            Tensor want = c0.clone();
            ops::gemm(cpu, a, trans_a, b, trans_b, want, 1.5, beta);
            // A and B as column slices of wider tensors (ld > cols), C poisoned unless read.
            Tensor got = beta == 0.0 ? strided(m, n, Device::kCUDA, NAN) : on_device_strided(c0);
            ops::gemm(gpu, on_device_strided(a), trans_a, on_device_strided(b), trans_b, got, 1.5,
                      beta);
            check_close(got, want, 1e-5 * std::sqrt(double(k)));
          }
        }
      }
    }
  }
  // K students side by side: C [N, 3·F] = X [N, K] times three stacked weights [3·K, F].
  const Tensor x = test::random_tensor(50, 20, DType::kF32, seed + 1);
  const Tensor w = test::random_tensor(3 * 20, 16, DType::kF32, seed + 2);
  Tensor want = Tensor::zeros(50, 3 * 16, DType::kF32);
  ops::gemm_batched(cpu, 3, x, ops::Pack::kShared, false, w, ops::Pack::kRows, false, want,
                    ops::Pack::kCols);
  Tensor got = Tensor::full(50, 3 * 16, NAN, DType::kF32, Device::kCUDA);
  ops::gemm_batched(gpu, 3, x.to(Device::kCUDA), ops::Pack::kShared, false, w.to(Device::kCUDA),
                    ops::Pack::kRows, false, got, ops::Pack::kCols);
  check_close(got, want, 1e-5 * std::sqrt(20.0));
}
