// attention_cuda_check.cu: standalone check of the attention launchers of kernels/attention_f32.cu,
// attention_bf16.cu and attention_any.cu on a GPU (not part of the CMake build; it needs a
// device). Build and run from the repository root:
//   nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -DBR_ATTN_TUNE -Ikernels \
//       kernels/attention_f32.cu kernels/attention_any.cu kernels/attention_bf16.cu \
//       tests/attention_cuda_check.cu -o /tmp/attn_check
//   /tmp/attn_check          (the launchers' kernels)
//   /tmp/attn_check alts     (also every alternative bf16 configuration of attention_bf16.cu's
//                             tuning table: checked on the shapes of its dh and timed at the
//                             large shapes, fastest listed last)
// (sm_80+ for cuda_attention_bf16; on older cards, built for them, it must answer
// cudaErrorNotSupported, which is checked instead; the general kernel runs everywhere.)
//
// The kernels under test: cuda_attention_f32 and cuda_attention_bf16 (fast kernels at dh 8, 16,
// 32, 64, 128 on aligned operands, else the general kernel), and at the fast dims also the
// general kernel forced (cuda_attention_any_f32/_bf16, "f32any", "bf16any"). The general kernel
// is checked at dh 1 .. 512 (every count of dims per lane, 1 .. 16), with Sq != Sk, odd sizes,
// B = 2, a bias masking random keys and the first 40 keys of a batch element (-1e30: the online
// softmax starts on a masked block), and on the fast dims with operands 4 bytes off alignment.
//
// For each shape: random fp32 inputs for the f32 kernels, the same rounded to bf16 (to nearest
// even, on the host) for the bf16 kernels, all against a naive double-precision attention on the
// CPU; error = max |out - ref| / max |ref|. Tolerances:
//  - f32 1e-5: the kernels differ from the reference only by fp32 rounding (dot products of
//    <= 512 terms, exp2f at 2 ulp, sums of Sk terms), i.e. a few 1e-7 relative, with margin.
//  - bf16 2e-2: the kernel's inputs are bf16, so its reference is computed from the same
//    bf16-rounded q, k, v (what the kernel is asked to compute). What remains is the rounding of
//    the probabilities to bf16 (8-bit mantissa, relative rounding up to 2^-9 = 2e-3 per value;
//    the general kernel keeps them fp32), the fp32 accumulation and the output's rounding to
//    bf16 (2^-9 relative): a few 1e-3 of max |ref| (seen: ~3e-3), while anything systematically
//    wrong (a missed tile, a wrong fragment) gives errors of order 1. The error against the
//    exact reference (from the fp32 inputs) is printed too, and held to 2e-2 where q, k are not
//    scaled up: rounding q and k moves a score q.k/sqrt(dh) by about 2e-3 |score| (absolute),
//    i.e. the softmax weights by that much relative, so with q, k x8 the scores reach ~30 and
//    even exact attention over the rounded inputs is ~6e-2 off (seen).
// Also: any NaN/Inf fails; the output buffer is filled with NaN (0xFF bytes) before every run, so
// an element left unwritten fails; each kernel must give the same bits on two runs; head dims
// outside 1 .. 512 and bad B, H, Sq, Sk must be refused. Then the large shape B=2, Sq=Sk=6144,
// H=32 is timed (3 warm-ups, median of 20 runs; TFLOP/s with 4*B*H*Sq*Sk*dh FLOPs): the fast
// kernels at dh 64 and 128, the general kernel at dh 96 and at 128 (forced), for information;
// each is spot-checked against the CPU on a few rows, and bf16 compared with f32 on the whole
// output. Exits non-zero on any failure.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "attention_ref.h"
#include "kernels_cuda.h"

// attention_bf16.cu's tuning hook (C++ linkage, deliberately not in kernels_cuda.h).
const char *attention_bf16_alt_name(int i);
cudaError_t attention_bf16_alt(int i, uint16_t *out, const uint16_t *q, const uint16_t *k,
                               const uint16_t *v, const float *bias, int B, int Sq, int Sk, int H,
                               cudaStream_t stream);


