#!/usr/bin/env bash
# refpos-terminal end to end: the real executable, the real librefpos.so, a
# fresh store in a temporary folder.
#
#   terminal_test.sh TERMINAL PLUGIN SOURCE_DIR [day|cli|interactive|printer|all]
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
#   printer      --receipts (.txt, .escpos, .png, coupon .png/.svg, every QR
#                decoded with zbarimg) and --printer against a local stand-in
#                for a network printer (PRINT_LISTENER: records, drops,
#                stalls, or a closed port), a plain file and a FIFO as
#                devices, bad targets, reprint, exit code 4, and an ABI 1.0
#                plugin (ABI10_PLUGIN) that cannot render.
set -euo pipefail

if (($# < 3)); then
  echo "usage: $0 TERMINAL PLUGIN SOURCE_DIR [day|cli|interactive|printer|all]" >&2
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
  # Not grep -q: it would stop reading at the first match, and under pipefail
  # the writer's SIGPIPE would then fail the check at random.
  answer_of "$name" | grep -F -- "$pattern" >/dev/null || fail "answer '$name' lacks $pattern"
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

  # The loop's named operations through the call slot: Alice's consent and
  # her friend's lead, on the same store, kept only sealed.
  run_terminal --plugin "$plugin" --config "$config" \
    --script "$source_dir/assets/demo/consents-store-001.jsonl" --receipts "$work/receipts"
  expect_rc 0 "consents-store-001.jsonl"
  expect_in "$work/out" "2 steps, each returned what it expected" "consents summary"
  if [[ -f $db ]] && command -v sqlite3 >/dev/null; then
    local sealed
    sealed=$(sqlite3 "$db" "SELECT count(*) FROM events WHERE type IN ('contact_consented', 'lead_captured') AND instr(body, 'example.com') = 0 AND instr(body, '555') = 0")
    [[ $sealed == "2" ]] || fail "contact and lead: '$sealed' sealed events, expected 2"
  fi
}

test_cli() {
  local config
  config=$(make_config cli)

  run_terminal --help
  expect_rc 0 "--help"
  expect_in "$work/out" "Usage:" "--help"
  expect_in "$work/out" "--script" "--help"
  expect_in "$work/out" "--printer" "--help"
  expect_in "$work/out" "4 committed, but a receipt could not be printed" "--help"

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

# ---- printer: --receipts files and --printer ---------------------------------

# Starts "$PRINT_LISTENER MODE CONNECTIONS OUT_FILE" in the background and
# reads the port it prints (no sleeping: the read returns once it listens).
# Sets $listener_pid and $listener_port.
start_listener() {
  exec {listener_fd}< <(exec "$PRINT_LISTENER" "$@")
  listener_pid=$!
  listener_port=
  read -r listener_port <&"$listener_fd" || true
  exec {listener_fd}<&-
  [[ -n $listener_port ]] || fail "print_listener $1 printed no port"
}

# Waits for the listener to exit (record and close modes exit by
# themselves once they have served their connections).
wait_listener() {
  wait "$listener_pid" || fail "print_listener exited with $?"
}

stop_listener() {
  kill "$listener_pid" 2>/dev/null || true
  wait "$listener_pid" 2>/dev/null || true
}

# A commit request line for the script: TXN CUSTOMER [CART_LINES].
commit_step() {
  local txn=$1 customer=$2 count=${3:-2} lines="" i
  for ((i = 1; i <= count; i++)); do
    lines+="${lines:+,}{\"sku\":\"SKU-$i\",\"category\":\"shoes\",\"quantity\":1,\"unit_price_minor\":$((1000 + i))}"
  done
  printf '{"op":"commit","as":"%s","request":{"txn_id":"%s","terminal_id":"till-1","customer_id":"%s","currency":"USD","lines":[%s]}}\n' \
    "${txn//-/_}" "$txn" "$customer" "$lines"
}

# The share_link of the code issued to the step saved as NAME in FILE (the
# terminal's output of a script run).
share_link_of() {
  local file=$1 name=$2
  awk -v name="$name" '
    index($0, "=== ") == 1 { in_step = index($0, ", as " name ",") > 0; next }
    in_step && /"share_link": "/ { sub(/.*"share_link": "/, ""); sub(/".*/, ""); print; exit }
  ' "$file"
}

# zbarimg must read exactly LINK from PNG.
expect_qr() {
  local png=$1 link=$2 decoded
  if [[ ! -s $png ]]; then
    fail "no $(basename "$png")"
    return
  fi
  decoded=$(zbarimg --raw -q "$png" 2>/dev/null) || true
  [[ $decoded == "$link" ]] || fail "$(basename "$png") decodes to '$decoded', expected '$link'"
}

# Every file of a sale that issued a code, and both QR codes.
expect_receipt_files() {
  local dir=$1 txn=$2 link=$3 ext
  for ext in .txt .escpos .png; do
    [[ -s $dir/$txn$ext ]] || fail "no $txn$ext in $(basename "$dir")"
  done
  for ext in .png .svg; do
    [[ -s $dir/coupons/$txn$ext ]] || fail "no coupons/$txn$ext in $(basename "$dir")"
  done
  [[ -n $link ]] || fail "no share_link for $txn"
  expect_qr "$dir/$txn.png" "$link"
  expect_qr "$dir/coupons/$txn.png" "$link"
  expect_in "$dir/coupons/$txn.svg" "<svg" "coupons/$txn.svg"
  if compgen -G "$dir/.*partial*" >/dev/null; then fail "a temporary receipt file was left in $dir"; fi
}

# FILE must hold exactly the concatenation of the other files.
expect_same_bytes() {
  local got=$1 what=$2
  shift 2
  if ! cmp -s "$got" <(cat "$@"); then
    fail "$what: the printer got $(wc -c <"$got") bytes, not exactly $(cat "$@" | wc -c) of $*"
  fi
}

test_printer_network() {
  local config
  config=$(make_config net)
  # A sale, its retry (the same answer, so the same receipt printed again)
  # and a reprint: three identical jobs.
  { commit_step P-1 alice
    commit_step P-1 alice
    echo '{"op":"reprint","request":{"txn_id":"P-1"}}'
    echo '{"op":"reprint","expect":"NOT_FOUND","request":{"txn_id":"P-404"}}'
  } >"$work/net.jsonl"
  start_listener record 3 "$work/net.printed"
  run_terminal --plugin "$plugin" --config "$config" --script "$work/net.jsonl" \
    --receipts "$work/net-rc" --printer "tcp://127.0.0.1:$listener_port"
  cp "$work/out" "$work/net.out"
  expect_rc 0 "network printer"
  wait_listener
  expect_receipt_files "$work/net-rc" P-1 "$(share_link_of "$work/net.out" P_1)"
  if [[ -s $work/net-rc/P-1.escpos ]]; then
    expect_same_bytes "$work/net.printed" "network printer" \
      "$work/net-rc/P-1.escpos" "$work/net-rc/P-1.escpos" "$work/net-rc/P-1.escpos"
  fi
  [[ ! -e $work/net-rc/P-404.txt ]] || fail "a reprint of an unknown txn wrote a receipt"

  # Nothing listens: every print fails, every sale stands, the run goes on.
  config=$(make_config refused)
  start_listener closed-port 0 /dev/null
  wait_listener
  { commit_step P-2 bob
    commit_step P-2 bob
  } >"$work/refused.jsonl"
  run_terminal --plugin "$plugin" --config "$config" --script "$work/refused.jsonl" \
    --receipts "$work/refused-rc" --printer "tcp://127.0.0.1:$listener_port"
  cp "$work/out" "$work/refused.out"
  expect_rc 4 "refused printer"
  expect_in "$work/err" "printer tcp://127.0.0.1:$listener_port" "refused printer"
  expect_in "$work/err" 'txn "P-2" was not printed: connection refused' "refused printer"
  expect_in "$work/err" 'reprint P-2' "refused printer"
  expect_in "$work/refused.out" "2 steps, each returned what it expected" "refused printer"
  expect_receipt_files "$work/refused-rc" P-2 "$(share_link_of "$work/refused.out" P_2)"
  if ! diff <(answer_in "$work/refused.out" P_2 1) <(answer_in "$work/refused.out" P_2 2) >/dev/null ||
    [[ -z $(answer_in "$work/refused.out" P_2 1) ]]; then
    fail "refused printer: the retried commit did not answer the same"
  fi

  # A printer that drops the connection, one that stops taking data: a
  # cart long enough that the receipt cannot hide in the socket buffers.
  config=$(make_config dropped)
  commit_step P-3 carol 40 >"$work/dropped.jsonl"
  start_listener close 1 /dev/null
  run_terminal --plugin "$plugin" --config "$config" --script "$work/dropped.jsonl" \
    --receipts "$work/dropped-rc" --printer "tcp://127.0.0.1:$listener_port"
  cp "$work/out" "$work/dropped.out"
  expect_rc 4 "printer that drops the connection"
  expect_in "$work/err" "dropped the connection" "printer that drops the connection"
  wait_listener
  expect_receipt_files "$work/dropped-rc" P-3 "$(share_link_of "$work/dropped.out" P_3)"

  config=$(make_config stalled)
  commit_step P-4 dave 40 >"$work/stalled.jsonl"
  start_listener stall 1 /dev/null
  run_terminal --plugin "$plugin" --config "$config" --script "$work/stalled.jsonl" \
    --receipts "$work/stalled-rc" --printer "tcp://127.0.0.1:$listener_port" \
    --printer-timeout-ms 300
  cp "$work/out" "$work/stalled.out"
  stop_listener
  expect_rc 4 "printer that takes no data"
  expect_in "$work/err" "took no data for 300 ms" "printer that takes no data"
  expect_receipt_files "$work/stalled-rc" P-4 "$(share_link_of "$work/stalled.out" P_4)"
}

# The Nth pretty JSON answer of the steps saved as NAME in FILE.
answer_in() {
  awk -v name="$2" -v want="$3" '
    index($0, "=== ") == 1 { in_step = index($0, ", as " name ",") > 0; json = 0; if (in_step) n++; next }
    in_step && n == want && $0 == "{" { json = 1 }
    in_step && n == want && json { print }
    in_step && n == want && json && $0 == "}" { exit }
  ' "$1"
}

test_printer_devices() {
  local config
  # A plain file as the device collects every receipt, in order.
  config=$(make_config file)
  { commit_step D-1 erin; commit_step D-2 frank; } >"$work/file.jsonl"
  : >"$work/lp0"
  run_terminal --plugin "$plugin" --config "$config" --script "$work/file.jsonl" \
    --receipts "$work/file-rc" --printer "$work/lp0"
  cp "$work/out" "$work/file.out"
  expect_rc 0 "file as printer device"
  expect_receipt_files "$work/file-rc" D-1 "$(share_link_of "$work/file.out" D_1)"
  expect_receipt_files "$work/file-rc" D-2 "$(share_link_of "$work/file.out" D_2)"
  if [[ -s $work/file-rc/D-2.escpos ]]; then
    expect_same_bytes "$work/lp0" "file as printer device" \
      "$work/file-rc/D-1.escpos" "$work/file-rc/D-2.escpos"
  fi

  # A FIFO: what a reader on the other side gets.
  config=$(make_config fifo)
  commit_step F-1 gina >"$work/fifo.jsonl"
  mkfifo "$work/lp1"
  cat "$work/lp1" >"$work/fifo.printed" &
  local reader=$!
  run_terminal --plugin "$plugin" --config "$config" --script "$work/fifo.jsonl" \
    --receipts "$work/fifo-rc" --printer "$work/lp1"
  cp "$work/out" "$work/fifo.out"
  expect_rc 0 "FIFO as printer device"
  wait "$reader" || fail "the FIFO's reader failed"
  expect_receipt_files "$work/fifo-rc" F-1 "$(share_link_of "$work/fifo.out" F_1)"
  if [[ -s $work/fifo-rc/F-1.escpos ]]; then
    expect_same_bytes "$work/fifo.printed" "FIFO as printer device" "$work/fifo-rc/F-1.escpos"
  fi
}

test_printer_refusals() {
  local config target
  config=$(make_config refusals)
  mkdir -p "$work/a-folder"
  for target in "tcp://" "tcp://:9100" "tcp://127.0.0.1:0" "tcp://127.0.0.1:65536" \
    "tcp://127.0.0.1:x" "tcp://::1:9100" "tcp://[::1" "lpr://printer" "" \
    "$work/no-such-device" "$work/a-folder"; do
    run_terminal --plugin "$plugin" --config "$config" --script - --printer "$target" </dev/null
    expect_rc 2 "--printer '$target'"
    expect_in "$work/err" "--printer" "--printer '$target'"
  done
  run_terminal --plugin "$plugin" --config "$config" --script - --printer "$work/lp0" \
    --printer-timeout-ms 0 </dev/null
  expect_rc 2 "--printer-timeout-ms 0"
  [[ ! -e $work/refusals/store ]] || fail "a refused --printer still opened the store"

  # A txn id is a file name only if it is [A-Za-z0-9._-]: no receipt files
  # (the step fails), nothing written outside the folder.
  printf '{"op":"commit","request":{"txn_id":"../X-1","terminal_id":"till-1","customer_id":"h","currency":"USD","lines":[{"sku":"A","quantity":1,"unit_price_minor":100}]}}\n' \
    >"$work/traversal.jsonl"
  run_terminal --plugin "$plugin" --config "$config" --script "$work/traversal.jsonl" \
    --receipts "$work/traversal-rc/inner"
  expect_rc 1 "txn id with a path"
  expect_in "$work/err" "cannot name a receipt file" "txn id with a path"
  if compgen -G "$work/traversal-rc/X-1*" >/dev/null || compgen -G "$work/traversal-rc/inner/*" >/dev/null; then
    fail "txn id with a path: a receipt file was written"
  fi
}

test_printer_interactive() {
  local config link
  config=$(make_config till)
  printf '%s\n' 'customer ivy' 'line SKU-1 shoes 1 4200' 'pay I-7' 'reprint I-7' 'reprint I-404' \
    'quit' >"$work/till.commands"
  start_listener record 2 "$work/till.printed"
  run_terminal --plugin "$plugin" --config "$config" --receipts "$work/till-rc" \
    --printer "tcp://127.0.0.1:$listener_port" <"$work/till.commands"
  expect_rc 0 "interactive reprint"
  wait_listener
  expect_in "$work/err" "NOT_FOUND" "interactive reprint of an unknown txn"
  link=$(grep -m1 -o '"share_link": "[^"]*"' "$work/out" | sed 's/.*: "//; s/"$//') || true
  expect_receipt_files "$work/till-rc" I-7 "$link"
  if [[ -s $work/till-rc/I-7.escpos ]]; then
    expect_same_bytes "$work/till.printed" "interactive reprint" \
      "$work/till-rc/I-7.escpos" "$work/till-rc/I-7.escpos"
  fi
}

test_printer_abi10() {
  local config
  config=$(make_config old)
  { commit_step O-1 jack; commit_step O-2 kim; } >"$work/old.jsonl"
  : >"$work/lp-old"
  set +e
  env -u REFPOS_CONFIG -u REFPOS_PLUGIN REFPOS_ABI10_TARGET="$plugin" "$terminal" \
    --plugin "$ABI10_PLUGIN" --config "$config" --script "$work/old.jsonl" \
    --receipts "$work/old-rc" --printer "$work/lp-old" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  expect_rc 0 "ABI 1.0 plugin"
  [[ $(grep -c "ABI 1.0" "$work/err") == 1 ]] || fail "ABI 1.0 plugin: not said exactly once on stderr"
  [[ -s $work/old-rc/O-1.txt && -s $work/old-rc/O-2.txt ]] || fail "ABI 1.0 plugin: no .txt receipts"
  if compgen -G "$work/old-rc/*.png" >/dev/null || compgen -G "$work/old-rc/*.escpos" >/dev/null; then
    fail "ABI 1.0 plugin: files other than .txt were written"
  fi
  expect_in "$work/lp-old" "Txn O-2" "ABI 1.0 plugin: the text receipt on the printer"
}

test_printer() {
  if [[ ! -x ${PRINT_LISTENER:-} || ! -f ${ABI10_PLUGIN:-} ]]; then
    fail "PRINT_LISTENER and ABI10_PLUGIN must name the built print_listener and refpos_abi10_plugin"
    return
  fi
  command -v zbarimg >/dev/null || fail "zbarimg (zbar-tools) is needed to read the QR codes"
  test_printer_network
  test_printer_devices
  test_printer_refusals
  test_printer_interactive
  test_printer_abi10
}

case $part in
  day) test_day ;;
  cli) test_cli ;;
  interactive) test_interactive ;;
  printer) test_printer ;;
  all) test_day; test_cli; test_interactive; test_printer ;;
  *) echo "unknown part '$part'" >&2; exit 2 ;;
esac

if ((failures > 0)); then
  echo "terminal_test ($part): $failures check(s) failed" >&2
  exit 1
fi
echo "terminal_test ($part): all checks passed"
