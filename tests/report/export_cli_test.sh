#!/usr/bin/env bash
# refposctl export end to end: the real binary on the export story's files
# (refpos_export_story, tests/report/export_story.hpp), one part per ctest test.
#
#   export_cli_test.sh REFPOSCTL STORY TEMPLATES WORK_DIR PART
#
# PART: usage (--help, exit 2 and a clear message for bad command lines),
# templates (a broken template is exit 2 naming the file, line and
# placeholder, before any output; --templates and REFPOS_TEMPLATES_DIR),
# output (CSV and JSON carry the constructed messages, --out is 0600, an
# empty export says so, stderr never shows contact data, exit 1 for a file
# that cannot be read).
set -euo pipefail

ctl=$1 story=$2 templates=$3 work=$4 part=$5
rm -rf "$work"
mkdir -p "$work"
mapfile -t files < <("$story" "$work/story")
store_a=${files[0]} hq=${files[2]}
period=(--from 2026-01-01 --to 2026-02-01)
export REFPOS_TEMPLATES_DIR=$templates

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_exit CODE STDERR_PATTERN -- command...
expect_exit() {
  local want=$1 pattern=$2
  shift 3
  local got=0
  "$@" >"$work/out" 2>"$work/err" || got=$?
  [[ $got == "$want" ]] || fail "$* exited $got, expected $want; stderr: $(cat "$work/err")"
  if [[ -n $pattern ]]; then
    grep -q -- "$pattern" "$work/err" || fail "$*: stderr lacks '$pattern': $(cat "$work/err")"
  fi
}

case $part in
usage)
  "$ctl" export --help >"$work/help"
  for word in --file --kind --from --to --store --tz --channel --templates --format --out \
              --no-progress "Exit codes" REFPOS_TEMPLATES_DIR 0600; do
    grep -q -- "$word" "$work/help" || fail "--help lacks $word"
  done
  expect_exit 2 "--kind" -- "$ctl" export --file "$store_a" "${period[@]}"
  expect_exit 2 "kind" -- "$ctl" export --file "$store_a" --kind hello "${period[@]}"
  expect_exit 2 "channel" -- "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --channel fax
  expect_exit 2 "format" -- "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --format html
  expect_exit 2 "reversed" -- "$ctl" export --file "$store_a" --kind thanks --from 2026-02-01 --to 2026-01-01
  expect_exit 2 "store-404" -- "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --store store-404
  expect_exit 2 "locale" -- "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --locale xx-XX
  expect_exit 1 "not a file" -- "$ctl" export --file "$work/missing.db" --kind leads "${period[@]}"
  ;;
templates)
  mkdir "$work/t"
  cp "$templates"/*.txt "$work/t/"
  printf 'Hi {{first_name}}\nYou earned {{frist_name}}. Reply STOP to opt out\n' >"$work/t/thanks.sms.txt"
  expect_exit 2 "thanks.sms.txt:2: unknown placeholder {{frist_name}}" -- \
    "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --templates "$work/t" --out "$work/x.csv"
  [[ ! -e $work/x.csv ]] || fail "a failed export created --out"
  # Only the templates the export uses are read: e-mail alone is fine.
  "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --templates "$work/t" --channel email >/dev/null
  printf 'Hello {{first_name}}\n\nbody\n' >"$work/t/thanks.email.txt"
  expect_exit 2 "thanks.email.txt:1: .*Subject" -- \
    "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --templates "$work/t" --channel email
  printf 'Hi {{friend_name\n' >"$work/t/lead.sms.txt"
  expect_exit 2 "lead.sms.txt:1: .*not closed" -- \
    "$ctl" export --file "$store_a" --kind leads "${period[@]}" --templates "$work/t"
  # The environment names the folder when --templates does not.
  REFPOS_TEMPLATES_DIR="$work/t" expect_exit 2 "lead.sms.txt:1" -- \
    "$ctl" export --file "$store_a" --kind leads "${period[@]}"
  REFPOS_TEMPLATES_DIR="$work/t" "$ctl" export --file "$store_a" --kind leads "${period[@]}" \
    --templates "$templates" >/dev/null
  expect_exit 2 "cannot read" -- \
    "$ctl" export --file "$store_a" --kind leads "${period[@]}" --templates "$work/nowhere"
  ;;
output)
  "$ctl" export --file "$store_a" --kind thanks "${period[@]}" >"$work/thanks.csv" 2>"$work/err"
  [[ ! -s $work/err ]] || fail "stderr not empty: $(cat "$work/err")"
  python3 - "$work/thanks.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["kind", "channel", "store_id", "recipient_id", "to", "subject", "body"], rows[0]
keys = [(r[2], r[3], r[1]) for r in rows[1:]]
want = [("store-a", "ana", "email"), ("store-a", "ana", "sms"), ("store-a", "ben", "sms"),
        ("store-a", "gus", "sms"), ("store-a", "hal", "email"), ("store-a", "jon", "email")]
assert keys == want, keys
ana = rows[1]
assert ana[4] == "ana@example.com" and ana[5].endswith(", Ana"), ana
assert "$15.00 in store credit and 50 points" in ana[6], ana[6]
assert "Hi Ana," in ana[6] and "store-a" in ana[6], ana[6]
for r in rows[1:]:
    if r[1] == "sms":
        assert len(r[6]) <= 160 and "Reply STOP to opt out" in r[6], r[6]
        assert r[5] == "", r
hal = rows[5]
assert "\r" not in hal[5] and "\n" not in hal[5], hal[5]
PY
  "$ctl" export --file "$hq" --kind leads "${period[@]}" --format json --out "$work/leads.json"
  [[ $(stat -c %a "$work/leads.json") == 600 ]] || fail "--out mode $(stat -c %a "$work/leads.json")"
  python3 - "$work/leads.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "refpos/1" and d["kind"] == "leads" and d["source"] == "head_office", d
assert d["empty"] is False and d["scope"] is None
assert [(m["recipient_id"], m["channel"]) for m in d["messages"]] == [("L-1", "email"), ("L-2", "sms")]
assert d["messages"][0]["subject"].startswith("Hi Sam, Ana recommended us"), d["messages"][0]
assert d["skipped"] == {"no_consent": 1, "withdrawn": 0, "forgotten": 1, "unreadable": 0,
                        "other_channel": 0}, d["skipped"]
PY
  # An empty export: valid, exit 0, and a line on stderr that names no one.
  "$ctl" export --file "$store_a" --kind thanks --from 2025-06-01 --to 2025-07-01 --format json \
    >"$work/empty.json" 2>"$work/err"
  grep -q "no messages for thanks" "$work/err" || fail "no 'no messages' line: $(cat "$work/err")"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["empty"] is True and d["messages"] == []' \
    "$work/empty.json"
  # --progress draws on stderr; nothing about a person ever does.
  "$ctl" export --file "$hq" --kind thanks "${period[@]}" --progress >/dev/null 2>"$work/err"
  grep -q 'export .*100%' "$work/err" || fail "no progress bar with --progress"
  ! grep -q '@example.com\|+1555' "$work/err" || fail "contact data on stderr"
  expect_exit 2 "being exported from" -- \
    "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --out "$store_a"
  expect_exit 1 "cannot write" -- \
    "$ctl" export --file "$store_a" --kind thanks "${period[@]}" --out "$work/no/such/dir/x.csv"
  ;;
*)
  fail "unknown part $part"
  ;;
esac
echo "report.export_cli.$part: ok"
