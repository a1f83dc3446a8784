#!/usr/bin/env python3
"""The operator web app in a real headless Chromium against the real ferruled on the simulated
bench: sign in, scan to start, the grid filling in, the verdict, stop, prompts, Chinese, roles,
and a page that reconnects by itself after ferruled restarts. Run by BrowserTests (swift test)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ferrule_web as fw  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

PART = "FT-MTP12-SMAPC-B-LL"


def css(d, selector):
    return d.find_elements(By.CSS_SELECTOR, selector)


def text(d, selector):
    found = css(d, selector)
    return found[0].text if found else ""


class Page:
    """One signed-in browser on the station page."""

    def __init__(self, daemon, user="op1", pin="1111", lang="en-US"):
        self.d = fw.browser(lang=lang)
        self.url = daemon.url
        fw.sign_in(self.d, self.url, user, pin)
        fw.signed_in(self.d)
        fw.wait(self.d, lambda d: text(d, "#connection") and "live" == d.find_element(By.ID, "connection").get_attribute("data-state"))

    def choose_part(self, fixture, part=PART):
        Select(self.d.find_element(By.CSS_SELECTOR, "#fixture-%d select.part" % fixture)).select_by_value(part)

    def serial_field(self, fixture):
        return self.d.find_element(By.CSS_SELECTOR, "#fixture-%d input.serial" % fixture)

    def scan(self, serial):
        """What a keyboard-wedge scanner does: characters then Enter, into whatever has the focus."""
        self.d.switch_to.active_element.send_keys(serial + "\n")

    def ready(self, fixture):
        """Waits until the page shows the fixture idle, then makes it the one scans go to."""
        fw.wait(self.d, lambda d: d.find_element(By.ID, "fixture-%d" % fixture).get_attribute("data-state") == "idle"
                and self.serial_field(fixture).is_enabled())
        self.d.find_element(By.CSS_SELECTOR, "#fixture-%d h2" % fixture).click()
        self.wait_focus(fixture)

    def wait_focus(self, fixture):
        field = self.serial_field(fixture)
        fw.wait(self.d, lambda d: d.switch_to.active_element == field)

    def verdict(self, fixture):
        return fw.wait(self.d, lambda d: text(d, "#fixture-%d .verdict" % fixture))

    def message(self, fixture):
        return fw.wait(self.d, lambda d: text(d, "#fixture-%d .message" % fixture))

    def close(self):
        self.d.quit()


class StationPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Slow enough instruments that a unit can be watched and stopped.
        cls.daemon = fw.Daemon(switch_ms=15, read_ms=15)
        fw.take_references(cls.daemon.url)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def setUp(self):
        self.pages = []

    def tearDown(self):
        for p in self.pages:
            p.close()
        op = fw.API(self.daemon.url)
        op.sign_in("op1", "1111")
        for fixture in (1, 2):
            op.post("/api/abort", {"fixture": fixture})
            op.wait_idle(fixture)

    def page(self, **kw):
        p = Page(self.daemon, **kw)
        self.pages.append(p)
        return p

    def test_a_wrong_pin_is_refused(self):
        d = fw.browser()
        self.pages.append(type("P", (), {"close": lambda _: d.quit()})())
        fw.sign_in(d, self.daemon.url, "op1", "9999")
        msg = fw.wait(d, lambda d: text(d, "#signin-message"))
        self.assertIn("Wrong id or PIN", msg)
        self.assertIn("signed-out", d.find_element(By.TAG_NAME, "body").get_attribute("class"))

    def test_b_scan_runs_a_unit_to_its_verdict_with_the_grid_filling_in(self):
        p = self.page()
        p.choose_part(1)
        p.ready(1)  # a tap on the panel: scans go to fixture 1, its field has the focus
        p.scan("WEB-0001")
        # Cells fill while the unit runs: some measured, the verdict not there yet.
        fw.wait(p.d, lambda d: css(d, '#fixture-1 .cell[data-state="pass"]') and not text(d, "#fixture-1 .verdict"))
        self.assertIn("PASS", p.verdict(1))
        cells = css(p.d, "#fixture-1 .cell")
        self.assertEqual(len(cells), 12)
        self.assertTrue(all(c.get_attribute("data-state") == "pass" for c in cells))
        self.assertTrue(all("✓" in c.text for c in cells))  # colour never alone
        # The report names the signed-in operator, and who asked as the daemon saw it.
        api = fw.API(self.daemon.url)
        api.sign_in("op1", "1111")
        rid = api.get("/api/report?serial=WEB-0001").json()[0]["reportId"]
        report = api.get("/reports/%s.json" % rid).json()
        self.assertEqual(report["operator"], "op1")
        self.assertTrue(report["requestedBy"].startswith("web user op1 from 127.0.0.1"), report["requestedBy"])
        # The part number stays chosen for the next unit, and the field has the focus again.
        self.assertEqual(Select(p.d.find_element(By.CSS_SELECTOR, "#fixture-1 select.part")).first_selected_option.get_attribute("value"), PART)

    def test_c_bad_scans_start_nothing(self):
        p = self.page()
        p.ready(2)
        Select(p.d.find_element(By.CSS_SELECTOR, "#fixture-2 select.part")).select_by_value("")
        p.serial_field(2).click()
        p.scan("WEB-NOPART")
        self.assertIn("Choose or scan the part number first", p.message(2))
        p.scan(PART)  # scanning a part number label chooses it
        fw.wait(p.d, lambda d: "Part number set" in text(d, "#fixture-2 .message"))
        p.scan("   ")
        fw.wait(p.d, lambda d: "Empty scan" in text(d, "#fixture-2 .message"))
        # The same serial on the other fixture while it runs there: refused, nothing starts.
        p.choose_part(1)
        p.ready(1)
        p.scan("WEB-TWICE")
        fw.wait(p.d, lambda d: "WEB-TWICE" in text(d, "#fixture-1 .state"))
        p.serial_field(2).click()
        p.scan("WEB-TWICE")
        twice = "WEB-TWICE was not started. This unit is already being tested on fixture 1."
        fw.wait(p.d, lambda d: twice in text(d, "#fixture-2 .message"))
        self.assertEqual(p.d.find_element(By.CSS_SELECTOR, "#fixture-2").get_attribute("data-state"), "idle")

    def test_d_stop_shows_aborted(self):
        p = self.page()
        p.choose_part(1)
        p.ready(1)
        p.scan("WEB-STOP")
        stop = fw.wait(p.d, lambda d: [b for b in css(d, "#fixture-1 button.stop") if b.is_displayed()])[0]
        fw.wait(p.d, lambda d: css(d, '#fixture-1 .cell[data-state="pass"]'))
        stop.click()
        self.assertIn("ABORTED", p.verdict(1))

    def test_e_chinese(self):
        p = self.page()
        p.d.find_element(By.ID, "language").click()
        fw.wait(p.d, lambda d: text(d, '#nav a[data-view="station"]') == "测试站")
        self.assertIn("夹具 1", text(p.d, "#fixture-1 h2"))
        self.assertIn("就绪", text(p.d, "#fixture-1 .state"))
        # The choice is the session's: a reload keeps Chinese.
        p.d.refresh()
        fw.wait(p.d, lambda d: text(d, '#nav a[data-view="station"]') == "测试站")
        # A user whose config says Chinese gets it at once; signed out, the browser's language decides.
        q = self.page(user="op2", pin="4444")
        fw.wait(q.d, lambda d: text(d, "#signout") == "退出")
        r = fw.browser(lang="zh-CN")
        self.pages.append(type("P", (), {"close": lambda _: r.quit()})())
        r.get(self.daemon.url + "/")
        fw.wait(r, lambda d: text(d, "#signin-button") == "登录")

    def test_f_an_operator_is_refused_a_supervisor_action(self):
        p = self.page()
        p.d.get(self.daemon.url + "/#references")
        fw.signed_in(p.d)
        fw.wait(p.d, lambda d: css(d, "#reference-1"))
        # Taking a reference is an operator's task; resetting a cord is not: the page does not offer it...
        self.assertTrue(any(b.is_displayed() for b in css(p.d, "#reference-1 button")))
        self.assertFalse(any(b.is_displayed() for b in css(p.d, "#cords button")))
        # ...and the server refuses it when the page's own code asks anyway.
        p.d.execute_script("F.pages.resetCord('TC-L-1')")
        msg = fw.wait(p.d, lambda d: text(d, "#references-message"))
        self.assertIn("needs a supervisor", msg)
        api = fw.API(self.daemon.url)
        api.sign_in("op1", "1111")
        self.assertEqual(api.post("/api/cordReset", {"cord": "TC-L-1"}).status_code, 403)
        # A supervisor sees and may use it.
        s = self.page(user="sup1", pin="2222")
        s.d.get(self.daemon.url + "/#references")
        fw.signed_in(s.d)
        button = fw.wait(s.d, lambda d: [b for b in css(d, '#cords button[data-cord="TC-L-1"]') if b.is_displayed()])[0]
        button.click()
        fw.wait(s.d, lambda d: "TC-L-1" in text(d, "#references-message"))


    def test_g_touch_panel_layout_at_1280x800_and_1920x1080(self):
        too_small = """
            return [...document.querySelectorAll('button, input, select, nav a, td a')]
              .filter((e) => e.offsetParent !== null)
              .map((e) => [e.id || e.className || e.textContent, e.getBoundingClientRect().height])
              .filter(([, h]) => h < 47.5);"""
        for width, height in [(1280, 800), (1920, 1080)]:
            d = fw.browser(width, height)
            self.pages.append(type("P", (), {"close": lambda _, d=d: d.quit()})())
            fw.sign_in(d, self.daemon.url, "eng1", "3333")
            fw.signed_in(d)
            for view in ["station", "references", "history", "yield", "quality", "instruments", "delivery"]:
                d.get(self.daemon.url + "/#" + view)
                fw.signed_in(d)
                fw.wait(d, lambda d: not d.find_element(By.ID, "view-" + view).get_attribute("hidden"))
                scroll, client = d.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                self.assertLessEqual(scroll, client, "%s scrolls sideways at %dx%d" % (view, width, height))
                self.assertEqual(d.execute_script(too_small), [], "%s at %dx%d: targets under 48 px" % (view, width, height))

    def test_h_an_engineer_injects_a_fault_from_the_page(self):
        p = self.page(user="eng1", pin="3333")
        p.d.get(self.daemon.url + "/#instruments")
        fw.signed_in(p.d)
        form = fw.wait(p.d, lambda d: [f for f in css(d, "#fault-form") if f.is_displayed()])[0]
        Select(p.d.find_element(By.ID, "fault-instrument")).select_by_value("receive-switch")
        Select(p.d.find_element(By.ID, "fault-kind")).select_by_value("none")
        form.find_element(By.TAG_NAME, "button").click()
        fw.wait(p.d, lambda d: text(d, "#instruments-message") == "receive-switch: none")
        # An operator has no such form, and the API refuses it.
        q = self.page()
        q.d.get(self.daemon.url + "/#instruments")
        fw.signed_in(q.d)
        self.assertFalse(any(f.is_displayed() for f in css(q.d, "#fault-form")))
        self.assertFalse(any(b.is_displayed() for b in css(q.d, "#reload")))


class Prompts(unittest.TestCase):
    def test_answering_the_load_prompt_runs_the_unit(self):
        daemon = fw.Daemon(prompts=True)
        try:
            # The references ask to connect the cords too: answered through the API by a supervisor.
            sup = fw.API(daemon.url)
            sup.sign_in("sup1", "2222")
            p = Page(daemon)
            try:
                p.choose_part(1)
                p.d.find_element(By.CSS_SELECTOR, "#fixture-1 h2").click()
                import threading
                t = threading.Thread(target=lambda: sup.ok("/api/reference", {"fixture": 1}))
                t.start()
                for _ in range(3):  # one prompt per reference cord that fits
                    ok = fw.wait(p.d, lambda d: css(d, '#fixture-1 .prompt button[data-choice="ok"]'))[0]
                    self.assertIn("Connect reference cord", text(p.d, "#fixture-1 .prompt"))
                    ok.click()
                    # The answered prompt's buttons are gone (the box may be redrawn empty between two looks).
                    fw.wait(p.d, lambda d, ok=ok: (lambda b: not b or b[0] != ok)(css(d, "#fixture-1 .prompt button")))
                t.join(fw.WAIT)
                p.ready(1)
                p.scan("WEB-PROMPT")
                ok = fw.wait(p.d, lambda d: css(d, '#fixture-1 .prompt button[data-choice="ok"]'))[0]
                self.assertIn("Load WEB-PROMPT into fixture 1", text(p.d, "#fixture-1 .prompt"))
                ok.click()
                self.assertIn("PASS", p.verdict(1))
            finally:
                p.close()
        finally:
            daemon.close()


def mes_answers(log):
    """What the MES stand-in answered, in order (one JSON line per POST)."""
    with open(log, encoding="utf-8") as f:
        return [json.loads(line)["answer"] for line in f]


class Delivery(unittest.TestCase):
    def test_a_supervisor_sends_a_parked_report_again_from_the_page(self):
        mes_log = tempfile.mktemp(prefix="ferrule-mes-", suffix=".log")
        mes = subprocess.Popen([sys.executable, os.path.join(fw.REPO, "scripts", "mes-peer.py"), "--log", mes_log,
                                "--plan", "WEB-PARK=422"], stdout=subprocess.PIPE, text=True)
        port = int(mes.stdout.readline().split()[1])
        sinks = "\nsinks:\n  - { name: mes, kind: http, url: \"http://127.0.0.1:%d/results\", timeout: 5s, maxBackoff: 1s }\n" % port
        daemon = fw.Daemon(users_extra=sinks)
        try:
            fw.take_references(daemon.url)
            op = fw.API(daemon.url)
            op.sign_in("op1", "1111")
            op.ok("/api/test", {"serial": "WEB-PARK", "partNumber": PART, "fixture": 1})
            # The MES refuses it for good (HTTP 422): the sink parks it.
            parked = lambda: sum(s["parked"] for s in op.get("/api/delivery").json())  # noqa: E731
            fw.until(lambda: parked() == 1, "the report to be parked")
            p = Page(daemon, user="sup1", pin="2222")
            try:
                p.d.get(daemon.url + "/#delivery")
                fw.signed_in(p.d)
                button = fw.wait(p.d, lambda d: [b for b in css(d, "#delivery button") if b.is_displayed()])[0]
                self.assertIn("HTTP 422", text(p.d, "#delivery"))
                # An operator is refused it on the API, as the page would ask it.
                refused = op.post("/api/resend", {"sink": "mes", "report": button.get_attribute("data-report")})
                self.assertEqual(refused.status_code, 403)
                button.click()
                fw.wait(p.d, lambda d: "WEB-PARK is queued again for mes" in text(d, "#delivery-message"))
                fw.until(lambda: mes_answers(mes_log) == ["422", "200"], "the MES to get it again")
                self.assertEqual(parked(), 0)
                p.d.execute_script("F.pages.delivery()")
                fw.wait(p.d, lambda d: "HTTP 422" not in text(d, "#delivery") and text(d, "#delivery"))
            finally:
                p.close()
        finally:
            daemon.close()
            mes.kill()
            mes.wait()
            mes.stdout.close()


class FirstScanOfAShift(unittest.TestCase):
    """A station with no reference yet: the first scan says why in one sentence naming the serial
    and the cord, and offers the reference as a button that walks the operator through it; the
    next scan runs the unit. In English and in Chinese, with no console error on any page."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = fw.Daemon(switch_ms=2, read_ms=2)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def run_first_scan(self, user, pin, fixture, serial, expect):
        p = Page(self.daemon, user=user, pin=pin)
        try:
            p.choose_part(fixture)
            p.ready(fixture)
            p.scan(serial)
            where = "#fixture-%d .message" % fixture
            msg = fw.wait(p.d, lambda d: serial in text(d, where) and text(d, where))
            for words in expect["refused"]:
                self.assertIn(words, msg)
            self.assertNotIn("ferrulectl", msg)  # no command line on a screen that has none
            self.assertEqual(msg.count(expect["notStarted"]), 1, msg)
            button = fw.wait(p.d, lambda d: css(d, '#fixture-%d button[data-remedy="takeReference"]' % fixture))[0]
            self.assertEqual(button.text, expect["button"])
            button.click()
            fw.wait(p.d, lambda d: expect["connect"] in text(d, "#fixture-%d .message" % fixture))
            css(p.d, '#fixture-%d button[data-remedy="startReference"]' % fixture)[0].click()
            fw.wait(p.d, lambda d: expect["done"] in text(d, "#fixture-%d .message" % fixture))
            p.ready(fixture)
            p.scan(serial)
            self.assertIn(expect["pass"], p.verdict(fixture))
            # Chromium logs every HTTP error answer: the page has none (a refused scan is answered
            # 200 with why, no favicon 404, no 401 before signing in).
            self.assertEqual(fw.console_errors(p.d), [])
            for view in ["references", "history", "yield", "quality", "instruments", "delivery", "station"]:
                p.d.get(self.daemon.url + "/#" + view)
                fw.signed_in(p.d)
                fw.wait(p.d, lambda d: not d.find_element(By.ID, "view-" + view).get_attribute("hidden"))
                fw.wait(p.d, lambda d: d.execute_script("return document.readyState") == "complete")
            self.assertEqual(fw.console_errors(p.d), [], "console errors on the pages")
            favicon = fw.API(self.daemon.url).get("/favicon.ico")
            self.assertEqual((favicon.status_code, favicon.headers["Content-Type"]), (200, "image/svg+xml"))
        finally:
            p.close()

    def test_english(self):
        self.run_first_scan("op1", "1111", 1, "SHIFT-0001", {
            "refused": ["SHIFT-0001 was not started.", "Fixture 1 has no reference yet.",
                        "Connect reference cord RC-B-012 to fixture 1 and take a reference."],
            "notStarted": "not started", "button": "Take reference with RC-B-012",
            "connect": "Connect reference cord RC-B-012 to fixture 1, clean both ends",
            "done": "Reference taken with RC-B-012", "pass": "PASS"})

    def test_chinese(self):
        self.run_first_scan("op2", "4444", 2, "SHIFT-0002", {
            "refused": ["SHIFT-0002 未开始测试。", "夹具 2 还没有参考。", "请将参考跳线 RC-B-012 连接到夹具 2 并进行参考。"],
            "notStarted": "未开始测试", "button": "用 RC-B-012 进行参考",
            "connect": "请将参考跳线 RC-B-012 连接到夹具 2", "done": "已用 RC-B-012 完成参考", "pass": "合格"})


