# multihost/lib.sh: several "hosts" on one machine, for the multi-host and Slurm tests. A host is a
# network namespace hN (address 10.77.0.1N/24 on eth0, a veth into a bridge in one more namespace)
# plus an anchor process whose UTS namespace says hostname hN and whose mount namespace shows
# /etc/netns/hN/hosts and resolv.conf (nameserver 127.0.0.1: no name lookup leaves the machine).
# `on hN CMD` runs CMD inside that host; daemons (sshd here, Slurm in slurm.sh) are started there.
# Sources ../lib.sh (WORK, pass/fail/expect/finish). Needs root; exits 77 (skipped) with one line
# of reason where the machine cannot make namespaces or lacks a package. Traffic stays on the
# test's namespaces; teardown (also on failure and Ctrl-C) stops every process inside them by PID,
# deletes the namespaces and /etc/netns/hN, and removes the work folder.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH=$PATH:/usr/sbin:/sbin
MH_NET=10.77.0      # the hosts' /24; hN is $MH_NET.$((10 + N))
MH_BRIDGE=brigade-br
MH_HOSTS=()
declare -A MH_ANCHOR # host -> PID whose namespaces are that host
MH_CLEANUPS=()       # commands teardown runs first, newest first (slurm.sh adds its own)
MH_BRIDGE_UP=
MH_RUN_NETNS=
MH_MADE=() # folders this test made outside $WORK (/etc/netns, /run/sshd), removed when empty
MH_MARK="# made by brigade's tests/multihost/lib.sh" # first line of /etc/netns/hN/hosts
MH_T0=$SECONDS
# Seconds one launch (mpirun, a Slurm job) may take; a normal one takes 1-3. ctest's TIMEOUT (300)
# must cover every launch of a test timing out, or teardown never runs (the next run sweeps).
LAUNCH_TIMEOUT=${LAUNCH_TIMEOUT:-60}

mh_skip() { echo "SKIP $*"; exit 77; }
mh_die() { echo "FAIL $*"; exit 1; }

