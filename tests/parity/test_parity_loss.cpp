// CUDA twins of the fused losses, the segment / gather kernels and batch norm against their CPU
// twins. Ops that allocate their outputs get the device allocator's cache filled with NaN first:
// a block it hands back to the kernel holds NaN until written.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/context.h"
#include "engine/ops_loss.h"
#include "engine/ops_norm.h"
#include "engine/ops_segment.h"
#include "engine/ops_structure.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using test::close_ratio;
using test::to_eigen;

namespace {

// Freed NaN blocks of the sizes the next allocations will ask for (the caching allocator reuses
// them).
void poison_cache(int64_t rows, int64_t cols) {
  std::vector<Tensor> blocks;
  for (int k = 0; k < 6; ++k) {
    blocks.push_back(Tensor::full(rows, cols, NAN, DType::kF32, Device::kCUDA));
    blocks.push_back(Tensor::full(rows, 1, NAN, DType::kF32, Device::kCUDA));
    blocks.push_back(Tensor::full(1, 1, NAN, DType::kF32, Device::kCUDA));
  }
}

void check_close(const Tensor& cuda, const Tensor& cpu, double tol) {
  REQUIRE(cuda.defined() == cpu.defined());
  if (cpu.defined()) CHECK(close_ratio(to_eigen(cuda), to_eigen(cpu), tol, tol) <= 1.0);
}

void check_loss(const ops::LossOutput& cuda, const ops::LossOutput& cpu, double tol) {
  check_close(cuda.loss, cpu.loss, tol);
  check_close(cuda.rows, cpu.rows, tol);
  check_close(cuda.grad, cpu.grad, tol);
  check_close(cuda.grad_teacher, cpu.grad_teacher, tol);
  check_close(cuda.grad_temperature, cpu.grad_temperature, tol);
}

Tensor cuda(const Tensor& t) {
  return t.defined() ? t.to(Device::kCUDA) : t;
}

}  // namespace

TEST_CASE("parity: the fused losses, masked and unmasked, with their gradients") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const int64_t n : {int64_t{1}, int64_t{300}, int64_t{2708}}) {
    const int64_t c = 7;
    const uint64_t seed = test::fresh_seed();
    CAPTURE(n);
    CAPTURE(seed);
    const Tensor z = test::random_tensor(n, c, DType::kF32, seed, -3.0, 3.0);
    const Tensor t = test::random_tensor(n, c, DType::kF32, seed + 1, -3.0, 3.0);
    std::vector<int64_t> labels(n);
    std::vector<uint8_t> mask(n);
    for (int64_t i = 0; i < n; ++i) {
      labels[i] = (i * 5 + 3) % c;
      mask[i] = i % 3 != 0;
    }
    const Tensor y = Tensor::from_vector<int64_t>(n, 1, labels);
    const double tol = 1e-5 * std::sqrt(double(n));
    for (const bool masked : {false, true}) {
      CAPTURE(masked);
      const Tensor m = masked ? Tensor::from_vector<uint8_t>(n, 1, mask) : Tensor();
      poison_cache(n, c);
      check_loss(ops::cross_entropy(gpu, cuda(z), cuda(y), cuda(m)),
                 ops::cross_entropy(cpu, z, y, m), tol);
      const Tensor targets = test::random_tensor(n, c, DType::kF32, seed + 2, 0.0, 1.0);
      poison_cache(n, c);
      check_loss(ops::bce_with_logits(gpu, cuda(z), cuda(targets), cuda(m)),
                 ops::bce_with_logits(cpu, z, targets, m), tol);
      poison_cache(n, c);
      check_loss(ops::softmax_entropy(gpu, cuda(z), 2.0, cuda(m)),
                 ops::softmax_entropy(cpu, z, 2.0, m), tol);
      // KL with a shared temperature, and with learnable per-row temperatures.
      const Tensor temps = test::random_tensor(n, 1, DType::kF32, seed + 3, 0.5, 3.0);
      for (const bool per_row : {false, true}) {
        ops::KlDivOptions o{.temperature = 2.5,
                            .row_temperature = per_row ? temps : Tensor(),
                            .mask = m,
                            .grad_student = true,
                            .grad_teacher = true,
                            .grad_temperature = per_row};
        const ops::LossOutput want = ops::kl_div(cpu, z, t, o);
        o.row_temperature = cuda(o.row_temperature);
        o.mask = cuda(m);
        poison_cache(n, c);
        check_loss(ops::kl_div(gpu, cuda(z), cuda(t), o), want, tol);
      }
    }
    poison_cache(n, c);
    check_loss(ops::mse(gpu, cuda(z), cuda(t)), ops::mse(cpu, z, t), tol);
    // scaled_add: y += factor * scale[0] * x, the scale read on the device.
    const Tensor scale = Tensor::full(1, 1, 0.75, DType::kF32);
    Tensor want = t.clone();
    ops::scaled_add(cpu, -2.0, scale, z, want);
    Tensor got = t.to(Device::kCUDA);
    ops::scaled_add(gpu, -2.0, cuda(scale), cuda(z), got);
    check_close(got, want, 1e-6);
  }
}

