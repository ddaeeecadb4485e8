#!/usr/bin/env bash
# What the connector and the client say when they cannot start: one line on stderr, exit status 2
# for a mistake on the command line (an origin URL with an unknown scheme, tcp:// without a port or
# with port 0, half a service token, access tcp without --url) and 1 for what the machine refused
# (a credentials file that is missing or is not one, a metrics or listen address already in use),
# at once. A credentials file readable by others is no error: the connector warns and runs.
# The edge does not start (exit 1, one line) when its admin-token can be read by group or others, is
# empty, longer than 4096 bytes, or holds more than a token and one newline.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_burrow
CLOSED_PORT=$(free_port) # an "edge" nobody listens on: no case may get as far as dialling it
export BURROW_EDGE=127.0.0.1:$CLOSED_PORT
printf '{"tunnel_id": "2a0d1c4e-0000-4000-8000-000000000001", "tunnel_secret": "%s", "tunnel_name": "t"}\n' \
  "$(printf 's%.0s' $(seq 1 43))" >"$T/creds.json"
chmod 600 "$T/creds.json"
printf '{"client_id": "0123.access", "client_secret": "abc"}\n' >"$T/token.json"
chmod 600 "$T/token.json"
# A listener that holds a port, for the "already in use" cases.
cat >"$T/hold.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
time.sleep(3600)
PY
BUSY_PORT=$(free_port)
spawn holder "$PYTHON" "$T/hold.py" "$BUSY_PORT"
wait_for 10 port_open "$BUSY_PORT" || fail "the port holder is not listening on $BUSY_PORT"

TUN=(tunnel run --credentials-file "$T/creds.json" --hostname ssh.site.test --edge "127.0.0.1:$CLOSED_PORT")

says "connector, --url http://...: unsupported scheme, exit 2" 2 \
  "burrow: tunnel: unsupported origin scheme http: use ssh://, tcp:// or rdp://" -- "${TUN[@]}" --url http://127.0.0.1:80
says "connector, --url tcp://localhost (no port): tcp needs a port, exit 2" 2 \
  "burrow: tunnel: invalid origin address in tcp://localhost: tcp:// needs a port, e.g. tcp://localhost:5432" \
  -- "${TUN[@]}" --url tcp://localhost
says "connector, --url tcp://localhost:0: port must be 1..65535, exit 2" 2 \
  "burrow: tunnel: invalid origin port in tcp://localhost:0: use a number from 1 to 65535" -- "${TUN[@]}" --url tcp://localhost:0
says "connector, credentials file missing: cannot read it, exit 1" 1 \
  "burrow: tunnel: cannot read credentials file $T/missing.json: unable to open $T/missing.json: No such file or directory" \
  -- tunnel run --credentials-file "$T/missing.json" --hostname ssh.site.test --url ssh://localhost --edge "127.0.0.1:$CLOSED_PORT"
says "connector, a service token's JSON as credentials: not a tunnel credentials file, exit 1" 1 \
  "burrow: tunnel: $T/token.json is not a tunnel credentials file (needs tunnel_id and tunnel_secret)" \
  -- tunnel run --credentials-file "$T/token.json" --hostname ssh.site.test --url ssh://localhost --edge "127.0.0.1:$CLOSED_PORT"
says "connector, --heartbeat-count 1: needs 2 to 100, exit 2" 2 \
  "burrow: tunnel: invalid --heartbeat-count 1: 2 to 100" -- "${TUN[@]}" --url ssh://localhost --heartbeat-count 1
says "connector, BURROW_HEARTBEAT_INTERVAL=0s: needs 1s to 1h, exit 2" 2 \
  "burrow: tunnel: invalid --heartbeat-interval 0s: 1s to 1h, e.g. 5s" \
  -- BURROW_HEARTBEAT_INTERVAL=0s "${TUN[@]}" --url ssh://localhost
says "edge, --tcp-keepalive 1s: needs 2s to 24h, exit 2" 2 \
  "burrow: edge: invalid --tcp-keepalive 1s: 2s to 24h, e.g. 60s (0: off)" \
  -- edge --data-dir "$T/edge-ka" --tcp-keepalive 1s
says "connector, --metrics on a port in use: cannot serve metrics, exit 1" 1 \
  "burrow: tunnel: cannot serve metrics on 127.0.0.1:$BUSY_PORT: address already in use" \
  -- "${TUN[@]}" --url ssh://localhost --metrics "127.0.0.1:$BUSY_PORT"

says "client, --id without --secret: needs both, exit 2" 2 \
  "burrow: access ssh: a service token needs both --id and --secret" -- access ssh --hostname ssh.site.test --id 0123.access
says "client, --secret without --id: needs both, exit 2" 2 \
  "burrow: access ssh: a service token needs both --id and --secret" -- access ssh --hostname ssh.site.test --secret abc