exec 8>&1 # the test's output, for teardown's line even when it runs inside a redirection
mh_teardown() {
    local rc=$? i h
    set +e
    trap - EXIT INT TERM
    exec >&8 2>&1
    for ((i = ${#MH_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${MH_CLEANUPS[i]}" >/dev/null 2>&1; done
    mh_kill_netns "${MH_HOSTS[@]}"
    for h in "${MH_HOSTS[@]}"; do
        ip netns del "$h" 2>/dev/null
        rm -rf "/etc/netns/$h" "/tmp/ompi.$h".* # Open MPI session folders of killed runs on hN
    done
    for ((i = ${#MH_MADE[@]} - 1; i >= 0; i--)); do rmdir "${MH_MADE[i]}" 2>/dev/null; done
    [ -n "${MH_BRIDGE_UP:-}" ] && ip netns del "$MH_BRIDGE" 2>/dev/null
    if [ -n "${MH_RUN_NETNS:-}" ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
        umount /run/netns 2>/dev/null && rmdir /run/netns
    fi
    rm -rf "$WORK"
    [ "$rc" -eq 77 ] || echo "($((SECONDS - MH_T0)) s)"
    exit "$rc"
}
trap mh_teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mh_kill_netns NAME...: every process inside these namespaces was started by this test (or by a
# killed run of it): TERM, then KILL what is left after 2 s (a slurmstepd may ignore TERM).
mh_kill_netns() {
    local pids t
    netns_pids() { local n; for n in "$@"; do ip netns pids "$n" 2>/dev/null; done; }
    pids=$(netns_pids "$@")
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086 # a list of PIDs
    kill -TERM $pids 2>/dev/null
    for t in $(seq 20); do
        pids=$(netns_pids "$@")
        [ -n "$pids" ] || return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    for t in $(seq 20); do [ -n "$(netns_pids "$@")" ] || return 0; sleep 0.1; done
}

# mh_need PROGRAM...: skip (77) unless we are root, can make network namespaces and have PROGRAMs.
mh_need() {
    local p
    [ "$(id -u)" -eq 0 ] || mh_skip "needs root (network namespaces, sshd, Slurm daemons)"
    for p in ip nsenter unshare flock "$@"; do
        command -v "$p" >/dev/null 2>&1 ||
            mh_skip "$p not found (apt-get install -y iproute2 openssh-server slurm-wlm munge)"
    done
    unshare --net true 2>/dev/null || mh_skip "cannot create a network namespace here (unshare --net)"
    ip netns list >/dev/null 2>&1 || mh_skip "ip netns does not work here"
}

# on [-t SECONDS] HOST CMD...: CMD inside HOST's namespaces (network, hostname, /etc/hosts), with
# -t under `bounded` (below). The working folder becomes /: give CMD absolute paths.
on() {
    local secs=
    [ "$1" = -t ] && secs=$2 && shift 2
    local cmd=(nsenter --target "${MH_ANCHOR[$1]}" --net --uts --mount --)
    shift
    if [ -n "$secs" ]; then bounded "$secs" "${cmd[@]}" "$@"
    else "${cmd[@]}" "$@" 8>&- 9<&-; fi # 8, 9: see above, below
}

# One test at a time owns the names h1..hN: later runs wait here (ctest also has a RESOURCE_LOCK).
# Holding the lock, namespaces of ours that exist are leftovers of a killed run: remove them.
mh_lock_and_sweep() {
    local n=$1 name i
    exec 9<"${BASH_SOURCE[0]}"
    flock -w 120 9 || mh_die "another multihost test holds the lock for 120 s"
    for ((i = 1; i <= n; i++)); do
        name=h$i
        mh_netns_exists "$name" || continue
        grep -q "^$MH_MARK" "/etc/netns/$name/hosts" 2>/dev/null ||
            mh_die "network namespace $name exists and was not made by these tests: not touching it"
        echo "note: removing namespace $name left by a killed run"
        MH_MADE=(/etc/netns) MH_RUN_NETNS=made # that run made them too: removed at teardown if empty
        mh_kill_netns "$name"
        ip netns del "$name"
        rm -rf "/etc/netns/$name"
    done
    mh_netns_exists "$MH_BRIDGE" && ip netns del "$MH_BRIDGE"
    return 0
}
mh_netns_exists() { ip netns list | awk -v n="$1" '$1 == n { f = 1 } END { exit !f }'; }

# mh_mkdir DIR: mkdir -p, remembering DIR for teardown if it was not there.
mh_mkdir() { [ -d "$1" ] || { mkdir -p "$1" && MH_MADE+=("$1"); }; }

# hosts_up N: hosts h1..hN on one bridge. Each gets an anchor process (see the top).
hosts_up() {
    local n=$1 i h dir t
    mh_lock_and_sweep "$n"
    MH_HOSTS=() # registered one by one below, so that teardown removes what exists
    mh_mkdir /etc/netns
    # `ip netns add` makes /run/netns a shared bind mount the first time: undone at teardown.
    [ -d /run/netns ] || MH_RUN_NETNS=made
    ip netns add "$MH_BRIDGE" 2>"$WORK/log" || mh_skip "ip netns add fails here: $(head -1 "$WORK/log")"
    MH_BRIDGE_UP=1
    ip -n "$MH_BRIDGE" link add br0 type bridge 2>/dev/null ||
        mh_skip "cannot create a bridge here (kernel module bridge)"
    ip -n "$MH_BRIDGE" link set br0 up
    for ((i = 1; i <= n; i++)); do
        h=h$i
        ip netns add "$h" || mh_die "ip netns add $h"
        MH_HOSTS+=("$h")
        dir=/etc/netns/$h
        mkdir -p "$dir"
        printf '%s\n127.0.0.1 localhost\n' "$MH_MARK" >"$dir/hosts" # ours, for a later sweep
        for ((t = 1; t <= n; t++)); do echo "$MH_NET.$((10 + t)) h$t" >>"$dir/hosts"; done
        echo "nameserver 127.0.0.1" >"$dir/resolv.conf"
        ip -n "$MH_BRIDGE" link add "v$h" type veth peer name eth0 netns "$h" 2>/dev/null ||
            mh_skip "cannot create a veth pair here (kernel module veth)"
        ip -n "$MH_BRIDGE" link set "v$h" master br0 up
        ip -n "$h" link set lo up
        ip -n "$h" addr add "$MH_NET.$((10 + i))/24" dev eth0
        ip -n "$h" link set eth0 up
        # The anchor: a private mount namespace (nothing propagates back to the machine) showing
        # this host's hosts/resolv.conf, and its own hostname. Unlike `ip netns exec`, /sys stays
        # mounted as it is, which slurmd needs.
        nsenter --net="/run/netns/$h" unshare --uts --mount --propagation private sh -c \
            'mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/resolv.conf" /etc/resolv.conf &&
             hostname "$2" && : >"$3" && exec sleep infinity' \
            sh "$dir" "$h" "$WORK/ready-$h" </dev/null >/dev/null 2>"$WORK/anchor-$h.log" 8>&- 9<&- &
        MH_ANCHOR[$h]=$!
    done
    for h in "${MH_HOSTS[@]}"; do
        for t in $(seq 100); do [ -e "$WORK/ready-$h" ] && break; sleep 0.05; done
        [ -e "$WORK/ready-$h" ] || mh_die "host $h did not come up: $(cat "$WORK/anchor-$h.log")"
    done
    [ "$(on h1 hostname)" = h1 ] || mh_die "on h1: hostname is not h1"
}

# sshd_up: one sshd per host, a key pair and an ssh config of this test ($SSH_CONFIG), so that
# `ssh -F $SSH_CONFIG hN` (what Open MPI's rsh launcher runs) reaches every host from every host.
sshd_up() {
    local s=$WORK/ssh h t
    mkdir -p "$s"
    mh_mkdir /run/sshd # sshd's privilege-separation folder
    ssh-keygen -q -t ed25519 -N '' -f "$s/host_key" || mh_die "ssh-keygen"
    ssh-keygen -q -t ed25519 -N '' -f "$s/id" || mh_die "ssh-keygen"
    cp "$s/id.pub" "$s/authorized_keys"
    cat >"$s/sshd_config" <<EOF
Port 22
HostKey $s/host_key
AuthorizedKeysFile $s/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
X11Forwarding no
EOF
    SSH_CONFIG=$s/config
    cat >"$SSH_CONFIG" <<EOF
Host h*
  User root
  IdentityFile $s/id
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  GlobalKnownHostsFile /dev/null
  BatchMode yes
  LogLevel ERROR
  ConnectTimeout 5
EOF
    # In the foreground (-D) as a child of this test, which teardown's sweep of the namespace
    # ends: a daemonising sshd needs /dev/null to be the device (glibc's daemon() checks; a
    # machine once had a plain file there), and it would return before it listens.
    local pid=()
    for h in "${MH_HOSTS[@]}"; do
        on "$h" "$(command -v sshd)" -D -f "$s/sshd_config" -E "$s/sshd-$h.log" \
            -o "PidFile=$s/sshd-$h.pid" -o "ListenAddress=$(host_ip "$h")" </dev/null &
        pid+=($!)
    done
    # Up to 60 s each for a loaded machine (CI once saw "Connection refused" after the 5 s that
    # were allowed); an sshd that ended is named with its own complaint at once.
    local i=0 up
    for h in "${MH_HOSTS[@]}"; do
        up=
        for t in $(seq 600); do
            [ "$(on h1 ssh -F "$SSH_CONFIG" "$h" hostname 2>/dev/null)" = "$h" ] && up=1 && break
            kill -0 "${pid[i]}" 2>/dev/null || mh_die "sshd on $h ended: $(tail -2 "$s/sshd-$h.log")"
            sleep 0.1
        done
        [ -n "$up" ] ||
            mh_die "ssh from h1 to $h: $(on h1 ssh -F "$SSH_CONFIG" "$h" hostname 2>&1 | tail -1)" \
                "(sshd log: $(tail -2 "$s/sshd-$h.log" 2>/dev/null))"
        i=$((i + 1))
    done
}

# bounded SECONDS CMD...: CMD under `timeout -k 5` (a plain TERM does not end a hung mpirun), run
# in the background and waited for, so that Ctrl-C reaches the test's trap at once; teardown then
# stops CMD with everything else on the hosts. Returns CMD's status (124 or 137: ran too long).
bounded() {
    local secs=$1
    shift
    timeout -k 5 "$secs" "$@" 8>&- 9<&- &
    wait $!
}

host_ip() { echo "$MH_NET.$((10 + ${1#h}))"; }

# rx_bytes HOST: bytes received so far on HOST's eth0 (`ip netns exec` mounts that namespace's /sys).
rx_bytes() { ip netns exec "$1" cat /sys/class/net/eth0/statistics/rx_bytes; }

# rank_table_has LOG RANK HOST: rank 0 printed a line "rank RANK ..." with HOST as a word.
rank_table_has() {
    awk -v r="$2" -v h="$3" '$1 == "rank" && $2 == r { for (i = 3; i <= NF; i++) if ($i == h) f = 1 }
        END { exit !f }' "$1"
}

. "$(dirname "${BASH_SOURCE[0]}")/jobs.sh"
