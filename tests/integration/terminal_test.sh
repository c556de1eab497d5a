#!/usr/bin/env bash
# refpos-terminal end to end: the real executable, the real librefpos.so, a
# fresh store in a temporary folder.
#
#   terminal_test.sh TERMINAL PLUGIN SOURCE_DIR [day|cli|interactive|all]
#
#   day          runs assets/demo/day.jsonl and checks the day's outcomes:
#                a code issued, redeemed with a discount, the referrer
#                credited, a retried commit answering the same, a typo
#                caught, a void reversing it all; receipts and the event log.
#   cli          flags and exit codes: --help/--version 0, unknown flag 2,
#                missing or bad config 2, bad script 2 (nothing run), a step
#                with the wrong "expect" 1 with the error on stderr, a plugin
#                that cannot be loaded 3; env vars; a script from stdin.
#   interactive  the prompt driven through a pipe.
set -euo pipefail

if (($# < 3)); then
  echo "usage: $0 TERMINAL PLUGIN SOURCE_DIR [day|cli|interactive|all]" >&2
  exit 2
fi
terminal=$1
plugin=$2
source_dir=$3
part=${4:-all}

work=$(mktemp -d "${TMPDIR:-/tmp}/refpos_terminal_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# A config from the demo template, for a store in $work/<name>.
make_config() {
  local name=$1
  sed -e "s|@DATA_DIR@|$work/$name/store|" \
      -e "s|@SECRET_HEX@|00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff|" \
      "$source_dir/assets/demo/store-config.json" >"$work/$name.json"
  echo "$work/$name.json"
}

# Runs the terminal without the caller's REFPOS_* variables; sets $rc,
# output in $work/out and $work/err.
run_terminal() {
  set +e
  env -u REFPOS_CONFIG -u REFPOS_PLUGIN "$terminal" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
}

expect_rc() {
  local want=$1 what=$2
  if [[ $rc != "$want" ]]; then
    fail "$what: exit code $rc, expected $want"
    sed 's/^/  stderr: /' "$work/err" >&2
  fi
}

expect_in() {
  local file=$1 pattern=$2 what=$3
  grep -qF -- "$pattern" "$file" || fail "$what: '$pattern' not in $(basename "$file")"
}

# The pretty JSON answer of the step saved as NAME in the day's output.
answer_of() {
  awk -v name="$1" '
    index($0, "=== ") == 1 { in_step = index($0, ", as " name ",") > 0; json = 0; next }
    in_step && $0 == "{" { json = 1 }
    in_step && json { print }
    in_step && json && $0 == "}" { exit }
  ' "$work/day.out"
}

expect_answer() {
  local name=$1 pattern=$2
  answer_of "$name" | grep -qF -- "$pattern" || fail "answer '$name' lacks $pattern"
}

test_day() {
  local config
  config=$(make_config day)
  run_terminal --plugin "$plugin" --config "$config" \
    --script "$source_dir/assets/demo/day.jsonl" --receipts "$work/receipts"
  cp "$work/out" "$work/day.out"
  expect_rc 0 "day.jsonl"

  # Alice buys and gets a code.
  expect_answer alice_buys '"normalized": "'
  expect_answer alice_buys '"redemption": null'
  # Bob, new, previews then commits with it: 20 % of 145.00.
  expect_answer bob_preview '"status": "accepted"'
  expect_answer bob_preview '"discount_minor": 2900'
  expect_answer bob_buys '"discount_minor": 2900'
  expect_answer bob_buys '"total_minor": 11600'
  expect_answer bob_buys '"settled": "store"'
  # The retried commit answers exactly the same.
  if [[ -z $(answer_of bob_buys) ]] || ! diff <(answer_of bob_buys) <(answer_of bob_retry) >/dev/null; then
    fail "the retried commit did not answer the same as the first"
  fi
  # Alice's credit appears.
  expect_answer alice_credited '"balance_minor": 1000'
  # The typo is caught as a typo.
  expect_in "$work/day.out" "status: CODE_REJECTED (as expected)" "typo step"
  expect_answer carol_typo '"reason": "mistyped"'
  # The void reverses what the sale granted.
  expect_answer bob_void '"reversed_discount_minor": 2900'
  expect_answer bob_void '"reversed_referrer_reward_minor": 1000'
  expect_answer bob_void '"revoked_code": "'
  expect_answer alice_after_void '"balance_minor": 0'
  expect_answer bob_after_void '"revoked": true'
  expect_in "$work/day.out" "9 steps, each returned what it expected" "day summary"

  # Receipts: one per transaction, with the plugin's lines.
  [[ -f $work/receipts/T-1001.txt ]] || fail "no receipt T-1001.txt"
  [[ -f $work/receipts/T-1002.txt ]] || fail "no receipt T-1002.txt"
  if [[ -f $work/receipts/T-1002.txt ]]; then
    expect_in "$work/receipts/T-1002.txt" "TOTAL USD" "receipt T-1002"
    expect_in "$work/receipts/T-1002.txt" "116.00" "receipt T-1002"
    expect_in "$work/receipts/T-1002.txt" "Referral discount, JACKET-RAIN" "receipt T-1002"
    expect_in "$work/receipts/T-1002.txt" "Your referral code:" "receipt T-1002"
  fi

  # The event log: gap-free from 1 (sale 3, redemption 5, void 3 events).
  local db=$work/day/store/refpos.db
  [[ -f $db ]] || fail "no database at $db"
  if [[ -f $db ]] && command -v sqlite3 >/dev/null; then
    local seqs
    seqs=$(sqlite3 "$db" 'SELECT count(*) || " " || min(seq) || " " || max(seq) FROM events')
    [[ $seqs == "11 1 11" ]] || fail "events: count/min/max '$seqs', expected '11 1 11'"
  fi
}

test_cli() {
  local config
  config=$(make_config cli)

  run_terminal --help
  expect_rc 0 "--help"
  expect_in "$work/out" "Usage:" "--help"
  expect_in "$work/out" "--script" "--help"

  run_terminal --version
  expect_rc 0 "--version"
  expect_in "$work/out" "refpos-terminal" "--version"

  run_terminal --config "$config" --no-such-flag
  expect_rc 2 "unknown flag"
  expect_in "$work/err" "--no-such-flag" "unknown flag"

  run_terminal --plugin "$plugin"
  expect_rc 2 "no --config"
  expect_in "$work/err" "--config" "no --config"

  run_terminal --plugin "$plugin" --config "$work/no-such-config.json"
  expect_rc 2 "missing config file"
  expect_in "$work/err" "no-such-config.json" "missing config file"

  echo '{"store_id": ' >"$work/broken.json"
  run_terminal --plugin "$plugin" --config "$work/broken.json"
  expect_rc 2 "config not JSON"

  echo '{"store_id": "s"}' >"$work/incomplete.json"
  run_terminal --plugin "$plugin" --config "$work/incomplete.json" --script - </dev/null
  expect_rc 2 "config refused by the plugin"
  expect_in "$work/err" "CONFIG" "config refused by the plugin"

  run_terminal --plugin "$work/no-such-plugin.so" --config "$config"
  expect_rc 3 "plugin missing"
  # A library that is not a refpos plugin (libm has no refpos_get_api).
  run_terminal --plugin libm.so.6 --config "$config"
  expect_rc 3 "not a refpos plugin"
  expect_in "$work/err" "refpos_get_api" "not a refpos plugin"

  # A broken script is refused before anything runs: no store is created.
  printf '%s\n' '{"op":"customer","request":{"customer_id":"a"}}' '{"op":"dance"}' \
    >"$work/bad-op.jsonl"
  run_terminal --plugin "$plugin" --config "$config" --script "$work/bad-op.jsonl"
  expect_rc 2 "unknown op"
  expect_in "$work/err" "bad-op.jsonl:2" "unknown op"
  [[ ! -e $work/cli/store ]] || fail "a refused script still opened the store"

  # shellcheck disable=SC2016  # ${...} is the script's placeholder, not bash's
  echo '{"op":"preview","request":{"code":"${nobody.code}"}}' >"$work/bad-ref.jsonl"
  run_terminal --plugin "$plugin" --config "$config" --script "$work/bad-ref.jsonl"
  expect_rc 2 "placeholder naming no step"

  # A step that does not return its "expect": exit 1, the plugin's message
  # on stderr (terminal_id is required).
  printf '%s\n' '# a comment' '' \
    '{"op":"commit","request":{"txn_id":"X-1","currency":"USD","lines":[{"sku":"A","quantity":1,"unit_price_minor":100}]}}' \
    '{"op":"echo","text":"never reached"}' >"$work/wrong-expect.jsonl"
  run_terminal --plugin "$plugin" --config "$config" --script "$work/wrong-expect.jsonl"
  expect_rc 1 "wrong expect"
  expect_in "$work/err" "expected OK, got BAD_REQUEST" "wrong expect"
  expect_in "$work/err" "terminal_id" "wrong expect"
  if grep -qF "never reached" "$work/out"; then fail "the run went on after a failed step"; fi

  # An expected failure is a success; a script from stdin; env vars.
  # shellcheck disable=SC2016  # ${...} is the script's placeholder, not bash's
  printf '%s\n' \
    '{"op":"customer","as":"zed","request":{"customer_id":"zed"}}' \
    '{"op":"issue_code","expect":"BAD_REQUEST","request":{"customer_id":"${zed.customer_id}"}}' \
    >"$work/stdin.jsonl"
  set +e
  REFPOS_PLUGIN=$plugin REFPOS_CONFIG=$config "$terminal" --script - --quiet \
    <"$work/stdin.jsonl" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  expect_rc 0 "script on stdin with env vars"
  if grep -qF '"known"' "$work/out"; then fail "--quiet still printed answers"; fi
  expect_in "$work/out" "status: BAD_REQUEST (as expected)" "script on stdin"
}

test_interactive() {
  local config
  config=$(make_config interactive)
  printf '%s\n' 'help' 'customer alice' 'line SKU-1 shoes 2 2500' 'show' 'preview' \
    'pay I-1' 'lookup alice' 'line X y notanumber 1' 'frobnicate' \
    'customer bob' 'line SKU-2 shoes 1 6000' 'code 124G-73KM-9Q2W-P4HC' 'preview' 'quit' \
    >"$work/commands"
  run_terminal --plugin "$plugin" --config "$config" --cashier-id c9 --receipts "$work/irc" \
    <"$work/commands"
  expect_rc 0 "interactive"
  expect_in "$work/out" "refpos> " "interactive prompt"
  expect_in "$work/out" "pay TXN_ID" "interactive help"
  expect_in "$work/out" "subtotal: 50.00 USD" "interactive show"
  expect_in "$work/out" "TOTAL USD" "interactive receipt"
  expect_in "$work/out" "alice: balance 0.00 USD" "interactive lookup"
  expect_in "$work/out" "Code 124G-73KM-9Q2W-P4HC: rejected" "interactive rejected code"
  expect_in "$work/err" "must be integers" "interactive bad line"
  expect_in "$work/err" "unknown command" "interactive unknown command"
  expect_in "$work/err" "CODE_REJECTED" "interactive rejected code"
  [[ -f $work/irc/I-1.txt ]] || fail "no receipt I-1.txt"
  if [[ -f $work/irc/I-1.txt ]]; then expect_in "$work/irc/I-1.txt" "Cashier c9" "receipt I-1"; fi
}

case $part in
  day) test_day ;;
  cli) test_cli ;;
  interactive) test_interactive ;;
  all) test_day; test_cli; test_interactive ;;
  *) echo "unknown part '$part'" >&2; exit 2 ;;
esac

if ((failures > 0)); then
  echo "terminal_test ($part): $failures check(s) failed" >&2
  exit 1
fi
echo "terminal_test ($part): all checks passed"