TEST_CASE("parity: segment sum, mean and max with their backward, the row gather and scatter-add") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  const uint64_t seed = test::fresh_seed();
  CAPTURE(seed);
  // Segments of lengths 0, 1, 5, 0, 40 and 3 over 49 rows.
  const std::vector<int64_t> off = {0, 0, 1, 6, 6, 46, 49};
  const Tensor offsets = Tensor::from_vector<int64_t>(7, 1, off);
  const int64_t rows = 49, segments = 6, f = 37;
  const Tensor x = test::random_tensor(rows, f, DType::kF32, seed);
  const Tensor dy = test::random_tensor(segments, f, DType::kF32, seed + 1);
  for (const kernels::SegmentOp op :
       {kernels::SegmentOp::kSum, kernels::SegmentOp::kMean, kernels::SegmentOp::kMax}) {
    CAPTURE(static_cast<int>(op));
    const bool max = op == kernels::SegmentOp::kMax;
    for (const bool accumulate : {false, true}) {
      const Tensor y0 = test::random_tensor(segments, f, DType::kF32, seed + 2);
      Tensor want = y0.clone(), want_arg = Tensor::zeros(segments, f, DType::kI64);
      ops::segment_reduce(cpu, op, offsets, x, want, max ? &want_arg : nullptr, accumulate);
      Tensor got = accumulate ? y0.to(Device::kCUDA)
                              : Tensor::full(segments, f, NAN, DType::kF32, Device::kCUDA);
      Tensor got_arg = Tensor::full(segments, f, -7, DType::kI64, Device::kCUDA);
      ops::segment_reduce(gpu, op, cuda(offsets), cuda(x), got, max ? &got_arg : nullptr,
                          accumulate);
      check_close(got, want, 1e-5 * std::sqrt(40.0));
      if (max) {
        CHECK(got_arg.to(Device::kCPU).to_vector<int64_t>() == want_arg.to_vector<int64_t>());
      }
      const Tensor dx0 = test::random_tensor(rows, f, DType::kF32, seed + 3);
      Tensor want_dx = dx0.clone();
      ops::segment_reduce_backward(cpu, op, offsets, dy, want_arg, want_dx, accumulate);
      Tensor got_dx = accumulate ? dx0.to(Device::kCUDA)
                                 : Tensor::full(rows, f, NAN, DType::kF32, Device::kCUDA);
      ops::segment_reduce_backward(gpu, op, cuda(offsets), cuda(dy), cuda(want_arg), got_dx,
                                   accumulate);
      check_close(got_dx, want_dx, 1e-6);
    }
  }
  // Gather with repeats, 32- and 64-bit indices.
  std::vector<int64_t> idx = {5, 0, 48, 5, 17, 17, 30};
  std::vector<int32_t> idx32(idx.begin(), idx.end());
  for (const Tensor& index :
       {Tensor::from_vector<int64_t>(7, 1, idx), Tensor::from_vector<int32_t>(7, 1, idx32)}) {
    Tensor want = Tensor::zeros(7, f, DType::kF32);
    ops::gather_rows(cpu, x, index, want);
    Tensor got = Tensor::full(7, f, NAN, DType::kF32, Device::kCUDA);
    ops::gather_rows(gpu, cuda(x), cuda(index), got);
    CHECK(to_eigen(got) == to_eigen(want));
  }
  // Scatter-add of the gathered rows back (repeats add up), overwriting and accumulating.
  for (const Tensor& index :
       {Tensor::from_vector<int64_t>(7, 1, idx), Tensor::from_vector<int32_t>(7, 1, idx32)}) {
    const Tensor src = test::random_tensor(7, f, DType::kF32, seed + 4);
    for (const bool accumulate : {false, true}) {
      Tensor want = x.clone();
      ops::scatter_add_rows(cpu, src, index, want, accumulate);
      Tensor got =
          accumulate ? x.to(Device::kCUDA) : Tensor::full(rows, f, NAN, DType::kF32, Device::kCUDA);
      ops::scatter_add_rows(gpu, cuda(src), cuda(index), got, accumulate);
      check_close(got, want, 1e-6);
    }
  }
}

