// Prints the highest x86-64 level this CPU runs, of those the library builds for (see
// GkdCpuArch.cmake): x86-64-v4 (AVX-512 F/BW/CD/DQ/VL on top of v3), x86-64-v3 (AVX2, FMA, BMI2,
// F16C, ...), or nothing.
#include <cstdio>

int main() {
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                  __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl");
  std::printf("%s", v4 ? "x86-64-v4" : v3 ? "x86-64-v3" : "");
  return 0;
}
