#include "autograd/functions_cohort.h"

#include "autograd/functions_dense.h"
#include "engine/error.h"
#include "engine/ops_dense.h"

namespace gkd::autograd {

Var concat_cols(const std::vector<Var>& xs) {
  GKD_CHECK(!xs.empty(), "[concat_cols] no inputs");
  if (xs.size() == 1) return xs.front();
  Tape& tape = xs.front().tape();
  const Tensor& first = xs.front().value();
  int64_t cols = 0;
  for (const Var& x : xs) {
    GKD_CHECK(x.rows() == first.rows() && x.value().dtype() == first.dtype(),
              "[concat_cols] inputs ", first.describe(), " and ", x.value().describe(),
              " (expected one row count and dtype)");
    cols += x.cols();
  }
  Tensor y = Tensor::empty(first.rows(), cols, first.dtype(), tape.context().device());
  int64_t at = 0;
  for (const Var& x : xs) {
    y.slice_cols(at, at + x.cols()).copy_from(x.value());
    at += x.cols();
  }
  return tape.record("concat_cols", std::move(y), xs, [xs](Tape& t, const Tensor& gy) {
    int64_t begin = 0;
    for (const Var& x : xs) {
      if (t.needs_grad(x)) {
        const Tape::GradSlot dx = t.grad_slot(x);
        ops::axpby(t.context(), 1.0, gy.slice_cols(begin, begin + x.cols()),
                   dx.accumulate ? 1.0 : 0.0, dx.grad);
      }
      begin += x.cols();
    }
  });
}

Var slice_cols(Var x, int64_t begin, int64_t end) {
  GKD_CHECK(0 <= begin && begin <= end && end <= x.cols(), "[slice_cols] columns [", begin, ", ",
            end, ") of ", x.value().describe());
  if (begin == 0 && end == x.cols()) return x;
  Tape& tape = x.tape();
  Tensor y = x.value().slice_cols(begin, end).clone();  // [R, end - begin]
  return tape.record("slice_cols", std::move(y), {x}, [x, begin, end](Tape& t, const Tensor& gy) {
    if (!t.needs_grad(x)) return;
    Tensor block = t.grad_of(x).slice_cols(begin, end);
    ops::axpy(t.context(), 1.0, gy, block);
  });
}

std::vector<Var> split_cols(Var x, int64_t blocks) {
  GKD_CHECK(blocks >= 1 && x.cols() % blocks == 0, "[split_cols] ", x.value().describe(),
            " is not ", blocks, " column blocks");
  const int64_t f = x.cols() / blocks;
  std::vector<Var> out;
  for (int64_t k = 0; k < blocks; ++k) out.push_back(slice_cols(x, k * f, (k + 1) * f));
  return out;
}

Var block_matmul(Var a, Var b, int64_t blocks) {
  GKD_CHECK(blocks >= 1, "[block_matmul] blocks is ", blocks, " (expected >= 1)");
  if (blocks == 1) return matmul(a, b);
  Tape& tape = a.tape();
  GKD_CHECK(a.cols() % blocks == 0 && b.cols() % blocks == 0 && a.cols() / blocks == b.rows(),
            "[block_matmul] a ", a.value().describe(), " and b ", b.value().describe(), " are not ",
            blocks, " column blocks [M, A] and [A, B]");
  using ops::Pack;
  Tensor y = Tensor::empty(a.rows(), b.cols(), a.value().dtype(), tape.context().device());
  ops::gemm_batched(tape.context(), blocks, a.value(), Pack::kCols, false, b.value(), Pack::kCols,
                    false, y, Pack::kCols);  // [M, K*B]
  return tape.record(
      "block_matmul", std::move(y), {a, b}, [a, b, blocks](Tape& t, const Tensor& gy) {
        const Context& c = t.context();
        // Per block: da_k += gy_k · b_kᵀ ; db_k += a_kᵀ · gy_k
        if (t.needs_grad(a)) {
          const Tape::GradSlot da = t.grad_slot(a);
          ops::gemm_batched(c, blocks, gy, Pack::kCols, false, b.value(), Pack::kCols, true,
                            da.grad, Pack::kCols, 1.0, da.accumulate ? 1.0 : 0.0);
        }
        if (t.needs_grad(b)) {
          const Tape::GradSlot db = t.grad_slot(b);
          ops::gemm_batched(c, blocks, a.value(), Pack::kCols, true, gy, Pack::kCols, false,
                            db.grad, Pack::kCols, 1.0, db.accumulate ? 1.0 : 0.0);
        }
      });
}

Var dropout_blocks(Var x, float p, std::span<const uint64_t> seeds, uint64_t stream, bool training,
                   bool broadcast) {
  GKD_CHECK(p >= 0.0f && p < 1.0f, "[dropout] p is ", p, " (expected 0 <= p < 1)");
  const auto blocks = static_cast<int64_t>(seeds.size());
  GKD_CHECK(blocks >= 1, "[dropout_blocks] no seeds");
  if (!training || p == 0.0f) return x;
  GKD_CHECK(broadcast || x.cols() % blocks == 0, "[dropout_blocks] ", x.value().describe(),
            " is not ", blocks, " column blocks");
  const int64_t f = broadcast ? x.cols() : x.cols() / blocks;
  Tape& tape = x.tape();
  std::vector<uint64_t> seed(seeds.begin(), seeds.end());
  // Block k of a [R, K*F] tensor, or the shared [R, F] input when broadcasting.
  const auto block = [f, broadcast](const Tensor& t, int64_t k) {
    return broadcast && t.cols() == f ? t : t.slice_cols(k * f, (k + 1) * f);
  };
  Tensor y = Tensor::empty(x.rows(), blocks * f, x.value().dtype(), tape.context().device());
  for (int64_t k = 0; k < blocks; ++k) {
    Tensor out = y.slice_cols(k * f, (k + 1) * f);
    ops::dropout(tape.context(), block(x.value(), k), p, seed[k], stream, out);
  }
  const Tensor out = y;
  return tape.record("dropout_blocks", std::move(y), {x},
                     [x, p, seed, stream, block, broadcast, out](Tape& t, const Tensor& gy) {
                       if (!t.needs_grad(x)) return;
                       // Each block's forward mask again: its (seed, stream), or read off the
                       // forward input and output. The blocks tile x's gradient; a broadcast
                       // input's is every block's, so all blocks after the first add to it.
                       const Tape::GradSlot slot = t.grad_slot(x);
                       for (size_t k = 0; k < seed.size(); ++k) {
                         const auto b = static_cast<int64_t>(k);
                         Tensor dx = block(slot.grad, b);
                         const Tensor fx = block(x.value(), b);
                         const Tensor fy = out.slice_cols(b * fx.cols(), (b + 1) * fx.cols());
                         const ops::DropoutForward forward{fx, fy};
                         ops::dropout(t.context(), block(gy, b), p, seed[k], stream, dx,
                                      slot.accumulate || (broadcast && k > 0), &forward);
                       }
                     });
}

}  // namespace gkd::autograd
