// backend_cuda.c: the CUDA backend: device memory, cuBLAS for the matrix products, and the
// kernels of kernels/*.cu behind the op table. One backend per rank, on the GPU its node-local
// rank maps to, with one compute stream. Precision: BR_COMPUTE_FP32 stores and multiplies in fp32
// (SGEMM, TF32 off: the Pascal path); BR_COMPUTE_BF16 stores matrices in bf16, and its operands
// (backend.h) are bf16: the ops that produce them round on store, and the products go through
// cuBLASLt with fp32 accumulation (tensor cores) and the bias added in the product's epilogue.
// A CUDA or cuBLAS failure cannot be agreed on between ranks: it names the GPU and ends the job
// (br_fatal).
#define _POSIX_C_SOURCE 200809L // nanosleep
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "io/dtype.h" // br_f32_to_f16: fp16 storage converts on the host
#include "kernels_cuda.h"
#include "live_table.h"

typedef struct {
    int device;
    br_live_table live; // allocations not yet released
    cudaStream_t stream;
    cublasHandle_t blas;
    cublasLtHandle_t blas_lt; // the bf16 products, with the bias in their epilogue
    void *lt_workspace;
    uint16_t *x_bf16; // fp32 activations converted for a bf16 product (op_linear)
    void *guard;      // numeric guard results (a guard_result)
    size_t x_bf16_cap;
    float *w_f32;     // 16-bit weights widened for an fp32 product
    size_t w_f32_cap;
} cuda_state;

static cuda_state *state(br_backend *be) { return be->impl; }

#define CUDA_OK(be, call)                                                                       \
    do {                                                                                        \
        cudaError_t e_ = (call);                                                                \
        if (e_ != cudaSuccess)                                                                  \
            br_fatal("CUDA error on %s: %s (%s:%d)", (be)->device_name, cudaGetErrorString(e_), \
                     __FILE__, __LINE__);                                                       \
    } while (0)

#define BLAS_OK(be, call)                                                                      \
    do {                                                                                       \
        cublasStatus_t e_ = (call);                                                            \
        if (e_ != CUBLAS_STATUS_SUCCESS)                                                       \
            br_fatal("cuBLAS error on %s: %s (%s:%d)", (be)->device_name,                       \
                     cublasGetStatusString(e_), __FILE__, __LINE__);                           \
    } while (0)

int br_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); // no driver or no device: not an error, the CPU backend runs
        return 0;
    }
    return n;
}

// --- memory ----------------------------------------------------------------------------------

static void remember(br_backend *be, void *p, size_t bytes) {
    if (!br_live_add(&state(be)->live, be, p, bytes)) br_fatal("out of host memory");
}

static void forget(br_backend *be, void *p) {
    if (!br_live_remove(&state(be)->live, be, p))
        br_fatal("release of a buffer that %s did not allocate", be->device_name);
}

static void *device_alloc(br_backend *be, size_t bytes, const char *purpose) {
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError();
        br_fail(BR_ENOMEM, "out of memory on %s for %s (%.1f MiB; %.1f MiB in use)",
                be->device_name, purpose, bytes / 1048576.0, be->bytes_in_use / 1048576.0);
        return NULL;
    }
    remember(be, p, bytes);
    return p;
}

static void device_free(br_backend *be, void *p) {
    if (!p) return;
    forget(be, p);
    CUDA_OK(be, cudaFree(p));
}

static float *cuda_alloc(br_backend *be, size_t n, const char *purpose) {
    return device_alloc(be, n * sizeof(float), purpose);
}
static void cuda_release(br_backend *be, float *p) { device_free(be, p); }
static void cuda_release_matrix(br_backend *be, void *p) { device_free(be, p); }

