"""The real ferruled on the simulated bench, a real headless Chromium, and the HTTP API, for the
browser tests, the screenshot script and the latency benchmark. Waits are bounded polls on a
condition (WebDriverWait), never bare sleeps."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import requests
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRULED = os.environ.get("FERRULED", os.path.join(REPO, ".build", "debug", "ferruled"))
SIMULATED = os.path.join(REPO, "Config", "simulated.yaml")
# Loaded machines: every wait is generous; none is a sleep.
WAIT = float(os.environ.get("FERRULE_BROWSER_WAIT", "60"))


def free_port():
    """A port the kernel just handed out, closed again for ferruled to bind (with SO_REUSEADDR, also after a restart)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_text(port, switch_ms=0, read_ms=0, prompts=False):
    """The simulated bench's config on our own port; slower instruments when asked, so a unit lasts."""
    with open(SIMULATED, encoding="utf-8") as f:
        text = f.read().replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
    if switch_ms or read_ms:
        text = text.replace("    noiseDb: 0.003\n", "    noiseDb: 0.003\n    switchSettleMs: %s\n    meterReadMs: %s\n" % (switch_ms, read_ms))
    if prompts:
        text = text.replace("simulation:\n  seed:", "simulation:\n  operatorPrompts: true\n  seed:")
    return text


class Daemon:
    """ferruled in its own folder; `restart()` keeps the folder (data, sessions) and the port."""

    def __init__(self, switch_ms=0, read_ms=0, prompts=False, users_extra="", edit=None):
        self.dir = tempfile.mkdtemp(prefix="ferrule-browser-")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.config = os.path.join(self.dir, "station.yaml")
        with open(self.config, "w", encoding="utf-8") as f:
            text = config_text(self.port, switch_ms, read_ms, prompts) + users_extra
            f.write(edit(text) if edit else text)
        self.proc = None
        self.start()

    def start(self):
        with open(os.path.join(self.dir, "ferruled.log"), "a") as log:
            self._spawn(log)
        deadline = time.time() + WAIT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ferruled exited: " + self.log())
            try:
                if requests.get(self.url + "/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)  # polling for the daemon to listen, bounded by the deadline
        raise RuntimeError("ferruled did not serve %s: %s" % (self.url, self.log()))

    def _spawn(self, log):
        args = [FERRULED, "--config", self.config, "--data-dir", os.path.join(self.dir, "data"), "--socket", os.path.join(self.dir, "s.sock")]
        self.proc = subprocess.Popen(args, stdout=log, stderr=log)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self):
        self.stop()
        self.start()

    def log(self):
        try:
            return open(os.path.join(self.dir, "ferruled.log"), encoding="utf-8", errors="replace").read()[-4000:]
        except OSError:
            return ""

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class API:
    """The HTTP API as a program (or the MES) uses it: a session cookie and the CSRF token."""

    def __init__(self, url):
        self.url = url
        self.s = requests.Session()
        self.csrf = None

    def sign_in(self, user, pin):
        r = self.s.post(self.url + "/api/signin", json={"id": user, "pin": pin}, timeout=WAIT)
        if r.status_code == 200:
            self.csrf = r.json()["csrf"]
        return r

    def post(self, path, body=None, csrf=True):
        headers = {"X-CSRF-Token": self.csrf} if csrf and self.csrf else {}
        return self.s.post(self.url + path, json=body, headers=headers, timeout=WAIT)

    def get(self, path):
        return self.s.get(self.url + path, timeout=WAIT)

    def ok(self, path, body=None):
        r = self.post(path, body)
        if r.status_code != 200:
            raise AssertionError("%s: %d %s" % (path, r.status_code, r.text))
        return r.json()

    def wait_idle(self, fixture):
        deadline = time.time() + WAIT
        while time.time() < deadline:
            f = [f for f in self.get("/api/status").json()["fixtures"] if f["id"] == fixture][0]
            if f["state"] == "idle":
                return f
            time.sleep(0.1)  # bounded poll of the station's state
        raise AssertionError("fixture %d did not become idle" % fixture)


def until(condition, what, timeout=WAIT):
    """A bounded poll of something outside the browser (the API, a peer's log)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)  # bounded poll, not a wait for time to pass
    raise AssertionError("timed out waiting for " + what)


def browser(width=1280, height=800, lang="en-US"):
    opts = Options()
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=%d,%d" % (width, height),
              "--lang=" + lang, "--force-device-scale-factor=1"]:
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for console_errors()
    for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"]:
        if os.path.exists(path):
            opts.binary_location = path
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    # The page's own viewport at exactly that size (a window's size includes the browser's frame).
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return d


def wait(driver, condition, timeout=WAIT):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def sign_in(driver, url, user, pin):
    driver.get(url + "/")
    wait(driver, EC.element_to_be_clickable((By.ID, "signin-id")))
    box = driver.find_element(By.ID, "signin-id")
    box.clear()
    box.send_keys(user + "\n")  # a badge scan: the id, then Enter, moves on to the PIN
    wait(driver, lambda d: d.switch_to.active_element.get_attribute("id") == "signin-pin")
    driver.switch_to.active_element.send_keys(pin + "\n")


def signed_in(driver):
    wait(driver, lambda d: "signed-in" in d.find_element(By.TAG_NAME, "body").get_attribute("class"))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "article.fixture"))


def take_references(url):
    """A supervisor takes every fixture's references through the API (the simulated hands connect the cords)."""
    sup = API(url)
    assert sup.sign_in("sup1", "2222").status_code == 200
    for fixture in (1, 2):
        sup.ok("/api/reference", {"fixture": fixture})


def console_errors(driver):
    """What the page's console said at error level since the last call (a failed load, a script error)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def js(driver, script):
    return driver.execute_script(script)


def dump(obj):
    return json.dumps(obj, indent=1, ensure_ascii=False)