static int failures = 0;
static bool have_bf16 = true; // sm_80+; below, the bf16 kernels must answer NotSupported
static bool alts = false;     // also check and time the alternative bf16 configurations

// A kernel under test: cuda_attention_f32, cuda_attention_bf16 (alt < 0, !any), alternative
// `alt`, or the general kernel forced (any: cuda_attention_any_f32/_bf16).
struct Kern {
    char name[16];
    bool bf16;
    int alt;
    bool any;
};

// Device buffers: fp32 inputs (f32 kernels), their bf16 roundings (bf16 kernels), the output
// (room for fp32). q, k, v and out (of both types) lie `off` bytes past a cudaMalloc'd base.
struct Dev {
    float *q, *k, *v, *bias;
    uint16_t *qb, *kb, *vb;
    void *out;
    size_t off;
};

static cudaError_t launch(const Kern &kn, const Dev &d, int B, int Sq, int Sk, int H, int dh) {
    if (!kn.bf16) {
        if (kn.any)
            return cuda_attention_any_f32((float *)d.out, d.q, d.k, d.v, d.bias, B, Sq, Sk, H, dh,
                                          0);
        return cuda_attention_f32((float *)d.out, d.q, d.k, d.v, d.bias, B, Sq, Sk, H, dh, 0);
    }
    uint16_t *o = (uint16_t *)d.out;
    if (kn.any) return cuda_attention_any_bf16(o, d.qb, d.kb, d.vb, d.bias, B, Sq, Sk, H, dh, 0);
    if (kn.alt < 0) return cuda_attention_bf16(o, d.qb, d.kb, d.vb, d.bias, B, Sq, Sk, H, dh, 0);
    return attention_bf16_alt(kn.alt, o, d.qb, d.kb, d.vb, d.bias, B, Sq, Sk, H, 0);
}

static const Kern KF32 = {"f32", false, -1, false}, KBF16 = {"bf16", true, -1, false};
static const Kern KF32ANY = {"f32any", false, -1, true}, KBF16ANY = {"bf16any", true, -1, true};

static bool fast_dh(int dh) { return dh == 8 || dh == 16 || dh == 32 || dh == 64 || dh == 128; }

// The kernels to check at head dim dh: f32, bf16; where those take the fast kernels (a fast dh,
// aligned operands), also the general kernel forced (with any) and, with `alts`, the
// alternatives of dh.
static std::vector<Kern> kernels(int dh, bool aligned = true, bool any = true) {
    std::vector<Kern> ks = {KF32, KBF16};
    if (!fast_dh(dh) || !aligned) return ks;
    if (any) ks.push_back(KF32ANY), ks.push_back(KBF16ANY);
    for (int i = 0; alts && attention_bf16_alt_name(i); i++)
        if (atoi(attention_bf16_alt_name(i)) == dh) {
            Kern kn = {"", true, i, false};
            snprintf(kn.name, sizeof kn.name, "alt%d", i);
            ks.push_back(kn);
        }
    return ks;
}

// Below sm_80: checks that a bf16 kernel refuses cleanly; returns true when it did the check.
static bool bf16_unsupported(const Kern &kn, const Dev &d, int dh) {
    if (!kn.bf16 || kn.any || have_bf16) return false;
    cudaError_t e = launch(kn, d, 1, 1, 1, 1, dh);
    bool ok = e == cudaErrorNotSupported;
    failures += !ok;
    printf("    %s below sm_80: %s %s\n", kn.name, cudaGetErrorName(e), ok ? "PASS" : "FAIL");
    return true;
}


// fp32 -> bf16 bits, round to nearest even (as __float2bfloat16_rn; inputs here are finite).
static uint16_t bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
static float bf16_float(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}
static float bf16_round(float x) { return bf16_float(bf16_bits(x)); }

