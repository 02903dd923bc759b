// Exits 0 when this CPU runs x86-64-v3 code (AVX2, FMA, BMI2, ...): see GkdCpuArch.cmake.
int main() {
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                  __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c");
  return v3 ? 0 : 1;
}