static void cuda_upload(br_backend *be, float *dst, const float *host, size_t n) {
    CUDA_OK(be, cudaMemcpyAsync(dst, host, n * sizeof(float), cudaMemcpyHostToDevice,
                                state(be)->stream));
    CUDA_OK(be, cudaStreamSynchronize(state(be)->stream)); // the host copy may go right after
}
static void cuda_download(br_backend *be, float *host, const float *src, size_t n) {
    CUDA_OK(be, cudaMemcpyAsync(host, src, n * sizeof(float), cudaMemcpyDeviceToHost,
                                state(be)->stream));
    CUDA_OK(be, cudaStreamSynchronize(state(be)->stream));
}
static void cuda_copy(br_backend *be, float *dst, const float *src, size_t n) {
    CUDA_OK(be, cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice,
                                state(be)->stream));
}
// Polls instead of sleeping in cudaStreamSynchronize, so that the wait hook can run.
static void cuda_sync(br_backend *be) {
    cudaError_t e;
    while (be->wait_hook && (e = cudaStreamQuery(state(be)->stream)) == cudaErrorNotReady) {
        be->wait_hook(be->wait_arg);
        nanosleep(&(struct timespec){0, 20000}, NULL);
    }
    CUDA_OK(be, cudaStreamSynchronize(state(be)->stream));
}

static float *cuda_adopt_vector(br_backend *be, float *host, size_t n, const char *purpose) {
    float *d = cuda_alloc(be, n, purpose);
    if (d) cuda_upload(be, d, host, n);
    free(host);
    return d;
}

// fp16 storage: the weights beyond fp16's range are counted first and refused by name (they would
// become inf), then converted on the host (round to nearest even) and uploaded.
static void *adopt_fp16(br_backend *be, float *host, size_t n, const char *purpose) {
    size_t over = 0;
    float largest = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(host[i]);
        if (!(a <= 65504.0f)) over++, largest = a > largest || a != a ? a : largest;
    }
    uint16_t *h16 = over ? NULL : malloc(n * sizeof(uint16_t));
    uint16_t *d = h16 ? device_alloc(be, n * sizeof(uint16_t), purpose) : NULL;
    for (size_t i = 0; d && i < n; i++) h16[i] = br_f32_to_f16(host[i]);
    if (d) {
        CUDA_OK(be, cudaMemcpy(d, h16, n * sizeof(uint16_t), cudaMemcpyHostToDevice));
    } else if (over) {
        br_fail(BR_EINPUT, "%s: %zu weights are beyond fp16's range (|x| > 65504, largest %g): "
                "use --storage bf16 or fp32", purpose, over, largest);
    } else if (!h16) {
        br_fail(BR_ENOMEM, "out of host memory converting %s to fp16", purpose);
    }
    free(h16);
    free(host);
    return d;
}

// int8 storage: quantised on the host (its error recorded), uploaded as scale[rows], q[rows,
// cols].
static void *adopt_int8(br_backend *be, float *host, size_t rows, size_t cols, const char *purpose) {
    const size_t bytes = br_matrix_bytes(BR_STORAGE_INT8, rows, cols);
    void *blob = malloc(bytes), *d = blob ? device_alloc(be, bytes, purpose) : NULL;
    if (!blob) br_fail(BR_ENOMEM, "out of host memory quantising %s", purpose);
    if (d) {
        br_q8_adopt(be, host, rows, cols, blob, purpose);
        CUDA_OK(be, cudaMemcpy(d, blob, bytes, cudaMemcpyHostToDevice));
    }
    free(blob);
    free(host);
    return d;
}

static void *cuda_adopt_matrix(br_backend *be, float *host, size_t rows, size_t cols,
                               const char *purpose) {
    const size_t n = rows * cols;
    if (be->storage == BR_STORAGE_FP32) return cuda_adopt_vector(be, host, n, purpose);
    if (be->storage == BR_STORAGE_INT8) return adopt_int8(be, host, rows, cols, purpose);
    if (be->storage == BR_STORAGE_FP16) return adopt_fp16(be, host, n, purpose);
    // bf16 storage: upload fp32 once, convert on the device (round to nearest even).
    float *staging = cuda_adopt_vector(be, host, n, purpose);
    uint16_t *d = staging ? device_alloc(be, n * sizeof(uint16_t), purpose) : NULL;
    if (d) CUDA_OK(be, cuda_f32_to_bf16(d, staging, n, state(be)->stream));
    if (staging) cuda_sync(be);
    device_free(be, staging);
    return d;
}

// --- ops -------------------------------------------------------------------------------------