// A device buffer of n bytes that starts `off` bytes past a cudaMalloc'd base (free_at undoes).
static void *alloc_at(size_t n, size_t off) {
    char *p;
    CK(cudaMalloc(&p, n + 16));
    return p + off;
}
static void free_at(void *p, size_t off) {
    if (p) cudaFree((char *)p - off);
}

// Uploads the bf16 bits of x (already bf16-exact or not: rounded here) to a new device buffer,
// `off` bytes past its base.
static uint16_t *upload_bf16(const std::vector<float> &x, size_t off = 0) {
    std::vector<uint16_t> bits(x.size());
    for (size_t i = 0; i < x.size(); i++) bits[i] = bf16_bits(x[i]);
    uint16_t *p = (uint16_t *)alloc_at(bits.size() * 2, off);
    CK(cudaMemcpy(p, bits.data(), bits.size() * 2, cudaMemcpyHostToDevice));
    return p;
}

// Runs kn with the output poisoned first; host_out gets the output (bf16 widened to fp32).
// Returns false (and reports) on a launch error.
static bool run(const Kern &kn, const Dev &d, int B, int Sq, int Sk, int H, int dh, size_t nout,
                std::vector<float> &host_out) {
    CK(cudaMemset(d.out, 0xFF, nout * sizeof(float)));
    cudaError_t e = launch(kn, d, B, Sq, Sk, H, dh);
    if (e != cudaSuccess) {
        printf("    %s launch error: %s\n", kn.name, cudaGetErrorString(e));
        return false;
    }
    CK(cudaDeviceSynchronize());
    host_out.resize(nout);
    if (kn.bf16) {
        std::vector<uint16_t> bits(nout);
        CK(cudaMemcpy(bits.data(), d.out, nout * 2, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < nout; i++) host_out[i] = bf16_float(bits[i]);
    } else {
        CK(cudaMemcpy(host_out.data(), d.out, nout * 4, cudaMemcpyDeviceToHost));
    }
    return true;
}

static size_t count_nonfinite(const std::vector<float> &x) {
    size_t n = 0;
    for (float f : x) n += !isfinite(f);
    return n;
}

// err: the checked error; info (< 0: none): printed only, e.g. bf16's error against exact.
static void report(const char *name, const char *variant, double err, double tol, size_t bad,
                   int repro, const char *what = "", double info = -1) {
    bool ok = bad == 0 && err <= tol && repro != 0;
    if (!ok) failures++;
    char extra[64] = "";
    if (info >= 0) snprintf(extra, sizeof extra, " (vs exact %.3e)", info);
    printf("%-34s %-5s err%s %.3e (tol %.0e)%s%s%s %s\n", name, variant, what, err, tol, extra,
           bad ? " NON-FINITE" : "", repro == 0 ? " NOT-REPRODUCIBLE" : "", ok ? "PASS" : "FAIL");
}

static void free_dev(Dev &d) {
    free_at(d.q, d.off), free_at(d.k, d.off), free_at(d.v, d.off), cudaFree(d.bias);
    free_at(d.qb, d.off), free_at(d.kb, d.off), free_at(d.vb, d.off), free_at(d.out, d.off);
}

struct Case {
    const char *name;
    int B, Sq, Sk, H, dh;
    float qk_mag; // q and k scaled by this
    int mask;     // 0 none, 1 last 2 keys of batch 0 at -10000, 2 random 20% of keys at -10000,
                  // 3: as 2, and the first 40 keys of the last batch element at -1e30
    size_t off;   // q, k, v, out this many bytes off 16-byte alignment
};

static void run_case(const Case &c) {
    const size_t D = (size_t)c.H * c.dh, nq = (size_t)c.B * c.Sq * D, nk = (size_t)c.B * c.Sk * D;
    std::vector<float> q(nq), k(nk), v(nk), bias((size_t)c.B * c.Sk, 0.f);
    for (auto &x : q) x = urand() * c.qk_mag;
    for (auto &x : k) x = urand() * c.qk_mag;
    for (auto &x : v) x = urand();
    for (int b = 0; b < c.B; b++)
        for (int j = 0; j < c.Sk; j++) {
            bool m = c.mask == 1 ? (b == 0 && j >= c.Sk - 2) : c.mask >= 2 ? urand() < -0.6f : false;
            bias[(size_t)b * c.Sk + j] = m ? -10000.f : 0.f;
            if (c.mask == 3 && b == c.B - 1 && j < 40) bias[(size_t)b * c.Sk + j] = -1e30f;
        }
    Dev d;
    d.off = c.off;
    d.q = (float *)alloc_at(nq * 4, c.off), d.k = (float *)alloc_at(nk * 4, c.off);
    d.v = (float *)alloc_at(nk * 4, c.off), d.out = alloc_at(nq * 4, c.off);
    CK(cudaMemcpy(d.q, q.data(), nq * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.k, k.data(), nk * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.v, v.data(), nk * 4, cudaMemcpyHostToDevice));
    d.qb = upload_bf16(q, c.off), d.kb = upload_bf16(k, c.off), d.vb = upload_bf16(v, c.off);
    d.bias = nullptr;
    if (c.mask) {
        CK(cudaMalloc(&d.bias, bias.size() * 4));
        CK(cudaMemcpy(d.bias, bias.data(), bias.size() * 4, cudaMemcpyHostToDevice));
    }
    // ref[0]: exact; ref[1]: from bf16-rounded q, k, v.
    std::vector<float> qr(nq), kr(nk), vr(nk);
    for (size_t i = 0; i < nq; i++) qr[i] = bf16_round(q[i]);
    for (size_t i = 0; i < nk; i++) kr[i] = bf16_round(k[i]), vr[i] = bf16_round(v[i]);
    std::vector<double> ref[2] = {std::vector<double>(nq), std::vector<double>(nq)}, row(c.dh);
    double refmax = 0;
    for (int r = 0; r < 2; r++)
        for (int b = 0; b < c.B; b++)
            for (int h = 0; h < c.H; h++)
                for (int i = 0; i < c.Sq; i++) {
                    ref_row(row.data(), r ? qr.data() : q.data(), r ? kr.data() : k.data(),
                            r ? vr.data() : v.data(), c.mask ? bias.data() : nullptr, c.Sq, c.Sk,
                            c.H, c.dh, b, h, i);
                    for (int e = 0; e < c.dh; e++) {
                        ref[r][((size_t)b * c.Sq + i) * D + (size_t)h * c.dh + e] = row[e];
                        if (r == 0) refmax = std::max(refmax, fabs(row[e]));
                    }
                }
    for (const Kern &kn : kernels(c.dh, c.off == 0)) {
        const double tol = kn.bf16 ? 2e-2 : 1e-5;
        std::vector<float> o1, o2;
        if (bf16_unsupported(kn, d, c.dh)) continue;
        if (!run(kn, d, c.B, c.Sq, c.Sk, c.H, c.dh, nq, o1) ||
            !run(kn, d, c.B, c.Sq, c.Sk, c.H, c.dh, nq, o2)) {
            report(c.name, kn.name, INFINITY, tol, 0, 1);
            continue;
        }
        double err[2] = {0, 0};
        for (int r = 0; r < 2; r++) {
            for (size_t i = 0; i < nq; i++) err[r] = std::max(err[r], fabs(o1[i] - ref[r][i]));
            err[r] = err[r] == err[r] ? err[r] / refmax : INFINITY;
        }
        const int repro = memcmp(o1.data(), o2.data(), nq * 4) == 0;
        if (!kn.bf16) { // f32: exact reference
            report(c.name, kn.name, err[0], tol, count_nonfinite(o1), repro);
        } else { // bf16: see the top comment
            report(c.name, kn.name, err[1], tol, count_nonfinite(o1), repro, "(bf16 in)", err[0]);
            if (c.qk_mag == 1.f && err[0] > tol) {
                failures++;
                printf("    %s against the exact reference: %.3e > %.0e FAIL\n", kn.name, err[0],
                       tol);
            }
        }
    }
    free_dev(d);
}

__global__ void fill_kernel(float *x, size_t n, uint32_t seed) { // uniform [-1, 1), hashed
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 0x9E3779B1u ^ seed ^ (uint32_t)(i >> 32) * 0x85EBCA77u;
        h ^= h >> 16, h *= 0x7FEB352Du, h ^= h >> 15, h *= 0x846CA68Bu, h ^= h >> 16;
        x[i] = (h >> 8) * (1.0f / 8388608.0f) - 1.0f;
    }
}

