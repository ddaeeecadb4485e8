# lib.sh — helpers for burrow's end-to-end tests. Source it first thing in every tests/e2e/t_*.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   start_stack                      # sshd, edge, app+service token+policy, tunnel+route, connector, ssh_config
#   test_case "echo ok through burrow"
#   out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh failed"
#   assert_eq ok "$out" "remote output"
#   pass
#
# Each script gets its own temp dir $T (logs in $T/logs), free ports, and processes that are all
# stopped when the script exits, whether it passed, failed, died or was killed by a timeout.
# A case is reported as one line "ok   t_name: case" or "FAIL t_name: case: reason" on stdout and
# appended to $BURROW_TEST_RESULTS (one "ok|FAIL<TAB>name<TAB>reason" line) when tests/run-all sets it.
# fail() ends the script; fail_continue() records the failure and lets the script go on.
# After the processes stop, a sanitizer report in any file under $T is one more failure.
# shellcheck shell=bash
# (variables and optional arguments here are for the scripts that source this file)
# shellcheck disable=SC2034,SC2119,SC2120

set -Eeuo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck source=tests/e2e/lib_sshd.sh
. "$E2E_DIR/lib_sshd.sh"

TEST_NAME=$(basename "$0" .sh)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
BURROW=$BUILD/burrow
LOGLEVEL=${BURROW_TEST_LOGLEVEL:-info}
SSH_TIMEOUT=${SSH_TIMEOUT:-120}

# Sanitizer builds: leaks count, the first error aborts. Respect what the caller set.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ulimit -c 0 2>/dev/null || true

# Nothing from the caller's environment may steer the processes under test.
for _v in $(compgen -e | grep '^BURROW_' || true); do
  case $_v in BURROW_TEST_*) ;; *) unset "$_v" ;; esac
done
unset _v

T=$(mktemp -d "${TMPDIR:-/tmp}/burrow-e2e-$TEST_NAME.XXXXXX")
# Every process this test starts, and every remote command its ssh sessions run, carries this mark.
export BURROW_TEST_RUN=${BURROW_TEST_RUN:-$TEST_NAME.$$.$RANDOM}
# so that tests/run-all can remove it should this script be killed before its cleanup
[ -z "${BURROW_TEST_RESULTS:-}" ] || echo "$T" >"$BURROW_TEST_RESULTS.tmpdir"
LOGS=$T/logs
mkdir -p "$LOGS" "$T/remote" "$T/home"
: >"$T/.results"
PORTS_FILE=$T/ports
export BURROW_HOME=$T/home
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$T/gitconfig
export GIT_AUTHOR_NAME=burrow-test GIT_AUTHOR_EMAIL=test@site.test
export GIT_COMMITTER_NAME=burrow-test GIT_COMMITTER_EMAIL=test@site.test
export LC_ALL=C

# Results go to the script's real stdout even when fail() runs inside $(...). No test reads the
# terminal: commands that need input get it redirected explicitly.
exec 3>&1 </dev/null

CASE=""
PIDS=()
declare -A PID_NAME=()
_ERR_AT=""

# ---------------------------------------------------------------- reporting

