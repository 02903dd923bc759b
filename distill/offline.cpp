#include "distill/offline.h"

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "engine/error.h"
#include "engine/ops_dense.h"
#include "models/init.h"

namespace gkd::distill {

namespace ag = autograd;

namespace {

constexpr struct {
  Method method;
  const char* name;
} kMethodNames[] = {{Method::kKd, "kd"}, {Method::kFitnet, "fitnet"}, {Method::kLsp, "lsp"}};

// A layer index of `count` hidden layers, negative from the end; errors name the option.
int64_t resolve_layer(int64_t index, int64_t count, const char* option) {
  const int64_t resolved = index < 0 ? count + index : index;
  GKD_CHECK(resolved >= 0 && resolved < count, "[distill] ", option, " is ", index,
            " but the model has ", count, " hidden layers (expected ", -count, " .. ", count - 1,
            ")");
  return resolved;
}

// Multi-label KD: T² · mean over nodes and labels of KL(Bern(σ(z_t/T)) ‖ Bern(σ(z_s/T))) =
// T² · (BCE(z_s/T, p_t) − BCE(z_t/T, p_t)) with p_t = σ(z_t/T); the second term, the teacher's
// own binary entropy, is a constant that makes the value 0 when the student matches.
ag::Var binary_kd(ag::Tape& tape, ag::Var student, const Tensor& teacher, double t) {
  const Context& ctx = tape.context();
  const Tensor scaled = ops::scale(ctx, teacher, 1.0 / t);
  const Tensor p = ops::bias_act(ctx, scaled, {}, kernels::Activation::kSigmoid);
  const ag::Var cross = ag::bce_with_logits(ag::scale(student, 1.0 / t), p);
  const ag::Var entropy = ag::bce_with_logits(tape.constant(scaled), p);  // a constant
  return ag::scale(ag::add(cross, ag::scale(entropy, -1.0)), t * t);
}

}  // namespace

const char* method_name(Method method) {
  for (const auto& m : kMethodNames) {
    if (m.method == method) return m.name;
  }
  return "?";
}

Method method_from_string(const std::string& name) {
  for (const auto& m : kMethodNames) {
    if (name == m.name) return m.method;
  }
  GKD_FAIL("distillation method '", name, "' is unknown (expected kd, fitnet or lsp)");
}

TeacherOutputs run_teacher(const Context& ctx, const models::Model& teacher, const Graph& g,
                           const io::FeatureMatrix& x) {
  for (autograd::Parameter* p : teacher.parameters()) p->value = p->value.to(ctx.device());
  ag::Tape tape(ctx);
  ag::NoGrad no_grad(tape);
  const models::ModelOutput out = teacher.forward(tape, g, x, {.training = false});
  TeacherOutputs t{.logits = out.logits.value(), .hidden = {}};
  for (const ag::Var& h : out.hidden) t.hidden.push_back(h.value());
  return t;
}

TeacherOutputs run_teacher(const Context& ctx, const models::GraphModel& teacher,
                           const io::GraphBatch& batch) {
  for (autograd::Parameter* p : teacher.parameters()) p->value = p->value.to(ctx.device());
  for (auto& [name, b] : teacher.named_buffers()) b->value = b->value.to(ctx.device());
  ag::Tape tape(ctx);
  ag::NoGrad no_grad(tape);
  const models::GraphModelOutput out = teacher.forward(tape, batch, {.training = false});
  TeacherOutputs t{.logits = out.logits.value(), .hidden = {}};
  for (const ag::Var& h : out.hidden) t.hidden.push_back(h.value());
  return t;
}

TeacherOutputs run_teacher(const Context& ctx, const models::Model& teacher,
                           const io::NodeDataset& data) {
  return run_teacher(ctx, teacher, data.graph.to(ctx.device()), data.x.to(ctx.device()));
}

OfflineDistiller::OfflineDistiller(const OfflineOptions& o, const models::ModelConfig& teacher,
                                   const models::ModelConfig& student, uint64_t seed)
    : OfflineDistiller(o, {teacher.layers - 1, models::hidden_width(teacher), teacher.out_dim},
                       {student.layers - 1, models::hidden_width(student), student.out_dim}, seed) {
}

OfflineDistiller::OfflineDistiller(const OfflineOptions& o, const models::GraphModelConfig& teacher,
                                   const models::GraphModelConfig& student, uint64_t seed)
    : OfflineDistiller(o, {teacher.layers, models::hidden_width(teacher), teacher.out_dim},
                       {student.layers, models::hidden_width(student), student.out_dim}, seed) {}

OfflineDistiller::OfflineDistiller(const OfflineOptions& o, const Shape& teacher,
                                   const Shape& student, uint64_t seed)
    : o_(o) {
  GKD_CHECK(o.weight >= 0, "[distill] weight is ", o.weight, " (expected >= 0)");
  GKD_CHECK(o.temperature > 0, "[distill] temperature is ", o.temperature, " (expected > 0)");
  GKD_CHECK(o.start_epoch >= 1 && (o.end_epoch == 0 || o.end_epoch >= o.start_epoch),
            "[distill] epoch window [", o.start_epoch, ", ", o.end_epoch,
            "] (expected start >= 1 and end 0 or >= start)");
  GKD_CHECK(teacher.out_dim == student.out_dim, "[distill] the teacher predicts ", teacher.out_dim,
            " classes, the student ", student.out_dim);
  if (o.method == Method::kKd) return;
  student_layer_ = resolve_layer(o.student_layer, student.hidden_layers, "student_layer");
  teacher_layer_ = resolve_layer(o.teacher_layer, teacher.hidden_layers, "teacher_layer");
  if (o.method == Method::kFitnet) {
    projection_ = std::make_unique<autograd::Parameter>(models::glorot_uniform(
        "fitnet_projection", student.hidden_width, teacher.hidden_width, seed, 1));
  }
}

models::ExtraLoss OfflineDistiller::extra_loss(const Graph& g, TeacherOutputs teacher) {
  models::ExtraLoss e;
  e.term = [this, g, t = std::move(teacher)](ag::Tape& tape, const models::ModelOutput& out,
                                             int64_t epoch) {
    return term(tape, g, out, t, epoch, false);
  };
  if (projection_) e.parameters.push_back(projection_.get());
  return e;
}

models::InductiveExtraLoss OfflineDistiller::inductive_extra_loss(const models::Model& teacher) {
  models::InductiveExtraLoss e;
  e.term = [this, &teacher](ag::Tape& tape, const Graph& batch, const io::FeatureMatrix& x,
                            const models::ModelOutput& out, int64_t epoch) -> ag::Var {
    if (!active(epoch)) return {};  // no teacher pass outside the window
    return term(tape, batch, out, run_teacher(tape.context(), teacher, batch, x), epoch, true);
  };
  if (projection_) e.parameters.push_back(projection_.get());
  return e;
}

models::GraphExtraLoss OfflineDistiller::graph_extra_loss(const models::GraphModel& teacher) {
  models::GraphExtraLoss e;
  e.term = [this, &teacher](ag::Tape& tape, const io::GraphBatch& batch,
                            const models::GraphModelOutput& out, int64_t epoch) -> ag::Var {
    if (!active(epoch)) return {};  // no teacher pass outside the window
    return term(tape, batch.graph, out, run_teacher(tape.context(), teacher, batch), epoch, false);
  };
  if (projection_) e.parameters.push_back(projection_.get());
  return e;
}

bool OfflineDistiller::active(int64_t epoch) const {
  return epoch >= o_.start_epoch && (o_.end_epoch == 0 || epoch <= o_.end_epoch) && o_.weight != 0;
}

ag::Var OfflineDistiller::term(ag::Tape& tape, const Graph& g, const models::ModelOutput& out,
                               const TeacherOutputs& teacher, int64_t epoch,
                               bool multi_label) const {
  if (!active(epoch)) return {};
  ag::Var loss;
  switch (o_.method) {
    case Method::kKd:
      loss = multi_label ? binary_kd(tape, out.logits, teacher.logits, o_.temperature)
                         : ag::kl_div(out.logits, tape.constant(teacher.logits), o_.temperature);
      break;
    case Method::kFitnet: {
      const ag::Var h = out.hidden[student_layer_];
      GKD_CHECK(h.cols() == projection_->value.rows(), "[distill] student layer ", student_layer_,
                " is ", h.cols(), " wide (expected ", projection_->value.rows(), ")");
      loss = ag::mse(ag::matmul(h, tape.param(*projection_)),
                     tape.constant(teacher.hidden[teacher_layer_]));
      break;
    }
    case Method::kLsp:
      loss = ag::structure_kl(g.to(tape.context().device()), out.hidden[student_layer_],
                              tape.constant(teacher.hidden[teacher_layer_]), o_.kernel);
      break;
  }
  return o_.weight == 1.0 ? loss : ag::scale(loss, o_.weight);
}

}  // namespace gkd::distill
