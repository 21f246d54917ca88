#!/usr/bin/env bash
# mpirun.sh: brigade on the hosts of an Open MPI hostfile, one rank per slot (one per GPU).
#   launch/mpirun.sh HOSTFILE brigade-arguments...
#   launch/mpirun.sh hostfiles/two-boxes-4gpu forward --transformer DIR --inputs FILE --out OUT.h5
# It runs, and exits with the status of:
#   mpirun --hostfile HOSTFILE --map-by slot \
#       --mca oob_tcp_keepalive_time 1 --mca oob_tcp_keepalive_intvl 1 \
#       --mca oob_tcp_keepalive_probes 3 --mca odls_base_sigkill_timeout 2 \
#       -x BRIGADE_THREADS -x OPENBLAS_CORETYPE -x NCCL_... (each one that is set) \
#       $MPIRUN_OPTS $BRIGADE brigade-arguments...
# --map-by slot fills a host's slots before the next host's, so consecutive pipeline stages share a
# host and the activations cross the network once per host boundary. Ranks = the hostfile's slots
# unless MPIRUN_OPTS says -np N. The keepalives make a host that drops off the network (link down,
# power off) noticed in about 6 s: without them mpirun never notices, and then ignores SIGTERM.
# sigkill_timeout 2: when one rank dies, or on Ctrl-C, mpirun sends the ranks SIGTERM after 2 s and
# SIGKILL 2 s later (Open MPI's default, 1 s, can cut a save short; 0 sends both at once): rank 0
# of `brigade run --checkpoint-every K` saves the last completed step on SIGTERM, and the job ends.
# Environment: BRIGADE (default: brigade from PATH), MPIRUN (default: mpirun), MPIRUN_OPTS (more
# mpirun options, split at spaces, e.g. "-np 6 --mca btl_tcp_if_include 10.0.0.0/24"). As root,
# Open MPI also wants OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
# The same binary runs unchanged under launch/brigade.sbatch (srun).
set -euo pipefail
if [ $# -lt 2 ] || [ ! -r "$1" ]; then
    echo "usage: $0 HOSTFILE brigade-arguments... (hostfiles/ has examples)" >&2
    [ $# -ge 1 ] && [ ! -r "$1" ] && echo "$0: cannot read the hostfile $1" >&2
    exit 2
fi
hostfile=$1
shift
brigade=${BRIGADE:-$(command -v brigade || true)}
if [ ! -x "$brigade" ]; then
    echo "$0: set BRIGADE to the brigade binary (${BRIGADE:+$BRIGADE is not one; }none on PATH)" >&2
    exit 2
fi
brigade=$(realpath "$brigade") # the same path on every host; the remote working folder may differ

# Every rank needs this shell's threads, BLAS kernel (OPENBLAS_CORETYPE: ranks on other hosts would
# otherwise pick their own, and round otherwise) and NCCL settings; mpirun passes only what -x names.
env_args=()
for v in BRIGADE_THREADS OPENBLAS_NUM_THREADS OMP_NUM_THREADS OPENBLAS_CORETYPE LD_LIBRARY_PATH $(compgen -e | grep '^NCCL_' || true); do
    [ -n "${!v+x}" ] && env_args+=(-x "$v")
done

# shellcheck disable=SC2086 # MPIRUN_OPTS is a list of words
exec "${MPIRUN:-mpirun}" --hostfile "$hostfile" --map-by slot \
    --mca oob_tcp_keepalive_time 1 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3 \
    --mca odls_base_sigkill_timeout 2 \
    "${env_args[@]}" ${MPIRUN_OPTS:-} "$brigade" "$@"
