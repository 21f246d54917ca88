# multihost/slurm.sh: a private Slurm cluster on the hosts of lib.sh (source lib.sh, call hosts_up N,
# then slurm_up): a munged of its own, slurmctld on h1, one slurmd per host, every path of
# slurm.conf in $WORK, no accounting. SLURM_CONF is exported first: a Slurm command without it
# looks for a "configless" controller in DNS, i.e. traffic off the machine. Slurm commands run
# inside h1 (`on h1 sbatch ...`). Teardown cancels the jobs and stops the daemons by PID (lib.sh
# then stops whatever is left in the namespaces).
SLURM_DIR=$WORK/slurm
export SLURM_CONF=$SLURM_DIR/slurm.conf

# slurm_need: skip (77) unless Slurm, munge and Slurm's PMIx plugin (how Debian's Open MPI
# starts under srun) are installed.
slurm_need() {
    mh_need slurmctld slurmd sbatch srun scontrol sinfo munged "$MPIRUN"
    compgen -G "/usr/lib/*/slurm-wlm/mpi_pmix*.so" >/dev/null ||
        compgen -G "/usr/lib*/slurm/mpi_pmix*.so" >/dev/null ||
        mh_skip "Slurm's PMIx plugin (mpi_pmix.so) is missing (apt-get install -y slurm-wlm)"
}

# slurm_up: the cluster, all nodes idle. Nodes are named after the hosts, each with this
# machine's core count.
slurm_up() {
    local h state
    mkdir -p "$SLURM_DIR"/{munge,state,log}
    for h in "${MH_HOSTS[@]}"; do mkdir -p "$SLURM_DIR/spool-$h" "$SLURM_DIR/tmp/$h"; done
    chmod 700 "$SLURM_DIR/munge"
    MH_CLEANUPS+=(slurm_down)
    head -c 1024 /dev/urandom >"$SLURM_DIR/munge/munge.key"
    chmod 400 "$SLURM_DIR/munge/munge.key"
    on h1 "$(command -v munged)" --force --socket="$SLURM_DIR/munge/socket" \
        --key-file="$SLURM_DIR/munge/munge.key" --pid-file="$SLURM_DIR/munge/munged.pid" \
        --log-file="$SLURM_DIR/log/munged.log" --seed-file="$SLURM_DIR/munge/seed" ||
        mh_die "munged: $(tail -2 "$SLURM_DIR/log/munged.log")"

    {
        echo "ClusterName=brigadetest"
        echo "SlurmctldHost=h1($(host_ip h1))"
        echo "AuthType=auth/munge"
        echo "CredType=cred/munge"
        echo "AuthInfo=socket=$SLURM_DIR/munge/socket"
        echo "SlurmUser=root"
        echo "SlurmdUser=root"
        echo "StateSaveLocation=$SLURM_DIR/state"
        echo "SlurmdSpoolDir=$SLURM_DIR/spool-%n"
        echo "SlurmctldPidFile=$SLURM_DIR/slurmctld.pid"
        echo "SlurmdPidFile=$SLURM_DIR/slurmd-%n.pid"
        echo "SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log"
        echo "SlurmdLogFile=$SLURM_DIR/log/slurmd-%n.log"
        # Shared /tmp breaks srun --mpi=pmix between nodes: one folder per node.
        echo "TmpFS=$SLURM_DIR/tmp/%n"
        echo "ProctrackType=proctrack/linuxproc"
        echo "TaskPlugin=task/none"
        echo "SelectType=select/cons_tres"
        echo "SelectTypeParameters=CR_CPU"
        echo "AccountingStorageType=accounting_storage/none"
        echo "JobAcctGatherType=jobacct_gather/none"
        echo "JobCompType=jobcomp/none"
        echo "MpiDefault=none"
        echo "SchedulerParameters=batch_sched_delay=0"
        echo "ReturnToService=2"
        echo "MailProg=/bin/true"
        for h in "${MH_HOSTS[@]}"; do echo "NodeName=$h NodeAddr=$(host_ip "$h") CPUs=$(nproc)"; done
        echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    } >"$SLURM_CONF"

    on h1 "$(command -v slurmctld)" -c || mh_die "slurmctld: $(tail -2 "$SLURM_DIR/log/slurmctld.log")"
    for h in "${MH_HOSTS[@]}"; do
        on "$h" "$(command -v slurmd)" -N "$h" ||
            mh_die "slurmd on $h: $(tail -2 "$SLURM_DIR/log/slurmd-$h.log")"
    done
    for _ in $(seq 100); do
        state=$(on h1 sinfo -h -o %T 2>/dev/null | sort -u | tr '\n' ' ')
        [ "$state" = "idle " ] && return 0
        sleep 0.1
    done
    mh_die "Slurm nodes not idle after 10 s: ${state:-no answer}"
}

# slurm_down: cancels the jobs and TERMs the daemons of slurm_up by their PID files. Each takes
# about 2 s to go: lib.sh's teardown waits for them, with the rest of the hosts' processes.
slurm_down() {
    local f
    on h1 scancel --partition=test
    for f in "$SLURM_DIR"/slurmd-*.pid "$SLURM_DIR/slurmctld.pid" "$SLURM_DIR/munge/munged.pid"; do
        [ -s "$f" ] && kill -TERM "$(cat "$f")"
    done
}

# job_state ID: sets JOB_STATE (PENDING, RUNNING, COMPLETED, FAILED, ...) and JOB_EXIT (the
# job's exit code: the batch script's exit status, or 128 + the signal that ended it).
job_state() {
    local line
    line=$(on h1 scontrol show job "$1" 2>/dev/null | tr ' ' '\n')
    JOB_STATE=$(sed -n 's/^JobState=//p' <<<"$line")
    JOB_EXIT=$(sed -n 's/^ExitCode=//p' <<<"$line")
    case $JOB_EXIT in *:0) JOB_EXIT=${JOB_EXIT%:*} ;; *:*) JOB_EXIT=$((128 + ${JOB_EXIT#*:})) ;; esac
}

# job_wait ID SECONDS: waits until the job has ended (a state other than PENDING, CONFIGURING,
# RUNNING, COMPLETING), polling every 0.1 s (sbatch --wait polls after 2 s, then 10 s, ...);
# fails if it has not ended in SECONDS.
job_wait() {
    local end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ]; do
        job_state "$1"
        case $JOB_STATE in
        PENDING | CONFIGURING | RUNNING | COMPLETING | "") sleep 0.1 ;;
        *) return 0 ;;
        esac
    done
    return 1
}

# job_ranks ID: "PROCID PID" of each live rank (a brigade process) of job ID of this cluster.
job_ranks() {
    local p env exe
    exe=$(readlink -f "$BRIGADE")
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] || continue
        env=$(tr '\0' '\n' <"$p/environ" 2>/dev/null) || continue
        grep -qx "SLURM_CONF=$SLURM_CONF" <<<"$env" && grep -qx "SLURM_JOB_ID=$1" <<<"$env" || continue
        echo "$(sed -n 's/^SLURM_PROCID=//p' <<<"$env") ${p#/proc/}"
    done
}