// A scratch buffer of at least `bytes`, grown as needed (after the ops that may still use it).
static void *scratch(br_backend *be, void **buf, size_t *cap, size_t bytes, const char *purpose) {
    if (bytes > *cap) {
        cuda_sync(be);
        device_free(be, *buf);
        *buf = device_alloc(be, bytes, purpose);
        if (!*buf) br_fatal("%s", br_error()); // mid-run: nothing to agree on any more
        *cap = bytes;
    }
    return *buf;
}

// The weights as fp32 for an fp32 product: themselves, or widened from 16 bits into scratch.
static const float *weights_f32(br_backend *be, const void *w, size_t n) {
    cuda_state *s = state(be);
    if (be->storage == BR_STORAGE_FP32) return w;
    float *wide = scratch(be, (void **)&s->w_f32, &s->w_f32_cap, n * sizeof(float),
                          "widened weights");
    CUDA_OK(be, cuda_widen_16(wide, w, n, be->storage == BR_STORAGE_FP16, s->stream));
    return wide;
}

enum { LT_WORKSPACE = 32 << 20 }; // what cuBLASLt may use for split-K and the like

// Row-major y[rows, n_out] = x[rows, n_in] . w[n_out, n_in]^T (+ bias) is, column-major,
// y^T = w^T(as stored) x^T: matmul(op(A) = T on w, op(B) = N on x, m = n_out, n = rows).
enum { Q8_CHUNK_ROWS = 1024 }; // int8 rows widened per product (not the whole matrix)

// The widened weights of weights_f32 and sgemm_q8 (the memory plan counts them).
static size_t cuda_product_scratch(const br_backend *be, size_t rows, size_t cols) {
    if (be->storage == BR_STORAGE_INT8)
        return (rows < Q8_CHUNK_ROWS ? rows : Q8_CHUNK_ROWS) * cols * sizeof(float);
    const int widened = be->storage != BR_STORAGE_FP32 && be->compute == BR_COMPUTE_FP32;
    return widened ? rows * cols * sizeof(float) : 0;
}

// The product on int8 weights: a chunk of output channels widened into scratch, then SGEMM into
// those columns of y (column-major: rows o0.. of y^T, leading dimension n_out).
static void sgemm_q8(br_backend *be, float *y, const float *x, const void *w, const float *bias,
                     int rows, int n_in, int n_out) {
    cuda_state *s = state(be);
    const float one = 1.0f, zero = 0.0f, *scale = w;
    const int8_t *q = (const int8_t *)(scale + n_out);
    const int chunk = n_out < Q8_CHUNK_ROWS ? n_out : Q8_CHUNK_ROWS;
    float *wide = scratch(be, (void **)&s->w_f32, &s->w_f32_cap,
                          (size_t)chunk * n_in * sizeof(float), "widened weights");
    for (int o0 = 0; o0 < n_out; o0 += chunk) {
        const int k = n_out - o0 < chunk ? n_out - o0 : chunk;
        CUDA_OK(be, cuda_dequant_q8(wide, q + (size_t)o0 * n_in, scale + o0, k, n_in, s->stream));
        BLAS_OK(be, cublasSgemm(s->blas, CUBLAS_OP_T, CUBLAS_OP_N, k, rows, n_in, &one, wide,
                                n_in, x, n_in, &zero, y + o0, n_out));
    }
    if (bias) CUDA_OK(be, cuda_add_bias(y, bias, rows, n_out, s->stream));
}

static void sgemm(br_backend *be, float *y, const float *x, const void *w, const float *bias,
                  int rows, int n_in, int n_out) {
    cuda_state *s = state(be);
    const float one = 1.0f, zero = 0.0f;
    if (be->storage == BR_STORAGE_INT8) return sgemm_q8(be, y, x, w, bias, rows, n_in, n_out);
    const float *w32 = weights_f32(be, w, (size_t)n_out * n_in);
    BLAS_OK(be, cublasSgemm(s->blas, CUBLAS_OP_T, CUBLAS_OP_N, n_out, rows, n_in, &one, w32,
                            n_in, x, n_in, &zero, y, n_out));
    if (bias) CUDA_OK(be, cuda_add_bias(y, bias, rows, n_out, s->stream));
}

