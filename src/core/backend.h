// backend.h: the op table through which the model and the stage compute, without knowing the
// device (in the spirit of ggml's backends). Buffers are device pointers of the backend that
// allocated them; shapes follow kernels/kernels_cpu.h, whose CPU kernels are every op's reference.
// The CPU backend fills the table today; a CUDA backend fills the same table.
#ifndef BR_BACKEND_H
#define BR_BACKEND_H

#include <stddef.h>

#include "qk_shape.h"
#include "status.h"

typedef struct br_backend br_backend;

// What the matrix products and attention compute in. Everything else is fp32 always.
typedef enum {
    BR_COMPUTE_FP32, // fp32 storage and arithmetic: the CPU, and GPUs without fast bf16 (sm < 80)
    BR_COMPUTE_BF16, // bf16 weights and operands, fp32 accumulation (tensor cores, sm >= 80)
} br_compute;

// How the linears' weight matrices live on the device. bf16 compute needs bf16 weights; fp32
// compute takes any: 16-bit weights are widened to fp32 one matrix at a time before each product
// (half the memory, the same fp32 arithmetic: how a 13B model fits on 24 GB Pascal cards). fp16
// storage refuses weights beyond its range (|x| > 65504) instead of turning them into inf.
// int8: per-output-channel symmetric int8 (w ~ q * scale[row]), dequantised into fp32 a few
// hundred rows at a time inside the product (never a widened copy of a whole matrix), fp32
// arithmetic: a quarter of fp32's memory, sm_61-safe; each matrix's error is recorded at load.
typedef enum { BR_STORAGE_FP32, BR_STORAGE_BF16, BR_STORAGE_FP16, BR_STORAGE_INT8 } br_storage;

// --storage int8: a matrix's max relative error against the checkpoint (max |w - q·scale| over
// max |w|), recorded as it is adopted.
typedef struct {
    char name[96];
    float error;
} br_q8_error;

struct br_backend {
    const char *name; // "cpu", "cuda"

    // Memory. alloc returns NULL after br_fail(BR_ENOMEM, ...) naming the purpose.
    float *(*alloc)(br_backend *be, size_t n_floats, const char *purpose);
    void (*release)(br_backend *be, float *p);
    void (*upload)(br_backend *be, float *dst, const float *host, size_t n_floats);
    void (*download)(br_backend *be, float *host, const float *src, size_t n_floats);
    void (*copy)(br_backend *be, float *dst, const float *src, size_t n_floats); // on the device
    // Take ownership of a malloc'd fp32 host array of weights and return the device copy (the
    // CPU backend keeps the array itself; others upload it and free the host copy); NULL after
    // br_fail(). Vectors (biases, norm weights, modulation tables) stay fp32; matrices (the
    // linears' weights) are stored in the backend's storage dtype, which only its linear op reads.
    float *(*adopt_vector)(br_backend *be, float *host, size_t n_floats, const char *purpose);
    // matrices are [rows, cols] row-major (a linear's [n_out, n_in]: a row per output channel).
    void *(*adopt_matrix)(br_backend *be, float *host, size_t rows, size_t cols,
                          const char *purpose);
    void (*release_matrix)(br_backend *be, void *p);
    // Waits until every op issued so far has finished (before a host reads or sends a buffer).
    void (*sync)(br_backend *be);

    // Ops (see kernels/kernels_cpu.h for each one's definition).
    // w comes from adopt_matrix; x is fp32 (converted to the operand type when it differs).
    void (*linear)(br_backend *be, float *y, const float *x, const void *w, const float *bias,
                   int rows, int n_in, int n_out);
    void (*silu)(br_backend *be, float *x, size_t n);
    void (*gelu_tanh)(br_backend *be, float *x, size_t n);
    void (*timestep_embedding)(br_backend *be, float *emb, const float *t, int B, int channels,
                               float scale);
    void (*rms_norm_mod)(br_backend *be, float *y, const float *x, const float *shift,
                         const float *scale, int mod_stride, int B, int S, int D, float eps);
    void (*rms_norm)(br_backend *be, float *x, const float *w, int rows, int D, float eps);
    void (*layer_norm_mod)(br_backend *be, float *y, const float *x, const float *shift,
                           const float *scale, int mod_stride, int B, int S, int D, float eps);
    // h += x * gate; h_op (may be NULL) also receives the new h as an operand.
    void (*add_gated)(br_backend *be, float *h, const float *x, const float *gate,
                      int gate_stride, int B, int S, int D, void *h_op);
    void (*add_table)(br_backend *be, float *y, const float *table, const float *rows, int B,
                      int n);
    // LTX-2's modulation without a norm and its per-head attention gates (NULL where a backend
    // has no kernels for them yet: families that need them say so before loading).
    void (*modulate)(br_backend *be, float *y, const float *x, const float *shift,
                     const float *scale, int mod_stride, int B, int S, int D);
    void (*head_gate_op)(br_backend *be, void *x, const float *logits, int rows, int H, int dh);

