// finite.cu: the CUDA twin of kernels/finite.c. Each block reduces its share in shared memory,
// then one atomic per block adds to the count and raises the maximum (a non-negative float
// compares like its bit pattern as an unsigned int). Both results are independent of the order.
#include "kernels_cuda.h"

enum { THREADS = 256 };

__global__ void non_finite_kernel(const float *x, size_t n, unsigned long long *count,
                                  unsigned *max_bits) {
    __shared__ unsigned long long s_count[THREADS];
    __shared__ float s_max[THREADS];
    unsigned long long bad = 0;
    float mx = 0.0f;
    for (size_t i = blockIdx.x * (size_t)THREADS + threadIdx.x; i < n; i += (size_t)gridDim.x * THREADS) {
        float v = x[i];
        if (!isfinite(v)) bad++;
        else mx = fmaxf(mx, fabsf(v));
    }
    s_count[threadIdx.x] = bad;
    s_max[threadIdx.x] = mx;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) {
            s_count[threadIdx.x] += s_count[threadIdx.x + half];
            s_max[threadIdx.x] = fmaxf(s_max[threadIdx.x], s_max[threadIdx.x + half]);
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        atomicAdd(count, s_count[0]);
        atomicMax(max_bits, __float_as_uint(s_max[0]));
    }
}

extern "C" cudaError_t cuda_count_non_finite(const float *x, size_t n, unsigned long long *count,
                                             unsigned *max_bits, cudaStream_t s) {
    cudaError_t e = cudaMemsetAsync(count, 0, sizeof *count, s);
    if (e == cudaSuccess) e = cudaMemsetAsync(max_bits, 0, sizeof *max_bits, s);
    if (e != cudaSuccess) return e;
    size_t blocks = (n + THREADS - 1) / THREADS;
    non_finite_kernel<<<(unsigned)(blocks < 1024 ? (blocks ? blocks : 1) : 1024), THREADS, 0, s>>>(
        x, n, count, max_bits);
    return cudaGetLastError();
}
