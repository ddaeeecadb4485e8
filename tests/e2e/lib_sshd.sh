# lib_sshd.sh — free ports, port readiness, a throwaway OpenSSH sshd and an ssh_config for it.
# Also used by tests/run-all (marked_pids, pids_mentioning).
#
# Sourced by tests/e2e/lib.sh and scripts/demo. Defines functions only; starts nothing by itself and
# never touches the system's sshd, its config or ~/.ssh (the one system change: /run/sshd, which
# sshd running as root insists on, is created when missing).
# shellcheck shell=bash
# shellcheck disable=SC2034 # SSHD_CMD is for the caller

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
SSH_USER=${SSH_USER:-$(id -un)}

# A real python3 (Debian's, not a shim that depends on $HOME), used only to ask the kernel for a port.
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3 || true); fi
fi

# free_port: prints a TCP port nobody uses, below the kernel's ephemeral range (so no outgoing
# connection can take it between this call and the bind: the kernel hands out local ports only from
# that range), and never one handed out before in this run ($PORTS_FILE, when set). A listener that
# still finds it taken (another test on the machine) is retried on a new port by start_edge and
# start_sshd. Where the ephemeral range starts too low to leave room, asks the kernel (bind to 0).
free_port() {
  local p _ lo=32768
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  for _ in $(seq 1 100); do
    if [ "$lo" -gt 12000 ]; then
      p=$((10000 + RANDOM % (lo - 10000)))
    elif [ -n "$PYTHON" ]; then
      p=$("$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || return 1
    else
      p=$((20000 + RANDOM % 12000))
    fi
    if [ -n "${PORTS_FILE:-}" ] && grep -qx "$p" "$PORTS_FILE" 2>/dev/null; then continue; fi
    if command -v ss >/dev/null && [ -n "$(ss -Htuan "( sport = :$p )" 2>/dev/null)" ]; then continue; fi
    [ -n "${PORTS_FILE:-}" ] && echo "$p" >>"$PORTS_FILE"
    echo "$p"
    return 0
  done
  echo "free_port: no free port found" >&2
  return 1
}

# marked_pids MARK: pids (other than this shell) whose environment has BURROW_TEST_RUN=MARK: what a
# test started, including remote commands of its ssh sessions. Builtins only: a forked helper would
# carry the mark itself.
marked_pids() {
  local e p env
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}
    p=${p%/environ}
    [ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] || continue
    mapfile -d "" -t env 2>/dev/null <"$e" || continue
    case " ${env[*]} " in *" BURROW_TEST_RUN=$1 "*) echo "$p" ;; esac
  done
}

# pids_mentioning TEXT: pids (other than this shell) whose command line contains TEXT, e.g. a
# test's temp dir. (sshd rewrites its environment area with its title, so marked_pids misses it.)
pids_mentioning() {
  local c p cmd
  for c in /proc/[0-9]*/cmdline; do
    p=${c#/proc/}
    p=${p%/cmdline}
    [ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] || continue
    mapfile -d "" -t cmd 2>/dev/null <"$c" || continue
    case " ${cmd[*]} " in *"$1"*) echo "$p" ;; esac
  done
}

# port_open PORT [HOST]: true when a TCP connect to HOST (default 127.0.0.1) succeeds.
port_open() {
  timeout 2 bash -c 'exec 9<>"/dev/tcp/$1/$2"' _ "${2:-127.0.0.1}" "$1" 2>/dev/null
}

# now_ms: wall clock in milliseconds.
now_ms() {
  local t=${EPOCHREALTIME//[!0-9]/}
  echo $((t / 1000))
}

# wait_port PORT [TIMEOUT_S] [PID]: waits until PORT accepts connections; gives up after TIMEOUT_S
# (default 10) or as soon as process PID (if given) has exited.
wait_port() {
  local port=$1 deadline=$(($(now_ms) + ${2:-10} * 1000)) pid=${3:-}
  until port_open "$port"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

# sshd_setup DIR PORT: writes into DIR a fresh ed25519 host key, a client key (DIR/id_ed25519)
# authorised for the current user, and DIR/sshd_config for an sshd on 127.0.0.1:PORT (and [::1]:PORT
# when the host has IPv6 loopback, as a stock sshd would, so "localhost" works either way).
# Afterwards "${SSHD_CMD[@]}" runs that sshd in the foreground, logging to stderr.
sshd_setup() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  rm -f "$dir/host_ed25519" "$dir/host_ed25519.pub" "$dir/id_ed25519" "$dir/id_ed25519.pub"
  ssh-keygen -q -t ed25519 -N '' -C "burrow-test-host" -f "$dir/host_ed25519" || return 1
  ssh-keygen -q -t ed25519 -N '' -C "burrow-test-client" -f "$dir/id_ed25519" || return 1
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  chmod 600 "$dir/authorized_keys"
  if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd
  fi
  {
    echo "# throwaway sshd for burrow tests/demo"
    echo "ListenAddress 127.0.0.1:$port"
    if [ -e /proc/net/if_inet6 ] && grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then
      echo "ListenAddress [::1]:$port"
    fi
    echo "HostKey $dir/host_ed25519"
    echo "AuthorizedKeysFile $dir/authorized_keys"
    echo "PidFile none"
    echo "StrictModes no"
    echo "UsePAM no"
    echo "PermitRootLogin yes"
    echo "PubkeyAuthentication yes"
    echo "PasswordAuthentication no"
    echo "KbdInteractiveAuthentication no"
    echo "AuthenticationMethods publickey"
    echo "UseDNS no"
    echo "PrintMotd no"
    echo "PrintLastLog no"
    echo "X11Forwarding no"
    echo "MaxStartups 200"
    echo "MaxSessions 200"
    echo "LogLevel INFO"
    echo "Subsystem sftp internal-sftp"
    echo "AcceptEnv BURROW_TEST_RUN"
  } >"$dir/sshd_config"
  # OpenSSH >= 9.8 throttles sources that fail often; our refusal tests would trip it.
  if "$SSHD_BIN" -t -f "$dir/sshd_config" -o PerSourcePenalties=no 2>/dev/null; then
    echo "PerSourcePenalties no" >>"$dir/sshd_config"
  fi
  "$SSHD_BIN" -t -f "$dir/sshd_config" || return 1
  SSHD_CMD=("$SSHD_BIN" -D -e -f "$dir/sshd_config")
}

# ssh_config_write FILE KEY [PROXYCOMMAND]: an ssh_config for the test client: key KEY, no known
# hosts kept, batch mode; with PROXYCOMMAND, hosts under *.site.test go through it.
ssh_config_write() {
  local file=$1 key=$2 proxy=${3:-}
  {
    if [ -n "$proxy" ]; then
      echo "Host *.site.test"
      echo "    ProxyCommand $proxy"
    fi
    echo "Host *"
    echo "    User $SSH_USER"
    echo "    IdentityFile $key"
    echo "    IdentitiesOnly yes"
    echo "    UserKnownHostsFile /dev/null"
    echo "    GlobalKnownHostsFile /dev/null"
    echo "    StrictHostKeyChecking no"
    echo "    UpdateHostKeys no"
    echo "    BatchMode yes"
    echo "    LogLevel ERROR"
    echo "    ConnectTimeout 10"
    echo "    ControlMaster no"
    echo "    ControlPath none"
    echo "    ServerAliveInterval 15"
    # marks remote commands so a test's cleanup can find the ones a cut session leaves behind
    [ -z "${BURROW_TEST_RUN:-}" ] || echo "    SetEnv BURROW_TEST_RUN=$BURROW_TEST_RUN"
  } >"$file"
}