class Quality(unittest.TestCase):
    """The Quality page: each position's Ppk and one position's control chart, drawn by the
    station as SVG from the units it tested, in English and in Chinese, with no browser error."""

    UNITS = 4

    @classmethod
    def setUpClass(cls):
        cls.daemon = fw.Daemon()
        fw.take_references(cls.daemon.url)
        cls.api = fw.API(cls.daemon.url)
        cls.api.sign_in("op1", "1111")
        for i in range(cls.UNITS):
            cls.api.ok("/api/test", {"serial": "WEB-Q-%d" % i, "partNumber": PART, "fixture": 1})
            cls.api.wait_idle(1)
        cls.spc = cls.api.get("/api/spc?partNumber=" + PART).json()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def chart_shown(self, d, img):
        return d.execute_script("const i = document.getElementById(arguments[0]); return i.complete && i.naturalWidth > 0", img)

    def test_both_languages(self):
        charts = self.spc["charts"]
        self.assertTrue(charts and all(c["n"] == self.UNITS for c in charts), fw.dump(self.spc))
        for user, pin, title, axis, report_title, method in [
                ("op1", "1111", "Control charts and capability", "IL (dB) of %d units" % self.UNITS, "Lot report", "Hyndman and Fan type 7"),
                ("op2", "4444", "控制图与过程能力", "按时间排列的 %d 件产品的插损" % self.UNITS, "批次报告", "Hyndman 与 Fan 第 7 类")]:
            p = Page(self.daemon, user=user, pin=pin)
            self.addCleanup(p.close)
            p.d.get(self.daemon.url + "/#quality")
            fw.signed_in(p.d)
            fw.wait(p.d, lambda d: len(css(d, "#quality tbody tr")) == len(charts))
            self.assertIn(title, text(p.d, "#view-quality h1"))
            for img in ("capability-chart", "control-chart"):
                fw.wait(p.d, lambda d, img=img: self.chart_shown(d, img))
            # Another row draws its own position, with the user's words on the chart.
            css(p.d, "#quality tbody tr button")[-1].click()
            last = charts[-1]["position"]
            want = "fiber=%d&wavelengthNm=%d&end=%s" % (last["fiber"], last["wavelengthNm"], last["end"])
            src = fw.wait(p.d, lambda d: (lambda s: s if want in s else None)(d.find_element(By.ID, "control-chart").get_attribute("src")))
            fw.wait(p.d, lambda d: self.chart_shown(d, "control-chart"))
            svg = self.api.get(src[len(self.daemon.url):]).text
            self.assertIn(axis, svg)
            self.assertIn("<polyline", svg)
            # The lot report the page links to, in the user's language, with the method written out.
            link = p.d.find_element(By.ID, "lot-link").get_attribute("href")
            page = self.api.get(link[len(self.daemon.url):]).text
            self.assertIn(report_title, page)
            self.assertIn('<td id="units">%d</td>' % self.UNITS, page)
            self.assertIn(method, page)
            self.assertEqual(fw.console_errors(p.d), [], "console errors on the Quality page")

    def test_the_lot_report_escapes_what_it_was_given(self):
        page = self.api.get("/lots/report.html?partNumber=%3Cb%3EX%3C%2Fb%3E").text
        self.assertIn("&lt;b&gt;X&lt;/b&gt;", page)
        self.assertNotIn("<b>X", page)
        self.assertIn('<td id="units">0</td>', page)

    def test_a_bad_position_is_refused_naming_the_field(self):
        r = self.api.get("/charts/spc.svg?partNumber=%s&fiber=99&wavelengthNm=1310&end=A" % PART)
        self.assertEqual(r.status_code, 400)
        self.assertIn("fiber is '99', not a number in 1...32", r.text)
        self.assertEqual(self.api.get("/charts/capability.svg").status_code, 400, "no part number")