TEST_CASE("parity: batch norm, training (running statistics updated) and eval, with backward") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const int64_t n : {int64_t{2}, int64_t{300}}) {
    for (const int64_t f : {int64_t{1}, int64_t{37}, int64_t{64}}) {
      const uint64_t seed = test::fresh_seed();
      CAPTURE(n);
      CAPTURE(f);
      CAPTURE(seed);
      const Tensor x = test::random_tensor(n, f, DType::kF32, seed, -2.0, 3.0);
      const Tensor gamma = test::random_tensor(1, f, DType::kF32, seed + 1, 0.5, 1.5);
      const Tensor beta = test::random_tensor(1, f, DType::kF32, seed + 2);
      const Tensor dy = test::random_tensor(n, f, DType::kF32, seed + 3);
      for (const bool training : {true, false}) {
        Tensor mean_cpu = test::random_tensor(1, f, DType::kF32, seed + 4);
        Tensor var_cpu = test::random_tensor(1, f, DType::kF32, seed + 5, 0.5, 2.0);
        Tensor mean_gpu = mean_cpu.to(Device::kCUDA), var_gpu = var_cpu.to(Device::kCUDA);
        const ops::BatchNormOptions o{.training = training};
        ops::BatchNormSaved saved_cpu, saved_gpu;
        const Tensor want = ops::batch_norm(cpu, x, gamma, beta, mean_cpu, var_cpu, o, &saved_cpu);
        poison_cache(n, f);
        const Tensor got = ops::batch_norm(gpu, cuda(x), cuda(gamma), cuda(beta), mean_gpu, var_gpu,
                                           o, &saved_gpu);
        const double tol = 1e-5 * std::sqrt(double(n));
        check_close(got, want, tol);
        check_close(mean_gpu, mean_cpu, tol);
        check_close(var_gpu, var_cpu, tol);
        check_close(saved_gpu.inv_std, saved_cpu.inv_std, tol);
        for (const bool accumulate : {false, true}) {
          Tensor dx_cpu = test::random_tensor(n, f, DType::kF32, seed + 6);
          Tensor dg_cpu = test::random_tensor(1, f, DType::kF32, seed + 7);
          Tensor db_cpu = test::random_tensor(1, f, DType::kF32, seed + 8);
          Tensor dx_gpu = accumulate ? dx_cpu.to(Device::kCUDA)
                                     : Tensor::full(n, f, NAN, DType::kF32, Device::kCUDA);
          Tensor dg_gpu = accumulate ? dg_cpu.to(Device::kCUDA)
                                     : Tensor::full(1, f, NAN, DType::kF32, Device::kCUDA);
          Tensor db_gpu = accumulate ? db_cpu.to(Device::kCUDA)
                                     : Tensor::full(1, f, NAN, DType::kF32, Device::kCUDA);
          ops::batch_norm_backward(cpu, x, dy, gamma, saved_cpu, training, &dx_cpu, &dg_cpu,
                                   &db_cpu, accumulate);
          ops::batch_norm_backward(gpu, cuda(x), cuda(dy), cuda(gamma), saved_gpu, training,
                                   &dx_gpu, &dg_gpu, &db_gpu, accumulate);
          check_close(dx_gpu, dx_cpu, tol);
          check_close(dg_gpu, dg_cpu, tol);
          check_close(db_gpu, db_cpu, tol);
        }
      }
    }
  }
}

TEST_CASE("parity: the fused cohort class KL and its backward, K = 1, 2, 5") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const int64_t k_count : {int64_t{1}, int64_t{2}, int64_t{5}}) {
    const int64_t n = 301, c = 7;
    const uint64_t seed = test::fresh_seed();
    CAPTURE(k_count);
    CAPTURE(seed);
    std::vector<Tensor> logits, logits_gpu;
    for (int64_t k = 0; k < k_count; ++k) {
      logits.push_back(test::random_tensor(n, c, DType::kF32, seed + k, -3.0, 3.0));
      logits_gpu.push_back(logits.back().to(Device::kCUDA));
    }
    const ops::CohortKlOutput want = ops::cohort_kl(cpu, logits, 2.0);
    poison_cache(k_count * n, c);
    const ops::CohortKlOutput got = ops::cohort_kl(gpu, logits_gpu, 2.0);
    check_close(got.kl, want.kl, 1e-5);
    check_close(got.probs, want.probs, 1e-6);
    // The gradient accumulates into existing values; student 1 (when present) is skipped.
    const Tensor dkl = test::random_tensor(k_count, n, DType::kF32, seed + 9);
    std::vector<Tensor> d_cpu, d_gpu;
    std::vector<Tensor*> p_cpu, p_gpu;
    for (int64_t k = 0; k < k_count; ++k) {
      d_cpu.push_back(test::random_tensor(n, c, DType::kF32, seed + 20 + k));
      d_gpu.push_back(d_cpu.back().to(Device::kCUDA));
    }
    for (int64_t k = 0; k < k_count; ++k) {
      p_cpu.push_back(k == 1 ? nullptr : &d_cpu[k]);
      p_gpu.push_back(k == 1 ? nullptr : &d_gpu[k]);
    }
    ops::cohort_kl_backward(cpu, want, 2.0, dkl, p_cpu);
    ops::cohort_kl_backward(gpu, got, 2.0, dkl.to(Device::kCUDA), p_gpu);
    for (int64_t k = 0; k < k_count; ++k) check_close(d_gpu[k], d_cpu[k], 1e-5);
  }
}