says "client, access tcp without --url: says what to pass, exit 2" 2 \
  "burrow: access tcp: missing --url ADDR to listen on, e.g. --url 127.0.0.1:2222" -- access tcp --hostname ssh.site.test
says "client, access tcp on a port in use: cannot listen, exit 1" 1 \
  "burrow: access tcp: cannot listen on 127.0.0.1:$BUSY_PORT: address already in use" \
  -- access tcp --hostname ssh.site.test --url "127.0.0.1:$BUSY_PORT"

# The edge's admin-token (src/edge_main.c): the whole file is the token, with at most one newline,
# and only its owner may read it. Each refusal is one line, exit 1, before the store is opened.
# edge_token NAME MODE: a data directory $T/NAME whose admin-token holds stdin, at MODE.
edge_token() {
  mkdir -m 700 "$T/$1"
  cat >"$T/$1/admin-token"
  chmod "$2" "$T/$1/admin-token"
}
EDGE_ARGS=(--listen "127.0.0.1:$(free_port)" --tunnel-listen "127.0.0.1:$(free_port)")
printf 'a-token-of-my-own\n' | edge_token tok644 644
says "edge, admin-token of mode 0644: does not start, says chmod 600, exit 1" 1 \
  "burrow: edge: $T/tok644/admin-token can be read or written by group or others (mode 0644): run chmod 600 $T/tok644/admin-token" \
  -- edge --data-dir "$T/tok644" "${EDGE_ARGS[@]}"
test_case "edge, admin-token of mode 0644: nothing else was created in its data directory"
assert_eq admin-token "$(ls "$T/tok644")" "files in the data directory"
pass
printf 'a-token-of-my-own\n' | edge_token tok640 640
says "edge, admin-token of mode 0640 (group may read it): does not start, exit 1" 1 \
  "burrow: edge: $T/tok640/admin-token can be read or written by group or others (mode 0640): run chmod 600 $T/tok640/admin-token" \
  -- edge --data-dir "$T/tok640" "${EDGE_ARGS[@]}"
edge_token tokempty 600 </dev/null
says "edge, empty admin-token: does not start, exit 1" 1 \
  "burrow: edge: $T/tokempty/admin-token is empty: it must hold the admin token" \
  -- edge --data-dir "$T/tokempty" "${EDGE_ARGS[@]}"
printf '%s\n' "$(printf 'k%.0s' $(seq 1 4097))" | edge_token toklong 600
says "edge, admin-token longer than 4096 bytes: does not start, exit 1" 1 \
  "burrow: edge: $T/toklong/admin-token is longer than 4096 bytes: it must hold only the admin token and at most one newline" \
  -- edge --data-dir "$T/toklong" "${EDGE_ARGS[@]}"
printf 'two words\n' | edge_token tokspace 600
says "edge, admin-token with a space in it: does not start, exit 1" 1 \
  "burrow: edge: $T/tokspace/admin-token holds a space, control character or non-ASCII byte: it must hold only the admin token and at most one newline" \
  -- edge --data-dir "$T/tokspace" "${EDGE_ARGS[@]}"
printf 'a-token\n\n' | edge_token tok2nl 600
says "edge, admin-token with two newlines after it: does not start, exit 1" 1 \
  "burrow: edge: $T/tok2nl/admin-token holds a space, control character or non-ASCII byte: it must hold only the admin token and at most one newline" \
  -- edge --data-dir "$T/tok2nl" "${EDGE_ARGS[@]}"

# readable_creds MODE: starts a connector with the credentials file at MODE; waits until it logged
# its start; writes the warnings it logged about the file to $T/warn-MODE.
readable_creds() {
  local log=$LOGS/connector-$1.log pid
  cp "$T/creds.json" "$T/creds-$1.json"
  chmod "$1" "$T/creds-$1.json"
  spawn "connector-$1" "$BURROW" tunnel run --credentials-file "$T/creds-$1.json" --hostname ssh.site.test \
    --url ssh://localhost --edge "127.0.0.1:$CLOSED_PORT" --ha-connections 1 --logfile "$log" --loglevel info
  pid=$BG_PID
  wait_for 10 grep -q 'connector for tunnel t starting' "$log" || fail "the connector did not start: $(tail -n 2 "$LOGS/connector-$1.err")"
  _alive "$pid" || fail "the connector exited: $(tail -n 2 "$LOGS/connector-$1.err")"
  stop_pid "$pid"
  grep -F "credentials file $T/creds-$1.json" "$log" | sed 's/^.*warn tunnel\[[0-9]*\]: //' >"$T/warn-$1" || true
}
test_case "connector, credentials file mode 0644: warns 'chmod 600 it' and runs"
readable_creds 644
assert_eq "credentials file $T/creds-644.json is readable by others; chmod 600 it" "$(cat "$T/warn-644")" "warning in the log"
pass
test_case "connector, credentials file mode 0600: no warning"
readable_creds 600
assert_eq "" "$(cat "$T/warn-600")" "warning in the log"
pass