_record() { # STATUS NAME [MSG]
  local status=$1 name=$2 msg=${3:-}
  msg=${msg//$'\n'/ | }
  msg=${msg//$'\t'/ }
  [ ${#msg} -le 400 ] || msg="${msg:0:400}..."
  if [ "$status" = ok ]; then
    printf 'ok   %s: %s\n' "$TEST_NAME" "$name" >&3
  else
    printf 'FAIL %s: %s: %s\n' "$TEST_NAME" "$name" "$msg" >&3
  fi
  printf '%s\t%s: %s\t%s\n' "$status" "$TEST_NAME" "$name" "$msg" >>"$T/.results"
  if [ -n "${BURROW_TEST_RESULTS:-}" ]; then
    printf '%s\t%s: %s\t%s\n' "$status" "$TEST_NAME" "$name" "$msg" >>"$BURROW_TEST_RESULTS"
  fi
}

# test_case NAME: opens a case; it must end with pass, fail or fail_continue.
test_case() {
  if [ -n "$CASE" ] && [ ! -e "$T/.case_done" ]; then
    _record FAIL "$CASE" "case ended without pass or fail"
  fi
  CASE=$1
  rm -f "$T/.case_done"
  echo "== $CASE"
}

pass() {
  [ -n "$CASE" ] || fail "pass outside a test case"
  [ -e "$T/.case_done" ] && return 0 # already failed (e.g. inside a subshell)
  _record ok "$CASE"
  touch "$T/.case_done"
}

_fail_record() {
  if [ -n "$CASE" ] && [ ! -e "$T/.case_done" ]; then
    _record FAIL "$CASE" "$*"
    touch "$T/.case_done"
  elif [ -n "$CASE" ]; then
    _record FAIL "after '$CASE'" "$*"
  else
    _record FAIL "setup" "$*"
  fi
}

# fail MSG: records the open case (or the setup) as failed and ends the script.
fail() {
  _fail_record "$*"
  exit 1
}

# fail_continue MSG: records the open case as failed; the script goes on (unless
# BURROW_TEST_FAIL_FAST is set: tests/mutants/run needs only the first failure).
fail_continue() {
  _fail_record "$*"
  [ -z "${BURROW_TEST_FAIL_FAST:-}" ] || exit 1
  return 0
}

# skip REASON: the machine cannot run this test (e.g. a resource limit): reports the open case (or
# the whole script) as skipped with REASON and ends the script successfully.
skip() {
  local name=${CASE:-all cases}
  printf 'skip %s: %s: %s\n' "$TEST_NAME" "$name" "$*" >&3
  printf 'skip\t%s: %s\t%s\n' "$TEST_NAME" "$name" "$*" >>"$T/.results"
  [ -z "${BURROW_TEST_RESULTS:-}" ] || printf 'skip\t%s: %s\t%s\n' "$TEST_NAME" "$name" "$*" >>"$BURROW_TEST_RESULTS"
  touch "$T/.case_done"
  exit 0
}

step() { echo "   .. $*"; }

# ---------------------------------------------------------------- assertions

_short() { local s=$1; [ ${#s} -le 200 ] && printf '%s' "$s" || printf '%s...' "${s:0:200}"; }

assert_eq() { # EXPECTED ACTUAL [WHAT]
  [ "$1" = "$2" ] || fail "${3:-value}: expected '$(_short "$1")', got '$(_short "$2")'"
}

assert_ne() { # UNEXPECTED ACTUAL [WHAT]
  [ "$1" != "$2" ] || fail "${3:-value}: must not be '$(_short "$1")'"
}

assert_contains() { # HAYSTACK NEEDLE [WHAT]
  case $1 in *"$2"*) ;; *) fail "${3:-output}: '$(_short "$1")' does not contain '$(_short "$2")'" ;; esac
}

assert_not_contains() { # HAYSTACK NEEDLE [WHAT]
  case $1 in *"$2"*) fail "${3:-output}: contains '$(_short "$2")'" ;; *) ;; esac
}

assert_match() { # STRING ERE [WHAT]
  printf '%s\n' "$1" | grep -Eq -- "$2" || fail "${3:-output}: '$(_short "$1")' does not match /$2/"
}

# ---------------------------------------------------------------- waiting

# wait_for TIMEOUT_S CMD...: polls CMD every 0.1 s until it succeeds; 1 after TIMEOUT_S.
wait_for() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------- processes

_alive() { # PID: running and not a zombie
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [ "${st:0:1}" != Z ]
}

# spawn NAME CMD...: runs CMD in the background (stdout/stderr to $LOGS/NAME.out/.err), sets BG_PID.
# Call it directly, never inside $(...), so the pid is remembered for cleanup. CMD runs in its own
# session: a timeout's signal to our process group then reaches this script, whose cleanup stops
# CMD and everything CMD started (sshd's sessions leave sshd's group) in order.
spawn() {
  local name=$1
  shift
  setsid "$@" </dev/null >>"$LOGS/$name.out" 2>>"$LOGS/$name.err" 3>&- &
  BG_PID=$!
  PIDS+=("$BG_PID")
  PID_NAME[$BG_PID]=$name
  step "started $name (pid $BG_PID)"
}

_descendants() { # PID: prints the pids of all processes below PID
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do
    echo "$c"
    _descendants "$c"
  done
}

# stop_pid PID [SIGNAL] [TIMEOUT_S]: signals PID (default TERM) and everything it started (sshd's
# sessions and their commands), waits for PID to exit (KILL after TIMEOUT_S, default 5), reaps it.
stop_pid() {
  _stop_pid "$@" 2>/dev/null # (keeps bash's "Killed" job notices out of the output)
}

_stop_pid() {
  local pid=$1 sig=${2:-TERM} deadline=$(($(now_ms) + ${3:-5} * 1000)) tree c
  [ -n "$pid" ] || return 0
  if _alive "$pid"; then
    tree=$(_descendants "$pid")
    # shellcheck disable=SC2086 # a list of pids
    kill "-$sig" "$pid" $tree 2>/dev/null || true
    while _alive "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.05; done
    if _alive "$pid"; then
      step "${PID_NAME[$pid]:-pid $pid} ignored SIG$sig; killing"
      # shellcheck disable=SC2046 # a list of pids
      kill -KILL "$pid" $(_descendants "$pid") 2>/dev/null || true
    fi
    # whatever it started and outlived it (e.g. a remote command of a cut ssh session)
    for c in $tree; do _alive "$c" && kill -KILL "$c" 2>/dev/null; done
  fi
  local rc=0
  wait "$pid" || rc=$?
  step "${PID_NAME[$pid]:-pid $pid} stopped (SIG$sig, exit status $rc)" >&3
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------- cleanup

# _sanitizer_scan: a sanitizer report anywhere under $T is a failure: not only $LOGS but every
# place a script sends a process's stderr ($T/err, $T/c1.out, ...), recursively. Files named
# *.err/*.out/*.log, and files without a dot (stderr captures such as $T/err) up to 64 MiB, are read
# whole whatever their bytes; any other regular file only when it is text (grep -I: the first block
# has no NUL), so the MiB of random test data, the edge's database and keys cost a few KiB each (and
# a GiB of zeros is never read as one line). Only regular files: a test's FIFO would block.
# $T/.results (this script's own report lines) is not a process's output.
_sanitizer_scan() {
  local size f rel re='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' opt hit
  while IFS=$'\t' read -r -d '' size f; do
    rel=${f#"$T"/}
    [ "$rel" != .results ] || continue
    case ${f##*/} in
      *.err | *.out | *.log) opt=-a ;;
      *.*) opt=-I ;;
      *) if [ "$size" -le 67108864 ]; then opt=-a; else opt=-I; fi ;;
    esac
    hit=$(grep "$opt" -E -m1 -- "$re" "$f" 2>/dev/null) || continue
    _record FAIL "sanitizers" "report in $rel: $hit"
  done < <(find "$T" -type f -printf '%s\t%p\0' 2>/dev/null)
}

_dump_logs() {
  local f
  echo "---- $TEST_NAME failed (BURROW_TEST_KEEP=1 keeps its temp dir); last lines of each log:" >&3
  for f in "$LOGS"/*; do
    [ -s "$f" ] || continue
    echo "---- logs/$(basename "$f")" >&3
    tail -n 40 "$f" | cut -c1-300 | sed 's/^/    /' >&3
  done
}

_cleanup() {
  local rc=$? i why
  set +eE
  trap - ERR TERM INT HUP
  why="script exited with status $rc"
  [ "$rc" -ne 143 ] || why="killed by SIGTERM (timed out?)"
  if [ -n "$CASE" ] && [ ! -e "$T/.case_done" ]; then
    _record FAIL "$CASE" "$why${_ERR_AT:+ after: $_ERR_AT}"
  elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL' "$T/.results"; then
    _record FAIL "setup" "$why${_ERR_AT:+ after: $_ERR_AT}"
  fi
  # Stop in reverse start order (client, connector, edge, sshd), then any leftover job.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  for i in $(jobs -p); do stop_pid "$i" TERM 2; done
  # remote commands orphaned by a cut session
  for i in $(marked_pids "$BURROW_TEST_RUN"); do kill -KILL "$i" 2>/dev/null; done
  _sanitizer_scan
  if grep -q '^FAIL' "$T/.results"; then
    _dump_logs
    rc=1
  fi
  if [ -n "${BURROW_TEST_KEEP:-}" ]; then
    echo "kept $T" >&3
  else
    rm -rf "$T"
  fi
  exit "$rc"
}

trap _cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
trap '_ERR_AT="line $LINENO: $BASH_COMMAND"' ERR

# ---------------------------------------------------------------- json

# json_get KEY < JSON: prints the string/number value of a top-level KEY.
json_get() {
  if [ -n "$PYTHON" ]; then
    "$PYTHON" -c 'import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
print("" if v is None else v)' "$1"
  elif command -v jq >/dev/null; then
    jq -r --arg k "$1" '.[$k] // empty'
  else
    tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"
  fi
}

# ---------------------------------------------------------------- the pieces

require_burrow() {
  [ -x "$BURROW" ] || fail "missing $BURROW (build first: make, or BUILD=dir)"
  [ -x "$BUILD/burrow-edge" ] || fail "missing $BUILD/burrow-edge"
}

# start_sshd: a real sshd on 127.0.0.1:$SSHD_PORT (chosen unless set) with fresh keys; sets SSHD_PID,
# SSHD_PORT, SSH_KEY.
start_sshd() {
  local mine=0 try
  [ -n "${SSHD_PORT:-}" ] || mine=1
  for try in 1 2 3; do
    SSHD_PORT=${SSHD_PORT:-$(free_port)}
    sshd_setup "$T/sshd" "$SSHD_PORT" >>"$LOGS/sshd.err" 2>&1 || fail "sshd setup failed: $(tail -n 2 "$LOGS/sshd.err")"
    spawn sshd "${SSHD_CMD[@]}"
    SSHD_PID=$BG_PID
    wait_port "$SSHD_PORT" 10 "$SSHD_PID" && break
    # a port taken since free_port chose it (another test on this machine): a new one
    if [ "$mine" -eq 1 ] && [ "$try" -lt 3 ] && grep -q 'Address already in use' "$LOGS/sshd.err"; then
      step "sshd: port $SSHD_PORT taken meanwhile; another"
      stop_pid "$SSHD_PID"
      SSHD_PORT=""
      continue
    fi
    fail "sshd not listening on $SSHD_PORT: $(tail -n 2 "$LOGS/sshd.err")"
  done
  SSH_KEY=$T/sshd/id_ed25519
}

# ssh_cfg: writes $SSH_CFG for the test client; when $ID/$SECRET are set, *.site.test goes through
# "burrow access ssh --hostname %h --id $ID --secret $SECRET".
ssh_cfg() {
  SSH_CFG=$T/ssh_config
  local proxy=""
  if [ -n "${ID:-}" ] && [ -n "${SECRET:-}" ]; then
    proxy="$(printf '%q' "$BURROW") access ssh --hostname %h --id $ID --secret $SECRET"
  fi
  ssh_config_write "$SSH_CFG" "$SSH_KEY" "$proxy"
}

# bssh ARGS...: ssh -F $SSH_CFG ARGS with a timeout; ssh's stderr (and so burrow access's) goes to
# $LOGS/ssh.err.
bssh() {
  timeout --foreground "$SSH_TIMEOUT" ssh -F "$SSH_CFG" "$@" 2>>"$LOGS/ssh.err"
}

_tls_ready() {
  timeout 5 openssl s_client -connect "127.0.0.1:$1" -noservername </dev/null >/dev/null 2>&1
}

_edge_ready() { # (also true once the edge has exited: the caller tells the two apart)
  _alive "$EDGE_PID" || return 0
  [ -s "$EDGE_DIR/admin-token" ] && [ -s "$EDGE_DIR/ca.pem" ] &&
    port_open "$EDGE_TUNNEL_PORT" && _tls_ready "$EDGE_PORT"
}

# start_edge [EXTRA ARGS]: burrow edge with data dir $EDGE_DIR on $EDGE_PORT (clients, admin) and
# $EDGE_TUNNEL_PORT (connectors), chosen unless set, so a second call restarts the same edge. Waits
# until both listeners accept (TLS on the main one) and exports the admin and client variables.
start_edge() {
  require_burrow
  EDGE_DIR=${EDGE_DIR:-$T/edge}
  local mine=0 try args
  [ -n "${EDGE_PORT:-}" ] || [ -n "${EDGE_TUNNEL_PORT:-}" ] || mine=1
  for try in 1 2 3; do
    EDGE_PORT=${EDGE_PORT:-$(free_port)}
    EDGE_TUNNEL_PORT=${EDGE_TUNNEL_PORT:-$(free_port)}
    args=(edge --data-dir "$EDGE_DIR" --listen "127.0.0.1:$EDGE_PORT"
      --tunnel-listen "127.0.0.1:$EDGE_TUNNEL_PORT" --loglevel "$LOGLEVEL" --logfile "$LOGS/edge.log")
    [ -z "${EDGE_METRICS_PORT:-}" ] || args+=(--metrics "127.0.0.1:$EDGE_METRICS_PORT")
    spawn edge "$BURROW" "${args[@]}" "$@"
    EDGE_PID=$BG_PID
    wait_for 30 _edge_ready || fail "edge not ready within 30 s on $EDGE_PORT/$EDGE_TUNNEL_PORT"
    _alive "$EDGE_PID" && break
    # a port taken since free_port chose it (another test on this machine): new ones
    if [ "$mine" -eq 1 ] && [ "$try" -lt 3 ] && tail -n 1 "$LOGS/edge.err" | grep -q 'address already in use'; then
      step "edge: $(tail -n 1 "$LOGS/edge.err"); other ports"
      stop_pid "$EDGE_PID"
      EDGE_PORT="" EDGE_TUNNEL_PORT=""
      continue
    fi
    fail "edge exited during start-up: $(tail -n 3 "$LOGS/edge.err")"
  done
  BURROW_ADMIN_TOKEN=$(cat "$EDGE_DIR/admin-token")
  export BURROW_ADMIN_URL=https://127.0.0.1:$EDGE_PORT BURROW_ADMIN_TOKEN
  export BURROW_CA=$EDGE_DIR/ca.pem BURROW_EDGE=127.0.0.1:$EDGE_PORT
}

# edge_metric SERIES: the value of one series of the edge's metrics, e.g.
# edge_metric 'burrow_edge_sessions_active'; empty when absent. Needs EDGE_METRICS_PORT set before
# start_edge (or start_stack).
edge_metric() {
  { curl -fsS --max-time 5 "http://127.0.0.1:$EDGE_METRICS_PORT/metrics" 2>>"$LOGS/curl.err" || true; } |
    awk -v k="$1" '$1 == k { print $2 }'
}

# unauth_released: the edge counts no unauthenticated connection on either listener (a count that
# is never released would lock its address out for good: src/edge/auth/unauth.c).
unauth_released() {
  [ "$(edge_metric 'burrow_edge_unauth_connections{listener="client"}')" = 0 ] &&
    [ "$(edge_metric 'burrow_edge_unauth_connections{listener="tunnel"}')" = 0 ]
}

# admin ARGS...: burrow admin ARGS; prints its stdout; fails the test when it fails.
admin() {
  local out rc=0
  out=$("$BURROW" admin "$@" 2>>"$LOGS/admin.err") || rc=$?
  [ "$rc" -eq 0 ] || fail "burrow admin $*: exit $rc: $(tail -n 2 "$LOGS/admin.err")"
  printf '%s\n' "$out"
}

# create_service_token NAME: sets TOKEN_ID and TOKEN_SECRET (JSON kept in $T/token-NAME.json).
create_service_token() {
  admin service-token create --name "$1" --json >"$T/token-$1.json"
  TOKEN_ID=$(json_get client_id <"$T/token-$1.json") || fail "service-token create --json: not JSON"
  TOKEN_SECRET=$(json_get client_secret <"$T/token-$1.json") || fail "service-token create --json: not JSON"
  [ -n "$TOKEN_ID" ] && [ -n "$TOKEN_SECRET" ] || fail "service-token create --json: no client_id/client_secret"
}

# setup_service_token [TOKEN [APP [HOSTNAME]]]: app (default ssh, ssh.site.test), service token
# (default ci) and a service_auth policy naming it; exports ID and SECRET.
setup_service_token() {
  local token=${1:-ci} app=${2:-ssh} host=${3:-ssh.site.test}
  admin app create --name "$app" --hostname "$host" >/dev/null
  create_service_token "$token"
  admin policy add --app "$app" --action service_auth --include "service-token=$token" >/dev/null
  ID=$TOKEN_ID SECRET=$TOKEN_SECRET
  export ID SECRET
}

# create_tunnel NAME [HOSTNAME...]: credentials in $T/NAME.json; each HOSTNAME routed to the tunnel
# (a connector may serve only hostnames routed to its tunnel).
create_tunnel() {
  local name=$1 h args=()
  shift
  for h in "$@"; do args+=(--hostname "$h"); done
  admin tunnel create "$name" "${args[@]}" >"$T/$name.json"
  chmod 600 "$T/$name.json"
  [ -n "$(json_get tunnel_secret <"$T/$name.json")" ] || fail "tunnel create $name: no tunnel_secret in output"
}

# registered_count NAME: "registered connection" lines in connector NAME's log so far.
registered_count() {
  local n
  n=$(grep -c 'registered connection' "$LOGS/connector-$1.log" 2>/dev/null) || true
  echo "${n:-0}"
}

_registered_at_least() { # NAME N
  _alive "${CONNECTOR_PIDS[$1]}" || fail "connector $1 exited: $(tail -n 3 "$LOGS/connector-$1.err")"
  [ "$(registered_count "$1")" -ge "$2" ]
}

declare -A CONNECTOR_PIDS=()

# start_connector NAME HOSTNAME URL [HA [EXTRA ARGS...]]: burrow tunnel run with $T/NAME.json; waits
# (10 s) until its log shows HA (default 4) registered connections. Sets CONNECTOR_PID.
start_connector() {
  local name=$1 host=$2 url=$3 ha=${4:-}
  shift 3
  [ $# -eq 0 ] || shift
  local args=(tunnel run --credentials-file "$T/$name.json" --hostname "$host" --url "$url"
    --edge "127.0.0.1:$EDGE_TUNNEL_PORT" --logfile "$LOGS/connector-$name.log" --loglevel "$LOGLEVEL" "$@")
  [ -z "$ha" ] || args+=(--ha-connections "$ha")
  spawn "connector-$name" "$BURROW" "${args[@]}"
  CONNECTOR_PID=$BG_PID
  CONNECTOR_PIDS[$name]=$BG_PID
  wait_for 10 _registered_at_least "$name" "${ha:-4}" ||
    fail "connector $name: $(registered_count "$name") of ${ha:-4} connections registered after 10 s"
}

# start_echo_path: after start_stack, an echo origin (load/echo_server.py on $ECHO_PORT) behind app
# "echo" (echo.site.test, service token "ci"), tunnel "host2" (routed echo.site.test) with a one-connection connector
# ($CONNECTOR_PID), and `burrow access tcp` listening on 127.0.0.1:$LPORT for it.
start_echo_path() {
  ECHO_PORT=$(free_port)
  spawn echo "$PYTHON" "$E2E_DIR/load/echo_server.py" "$ECHO_PORT"
  wait_for 10 port_open "$ECHO_PORT" || fail "echo origin not listening"
  admin app create --name echo --hostname echo.site.test >/dev/null
  admin policy add --app echo --action service_auth --include service-token=ci >/dev/null
  create_tunnel host2 echo.site.test
  start_connector host2 echo.site.test "tcp://127.0.0.1:$ECHO_PORT" 1
  LPORT=$(free_port)
  spawn access "$BURROW" access tcp --hostname echo.site.test --url "127.0.0.1:$LPORT" --id "$ID" --secret "$SECRET"
  wait_for 10 port_open "$LPORT" || fail "burrow access tcp not listening"
}

# start_stack: sshd; edge; app "ssh" (ssh.site.test) with service token "ci" and its policy; tunnel
# "host1" with ssh.site.test routed to it and a connector to the sshd; $SSH_CFG that reaches
# ssh.site.test through burrow.
start_stack() {
  start_sshd
  start_edge
  setup_service_token
  create_tunnel host1 ssh.site.test
  start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT"
  ssh_cfg
}

# says WHAT STATUS LINE -- [VAR=VALUE...] ARGS...: a test case WHAT: burrow ARGS, with VAR=VALUE in
# its environment (VAR= alone removes VAR), exits STATUS within 10 s with nothing on stdout and
# exactly LINE on stderr (kept in $LOGS/says.err).
says() {
  local what=$1 want_rc=$2 want=$3 rc=0 t0 ms envs=()
  shift 4
  while [ $# -gt 0 ] && [[ $1 == [A-Z_]*=* ]]; do
    if [[ $1 == *= ]]; then envs+=(-u "${1%=}"); else envs+=("$1"); fi
    shift
  done
  test_case "$what"
  t0=$(now_ms)
  env "${envs[@]}" timeout 15 "$BURROW" "$@" </dev/null >"$T/says.out" 2>"$T/says.err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$T/says.err" >>"$LOGS/says.err"
  step "burrow $*: exit $rc after $ms ms: $(tr '\n' '|' <"$T/says.err" | cut -c1-300)"
  [ "$rc" -ne 124 ] || { fail_continue "still running after 15 s"; return; }
  [ "$rc" -eq "$want_rc" ] || { fail_continue "exit status $rc, expected $want_rc"; return; }
  [ "$ms" -lt 10000 ] || { fail_continue "took $ms ms"; return; }
  [ ! -s "$T/says.out" ] || { fail_continue "printed on stdout: $(head -c 200 "$T/says.out")"; return; }
  [ "$want" = "$(cat "$T/says.err")" ] ||
    { fail_continue "stderr: expected '$want', got '$(head -c 300 "$T/says.err")'"; return; }
  pass
}

# sha FILE: the sha256 of FILE.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- network namespaces

# netns_up: a network namespace $NETNS for the edge, joined to this one by a veth pair: the edge's
# side is $NETNS_IP, ours $NETNS_PEER_IP. nftables rules in it (nsx nft ...) then act on the edge's
# packets alone, not on the machine's. Skips the script without root, ip netns or nft. The namespace
# is removed when the script exits, whatever happens (after the processes stop).
netns_up() {
  [ "$(id -u)" = 0 ] || skip "needs root for ip netns"
  command -v nft >/dev/null || skip "needs nft (Debian package nftables: scripts/install-deps)"
  local n=$((RANDOM % 250 + 2))
  NETNS=burrow-$TEST_NAME-$$
  _NETNS_VETH=bv$$
  ip netns add "$NETNS" || skip "ip netns add failed"
  trap _netns_exit EXIT
  NETNS_IP=10.201.$n.1 NETNS_PEER_IP=10.201.$n.2
  if ! { ip link add "$_NETNS_VETH" type veth peer name "${_NETNS_VETH}e" &&
    ip link set "${_NETNS_VETH}e" netns "$NETNS" &&
    ip addr add "$NETNS_PEER_IP/30" dev "$_NETNS_VETH" && ip link set "$_NETNS_VETH" up &&
    nsx ip addr add "$NETNS_IP/30" dev "${_NETNS_VETH}e" && nsx ip link set "${_NETNS_VETH}e" up &&
    nsx ip link set lo up; }; then
    fail "cannot set up the veth pair to $NETNS"
  fi
  # conntrack follows every flow from the start (a rule that looks at it turns it on), so that later
  # rules on its state see the flows as a middlebox in the path would
  nsx nft add table inet burrow_ct &&
    nsx nft add chain inet burrow_ct in '{ type filter hook input priority -10; }' &&
    nsx nft add rule inet burrow_ct in ct state established counter || fail "nft in $NETNS failed"
  step "namespace $NETNS: edge side $NETNS_IP, ours $NETNS_PEER_IP"
}

# nsx CMD...: runs CMD in $NETNS.
nsx() { ip netns exec "$NETNS" "$@"; }

netns_down() {
  [ -n "${NETNS:-}" ] || return 0
  ip netns del "$NETNS" 2>/dev/null
  ip link del "$_NETNS_VETH" 2>/dev/null
  NETNS=""
  return 0
}

# The EXIT trap with a namespace: the processes stop first (some live in it), then it goes, then
# lib's own cleanup reports as ever.
_netns_exit() {
  local rc=$? i
  set +eE
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  netns_down
  (exit "$rc")
  _cleanup
}

# netns_start_edge [EXTRA ARGS]: burrow edge in $NETNS on $NETNS_IP:8443 (clients, admin) and :7844
# (connectors), metrics on :9090; exports the admin and client variables as start_edge does.
netns_start_edge() {
  require_burrow
  EDGE_DIR=${EDGE_DIR:-$T/edge} EDGE_PORT=8443 EDGE_TUNNEL_PORT=7844
  spawn edge ip netns exec "$NETNS" "$BURROW" edge --data-dir "$EDGE_DIR" --listen "$NETNS_IP:8443" \
    --tunnel-listen "$NETNS_IP:7844" --metrics "$NETNS_IP:9090" --loglevel "$LOGLEVEL" \
    --logfile "$LOGS/edge.log" "$@"
  EDGE_PID=$BG_PID
  wait_for 30 _netns_edge_ready || fail "edge in $NETNS not ready within 30 s"
  _alive "$EDGE_PID" || fail "edge exited during start-up: $(tail -n 3 "$LOGS/edge.err")"
  BURROW_ADMIN_TOKEN=$(cat "$EDGE_DIR/admin-token")
  export BURROW_ADMIN_URL=https://$NETNS_IP:8443 BURROW_ADMIN_TOKEN
  export BURROW_CA=$EDGE_DIR/ca.pem BURROW_EDGE=$NETNS_IP:8443
}

_netns_edge_ready() {
  _alive "$EDGE_PID" || return 0
  [ -s "$EDGE_DIR/admin-token" ] && [ -s "$EDGE_DIR/ca.pem" ] && port_open 7844 "$NETNS_IP" &&
    port_open 8443 "$NETNS_IP"
}

# netns_edge_metric SERIES: as edge_metric, for the edge of netns_start_edge.
netns_edge_metric() {
  { curl -fsS --max-time 5 "http://$NETNS_IP:9090/metrics" 2>>"$LOGS/curl.err" || true; } |
    awk -v k="$1" '$1 == k { print $2 }'
}

# netns_start_connector NAME HOSTNAME URL [EXTRA ARGS...]: start_connector's connector (4
# connections), dialling the edge of netns_start_edge.
netns_start_connector() {
  local name=$1 host=$2 url=$3
  shift 3
  spawn "connector-$name" "$BURROW" tunnel run --credentials-file "$T/$name.json" --hostname "$host" \
    --url "$url" --edge "$NETNS_IP:7844" --logfile "$LOGS/connector-$name.log" --loglevel "$LOGLEVEL" "$@"
  CONNECTOR_PID=$BG_PID
  CONNECTOR_PIDS[$name]=$BG_PID
  wait_for 10 _registered_at_least "$name" 4 ||
    fail "connector $name: $(registered_count "$name") of 4 connections registered after 10 s"
}

# flow_ports EDGE_PORT: the local ports of our established connections to the edge's EDGE_PORT
# (7844: the connector's tunnel connections; 8443: clients), one a line.
flow_ports() {
  ss -Htn state established dst "$NETNS_IP:$1" | awk '{ n = split($3, a, ":"); print a[n] }'
}

# netns_drop_flows EDGE_PORT PORT...: from now on the edge's namespace silently drops every packet of
# our connections from those ports to its EDGE_PORT, both ways (a middlebox that lost their state);
# new connections pass. netns_pass_all removes every such rule.
netns_drop_flows() {
  local lport=$1 set
  shift
  set=$(IFS=,; echo "$*")
  nsx nft add table inet burrow_test
  nsx nft add chain inet burrow_test in '{ type filter hook input priority 0; }'
  nsx nft add chain inet burrow_test out '{ type filter hook output priority 0; }'
  nsx nft add rule inet burrow_test in ip saddr "$NETNS_PEER_IP" tcp dport "$lport" tcp sport "{ $set }" drop
  nsx nft add rule inet burrow_test out ip daddr "$NETNS_PEER_IP" tcp sport "$lport" tcp dport "{ $set }" drop
}

netns_pass_all() {
  nsx nft delete table inet burrow_test 2>/dev/null || true
}
