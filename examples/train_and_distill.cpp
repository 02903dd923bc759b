// gkd as a library, end to end: load a graph, train a GCN, distil a cohort of students.
//
//   train_and_distill                 # the built-in synthetic graph (contextual SBM)
//   train_and_distill data/cora.npz   # any node-classification .npz (docs: data/README.md)
//
// Built against the installed package (examples/CMakeLists.txt: find_package(gkd)); docs/api.md
// walks through it. Exit code 0 when everything ran; a bad file prints gkd's one-line error.
#include <gkd/gkd.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
  using namespace gkd;
  const Context ctx = Context::cpu();  // Context::cuda() runs the same code on a GPU

  // 1. A graph: a file when one is given, else the synthetic graph every gkd demo uses.
  const io::NodeDataset data =
      argc > 1 ? io::load_node_npz(argv[1], {.features = io::FeatureTransform::kRowNormalize})
               : io::make_csbm({.num_nodes = 1500, .seed = 1});
  std::printf("%s: %lld nodes, %lld edges, %lld features, %lld classes\n", data.name.c_str(),
              static_cast<long long>(data.graph.num_nodes()),
              static_cast<long long>(data.graph.num_edges()), static_cast<long long>(data.x.cols()),
              static_cast<long long>(data.num_classes));

  // 2. A GCN (Kipf & Welling's defaults), trained with best-validation selection.
  const models::ModelConfig gcn_config{
      .arch = models::Arch::kGcn, .in_dim = data.x.cols(), .out_dim = data.num_classes};
  models::Model gcn(gcn_config, /*seed=*/1);
  const models::NodeTrainOptions train{.epochs = 100};
  const models::NodeTrainResult alone = models::train_node_classifier(ctx, gcn, data, train);
  std::printf("GCN alone: test %.1f%% at best validation epoch %lld\n", alone.test_acc,
              static_cast<long long>(alone.best_epoch));
  models::save_model("gcn.ckpt", models::model_state(gcn), "example GCN");

  // 3. Online distillation: three 3-layer GCN students learn together with Alignahead (each
  //    layer matches a peer's next layer's local structure).
  const models::ModelConfig student_config{.arch = models::Arch::kGcn,
                                           .in_dim = data.x.cols(),
                                           .out_dim = data.num_classes,
                                           .layers = 3};
  std::vector<models::Model> students;
  for (uint64_t seed = 1; seed <= 3; ++seed) students.emplace_back(student_config, seed);
  std::vector<models::Model*> cohort;
  for (models::Model& s : students) cohort.push_back(&s);
  const distill::CohortResult r = distill::train_cohort(
      ctx, cohort, data, train,
      {.method = distill::OnlineMethod::kAlignahead, .weight = 1.0, .shift = 1});
  for (size_t k = 0; k < r.students.size(); ++k) {
    std::printf("student %zu: test %.1f%% (best validation epoch %lld)\n", k,
                r.students[k].test_acc, static_cast<long long>(r.students[k].best_epoch));
  }
  std::printf("ensemble of the cohort: test %.1f%%; %.2f ms per cohort epoch\n",
              r.ensemble_test_acc, r.median_epoch_ms);
  return 0;
} catch (const gkd::Error& e) {
  std::fprintf(stderr, "train_and_distill: %s\n", e.what());
  return 1;
}
