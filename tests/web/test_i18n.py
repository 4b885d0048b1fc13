"""Chinese first, English available: the English catalog covers every msgid in the source
(re-extracted here exactly as scripts/update-translations does), keeps each placeholder,
and is compiled; the locale comes from ?lang= and sticks in the session, and signed-in pages
in English keep no Chinese UI chrome (imported data may stay Chinese)."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from html import unescape

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from couriers import carriers
from tests.web.conftest import PASSWORD, csrf_token
from tracker import users
from tracker.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "update-translations"
CATALOG = PROJECT_ROOT / "tracker" / "translations" / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?([sdifrx%])")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
DATA = sorted({c.name for c in carriers.CARRIERS} | {f"{role} 测试" for role in users.ROLES}, key=len, reverse=True)
UPDATE = "run scripts/update-translations and translate the new msgstr entries in messages.po"


def placeholders(text: str) -> list[tuple[str, str]]:
    return sorted(PLACEHOLDER.findall(text))


def script_keywords() -> list[str]:
    """The -k keywords scripts/update-translations extracts with, so this test checks what it
    extracts (Babel's defaults, _ gettext ngettext N_ …, come on top)."""
    words = shlex.split(SCRIPT.read_text(encoding="utf-8").replace("\\\n", " "), comments=True)
    keywords = [words[i + 1] for i, word in enumerate(words[:-1]) if word in ("-k", "--keyword")]
    assert keywords, "scripts/update-translations passes no -k keywords"
    return keywords


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The msgids of the current source, extracted like scripts/update-translations does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    keywords = [arg for k in script_keywords() for arg in ("-k", k)]
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
                    *keywords, "-o", str(pot), "."], cwd=PROJECT_ROOT, check=True, timeout=120)
    with open(pot, "rb") as f:
        catalog = read_po(f)
    messages = {m.id: m for m in catalog if m.id}
    assert len(messages) > 100, "the extraction found almost nothing: check babel.cfg"
    return messages


@pytest.fixture(scope="module")
def po():
    with open(CATALOG / "messages.po", "rb") as f:
        return read_po(f, locale="en")


def where(message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:3])


# ---------------------------------------------------------------- the catalog


def test_every_msgid_has_its_english(extracted, po):
    problems = []
    for msgid, found in extracted.items():
        message = po.get(msgid)
        if message is None:
            problems.append(f"missing {msgid!r} ({where(found)})")
        elif message.fuzzy:
            problems.append(f"fuzzy {msgid!r} ({where(found)})")
        elif not (message.string or "").strip():
            problems.append(f"untranslated {msgid!r} ({where(found)})")
        elif placeholders(msgid) != placeholders(message.string):
            problems.append(f"placeholders differ: {msgid!r} → {message.string!r} ({where(found)})")
        elif CJK.search(message.string):
            problems.append(f"Chinese left in the English of {msgid!r}: {message.string!r}")
    assert not problems, f"{UPDATE}:\n" + "\n".join(problems)


def test_the_catalog_has_no_stale_or_fuzzy_entries(extracted, po):
    stale = sorted(m.id for m in po if m.id and m.id not in extracted)
    assert not stale, f"msgids no longer in the source ({UPDATE}): {stale}"
    assert not po.fuzzy, "the catalog header is marked fuzzy"
    assert not list(po.check()), [(m.id, errors) for m, errors in po.check()]


def test_the_catalog_keeps_every_translation_function(extracted):
    """An alias of a flask_babel function that is not an extraction keyword would hide its
    msgids from the catalog (and so from the tests above)."""
    keywords = set(script_keywords()) | {"_", "gettext", "ngettext", "N_", "pgettext", "npgettext"}
    aliases = re.compile(r"from flask_babel import (\w*gettext) as (\w+)")
    hidden = [(path.relative_to(PROJECT_ROOT), name)
              for path in (PROJECT_ROOT / "tracker").rglob("*.py")
              for _function, name in aliases.findall(path.read_text(encoding="utf-8")) if name not in keywords]
    assert not hidden, f"add these to the -k keywords of scripts/update-translations: {hidden}"


def test_the_compiled_catalog_matches_the_po(po):
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = read_mo(f)
    compiled = {m.id: m.string for m in mo if m.id}
    expected = {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}
    assert compiled == expected, "messages.mo is stale: run scripts/update-translations"


# ---------------------------------------------------------------- the pages