    // The transformer's hot path on operands: buffers of operand_size-byte elements (fp32, or
    // bf16 under bf16 compute) that only feed matrix products and attention, so that each is
    // written once in the type its consumer reads instead of converted before every product.
    // The CPU twins are the fp32 ops above; an operand of the CPU backend is an fp32 buffer.
    void (*to_operand)(br_backend *be, void *y, const float *x, size_t n);
    void (*linear_op)(br_backend *be, float *y, const void *x, const void *w, const float *bias,
                      int rows, int n_in, int n_out);
    void (*rms_norm_mod_op)(br_backend *be, void *y, const float *x, const float *shift,
                            const float *scale, int mod_stride, int B, int S, int D, float eps);
    void (*layer_norm_mod_op)(br_backend *be, void *y, const float *x, const float *shift,
                              const float *scale, int mod_stride, int B, int S, int D, float eps);
    // y = rope(RMSNorm(x) * w) in the layout of shape (kernels/qk_shape.h: per head or across
    // heads, into a place of a joint sequence; no rope when cos_t is NULL). The split layout
    // (shape->split_dh) only where head_gate_op is there too.
    void (*qk_norm_rope_op)(br_backend *be, void *y, const float *x, const float *w,
                            const float *cos_t, const float *sin_t, const br_qk_shape *shape);
    // y may be x when operands are fp32 (GELU in place).
    void (*gelu_tanh_op)(br_backend *be, void *y, const float *x, size_t n);
    // y[rows, F] = gelu_tanh(x[:, :F]) * x[:, F:] of a fused gate/up projection x [rows, 2F]
    // (Gemma 3's MLP); y must not overlap x.
    void (*gelu_gate_op)(br_backend *be, void *y, const float *x, int rows, int F);
    void (*attention)(br_backend *be, void *out, const void *q, const void *k, const void *v,
                      const float *bias, int B, int Sq, int Sk, int H, int dh);
    // Causal self-attention with Hkv key/value heads shared by groups of H / Hkv query heads
    // and, when window > 0, a sliding window (cpu_attention_causal): q, out [B, S, H*dh],
    // k, v [B, S, Hkv*dh].
    void (*attention_causal)(br_backend *be, void *out, const void *q, const void *k,
                             const void *v, int B, int S, int H, int Hkv, int dh, int window);
    // The numeric guard (synchronous): NaN/Inf count of x[n], *max_abs its largest finite |x|.
    size_t (*count_non_finite)(br_backend *be, const float *x, size_t n, float *max_abs);
    // The VAE decoder's ops, on channels-last video [F, H, W, C] (kernels_cpu.h: cpu_im2col_3d,
    // cpu_depth_to_space, cpu_layer_norm).
    void (*im2col_3d)(br_backend *be, float *cols, const float *x, int F, int H, int W, int C,
                      int causal, int row0, int n_rows);
    void (*depth_to_space)(br_backend *be, float *y, const float *x, int F, int H, int W, int C,
                           int st, int ss, int drop, int c_out, int add);
    void (*layer_norm)(br_backend *be, float *y, const float *x, const float *w, const float *b,
                       int rows, int D, float eps);
    // Qwen-Image's VAE on channels-last images [H, W, C] (cpu_im2col_2d, cpu_upsample_nearest2).
    void (*im2col_2d)(br_backend *be, float *cols, const float *x, int H, int W, int C, int stride,
                      int pad, int Wo, int row0, int n_rows);
    void (*upsample_nearest2)(br_backend *be, float *y, const float *x, int H, int W, int C);
    // LTX-2's VAE encoder and latent upsampler (cpu_space_to_depth, cpu_group_norm). NULL where a
    // backend has no kernels for them yet: ltx2_vae_encoder_load and ltx2_latent_upsampler_load
    // refuse it.
    void (*space_to_depth)(br_backend *be, float *y, const float *x, int F, int H, int W, int C,
                           int st, int ss, int group, int add);
    void (*group_norm)(br_backend *be, float *y, const float *x, const float *w, const float *b,
                       int rows, int C, int groups, float eps);

