# login.sh — a person's browser login to a burrow edge, done with curl (for bench/run, where a real
# browser would only add noise; tests/e2e/t_sso_local.sh logs in with Chromium).
# shellcheck shell=bash

# curl_login URL EMAIL PASSWORD JAR [CURL ARGS...]: opens the URL `burrow access login` printed,
# logs in with the built-in provider's form and allows the command line; 0 when the last page says
# "Logged in". CURL ARGS: --resolve, --cacert and the like.
curl_login() {
  local url=$1 email=$2 pw=$3 jar=$4
  shift 4
  local c=(curl -s --max-time 20 -c "$jar" -b "$jar" "$@") page origin csrf ret host transfer key
  _field() { printf '%s' "$page" | grep -o "name=\"$1\" value=\"[^\"]*\"" | cut -d'"' -f4 | sed 's/&amp;/\&/g'; }
  page=$("${c[@]}" -L -w '\n%{url_effective}' "$url") || return 1
  origin=$(printf '%s' "$page" | tail -n 1)
  origin=${origin%%/cdn-cgi/*}
  csrf=$(_field csrf) ret=$(_field return)
  [ -n "$csrf" ] || return 1
  page=$("${c[@]}" -L --data-urlencode "csrf=$csrf" --data-urlencode "return=$ret" --data-urlencode "email=$email" \
    --data-urlencode "password=$pw" "$origin/cdn-cgi/access/login") || return 1
  csrf=$(_field csrf) host=$(_field host) transfer=$(_field transfer) key=$(_field key)
  [ -n "$transfer" ] || return 1
  page=$("${c[@]}" --data-urlencode "csrf=$csrf" --data-urlencode "host=$host" --data-urlencode "transfer=$transfer" \
    --data-urlencode "key=$key" "$origin/cdn-cgi/access/cli") || return 1
  printf '%s' "$page" | grep -q '<h1>Logged in</h1>'
}
