// Offline distillation: a frozen, pre-trained teacher and one student, on node classification
// (one graph), inductive multi-label tasks (PPI: the teacher runs on each step's batch, as in the
// seed code) or graph classification (the teacher runs on each training batch of graphs; kd on
// the graphs' logits, fitnet and lsp on the node states of the batch's graphs). The student
// minimises its supervised loss plus λ times one of
//   kd:     T² · KL(softmax(z_t / T) ‖ softmax(z_s / T)), mean over every node (Hinton et al.;
//           on a transductive graph the teacher's soft labels on unlabelled nodes carry the
//           signal); multi-label: T² · the binary KL of σ(z_t / T) and σ(z_s / T) per label, mean
//           over nodes and labels
//   fitnet: MSE(h_s W, h_t) with a learned projection W [D_s, D_t] (Romero et al.'s hints)
//   lsp:    KL(P_t ‖ P_s) of the local structures (edge softmax of a kernel over each node's
//           in-edges), mean over all nodes (Yang et al., LSP; methods.md §1.3)
// where h are pre-activation hidden states of the selected layers. The term is active in an epoch
// window (LSP's official code: the first 30 of 500 epochs).
//
//   distill::OfflineDistiller d({.method = distill::Method::kLsp}, teacher.config(),
//                               student.config(), seed);
//   models::train_node_classifier(ctx, student, data, options, on_epoch,
//                                 d.extra_loss(data.graph, distill::run_teacher(ctx, teacher,
//                                 data)));
//   models::train_inductive(ctx, student, ppi, options, on_epoch, d.inductive_extra_loss(teacher));
//   models::train_graph_classifier(ctx, student, graphs, split, options, on_epoch,
//                                  d.graph_extra_loss(gin_teacher));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/functions_graph.h"
#include "engine/context.h"
#include "engine/io/node_dataset.h"
#include "models/graph_model.h"
#include "models/model.h"
#include "models/train_graph.h"
#include "models/train_inductive.h"
#include "models/train_node.h"

namespace gkd::distill {

enum class Method { kKd, kFitnet, kLsp };
const char* method_name(Method method);
Method method_from_string(const std::string& name);  // "kd" | "fitnet" | "lsp"

// A frozen teacher's outputs on the whole graph in eval mode. They do not change during the
// student's training (full batch, no dropout), so they are computed once.
struct TeacherOutputs {
  Tensor logits;               // [N, C]
  std::vector<Tensor> hidden;  // per hidden layer, pre-activation [N, D_l]
};
TeacherOutputs run_teacher(const Context& ctx, const models::Model& teacher,
                           const io::NodeDataset& data);
// The same for any graph and features already on ctx's device (an inductive step's batch).
TeacherOutputs run_teacher(const Context& ctx, const models::Model& teacher, const Graph& g,
                           const io::FeatureMatrix& x);
// A graph classifier on a batch of graphs: logits [B, C], hidden the node states of every layer.
TeacherOutputs run_teacher(const Context& ctx, const models::GraphModel& teacher,
                           const io::GraphBatch& batch);

struct OfflineOptions {
  Method method = Method::kKd;
  double weight = 1.0;       // λ
  double temperature = 2.0;  // kd: T > 0
  // fitnet / lsp: hidden layer indices; negative counts from the end (-1: the last hidden layer).
  int64_t student_layer = -1;
  int64_t teacher_layer = -1;
  autograd::StructureKernel kernel;  // lsp
  // The term is on for epochs [start_epoch, end_epoch] (1-based; end 0: to the last epoch).
  int64_t start_epoch = 1;
  int64_t end_epoch = 0;
};

class OfflineDistiller {
 public:
  // Validates the options against the teacher's and the student's configs (errors name the
  // option); a FitNet projection is Glorot-initialised from `seed`.
  OfflineDistiller(const OfflineOptions& options, const models::ModelConfig& teacher,
                   const models::ModelConfig& student, uint64_t seed);
  // Graph classifiers: their layers' node states are the hidden layers.
  OfflineDistiller(const OfflineOptions& options, const models::GraphModelConfig& teacher,
                   const models::GraphModelConfig& student, uint64_t seed);

  // The term for models::train_node_classifier on graph g against the teacher's outputs on it
  // (run_teacher; LSP's local structures are over g's in-edges). The distiller must outlive the
  // training call.
  models::ExtraLoss extra_loss(const Graph& g, TeacherOutputs teacher);
  // The term for models::train_inductive: the frozen teacher runs forward-only on every step's
  // batch (multi-label KD). The distiller and the teacher must outlive the training call.
  models::InductiveExtraLoss inductive_extra_loss(const models::Model& teacher);
  // The term for models::train_graph_classifier: the frozen teacher runs forward-only on every
  // training batch. The distiller and the teacher must outlive the training call.
  models::GraphExtraLoss graph_extra_loss(const models::GraphModel& teacher);

  // The term for the student's outputs `out` on g against the teacher's on the same nodes, or
  // undefined outside the epoch window.
  autograd::Var term(autograd::Tape& tape, const Graph& g, const models::ModelOutput& out,
                     const TeacherOutputs& teacher, int64_t epoch, bool multi_label) const;

 private:
  // What the options are checked against: a model's hidden layers, their width and its outputs.
  struct Shape {
    int64_t hidden_layers, hidden_width, out_dim;
  };
  OfflineDistiller(const OfflineOptions& options, const Shape& teacher, const Shape& student,
                   uint64_t seed);
  bool active(int64_t epoch) const;  // inside the epoch window, with a non-zero weight

  OfflineOptions o_;
  int64_t student_layer_ = 0, teacher_layer_ = 0;    // resolved, non-negative
  std::unique_ptr<autograd::Parameter> projection_;  // fitnet: [D_s, D_t]
};

}  // namespace gkd::distill
