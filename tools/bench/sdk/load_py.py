"""load_py: one plugin load + store open through the refpos Python package,
timed inside the process over the same span as load_c.c (the library load,
refpos_get_api and the table checks, open of a new store, close); the
interpreter's start and `import refpos` are before the clock starts.

    python3 load_py.py PLUGIN DATA_DIR     prints the milliseconds

Run by tools/bench/sdk/run with PYTHONPATH=sdk/python, once per process.
"""

import sys
import time

import refpos

RULES = {
    "schema": "refpos.rules/1", "version": 1, "program": "friends",
    "referee": {"percent_off_bp": 2000, "cap_minor": 5000, "min_spend_minor": 2000,
                "new_customers_only": True},
    "referrer": {"store_credit_minor": 1000},
    "code": {"valid_days": 30, "max_redemptions": 5},
    "issue": {"on_commit": True, "min_spend_minor": 0},
}


def main() -> int:
    if len(sys.argv) != 3:
        sys.stderr.write("usage: load_py.py PLUGIN DATA_DIR\n")
        return 1
    plugin_path, data_dir = sys.argv[1], sys.argv[2]
    config = {
        "store_id": "bench", "data_dir": data_dir, "currency": "USD",
        "code_keys": [{"id": 1, "secret_hex": "000102030405060708090a0b0c0d0e0f",
                       "active": True}],
        "rules": RULES, "share_link_template": "https://example.com/r/{code}",
    }
    start = time.perf_counter()
    plugin = refpos.Plugin(plugin_path)
    with plugin.open(config):
        pass
    elapsed_ms = (time.perf_counter() - start) * 1e3
    print("%.3f" % elapsed_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
