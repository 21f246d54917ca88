#!/usr/bin/env bash
# tests/gpu/run.sh: the GPU tests, in one command on the device machine (CI has no GPU):
#   bash tests/gpu/run.sh [BUILD_DIR]
# Builds for sm_90, runs every test (test_backend_ops now runs for real), then the fixture and
# other-size tests and `brigade run` against the pipeline fixture on the CUDA backend in fp32
# (held to 1e-4, as the CPU; frames within 2 levels) and checks that bf16
# stays within its bound; 1 GPU vs 2 GPUs (NCCL, then NCCL through host memory) bit-identical;
# Qwen-Image's transformer likewise, and attention of head dims no fast kernel takes; LTX-2
# (forward and the pipeline loop) in fp32.
# The device machine has everything but cJSON and cannot install it. Here, from the repo root:
#   mkdir -p .deps && (cd .deps && apt-get download libcjson1 libcjson-dev && for f in *.deb; do
#   dpkg -x $f root; done); echo /.deps/ >> .git/info/exclude
# and there, before this script (carry .deps, and a copy of the fixtures as FIXTURES):
#   D=$PWD/.deps/root/usr; sed -i "s|=/usr|=$D|" $D/lib/x86_64-linux-gnu/pkgconfig/libcjson.pc
#   export PKG_CONFIG_PATH=$D/lib/x86_64-linux-gnu/pkgconfig LD_LIBRARY_PATH=$D/lib/x86_64-linux-gnu
set -u -o pipefail # a failing test fails the pipe through grep
cd "$(dirname "$0")/../.."
B=${1:-build-gpu}
export NCCL_NVLS_ENABLE=0 LAUNCH_TIMEOUT=${LAUNCH_TIMEOUT:-60}
cmake -S . -B "$B" -DCMAKE_CUDA_ARCHITECTURES=90 -DFIXTURES="${FIXTURES:-$PWD/../shared/fixtures}" >/dev/null || exit 1
cmake --build "$B" -j 16 2>&1 | grep -E "warning|error"
echo "== ctest (CPU backend; test_backend_ops: every CUDA op against the CPU op)"
ctest --test-dir "$B" --output-on-failure 2>&1 | grep -E "Test +#|tests passed|FAIL" || true
rc=0
echo "== attention kernels against a double-precision reference, and their speed"
nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -DBR_ATTN_TUNE -Ikernels kernels/attention_f32.cu kernels/attention_bf16.cu \
    kernels/attention_any.cu tests/attention_cuda_check.cu -o "$B/attention_cuda_check" && "$B/attention_cuda_check" | tail -24 || rc=1
echo "== fp32 attention: every configuration against the CPU, and their speed"
nvcc -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -Ikernels tests/attention_f32_tune.cu kernels/attention_any.cu \
    -o "$B/attention_f32_tune" && "$B/attention_f32_tune" | grep -E "FAIL|fastest|OK|cuda_attention_f32" || rc=1
export BRIGADE=$PWD/$B/brigade TCOMPARE=$PWD/$B/tests/tcompare TCONVERT=$PWD/$B/tests/tconvert
export TFRAMES=$PWD/$B/tests/tframes
export MPIRUN=$(command -v mpirun) DATA=$PWD/tests/data FIXTURES=${FIXTURES:-$PWD/../shared/fixtures}
for t in forward_fixture forward_other_sizes forward_ranks forward_qwen forward_ltx2; do
    echo "== $t on the CUDA backend, fp32"
    BRIGADE_ARGS="--share-gpus --backend cuda --compute fp32" bash tests/$t.sh | grep -E "FAIL|passed" || rc=1
done
for t in run_pipeline run_schedules run_edit run_ltx2; do
    echo "== $t on the CUDA backend, fp32 (the VAE decoder's kernels included)"
    BRIGADE_ARGS="--share-gpus --backend cuda --compute fp32" bash tests/$t.sh | grep -E "FAIL|passed|within|pipelined on" || rc=1
done
echo "== bf16 and 1 vs 2 GPUs"
BRIGADE_ARGS="--share-gpus --backend cuda" bash tests/gpu/bf16_and_gpus.sh || rc=1
echo "== Qwen-Image in bf16 and on 2 GPUs; attention of any head dim"
bash tests/gpu/qwen_and_heads.sh | grep -E "FAIL|ok|passed|relative" || rc=1
echo "== NCCL transports (bits, link bandwidth), the energy of a 2-GPU run, a killed GPU rank"
if [ "$(nvidia-smi -L | grep -c '^GPU')" -ge 2 ]; then
    bash tests/gpu/links_and_loss.sh | grep -E "FAIL|ok|passed|energy" || rc=1
else
    echo "skipped: links_and_loss needs 2 GPUs, this machine has 1"
fi
exit $rc