def ui_text(html: str) -> str:
    """The page's own words: the signed-in user's name, the switch back to 中文 and the data
    it shows (carrier names, staff names, provinces, promotions) left out."""
    html = re.sub(r'<span class="who">.*?</span>', " ", html, flags=re.DOTALL)
    html = re.sub(r'<a [^>]*class="lang"[^>]*>.*?</a>', " ", html, flags=re.DOTALL)
    html = re.sub(r'<option value="([^"]*)"[^>]*>\s*\1\s*</option>', " ", html)  # a province, a promotion
    html = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.DOTALL)
    html = re.sub(r'(?:title|placeholder|aria-label)="([^"]*)"', r">\1<", html)  # attributes people read
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    for name in DATA:
        text = text.replace(name, " ")
    return text


def chinese_in(text: str) -> list[str]:
    return sorted({line.strip() for line in text.splitlines() if CJK.search(line)})


def assert_english(html: str) -> None:
    """No Chinese left in the page's own words (the lines that are, as the failure message)."""
    left = chinese_in(ui_text(html))
    assert not left, left


def get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def header(html: str) -> str:
    match = re.search(r'<header class="top">.*?</header>', html, flags=re.DOTALL)
    assert match, "no page header"
    return match.group(0)


def test_the_login_page_is_chinese_by_default(app):
    html = get(app.test_client(), "/login")
    assert '<html lang="zh-CN">' in html
    assert "<h1>登录</h1>" in html and "用户名" in html
    assert "Sign in" not in html
    assert 'href="?lang=en"' in html  # the switch to English


def test_lang_en_switches_the_login_page_and_sticks(app):
    client = app.test_client()
    html = get(client, "/login?lang=en")
    assert '<html lang="en">' in html
    assert "<h1>Sign in</h1>" in html and "Username" in html and "Password" in html
    assert_english(html)
    html = get(client, "/login")  # no ?lang: the session remembers
    assert "<h1>Sign in</h1>" in html and "登录" not in html
    assert "<h1>登录</h1>" in get(client, "/login?lang=zh")
    assert "<h1>登录</h1>" in get(client, "/login")


def test_an_unknown_lang_keeps_the_current_one(app):
    client = app.test_client()
    assert "<h1>Sign in</h1>" in get(client, "/login?lang=en")
    assert "<h1>Sign in</h1>" in get(client, "/login?lang=fr")


def test_messages_from_python_are_translated(app, staff):
    client = app.test_client()
    get(client, "/login?lang=en")
    response = client.post("/login", data={"username": "lead", "password": "wrong", "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_the_english_choice_survives_signing_in(app, staff):
    client = app.test_client()
    get(client, "/login?lang=en")
    response = client.post("/login", data={"username": "lead", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    html = get(client, "/queue/")
    assert '<html lang="en">' in html and "Exception queue" in html


def test_the_queue_in_english(client_as):
    client = client_as("lead")
    html = get(client, "/queue/?lang=en")
    top = header(html)
    for word in ("Logistics Exception Tracker", "Exception queue", "Import orders", "Dashboard", "Sign out"):
        assert word in top, word
    assert_english(top)
    assert "<title>Exception queue · Logistics Exception Tracker</title>" in html
    for word in ("Search", "Severity", "Assign to me", "Download urge list", "Unassigned", "No exceptions match."):
        assert word in html, word
    assert_english(html)


def test_the_dashboard_in_english(client_as):
    client = client_as("lead")
    get(client, "/queue/?lang=en")
    html = get(client, "/dashboard/")  # the session keeps English
    top = header(html)
    assert "Dashboard" in top and "Sign out" in top
    assert_english(top)
    assert "<h1>Dashboard</h1>" in html and "New exceptions per day" in html
    assert_english(html)


def test_the_imports_page_and_an_error_page_in_english(client_as):
    client = client_as("lead")
    html = get(client, "/imports/?lang=en")
    assert "<h1>Import orders</h1>" in html
    assert_english(html)
    response = client.get("/orders/999999")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "404 · Page not found" in html and "Back to home" in html
    assert_english(html)


def test_the_same_pages_stay_chinese_by_default(client_as):
    client = client_as("lead")
    html = get(client, "/queue/")
    assert '<html lang="zh-CN">' in html
    assert "异常队列" in header(html) and "Exception queue" not in html
    assert "<h1>看板</h1>" in get(client, "/dashboard/")
