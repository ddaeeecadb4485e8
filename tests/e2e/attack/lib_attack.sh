#!/usr/bin/env bash
# Shared by tests/e2e/t_attack_*.sh (sourced after lib.sh and start_stack).
# shellcheck disable=SC2034 # REASON is read by the sourcing test

REASON=""

# attack ARGS...: the raw attacker client (tests/e2e/attack/edge_attack.py).
attack() { "$PYTHON" "$E2E_DIR/attack/edge_attack.py" "$@" 2>>"$LOGS/attack.err"; }

# serving: the edge is alive and a normal ssh session through it works. Sets REASON when not.
serving() {
  local out
  if ! _alive "$EDGE_PID"; then
    REASON="the edge died: $(tail -n 3 "$LOGS/edge.err" | tr '\n' '|')"
    return 1
  fi
  if ! out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok'); then
    REASON="ssh through the edge failed afterwards: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
    return 1
  fi
  [ "$out" = ok ] || { REASON="ssh through the edge printed '$out' afterwards"; return 1; }
}
