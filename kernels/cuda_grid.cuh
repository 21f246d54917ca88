// cuda_grid.cuh: the launch shape shared by the element-wise kernels: 256 threads per block,
// enough blocks for one element per thread up to a cap, and a grid-stride loop beyond it.
#ifndef BR_CUDA_GRID_CUH
#define BR_CUDA_GRID_CUH

#include <stddef.h>

enum { THREADS = 256 };

static inline unsigned blocks_for(size_t n) {
    size_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < 65535 * 16 ? (b ? b : 1) : 65535 * 16); // grid-stride beyond that
}

#define GRID_STRIDE(i, n) \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

#endif
