// conv3d.cu: the CUDA twins of kernels/conv3d.c (im2col of a 3x3x3 convolution, depth-to-space)
// on channels-last video [F, H, W, C]: one thread per output element, grid-stride, consecutive
// threads on consecutive channels so that reads and writes coalesce. Pure data movement in
// fp32 (sm_60-safe), exact like the CPU twins. Each launcher returns the launch error.
#include "cuda_grid.cuh"
#include "kernels_cuda.h"

// cols[r, k*C + c] for output cell row0 + r and tap k = kt*9 + kh*3 + kw (see cpu_im2col_3d).
__global__ void im2col_kernel(float *cols, const float *x, int F, int H, int W, int C, int lead,
                              size_t row0, size_t n) {
    GRID_STRIDE(i, n) {
        const int c = (int)(i % C), k = (int)(i / C % 27);
        const size_t q = row0 + i / ((size_t)27 * C);
        const int w = (int)(q % W), h = (int)(q / W % H), t = (int)(q / ((size_t)W * H));
        int f = t + k / 9 - lead;
        f = f < 0 ? 0 : f > F - 1 ? F - 1 : f;
        const int y = h + k / 3 % 3 - 1, xx = w + k % 3 - 1;
        const bool inside = y >= 0 && y < H && xx >= 0 && xx < W;
        cols[i] = inside ? x[(((size_t)f * H + y) * W + xx) * C + c] : 0.0f;
    }
}

// y[t, yy, xx, k] (+)= x[f, h, w, channel of (k mod C, it, ih, iw)] (see cpu_depth_to_space).
__global__ void depth_to_space_kernel(float *y, const float *x, int H, int W, int C, int st,
                                      int ss, int drop, int c_out, int add, size_t n) {
    const int Ho = H * ss, Wo = W * ss;
    const size_t group = (size_t)st * ss * ss;
    GRID_STRIDE(i, n) {
        const int k = (int)(i % c_out);
        const size_t cell = i / c_out;
        const int xx = (int)(cell % Wo), yy = (int)(cell / Wo % Ho);
        const int t = (int)(cell / ((size_t)Wo * Ho)) + drop;
        const size_t src = (((size_t)(t / st) * H + yy / ss) * W + xx / ss) * C * group +
                           (size_t)(k % C) * group + (size_t)(t % st) * ss * ss + (yy % ss) * ss +
                           xx % ss;
        y[i] = add ? y[i] + x[src] : x[src];
    }
}

extern "C" {

cudaError_t cuda_im2col_3d(float *cols, const float *x, int F, int H, int W, int C, int causal,
                           int row0, int n_rows, cudaStream_t s) {
    const size_t n = (size_t)n_rows * 27 * C;
    im2col_kernel<<<blocks_for(n), THREADS, 0, s>>>(cols, x, F, H, W, C, causal ? 2 : 1,
                                                    (size_t)row0, n);
    return cudaGetLastError();
}

cudaError_t cuda_depth_to_space(float *y, const float *x, int F, int H, int W, int C, int st,
                                int ss, int drop, int c_out, int add, cudaStream_t s) {
    const size_t n = (size_t)(F * st - drop) * H * ss * W * ss * c_out;
    depth_to_space_kernel<<<blocks_for(n), THREADS, 0, s>>>(y, x, H, W, C, st, ss, drop, c_out,
                                                            add, n);
    return cudaGetLastError();
}

} // extern "C"
