#include "distill/alw.h"

#include <cmath>

#include "autograd/functions_dense.h"
#include "engine/ops_dense.h"
#include "models/init.h"

namespace gkd::distill {

namespace ag = autograd;

Alw make_alw(int64_t rows, int64_t rank, int64_t classes, uint64_t seed, Device device) {
  Alw a;
  a.chi = std::make_unique<ag::Parameter>(models::glorot_uniform("alw_chi", rows, rank, seed, 1));
  a.phi = std::make_unique<ag::Parameter>(models::zeros("alw_phi", rank, classes));
  a.chi->value = a.chi->value.to(device);
  a.phi->value = a.phi->value.to(device);
  return a;
}

ag::Var alw_logits(ag::Tape& tape, ag::Var z, ag::Var chi_rows, ag::Var phi) {
  const Context& ctx = tape.context();
  const Tensor p = ops::softmax_rows(ctx, z.value());  // [n, C]
  const Tensor plogp = ops::mul(
      ctx, p, ops::log(ctx, ops::add(ctx, p, Tensor::full(1, 1, 1e-30, p.dtype(), ctx.device()))));
  const Tensor h = ops::scale(ctx, ops::row_sums(ctx, plogp),
                              -1.0 / std::log(static_cast<double>(z.cols())));  // [n, 1] in [0, 1]
  ag::Var gate = ag::mul(tape.constant(h), ag::matmul(chi_rows, phi));
  return ag::mul(z, ag::scale(ag::sigmoid(gate), 2.0));
}

}  // namespace gkd::distill