// Median time (ms) of 20 runs after 3 warm-ups.
static double time_ms(const Kern &kn, const Dev &d, int B, int S, int H, int dh) {
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    std::vector<float> ms;
    for (int it = 0; it < 23; it++) {
        CK(cudaEventRecord(e0));
        CK(launch(kn, d, B, S, S, H, dh));
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float t;
        CK(cudaEventElapsedTime(&t, e0, e1));
        if (it >= 3) ms.push_back(t);
    }
    cudaEventDestroy(e0), cudaEventDestroy(e1);
    std::sort(ms.begin(), ms.end());
    return 0.5 * (ms[9] + ms[10]);
}

// The large shape at head dim dh for the kernels ks; what is the path they take.
static void bench(int dh, const std::vector<Kern> &ks, const char *path) {
    const int B = 2, S = 6144, H = 32;
    const size_t D = (size_t)H * dh, n = (size_t)B * S * D;
    const double flops = 4.0 * B * H * (double)S * S * dh;
    Dev d;
    d.bias = nullptr, d.off = 0;
    CK(cudaMalloc(&d.q, n * 4));
    CK(cudaMalloc(&d.k, n * 4));
    CK(cudaMalloc(&d.v, n * 4));
    CK(cudaMalloc(&d.out, n * 4));
    fill_kernel<<<1024, 256>>>(d.q, n, 1);
    fill_kernel<<<1024, 256>>>(d.k, n, 2);
    fill_kernel<<<1024, 256>>>(d.v, n, 3);
    CK(cudaDeviceSynchronize());
    std::vector<float> q(n), k(n), v(n), out_f32;
    CK(cudaMemcpy(q.data(), d.q, n * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(k.data(), d.k, n * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(v.data(), d.v, n * 4, cudaMemcpyDeviceToHost));

    // Spot check: a few rows of a few heads against the CPU in double, from the fp32 inputs
    // (ref[0]) and from their bf16 roundings (ref[1], the bf16 kernels' own inputs).
    const int rows[] = {0, 1, 63, 64, 3001, 6143}, heads[] = {0, 17, 31};
    const size_t nspot = (size_t)B * 3 * 6 * dh;
    std::vector<double> ref[2] = {std::vector<double>(nspot), std::vector<double>(nspot)};
    double refmax = 0;
    for (int r = 0; r < 2; r++) {
        if (r == 1) { // from here on, q, k, v hold the bf16 inputs
            for (size_t i = 0; i < n; i++)
                q[i] = bf16_round(q[i]), k[i] = bf16_round(k[i]), v[i] = bf16_round(v[i]);
            d.qb = upload_bf16(q), d.kb = upload_bf16(k), d.vb = upload_bf16(v);
        }
        size_t at = 0;
        for (int b = 0; b < B; b++)
            for (int h : heads)
                for (int i : rows) {
                    ref_row(&ref[r][at], q.data(), k.data(), v.data(), nullptr, S, S, H, dh, b, h,
                            i);
                    for (int e = 0; e < dh; e++) refmax = std::max(refmax, fabs(ref[r][at + e]));
                    at += dh;
                }
    }
    q = k = v = std::vector<float>(); // the host copies are no longer needed

    char name[64];
    snprintf(name, sizeof name, "B2 S6144 H32 dh%d (rows)", dh);
    const char *best = nullptr;
    double best_ms = INFINITY;
    for (const Kern &kn : ks) {
        const double tol = kn.bf16 ? 2e-2 : 1e-5;
        std::vector<float> out;
        if (bf16_unsupported(kn, d, dh)) continue;
        if (!run(kn, d, B, S, S, H, dh, n, out)) {
            if (kn.alt >= 0) continue; // an alternative too big for this device
            report(name, kn.name, INFINITY, tol, 0, 1);
            continue;
        }
        double err[2] = {0, 0};
        size_t at = 0;
        for (int b = 0; b < B; b++)
            for (int h : heads)
                for (int i : rows)
                    for (int e = 0; e < dh; e++, at++) {
                        const float got = out[((size_t)b * S + i) * D + (size_t)h * dh + e];
                        for (int r = 0; r < 2; r++)
                            err[r] = std::max(err[r], fabs(got - ref[r][at]));
                    }
        for (int r = 0; r < 2; r++) err[r] = err[r] == err[r] ? err[r] / refmax : INFINITY;
        if (kn.bf16)
            report(name, kn.name, err[1], tol, count_nonfinite(out), 1, "(bf16 in)", err[0]);
        else
            report(name, kn.name, err[0], tol, count_nonfinite(out), 1);
        if (!kn.bf16) {
            out_f32.swap(out);
        } else if (!out_f32.empty()) { // bf16 against f32 over the whole output
            double e = 0, mx = 0;
            for (size_t i = 0; i < n; i++) {
                e = std::max(e, (double)fabsf(out[i] - out_f32[i]));
                mx = std::max(mx, (double)fabsf(out_f32[i]));
            }
            char what[64];
            snprintf(what, sizeof what, "B2 S6144 H32 dh%d %s vs f32", dh, kn.name);
            report(what, "all", e / mx, 2e-2, 0, 1);
        }
        const double med = time_ms(kn, d, B, S, H, dh);
        const char *cfg = kn.alt >= 0 ? attention_bf16_alt_name(kn.alt) : "";
        printf("    time %-7s B=2 Sq=Sk=6144 H=32 dh=%-3d: %8.3f ms  %7.1f TFLOP/s  %s%s\n",
               kn.name, dh, med, flops / (med * 1e-3) / 1e12, path, cfg);
        if (kn.alt >= 0 && med < best_ms) best_ms = med, best = cfg;
    }
    if (best)
        printf("    fastest alternative at dh %d: %s (DH, NW, MT, KN, NS, QREG), %.1f TFLOP/s\n",
               dh, best, flops / (best_ms * 1e-3) / 1e12);
    free_dev(d);
}

int main(int argc, char **argv) {
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "alts") != 0)) {
        fprintf(stderr, "usage: %s [alts]\n", argv[0]);
        return 2;
    }
    alts = argc == 2;
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    printf("device: %s (sm_%d%d)\n", p.name, p.major, p.minor);
    have_bf16 = p.major >= 8;
    if (alts)
        for (int i = 0; attention_bf16_alt_name(i); i++)
            printf("alt%-2d = DH, NW, MT, KN, NS, QREG: %s\n", i, attention_bf16_alt_name(i));
    const Case cases[] = {
        {"B2 Sq72 Sk72 H2 dh16", 2, 72, 72, 2, 16, 1.f, 0},
        {"B2 Sq200 Sk7 H3 dh8 mask", 2, 200, 7, 3, 8, 1.f, 1},
        {"B1 Sq1000 Sk1000 H4 dh64", 1, 1000, 1000, 4, 64, 1.f, 0},
        {"B1 Sq300 Sk300 H2 dh128", 1, 300, 300, 2, 128, 1.f, 0},
        {"B2 Sq130 Sk257 H2 dh64 qk*8", 2, 130, 257, 2, 64, 8.f, 0},
        {"B2 Sq97 Sk300 H2 dh128 qk*8 mask", 2, 97, 300, 2, 128, 8.f, 2},
        {"B2 Sq100 Sk333 H3 dh32 mask", 2, 100, 333, 3, 32, 1.f, 2},
        {"B2 Sq50 Sk77 H2 dh16 mask", 2, 50, 77, 2, 16, 1.f, 1},
        {"B1 Sq64 Sk12000 H2 dh128", 1, 64, 12000, 2, 128, 1.f, 0},
        {"B1 Sq33 Sk12000 H2 dh64 mask", 1, 33, 12000, 2, 64, 1.f, 2},
        {"B1 Sq5 Sk130 H5 dh8", 1, 5, 130, 5, 8, 1.f, 0},
        {"B1 Sq1 Sk1 H1 dh128 mask", 1, 1, 1, 1, 128, 1.f, 1},
        // The general kernel: the head dims of the models it serves and odd ones, with and
        // without a mask (3: the first 40 keys of batch 1 too), Sq != Sk.
        {"B2 Sq37 Sk71 H3 dh3", 2, 37, 71, 3, 3, 1.f, 0},
        {"B2 Sq45 Sk101 H2 dh3 mask3", 2, 45, 101, 2, 3, 1.f, 3},
        {"B2 Sq37 Sk71 H3 dh10", 2, 37, 71, 3, 10, 1.f, 0},
        {"B2 Sq45 Sk101 H2 dh10 mask3", 2, 45, 101, 2, 10, 1.f, 3},
        {"B2 Sq37 Sk71 H3 dh24", 2, 37, 71, 3, 24, 1.f, 0},
        {"B2 Sq45 Sk101 H2 dh24 mask3", 2, 45, 101, 2, 24, 1.f, 3},
        {"B2 Sq37 Sk71 H3 dh40", 2, 37, 71, 3, 40, 1.f, 0},
        {"B2 Sq45 Sk101 H2 dh40 mask3", 2, 45, 101, 2, 40, 1.f, 3},
        {"B2 Sq37 Sk71 H3 dh72", 2, 37, 71, 3, 72, 1.f, 0},
        {"B2 Sq45 Sk101 H2 dh72 qk*8 mask3", 2, 45, 101, 2, 72, 8.f, 3},
        {"B2 Sq37 Sk71 H3 dh96", 2, 37, 71, 3, 96, 1.f, 0},
        {"B2 Sq45 Sk101 H2 dh96 mask3", 2, 45, 101, 2, 96, 1.f, 3},
        {"B2 Sq71 Sk37 H2 dh96 mask1", 2, 71, 37, 2, 96, 1.f, 1},
        {"B1 Sq33 Sk3001 H2 dh96 mask2", 1, 33, 3001, 2, 96, 1.f, 2},
        {"B2 Sq37 Sk71 H3 dh200", 2, 37, 71, 3, 200, 1.f, 0},
        {"B2 Sq45 Sk101 H2 dh200 mask3", 2, 45, 101, 2, 200, 1.f, 3},
        {"B2 Sq37 Sk71 H3 dh256", 2, 37, 71, 3, 256, 1.f, 0},
        {"B2 Sq45 Sk101 H2 dh256 qk*8 mask3", 2, 45, 101, 2, 256, 8.f, 3},
        // Every other count of dims per lane (NP = ceil(dh / 32)), up to the widest head.
        {"B2 Sq19 Sk50 H2 dh1 mask3", 2, 19, 50, 2, 1, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh100 mask3", 2, 19, 50, 2, 100, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh150 mask3", 2, 19, 50, 2, 150, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh190 mask3", 2, 19, 50, 2, 190, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh280 mask3", 2, 19, 50, 2, 280, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh300 mask3", 2, 19, 50, 2, 300, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh350 mask3", 2, 19, 50, 2, 350, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh383 mask3", 2, 19, 50, 2, 383, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh400 mask3", 2, 19, 50, 2, 400, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh447 mask3", 2, 19, 50, 2, 447, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh449 mask3", 2, 19, 50, 2, 449, 1.f, 3},
        {"B2 Sq19 Sk50 H2 dh512 mask3", 2, 19, 50, 2, 512, 1.f, 3},
        // The fast dims with operands 4 bytes off 16-byte alignment: the general kernel.
        {"B2 Sq37 Sk75 H2 dh8 unaligned mask3", 2, 37, 75, 2, 8, 1.f, 3, 4},
        {"B2 Sq37 Sk75 H2 dh16 unaligned", 2, 37, 75, 2, 16, 1.f, 0, 4},
        {"B2 Sq37 Sk75 H2 dh32 unaligned mask3", 2, 37, 75, 2, 32, 1.f, 3, 4},
        {"B2 Sq37 Sk75 H2 dh64 unaligned mask3", 2, 37, 75, 2, 64, 1.f, 3, 4},
        {"B2 Sq37 Sk75 H2 dh128 unaligned", 2, 37, 75, 2, 128, 1.f, 0, 4},
        {"B2 Sq37 Sk75 H2 dh128 unaligned mask3", 2, 37, 75, 2, 128, 1.f, 3, 4},
    };
    for (const Case &c : cases) run_case(c);

    // Head dims outside 1 .. 512 and bad shapes must fail cleanly, without launching, on every
    // launcher (cuda_attention_bf16 checks the shape before the device).
    void *buf;
    CK(cudaMalloc(&buf, 4096));
    float *f = (float *)buf;
    uint16_t *h = (uint16_t *)buf;
    const int bad[][5] = {{1, 1, 1, 1, 0},   {1, 1, 1, 1, -1},    {1, 1, 1, 1, 513},
                          {1, 1, 1, 1, 4096}, {0, 1, 1, 1, 64},    {1, 0, 1, 1, 96},
                          {1, 1, 0, 1, 64},  {1, 1, 1, 0, 96},    {1, 1, 1, 65536, 64},
                          {65536, 1, 1, 1, 96}, {-1, 1, 1, 1, 128}, {1, -5, 1, 1, 100}};
    for (const auto &a : bad) {
        const int B = a[0], Sq = a[1], Sk = a[2], H = a[3], dh = a[4];
        cudaError_t e[4] = {cuda_attention_f32(f, f, f, f, nullptr, B, Sq, Sk, H, dh, 0),
                            cuda_attention_bf16(h, h, h, h, nullptr, B, Sq, Sk, H, dh, 0),
                            cuda_attention_any_f32(f, f, f, f, nullptr, B, Sq, Sk, H, dh, 0),
                            cuda_attention_any_bf16(h, h, h, h, nullptr, B, Sq, Sk, H, dh, 0)};
        bool ok = true;
        for (cudaError_t x : e) ok = ok && x == cudaErrorInvalidValue;
        failures += !ok;
        printf("B%d Sq%d Sk%d H%d dh%d rejected: %s %s %s %s  %s\n", B, Sq, Sk, H, dh,
               cudaGetErrorName(e[0]), cudaGetErrorName(e[1]), cudaGetErrorName(e[2]),
               cudaGetErrorName(e[3]), ok ? "PASS" : "FAIL");
    }
    cudaFree(buf);
    CK(cudaGetLastError()); // nothing was launched
    CK(cudaDeviceSynchronize());
    const int maxdh = cuda_attention_max_head_dim();
    failures += maxdh != 512;
    printf("cuda_attention_max_head_dim() = %d  %s\n", maxdh, maxdh == 512 ? "PASS" : "FAIL");

    bench(64, kernels(64, true, false), "fast ");
    bench(128, kernels(128, true, false), "fast ");
    bench(96, {KF32, KBF16}, "general ");
    bench(128, {KF32ANY, KBF16ANY}, "general, forced ");
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
}