// bf16 x and w, fp32 accumulation and output; the bias is added by the epilogue (one pass less
// over y than a separate kernel).
static void gemm_bf16(br_backend *be, float *y, const uint16_t *x, const void *w,
                      const float *bias, int rows, int n_in, int n_out) {
    cuda_state *s = state(be);
    const float one = 1.0f, zero = 0.0f;
    const cublasOperation_t transpose = CUBLAS_OP_T;
    const cublasLtEpilogue_t epilogue = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    const size_t workspace = LT_WORKSPACE;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t lw, lx, ly;
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulHeuristicResult_t best;
    int found = 0;
    BLAS_OK(be, cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    BLAS_OK(be, cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose,
                                               sizeof transpose));
    BLAS_OK(be, cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                               sizeof epilogue));
    if (bias)
        BLAS_OK(be, cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                   sizeof bias));
    BLAS_OK(be, cublasLtMatrixLayoutCreate(&lw, CUDA_R_16BF, n_in, n_out, n_in));
    BLAS_OK(be, cublasLtMatrixLayoutCreate(&lx, CUDA_R_16BF, n_in, rows, n_in));
    BLAS_OK(be, cublasLtMatrixLayoutCreate(&ly, CUDA_R_32F, n_out, rows, n_out));
    BLAS_OK(be, cublasLtMatmulPreferenceCreate(&pref));
    BLAS_OK(be, cublasLtMatmulPreferenceSetAttribute(
                    pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace));
    BLAS_OK(be, cublasLtMatmulAlgoGetHeuristic(s->blas_lt, op, lw, lx, ly, ly, pref, 1, &best,
                                               &found));
    if (!found)
        br_fatal("cuBLASLt on %s has no bf16 product for %d x %d x %d", be->device_name, rows,
                 n_in, n_out);
    BLAS_OK(be, cublasLtMatmul(s->blas_lt, op, &one, w, lw, x, lx, &zero, y, ly, y, ly,
                               &best.algo, s->lt_workspace, workspace, s->stream));
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(ly);
    cublasLtMatrixLayoutDestroy(lx);
    cublasLtMatrixLayoutDestroy(lw);
    cublasLtMatmulDescDestroy(op);
}

static int bf16_operands(br_backend *be) { return be->compute == BR_COMPUTE_BF16; }

static void op_to_operand(br_backend *be, void *y, const float *x, size_t n) {
    cudaStream_t st = state(be)->stream;
    if (bf16_operands(be)) CUDA_OK(be, cuda_f32_to_bf16(y, x, n, st));
    else if (y != x) CUDA_OK(be, cudaMemcpyAsync(y, x, n * sizeof(float), cudaMemcpyDeviceToDevice, st));
}

static void op_linear_op(br_backend *be, float *y, const void *x, const void *w,
                         const float *bias, int rows, int n_in, int n_out) {
    if (bf16_operands(be)) gemm_bf16(be, y, x, w, bias, rows, n_in, n_out);
    else sgemm(be, y, x, w, bias, rows, n_in, n_out);
}

// An fp32 x is the operand itself under fp32 compute, else converted into scratch first.
static void op_linear(br_backend *be, float *y, const float *x, const void *w, const float *bias,
                      int rows, int n_in, int n_out) {
    cuda_state *s = state(be);
    const void *operand = x;
    if (bf16_operands(be)) {
        const size_t n = (size_t)rows * n_in;
        uint16_t *xb = scratch(be, (void **)&s->x_bf16, &s->x_bf16_cap, n * sizeof(uint16_t),
                               "bf16 activations");
        op_to_operand(be, xb, x, n);
        operand = xb;
    }
    op_linear_op(be, y, operand, w, bias, rows, n_in, n_out);
}

