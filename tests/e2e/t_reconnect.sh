#!/usr/bin/env bash
# The edge dies (SIGKILL) and comes back on the same data dir and ports: the connector registers
# again on its own within 5 s, new sessions work, and the edge's state, CA and admin token survived.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
host=$SSH_USER@ssh.site.test

test_case "ssh works before the edge dies"
out=$(bssh "$host" 'echo ok') || fail "ssh exited $?"
assert_eq ok "$out" "remote output"
pass

ca_before=$(sha "$EDGE_DIR/ca.pem")
token_before=$BURROW_ADMIN_TOKEN
before=$(registered_count host1)

test_case "connector registers again within 5 s of the edge coming back"
stop_pid "$EDGE_PID" KILL
sleep 1 # the outage itself: the connector sees its connections drop and starts redialling
start_edge
wait_for 5 _registered_at_least host1 $((before + 1)) ||
  fail "no new 'registered connection' within 5 s of the edge listening again"
pass

test_case "all 4 HA connections come back"
wait_for 10 _registered_at_least host1 $((before + 4)) ||
  fail "$(($(registered_count host1) - before)) of 4 connections registered again after 15 s"
pass

test_case "a new ssh session works after the restart"
out=$(bssh "$host" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass

test_case "CA and admin token are the same after the restart"
assert_eq "$ca_before" "$(sha "$EDGE_DIR/ca.pem")" "sha256 of ca.pem"
assert_eq "$token_before" "$(cat "$EDGE_DIR/admin-token")" "admin-token"
pass

test_case "app, service token and tunnel are still listed"
assert_contains "$(admin app list)" "ssh.site.test" "burrow admin app list"
assert_contains "$(admin service-token list)" "$ID" "burrow admin service-token list"
assert_contains "$(admin tunnel list)" "host1" "burrow admin tunnel list"
pass
