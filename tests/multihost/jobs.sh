# multihost/jobs.sh: what the multi-host and Slurm tests run on their hosts. `job` is the one
# function to change to add a case.
#
# job --cases: the cases that multihost_mpirun.sh and slurm_job.sh run, one line each.
# job CASE OUTDIR: sets JOB (brigade's arguments, command first) for CASE writing under OUTDIR;
#   JOB_RESULTS (FILE:TENSOR under OUTDIR) and JOB_FILES (files under OUTDIR) must come out
#   bit-identical on 1 rank and on several hosts; JOB_STEPS: its denoising steps (0: none).
#   forward  one forward pass of the tiny LTX fixture
#   run      `brigade run` of the tiny model made by init-model (2 jobs, 3 steps, decoded)
#   long     the fixture's transformer on 1152 random tokens, 1 + 1000 times: 2-3 minutes on this
#            2-core machine (0.1-0.17 s a forward), still running when srun_kill.sh kills a rank
job() {
    [ "$1" = --cases ] && { echo forward run; return 0; }
    local out=$2
    mkdir -p "$out" || return 1
    JOB_RESULTS=()
    JOB_FILES=()
    JOB_STEPS=0 # denoising steps, for the bytes that must cross hosts
    # shellcheck disable=SC2206 # BRIGADE_ARGS (../lib.sh) is a list of words by design
    case $1 in
    forward)
        JOB=(forward $BRIGADE_ARGS --transformer "$LTX/transformer"
            --inputs "$LTX/case_forward.safetensors" --out "$out/sample.h5")
        JOB_RESULTS=(sample.h5:sample) ;;
    long)
        JOB=(forward $BRIGADE_ARGS --transformer "$LTX/transformer" --inputs random:1,8,12,12,8
            --out "$out/sample.h5" --repeat 1000) ;;
    run) # the tiny model's two jobs, 3 steps, decoded: latents and a frame must match 1 rank
        [ -d "$WORK/model" ] || "$BRIGADE" init-model "$WORK/model" >/dev/null || return 1
        JOB=(run $BRIGADE_ARGS --model "$WORK/model" --embeddings "$WORK/model/embeddings.h5"
            --steps 3 --height 64 --width 64 --frames 9 --out "$out")
        JOB_RESULTS=(latents.h5:latents)
        JOB_FILES=(job-000/frame-0000.png job-001/frame-0008.png)
        JOB_STEPS=3 ;;
    longrun) # the same model, 1000 steps (about 15 s on one rank), saved every 400
        [ -d "$WORK/model" ] || "$BRIGADE" init-model "$WORK/model" >/dev/null || return 1
        JOB=(run $BRIGADE_ARGS --model "$WORK/model" --embeddings "$WORK/model/embeddings.h5"
            --steps 1000 --height 128 --width 128 --frames 17 --checkpoint-every 400 --out "$out")
        JOB_RESULTS=(latents.h5:latents)
        JOB_STEPS=1000 ;;
    *) echo "job: no case $1"; return 1 ;;
    esac
}

# same_results A B: every result of the last `job` is the same in OUTDIRs A and B.
same_results() {
    local r f
    [ ${#JOB_RESULTS[@]} -gt 0 ] || [ ${#JOB_FILES[@]} -gt 0 ] || return 1
    for r in "${JOB_RESULTS[@]}"; do
        "$TCOMPARE" --exact "$1/$r" "$2/$r" || return 1
    done
    for f in "${JOB_FILES[@]}"; do cmp "$1/$f" "$2/$f" || return 1; done
}