class Calibration(unittest.TestCase):
    """An instrument past its calibration is said on the station page's fixture panels and on the
    Instruments page (station.calibration: warn, the default: units still run)."""

    def test_an_overdue_instrument_is_shown_where_operators_look(self):
        daemon = fw.Daemon(edit=lambda t: t.replace('calibrationDue: "2027-06-30"', 'calibrationDue: "2020-01-31"'))
        try:
            p = Page(daemon)
            try:
                for fixture in (1, 2):  # ilrl serves both
                    note = fw.wait(p.d, lambda d: text(d, "#fixture-%d .calibration" % fixture))
                    self.assertEqual(note, "ilrl is past its calibration (due 2020-01-31).")
                p.d.get(daemon.url + "/#instruments")
                fw.signed_in(p.d)
                badge = fw.wait(p.d, lambda d: [e for e in css(d, "#instruments .badge") if "2020-01-31" in e.text])[0]
                self.assertEqual(badge.get_attribute("data-state"), "fault")
                self.assertIn("overdue", badge.text.lower())
                self.assertEqual(fw.console_errors(p.d), [])
            finally:
                p.close()
        finally:
            daemon.close()


class RouteRefusal(unittest.TestCase):
    """The MES refuses a held serial, over IPC-CFX (mes.routeCheck.cfx, through the real RabbitMQ
    to scripts/cfx-mes-peer.py) and over HTTP (scripts/mes-peer.py): the page says why in the
    MES's own words, shown as text, and nothing starts; ferrulectl exits 2 with the same reason;
    a serial the MES allows runs."""

    REASON = "on hold by QA <b>NCR-9</b>"
    ROUTE = "WEB-HELD=hold:%s;CTL-HELD=hold:%s" % (REASON, REASON)

    def peer(self, args):
        proc = subprocess.Popen(["/usr/bin/python3"] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        return proc, proc.stdout.readline().strip()

    def test_over_cfx(self):
        work = tempfile.mkdtemp(prefix="ferrule-route-")
        address = "/queue/ferrule-browser-route-%d" % os.getpid()
        password = os.path.join(work, "amqp.password")
        with open(password, "w") as f:
            f.write("ferrule\n")
        log = os.path.join(work, "mes.jsonl")
        _, first = self.peer([os.path.join(fw.REPO, "scripts", "cfx-mes-peer.py"), "--url", "amqp://127.0.0.1:5672",
                              "--address", address, "--user", "ferrule", "--password", "ferrule", "--log", log,
                              "--route", self.ROUTE])
        self.assertEqual(first, "ready", "the stand-in MES did not attach to the broker")
        check = ('  cfx: { broker: "amqp://127.0.0.1:5672", address: "%s", timeout: 10s, user: ferrule, passwordFile: "%s" }'
                 % (address, password))
        self.refuse_then_run(check, " (failure code 17)")
        with open(log, encoding="utf-8") as f:
            asked = [json.loads(line)["envelope"]["MessageBody"]["PrimaryIdentifier"] for line in f]
        self.assertEqual(asked, ["WEB-HELD", "CTL-HELD", "WEB-FREE"])

    def test_over_http(self):
        log = os.path.join(tempfile.mkdtemp(prefix="ferrule-route-"), "mes.jsonl")
        _, first = self.peer([os.path.join(fw.REPO, "scripts", "mes-peer.py"), "--log", log, "--route", self.ROUTE])
        self.assertTrue(first.startswith("PORT "), first)
        self.refuse_then_run('  http: { url: "http://127.0.0.1:%s/route-check", timeout: 10s }' % first.split()[1], "")
        with open(log, encoding="utf-8") as f:
            asked = [json.loads(line)["route"]["serial"] for line in f]
        self.assertEqual(asked, ["WEB-HELD", "CTL-HELD", "WEB-FREE"])

    def refuse_then_run(self, check, suffix):
        daemon = fw.Daemon(edit=lambda t: t + "\nmes:\n  routeCheck:\n  " + check + "\n")
        self.addCleanup(daemon.close)
        fw.take_references(daemon.url)
        p = Page(daemon)
        self.addCleanup(p.close)
        p.choose_part(1)
        p.ready(1)
        p.scan("WEB-HELD")
        said = "The MES refused WEB-HELD: %s%s" % (self.REASON, suffix)
        fw.wait(p.d, lambda d: said in text(d, "#fixture-1 .message"))
        self.assertEqual(css(p.d, "#fixture-1 .message b"), [], "the MES's words are shown as text, never as markup")
        self.assertEqual(p.d.find_element(By.CSS_SELECTOR, "#fixture-1").get_attribute("data-state"), "idle")
        self.assertEqual(fw.console_errors(p.d), [])
        # The terminal: the same refusal, exit status 2.
        ctl = subprocess.run(
            [os.path.join(os.path.dirname(fw.FERRULED), "ferrulectl"), "test", "--socket", os.path.join(daemon.dir, "s.sock"),
             "--serial", "CTL-HELD", "--part", PART, "--fixture", "2", "--operator", "op1"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(ctl.returncode, 2, ctl.stdout + ctl.stderr)
        self.assertIn("the MES refused CTL-HELD: %s%s" % (self.REASON, suffix), ctl.stderr)
        # A serial the MES allows runs to its verdict.
        p.ready(1)
        p.scan("WEB-FREE")
        self.assertIn("PASS", p.verdict(1))


class Reconnect(unittest.TestCase):
    def test_the_page_reconnects_after_ferruled_restarts(self):
        daemon = fw.Daemon()
        try:
            fw.take_references(daemon.url)
            p = Page(daemon)
            try:
                daemon.restart()
                # It noticed (or the restart was quicker than its feed): either way it is live again...
                fw.wait(p.d, lambda d: d.find_element(By.ID, "connection").get_attribute("data-state") == "live"
                        and d.execute_script("return F.ws && F.ws.readyState === 1"))
                # ...still signed in (sessions survive a restart), and the station works from the page.
                self.assertIn("signed-in", p.d.find_element(By.TAG_NAME, "body").get_attribute("class"))
                p.choose_part(2)
                p.ready(2)
                p.scan("WEB-AFTER")
                self.assertIn("PASS", p.verdict(2))
            finally:
                p.close()
        finally:
            daemon.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
