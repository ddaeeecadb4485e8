#!/usr/bin/env bash
# git over ssh through burrow: clone a bare repo, push a commit, and see it in a fresh clone.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
git init -q --bare -b main "$T/remote/repo.git"
export GIT_SSH_COMMAND="ssh -F $SSH_CFG"
url="$SSH_USER@ssh.site.test:$T/remote/repo.git"
git_() { timeout --foreground "$SSH_TIMEOUT" git "$@" 2>>"$LOGS/git.err"; }

test_case "git clone over ssh through burrow"
git_ clone -q "$url" "$T/work" || fail "git clone exited $?: $(tail -n 3 "$LOGS/git.err")"
[ -d "$T/work/.git" ] || fail "no work tree after clone"
pass

test_case "git push over ssh through burrow lands the commit in the remote repo"
echo "pushed through burrow $RANDOM" >"$T/work/README"
head -c 2M /dev/urandom >"$T/work/blob.bin"
git -C "$T/work" add README blob.bin
git -C "$T/work" commit -qm "first commit through burrow"
git_ -C "$T/work" push -q origin HEAD:refs/heads/main || fail "git push exited $?: $(tail -n 3 "$LOGS/git.err")"
assert_eq "first commit through burrow" "$(git --git-dir="$T/remote/repo.git" log -1 --format=%s main)" "remote main"
assert_eq "$(git -C "$T/work" rev-parse HEAD)" "$(git --git-dir="$T/remote/repo.git" rev-parse main)" "remote main commit"
pass

test_case "a fresh clone through burrow has the pushed commit and files"
git_ clone -q -b main "$url" "$T/work2" || fail "second git clone exited $?: $(tail -n 3 "$LOGS/git.err")"
assert_eq "$(git -C "$T/work" rev-parse HEAD)" "$(git -C "$T/work2" rev-parse HEAD)" "HEAD of the fresh clone"
assert_eq "$(cat "$T/work/README")" "$(cat "$T/work2/README")" "README"
assert_eq "$(sha "$T/work/blob.bin")" "$(sha "$T/work2/blob.bin")" "sha256 of blob.bin"
pass

test_case "git ls-remote through burrow lists main"
out=$(git_ ls-remote "$url") || fail "git ls-remote exited $?"
assert_contains "$out" "$(git -C "$T/work" rev-parse HEAD)	refs/heads/main" "ls-remote"
pass
