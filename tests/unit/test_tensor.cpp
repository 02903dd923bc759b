#include <doctest/doctest.h>

#include "engine/error.h"
#include "engine/tensor.h"

using gkd::DType;
using gkd::Tensor;

TEST_CASE("tensor: shapes, views and copies share or own storage as documented") {
  Tensor t = Tensor::from_vector<float>(3, 4, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(t.rows() == 3);
  CHECK(t.cols() == 4);
  CHECK(t.is_contiguous());
  CHECK(t.describe() == "[3, 4] f32 cpu");

  Tensor cols = t.slice_cols(1, 3);  // [3, 2] view, ld 4
  CHECK(cols.ld() == 4);
  CHECK(!cols.is_contiguous());
  CHECK(cols.to_vector<float>() == std::vector<float>{1, 2, 5, 6, 9, 10});
  cols.fill(-1.0);  // writes through the view
  CHECK(t.to_vector<float>() == std::vector<float>{0, -1, -1, 3, 4, -1, -1, 7, 8, -1, -1, 11});

  Tensor rows = t.slice_rows(1, 2);
  CHECK(rows.to_vector<float>() == std::vector<float>{4, -1, -1, 7});

  Tensor copy = cols.clone();
  CHECK(copy.is_contiguous());
  copy.fill(5.0);
  CHECK(cols.to_vector<float>() == std::vector<float>{-1, -1, -1, -1, -1, -1});

  CHECK(t.reshape(4, 3).rows() == 4);
  CHECK_THROWS_AS(cols.reshape(1, 6), gkd::Error);  // strided views cannot be reshaped
  CHECK_THROWS_AS(t.reshape(5, 3), gkd::Error);
}

TEST_CASE("tensor: zeros, full, dtype conversion and item") {
  CHECK(Tensor::zeros(2, 2, DType::kI64).to_vector<int64_t>() == std::vector<int64_t>(4, 0));
  CHECK(Tensor::full(1, 3, 2.5, DType::kF64).to_vector<double>() ==
        std::vector<double>{2.5, 2.5, 2.5});
  const Tensor i = Tensor::from_vector<int32_t>(1, 3, {1, -2, 3}).to_dtype(DType::kF32);
  CHECK(i.to_vector<float>() == std::vector<float>{1, -2, 3});
  CHECK(Tensor::full(1, 1, 7.0, DType::kF32).item<float>() == 7.0f);
  CHECK(Tensor::zeros(0, 5, DType::kF32).numel() == 0);
}

TEST_CASE("tensor: misuse is refused with a message naming the problem") {
  Tensor t = Tensor::zeros(2, 3, DType::kF32);
  CHECK_THROWS_WITH_AS(t.data<double>(), "[Tensor::data] tensor is f32, accessed as f64",
                       gkd::Error);
  CHECK_THROWS_WITH_AS(t.slice_cols(2, 4), doctest::Contains("out of range"), gkd::Error);
  CHECK_THROWS_WITH_AS(Tensor::from_vector<float>(2, 2, {1, 2, 3}),
                       "[Tensor::from_vector] got 3 values for shape [2, 2]", gkd::Error);
  CHECK_THROWS_AS(Tensor::zeros(2, 2, DType::kI32).fill(1.0), gkd::Error);
  CHECK_THROWS_AS(t.item<float>(), gkd::Error);
  Tensor other = Tensor::zeros(3, 2, DType::kF32);
  CHECK_THROWS_WITH_AS(t.copy_from(other), doctest::Contains("cannot copy [3, 2] f32 cpu"),
                       gkd::Error);
}
