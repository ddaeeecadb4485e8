#!/usr/bin/env bash
# Origin URLs without a port use the scheme's port (src/tunnel/ingress.c): one connector with
# --hostname ssh.site.test --url ssh://ADDR reaches an sshd listening on ADDR:22 only, and with
# --hostname rdp.site.test --url rdp://ADDR2 an echo server on ADDR2:3389 only (two otherwise unused
# loopback addresses, so nothing else could answer). ssh through burrow runs a command and downloads a
# file intact; bytes sent through `burrow access rdp` (access tcp by cloudflared's other name) to the
# rdp origin come back intact (sha256).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_burrow
[ "$(id -u)" -eq 0 ] || skip "sshd must listen on port 22, which needs root"

# port_taken ADDR PORT: something listens on ADDR:PORT or on PORT of every address (which would keep
# a listener on ADDR:PORT from binding, or take its connections).
port_taken() {
  ss -Htln 2>/dev/null | awk -v a="$1:$2" -v p=":$2" '
    { l = $4; if (l == a || l == "0.0.0.0" p || l == "*" p || l == "[::]" p) f = 1 } END { exit !f }'
}
# unused_addr PORT: prints a loopback address 127.0.X.Y on which nothing listens on PORT.
unused_addr() {
  local a _
  for _ in $(seq 1 20); do
    a=127.0.$((100 + RANDOM % 100)).$((2 + RANDOM % 250))
    if ! port_taken "$a" "$1" && [ -z "$(ss -Htan "( src $a )" 2>/dev/null)" ]; then
      echo "$a"
      return 0
    fi
  done
  return 1
}
for p in 22 3389; do
  ! port_taken 127.0.0.254 "$p" || skip "port $p is taken on every address (a wildcard listener): no address left for the origin"
done
SSH_ADDR=$(unused_addr 22) || skip "no loopback address without a listener on port 22"
RDP_ADDR=$(unused_addr 3389) || skip "no loopback address without a listener on port 3389"
[ "$SSH_ADDR" != "$RDP_ADDR" ] || RDP_ADDR=$(unused_addr 3389) || skip "no second loopback address"
step "sshd on $SSH_ADDR:22, rdp echo origin on $RDP_ADDR:3389"

# sshd on SSH_ADDR:22 alone (lib_sshd's config, its ListenAddress lines replaced).
sshd_setup "$T/sshd" 22 >>"$LOGS/sshd.err" 2>&1 || fail "sshd setup failed: $(tail -n 2 "$LOGS/sshd.err")"
sed -i '/^ListenAddress /d' "$T/sshd/sshd_config"
echo "ListenAddress $SSH_ADDR:22" >>"$T/sshd/sshd_config"
"$SSHD_BIN" -t -f "$T/sshd/sshd_config" 2>>"$LOGS/sshd.err" || fail "sshd config: $(tail -n 2 "$LOGS/sshd.err")"
spawn sshd "${SSHD_CMD[@]}"
SSHD_PID=$BG_PID
wait_for 10 port_open 22 "$SSH_ADDR" || fail "sshd not listening on $SSH_ADDR:22: $(tail -n 2 "$LOGS/sshd.err")"
_alive "$SSHD_PID" || fail "sshd exited: $(tail -n 2 "$LOGS/sshd.err")"
SSH_KEY=$T/sshd/id_ed25519

# the rdp origin: an echo server on RDP_ADDR:3389
cat >"$T/echo_at.py" <<'EOF'
import asyncio, sys
async def handle(r, w):
    try:
        while True:
            d = await r.read(65536)
            if not d:
                break
            w.write(d)
            await w.drain()
    except ConnectionError:
        pass
    finally:
        w.close()
async def main(host, port):
    s = await asyncio.start_server(handle, host, port)
    async with s:
        await s.serve_forever()
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
EOF
spawn rdp-echo "$PYTHON" "$T/echo_at.py" "$RDP_ADDR" 3389
wait_for 10 port_open 3389 "$RDP_ADDR" || fail "echo origin not listening on $RDP_ADDR:3389: $(tail -n 2 "$LOGS/rdp-echo.err")"

start_edge
setup_service_token ci ssh ssh.site.test
admin app create --name rdp --hostname rdp.site.test >/dev/null
admin policy add --app rdp --action service_auth --include service-token=ci >/dev/null
# One connector, two --hostname/--url pairs: each hostname must reach its own origin.
create_tunnel host1 ssh.site.test rdp.site.test
spawn connector-host1 "$BURROW" tunnel run --credentials-file "$T/host1.json" \
  --hostname ssh.site.test --url "ssh://$SSH_ADDR" --hostname rdp.site.test --url "rdp://$RDP_ADDR" \
  --edge "127.0.0.1:$EDGE_TUNNEL_PORT" --ha-connections 1 --logfile "$LOGS/connector-host1.log" --loglevel "$LOGLEVEL"
CONNECTOR_PIDS[host1]=$BG_PID
wait_for 10 _registered_at_least host1 1 || fail "connector not registered within 10 s"
ssh_cfg

test_case "--url ssh://ADDR (no port): ssh through burrow reaches the sshd on port 22"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass

test_case "--url ssh://ADDR: a 2 MiB download arrives intact (sha256)"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/blob"
bssh "$SSH_USER@ssh.site.test" "cat $(printf '%q' "$T/blob")" >"$T/blob.ssh" || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq "$(sha "$T/blob")" "$(sha "$T/blob.ssh")" "sha256 of the download ($(stat -c %s "$T/blob.ssh") bytes)"
pass

test_case "--url rdp://ADDR (no port): 1 MiB through burrow access rdp to the origin on port 3389 comes back intact"
LPORT=$(free_port)
# `access rdp` is `access tcp` under cloudflared's other name
spawn access "$BURROW" access rdp --hostname rdp.site.test --url "127.0.0.1:$LPORT" --id "$ID" --secret "$SECRET"
wait_for 10 port_open "$LPORT" || fail "burrow access rdp not listening"
head -c $((1024 * 1024)) /dev/urandom >"$T/rdp.in"
exec 7<>"/dev/tcp/127.0.0.1/$LPORT"
cat "$T/rdp.in" >&7 &
writer=$!
timeout 20 head -c $((1024 * 1024)) <&7 >"$T/rdp.out" || true
wait "$writer" || true
exec 7>&-
assert_eq "$(sha "$T/rdp.in")" "$(sha "$T/rdp.out")" "sha256 of what came back ($(stat -c %s "$T/rdp.out") bytes)"
pass

test_case "the connector logged no origin failure"
n=$(grep -c "origin .* for " "$LOGS/connector-host1.log" || true)
assert_eq 0 "$n" "origin failures in the connectors' logs"
pass