static void op_silu(br_backend *be, float *x, size_t n) {
    CUDA_OK(be, cuda_silu(x, n, state(be)->stream));
}
static void op_gelu_tanh(br_backend *be, float *x, size_t n) {
    CUDA_OK(be, cuda_gelu_tanh(x, 0, x, n, state(be)->stream));
}
static void op_gelu_tanh_op(br_backend *be, void *y, const float *x, size_t n) {
    CUDA_OK(be, cuda_gelu_tanh(y, bf16_operands(be), x, n, state(be)->stream));
}
static void op_gelu_gate_op(br_backend *be, void *y, const float *x, int rows, int F) {
    CUDA_OK(be, cuda_gelu_gate(y, bf16_operands(be), x, rows, F, state(be)->stream));
}
static void op_timestep_embedding(br_backend *be, float *emb, const float *t, int B, int ch,
                                  float scale) {
    CUDA_OK(be, cuda_timestep_embedding(emb, t, B, ch, scale, state(be)->stream));
}
static void op_rms_norm_mod(br_backend *be, float *y, const float *x, const float *shift,
                            const float *scale, int stride, int B, int S, int D, float eps) {
    CUDA_OK(be, cuda_rms_norm_mod(y, 0, x, shift, scale, stride, B, S, D, eps, state(be)->stream));
}
static void op_rms_norm_mod_op(br_backend *be, void *y, const float *x, const float *shift,
                               const float *scale, int stride, int B, int S, int D, float eps) {
    CUDA_OK(be, cuda_rms_norm_mod(y, bf16_operands(be), x, shift, scale, stride, B, S, D, eps,
                                  state(be)->stream));
}
static void op_qk_norm_rope_op(br_backend *be, void *y, const float *x, const float *w,
                               const float *c, const float *sn, const br_qk_shape *shape) {
    CUDA_OK(be, cuda_qk_norm_rope(y, bf16_operands(be), x, w, c, sn, shape, state(be)->stream));
}
static void op_rms_norm(br_backend *be, float *x, const float *w, int rows, int D, float eps) {
    CUDA_OK(be, cuda_rms_norm(x, w, rows, D, eps, state(be)->stream));
}
static void op_layer_norm_mod(br_backend *be, float *y, const float *x, const float *shift,
                              const float *scale, int stride, int B, int S, int D, float eps) {
    CUDA_OK(be, cuda_layer_norm_mod(y, 0, x, shift, scale, stride, B, S, D, eps,
                                    state(be)->stream));
}
static void op_layer_norm_mod_op(br_backend *be, void *y, const float *x, const float *shift,
                                 const float *scale, int stride, int B, int S, int D, float eps) {
    CUDA_OK(be, cuda_layer_norm_mod(y, bf16_operands(be), x, shift, scale, stride, B, S, D, eps,
                                    state(be)->stream));
}
static void op_attention(br_backend *be, void *out, const void *q, const void *k, const void *v,
                         const float *bias, int B, int Sq, int Sk, int H, int dh) {
    cudaStream_t st = state(be)->stream;
    if (bf16_operands(be))
        CUDA_OK(be, cuda_attention_bf16(out, q, k, v, bias, B, Sq, Sk, H, dh, st));
    else
        CUDA_OK(be, cuda_attention_f32(out, q, k, v, bias, B, Sq, Sk, H, dh, st));
}
static void op_attention_causal(br_backend *be, void *out, const void *q, const void *k,
                                const void *v, int B, int S, int H, int Hkv, int dh, int window) {
    cudaStream_t st = state(be)->stream;
    if (bf16_operands(be))
        CUDA_OK(be, cuda_attention_causal_bf16(out, q, k, v, B, S, H, Hkv, dh, window, st));
    else
        CUDA_OK(be, cuda_attention_causal_f32(out, q, k, v, B, S, H, Hkv, dh, window, st));
}
static void op_add_gated(br_backend *be, float *h, const float *x, const float *gate, int stride,
                         int B, int S, int D, void *h_op) {
    const int bf16 = h_op && bf16_operands(be);
    CUDA_OK(be, cuda_add_gated(h, x, gate, stride, B, S, D, bf16 ? h_op : NULL, state(be)->stream));
    if (h_op && !bf16) op_to_operand(be, h_op, h, (size_t)B * S * D);
}
static void op_add_table(br_backend *be, float *y, const float *table, const float *rows, int B,
                         int n) {
    CUDA_OK(be, cuda_add_table(y, table, rows, B, n, state(be)->stream));
}
static void op_modulate(br_backend *be, float *y, const float *x, const float *shift,
                        const float *scale, int stride, int B, int S, int D) {
    CUDA_OK(be, cuda_modulate(y, x, shift, scale, stride, B, S, D, state(be)->stream));
}
static void op_head_gate_op(br_backend *be, void *x, const float *logits, int rows, int H, int dh) {
    CUDA_OK(be, cuda_head_gate(x, bf16_operands(be), logits, rows, H, dh, state(be)->stream));
}

