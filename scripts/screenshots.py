#!/usr/bin/env python3
"""Writes a PNG of each page of the operator web app at 1280x800 (and the station page at
1920x1080) into docs/screenshots/, from ferruled on the simulated bench, for people to look at.

    swift build && python3 scripts/screenshots.py [--out docs/screenshots]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Browser"))
import ferrule_web as fw  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

PAGES = ["station", "references", "history", "yield", "instruments", "delivery"]


def run_units(url):
    """Two units, one passing and one failing (a demo lot's dirty end face), so every page has something to show."""
    fw.take_references(url)
    op = fw.API(url)
    assert op.sign_in("op1", "1111").status_code == 200
    op.ok("/api/test", {"serial": "FRL-D001", "partNumber": "FT-MTP12-SMAPC-B-LL", "fixture": 1})
    op.ok("/api/test", {"serial": "FRL-D006", "partNumber": "FT-MTP24-OM4-A", "fixture": 2})
    op.wait_idle(1)
    op.wait_idle(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(fw.REPO, "docs", "screenshots"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    daemon = fw.Daemon(switch_ms=2, read_ms=2)
    try:
        for width, height in [(1280, 800), (1920, 1080)]:
            d = fw.browser(width, height)
            try:
                fw.sign_in(d, daemon.url, "op1", "1111")
                fw.signed_in(d)
                if width == 1280:
                    run_units(daemon.url)
                fw.wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#fixture-2 .verdict[data-verdict]"))
                fw.wait(d, lambda d: all(v.text for v in d.find_elements(By.CSS_SELECTOR, ".verdict")))
                pages = PAGES if width == 1280 else ["station"]
                for page in pages:
                    d.get(daemon.url + "/#" + page)
                    fw.signed_in(d)
                    fw.wait(d, lambda d: not d.find_element(By.ID, "view-" + page).get_attribute("hidden"))
                    if page == "yield":
                        fw.wait(d, lambda d: d.execute_script("return document.getElementById('pareto-chart').complete"))
                    if page in ("history", "delivery"):
                        fw.wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#%s table, #%s p" % (page, page)))
                    d.execute_script("window.scrollTo(0, 0)")
                    name = os.path.join(args.out, "%s-%dx%d.png" % (page, width, height))
                    d.save_screenshot(name)
                    print("wrote", os.path.relpath(name, fw.REPO))
            finally:
                d.quit()
    finally:
        daemon.close()


if __name__ == "__main__":
    main()