    // Called while sync() waits for the device (may be NULL): src/comm sets it so that MPI's
    // non-blocking sends progress while the host would otherwise sleep (Open MPI moves a large
    // message only while its sender is inside an MPI call).
    void (*wait_hook)(void *arg);
    void *wait_arg;

    br_compute compute;
    br_storage storage;    // set at creation, before any adopt_matrix
    int operand_size;      // bytes per element of an operand buffer: 4 (fp32) or 2 (bf16)
    int max_head_dim;      // the widest attention head its kernels take
    int max_causal_head_dim; // the same for attention_causal (the text encoder's)
    char device_name[300]; // "CPU", "NVIDIA H100 80GB HBM3 (GPU 0, sm_90)"
    char pci_bus_id[32];   // the GPU's PCI address, how NVML finds it ("" on the CPU)
    size_t bytes_in_use, peak_bytes; // device memory through alloc/adopt
    int counts_only;       // a counting backend (the memory plan): loaders read no weights
    br_q8_error *q8_errors; // --storage int8: every matrix adopted, its error (br_q8_record)
    int n_q8_errors, cap_q8_errors;
    // Bytes this device could still give (the default --mem-limit); NULL: unknown.
    size_t (*free_bytes)(br_backend *be);
    // Device bytes a product with a [rows, cols] matrix takes beside its operands (its weights
    // widened for fp32 arithmetic), held from the first such product on; NULL: none.
    size_t (*product_scratch)(const br_backend *be, size_t rows, size_t cols);
    size_t most_scratch;   // a counting backend: the most that any matrix adopted takes
    void *impl; // the backend's own state
};

// Bytes of a [rows, cols] matrix in storage s (int8: the bytes and a scale per row).
size_t br_matrix_bytes(br_storage s, size_t rows, size_t cols);
// Quantises host[rows, cols] into blob (br_matrix_bytes of int8: scale[rows] fp32, then q
// int8 row-major) and records its error on be under name.
void br_q8_adopt(br_backend *be, const float *host, size_t rows, size_t cols, void *blob,
                 const char *name);

// An operand buffer of n elements (released with be->release).
static inline void *br_alloc_operand(br_backend *be, size_t n, const char *purpose) {
    return be->alloc(be, (n * be->operand_size + sizeof(float) - 1) / sizeof(float), purpose);
}

// A backend that only counts the bytes of what is allocated and adopted through it, as `like`
// would hold them (its storage type), and moves no data (backend_count.c): the memory plan.
br_backend *br_backend_counting(const br_backend *like);
void br_backend_counting_free(br_backend *be);

// The CPU backend (OpenBLAS + kernels/*.c). Static: it has no state.
br_backend *br_backend_cpu(void);

// Opens this rank's backend: kind "auto" (CUDA when a GPU is visible, else the CPU), "cpu" or
// "cuda"; compute "auto" (bf16 on sm_80+, fp32 below and on the CPU), "fp32" or "bf16". The
// rank takes the GPU of its node-local rank; a rank beyond the host's GPUs is refused unless
// share_gpus lets ranks share them round-robin (tests of many ranks on few GPUs). storage "auto"
// (the compute's own type), "fp32", "bf16" or "fp16" (GPU only).
br_status br_backend_open(const char *kind, const char *compute, const char *storage,
                          int local_rank, int share_gpus, br_backend **out);
void br_backend_close(br_backend *be);
// The GPU of node-local rank local_rank among gpus (> 0): its own, or round-robin when
// share_gpus; without it, a rank beyond the GPUs fails with the remedy.
br_status br_pick_gpu(int local_rank, int gpus, int share_gpus, int *device);
const char *br_compute_name(br_compute c);
const char *br_storage_name(br_storage s);
// "fp32", "bf16", or e.g. "fp32 w:fp16" when the weights are stored in another type.
void br_precision_text(br_compute compute, br_storage storage, char *buf, size_t size);

// The CUDA backend (cuBLAS + kernels/*.cu), present when brigade was built with CUDA.
// br_cuda_device_count() is 0 without a driver or a GPU (and in a build without CUDA).
int br_cuda_device_count(void);
br_status br_backend_cuda_create(int device, br_compute compute, br_storage storage,
                                 br_backend **out);
void br_backend_cuda_destroy(br_backend *be);
// The backend's compute stream (a cudaStream_t), for the transport to order its transfers.
void *br_backend_cuda_stream(br_backend *be);

#endif