// The numeric guard's result, in one device buffer and copied back in one piece.
typedef struct {
    unsigned long long count; // NaN/Inf values
    unsigned max_bits;        // bits of the largest finite |x| (a non-negative float)
} guard_result;

static size_t op_count_non_finite(br_backend *be, const float *x, size_t n, float *max_abs) {
    cuda_state *s = state(be);
    guard_result *dev = s->guard, host;
    CUDA_OK(be, cuda_count_non_finite(x, n, &dev->count, &dev->max_bits, s->stream));
    CUDA_OK(be, cudaMemcpyAsync(&host, dev, sizeof host, cudaMemcpyDeviceToHost, s->stream));
    cuda_sync(be);
    memcpy(max_abs, &host.max_bits, sizeof *max_abs);
    return (size_t)host.count;
}

static void op_im2col_3d(br_backend *be, float *cols, const float *x, int F, int H, int W, int C,
                         int causal, int row0, int n_rows) {
    CUDA_OK(be, cuda_im2col_3d(cols, x, F, H, W, C, causal, row0, n_rows, state(be)->stream));
}
static void op_depth_to_space(br_backend *be, float *y, const float *x, int F, int H, int W,
                              int C, int st, int ss, int drop, int c_out, int add) {
    CUDA_OK(be, cuda_depth_to_space(y, x, F, H, W, C, st, ss, drop, c_out, add,
                                    state(be)->stream));
}
static void op_layer_norm(br_backend *be, float *y, const float *x, const float *w,
                          const float *b, int rows, int D, float eps) {
    CUDA_OK(be, cuda_layer_norm(y, x, w, b, rows, D, eps, state(be)->stream));
}

static void op_im2col_2d(br_backend *be, float *cols, const float *x, int H, int W, int C,
                         int stride, int pad, int Wo, int row0, int n_rows) {
    CUDA_OK(be, cuda_im2col_2d(cols, x, H, W, C, stride, pad, Wo, row0, n_rows,
                               state(be)->stream));
}
static void op_upsample_nearest2(br_backend *be, float *y, const float *x, int H, int W, int C) {
    CUDA_OK(be, cuda_upsample_nearest2(y, x, H, W, C, state(be)->stream));
}

// What the GPU could still give: cudaMemGetInfo's free bytes (other processes' and the context's
// memory already taken out).
static size_t cuda_free_bytes(br_backend *be) {
    size_t free_b = 0, total = 0;
    if (cudaMemGetInfo(&free_b, &total) != cudaSuccess) cudaGetLastError(), free_b = 0;
    return free_b;
}

static const br_backend cuda_template = {
    .name = "cuda",
    .free_bytes = cuda_free_bytes,
    .product_scratch = cuda_product_scratch,
    .alloc = cuda_alloc,
    .release = cuda_release,
    .upload = cuda_upload,
    .download = cuda_download,
    .copy = cuda_copy,
    .adopt_vector = cuda_adopt_vector,
    .adopt_matrix = cuda_adopt_matrix,
    .release_matrix = cuda_release_matrix,
    .sync = cuda_sync,
    .linear = op_linear,
    .silu = op_silu,
    .gelu_tanh = op_gelu_tanh,
    .timestep_embedding = op_timestep_embedding,
    .rms_norm_mod = op_rms_norm_mod,
    .rms_norm = op_rms_norm,
    .layer_norm_mod = op_layer_norm_mod,
    .add_gated = op_add_gated,
    .add_table = op_add_table,
    .modulate = op_modulate,
    .head_gate_op = op_head_gate_op,
    .to_operand = op_to_operand,
    .linear_op = op_linear_op,
    .rms_norm_mod_op = op_rms_norm_mod_op,
    .layer_norm_mod_op = op_layer_norm_mod_op,
    .qk_norm_rope_op = op_qk_norm_rope_op,
    .gelu_tanh_op = op_gelu_tanh_op,
    .gelu_gate_op = op_gelu_gate_op,
    .attention = op_attention,
    .attention_causal = op_attention_causal,
    .count_non_finite = op_count_non_finite,
    .im2col_3d = op_im2col_3d,
    .depth_to_space = op_depth_to_space,
    .layer_norm = op_layer_norm,
    .im2col_2d = op_im2col_2d,
    .upsample_nearest2 = op_upsample_nearest2,
    // .space_to_depth and .group_norm stay NULL (no CUDA kernels yet): LTX-2's VAE encoder and
    // latent upsampler refuse this backend while they are (the LTX-2 decoder runs here).
};

