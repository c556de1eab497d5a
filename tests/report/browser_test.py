#!/usr/bin/env python3
"""The HTML report in a real browser: headless chromium renders the page made
by `refposctl report` from the seeded story, dumps the DOM it built, and
every data-figure's data-value is checked against the story's constructed
figures. A screenshot is kept in the build tree as an artefact.

    browser_test.py REFPOSCTL SCENARIO WORK_DIR

Exit 77 (ctest SKIP_RETURN_CODE) when chromium is not installed.
"""
import html.parser
import json
import os
import shutil
import subprocess
import sys


class Figures(html.parser.HTMLParser):
    """Collects data-figure -> data-value, and the SVG charts, from a DOM."""

    def __init__(self):
        super().__init__()
        self.figures = {}
        self.charts = set()
        self.scripts = 0
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-figure" in a:
            name = a["data-figure"]
            if name in self.figures:
                raise SystemExit(f"figure {name} appears twice")
            self.figures[name] = a.get("data-value")
        if tag == "svg" and "data-chart" in a:
            self.charts.add(a["data-chart"])
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if key in a:
                self.external.append(a[key])


def same(expected, got):
    if expected is None:
        return got == ""
    if isinstance(expected, bool):
        return got == str(expected).lower()
    if isinstance(expected, int):
        return got == str(expected)
    if isinstance(expected, float):
        return got != "" and float(got) == expected
    return got == expected


def main():
    ctl, scenario, work = sys.argv[1:4]
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("SKIP: chromium is not installed (apt-get install chromium; tools/deps.sh lists it)")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    db = subprocess.run([scenario, os.path.join(work, "story")], check=True,
                        capture_output=True, text=True).stdout.strip()
    expected = json.load(open(os.path.join(work, "story", "expected.json")))
    page = os.path.join(work, "report.html")
    subprocess.run([ctl, "report", "--file", db, "--from", "2026-01-01", "--to", "2026-02-01",
                    "--format", "html", "--out", page, "--no-progress"], check=True)

    profile = os.path.join(work, "profile")  # never the user's own profile
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-extensions", "--disable-background-networking",
              f"--user-data-dir={profile}"]
    dom = subprocess.run(common + ["--dump-dom", "file://" + page], check=True,
                         capture_output=True, text=True, timeout=240).stdout
    with open(os.path.join(work, "dom.html"), "w") as f:
        f.write(dom)
    shot = os.path.join(work, "report.png")
    subprocess.run(common + [f"--screenshot={shot}", "--window-size=1200,2000",
                             "file://" + page], check=True, capture_output=True, timeout=240)

    parser = Figures()
    parser.feed(dom)
    problems = []
    if not parser.figures:
        problems.append("the browser's DOM holds no data-figure at all")
    for name, value in expected.items():
        got = parser.figures.get(name)
        if got is None:
            problems.append(f"{name}: missing from the DOM")
        elif not same(value, got):
            problems.append(f"{name}: DOM says {got!r}, the story constructed {value!r}")
    for chart in ("top_referrers", "nps", "comparison.USD"):
        if chart not in parser.charts:
            problems.append(f"chart {chart} missing")
    if parser.scripts:
        problems.append("the page has a script")
    if parser.external:
        problems.append(f"the page loads something: {parser.external}")
    if not os.path.exists(shot) or os.path.getsize(shot) < 1000:
        problems.append("no screenshot was written")
    print(f"screenshot: {shot}")
    print(f"{len(expected)} figures checked against {len(parser.figures)} in the DOM")
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