br_status br_backend_cuda_create(int device, br_compute compute, br_storage storage,
                                 br_backend **out) {
    struct cudaDeviceProp prop;
    if (cudaSetDevice(device) != cudaSuccess || cudaGetDeviceProperties(&prop, device) != cudaSuccess)
        return br_fail(BR_EINPUT, "cannot use GPU %d: %s", device,
                       cudaGetErrorString(cudaGetLastError()));
    if (compute == BR_COMPUTE_BF16 && prop.major < 8)
        return br_fail(BR_EINPUT, "GPU %d (%s, sm_%d%d) has no bf16 tensor cores: use --compute fp32",
                       device, prop.name, prop.major, prop.minor);
    if (compute == BR_COMPUTE_BF16 && storage != BR_STORAGE_BF16)
        return br_fail(BR_EINPUT, "--compute bf16 multiplies bf16 weights: --storage %s needs "
                       "--compute fp32", br_storage_name(storage));
    br_backend *be = calloc(1, sizeof *be);
    cuda_state *s = calloc(1, sizeof *s);
    if (!be || !s) {
        free(be), free(s);
        return br_fail(BR_ENOMEM, "out of host memory");
    }
    *be = cuda_template;
    be->impl = s;
    be->compute = compute;
    be->storage = storage;
    be->operand_size = compute == BR_COMPUTE_BF16 ? 2 : (int)sizeof(float);
    be->max_head_dim = cuda_attention_max_head_dim();
    be->max_causal_head_dim = cuda_attention_causal_max_head_dim();
    snprintf(be->device_name, sizeof be->device_name, "%s (GPU %d, sm_%d%d)", prop.name, device,
             prop.major, prop.minor);
    s->device = device;
    CUDA_OK(be, cudaDeviceGetPCIBusId(be->pci_bus_id, sizeof be->pci_bus_id, device));
    CUDA_OK(be, cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
    BLAS_OK(be, cublasCreate(&s->blas));
    BLAS_OK(be, cublasSetStream(s->blas, s->stream));
    BLAS_OK(be, cublasLtCreate(&s->blas_lt));
    if (compute == BR_COMPUTE_BF16 &&
        !(s->lt_workspace = device_alloc(be, LT_WORKSPACE, "cuBLASLt workspace")))
        br_fatal("%s", br_error());
    CUDA_OK(be, cudaMalloc(&s->guard, sizeof(guard_result)));
    // fp32 means fp32: no TF32 on Ampere and newer, so a P40 and an H100 compute alike.
    BLAS_OK(be, cublasSetMathMode(s->blas, compute == BR_COMPUTE_FP32 ? CUBLAS_PEDANTIC_MATH
                                                                      : CUBLAS_DEFAULT_MATH));
    *out = be;
    return BR_OK;
}

void br_backend_cuda_destroy(br_backend *be) {
    if (!be) return;
    cuda_state *s = state(be);
    cuda_sync(be);
    device_free(be, s->x_bf16);
    device_free(be, s->w_f32);
    cudaFree(s->guard);
    device_free(be, s->lt_workspace);
    cublasLtDestroy(s->blas_lt);
    cublasDestroy(s->blas);
    cudaStreamDestroy(s->stream);
    br_live_free(&s->live);
    free(be->q8_errors);
    free(s);
    free(be);
}

void *br_backend_cuda_stream(br_backend *be) { return state(be)->stream; }
