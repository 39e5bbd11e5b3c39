"""The course's website (`mnistlab site`) in headless Chromium, served over HTTP on 127.0.0.1 as a web host
would: every page opens without a script error or a request to another host, every link and image on it
resolves, search finds notebook 02 for "padding", and "next" and "previous" walk the notebooks in order."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urldefrag, urlsplit

import pytest
from labserver import ROOT

from mnistlab.site import build_site

pytestmark = pytest.mark.e2e


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from the notebooks, served on a free port of 127.0.0.1; (build, base URL)."""
    built = build_site(ROOT / "notebooks", tmp_path_factory.mktemp("site") / "site", log=lambda s: None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(built.out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield built, f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def _notebook_pages(built) -> list[str]:
    return [f"{name}.html" for name in built.pages if name.startswith("notebooks/")]


def test_front_page(page, site, screenshot_dir):
    built, base = site
    page.goto(base)
    assert page.locator("h1").first.inner_text().strip() == "mnistlab"
    table = page.locator("article table a.internal")
    targets = [urlsplit(table.nth(i).evaluate("a => a.href")).path.lstrip("/") for i in range(table.count())]
    assert targets == _notebook_pages(built), "the notebook table links every notebook in course order"
    nav = page.locator(".bd-sidebar-primary nav a")
    assert nav.count() >= len(built.pages) - 1, "the sidebar lists every page"
    page.screenshot(path=screenshot_dir / "site_front_page.png")


def test_every_page_opens_and_its_links_and_images_resolve(page, site):
    built, base = site
    errors, elsewhere = [], []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("request", lambda r: None if r.url.startswith((base, "data:")) else elsewhere.append(r.url))
    links: dict[str, str] = {}  # URL -> the page that links it
    ids: dict[str, set[str]] = {}
    for name in [*built.pages, "search"]:
        url = base + f"{name}.html"
        response = page.goto(url)
        assert response.ok, f"{name}: HTTP {response.status}"
        if name.startswith("notebooks/"):
            assert page.locator("nav.page-toc a").count() > 0, f"{name}: no table of contents"
        broken = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0))"
                                                  ".map(i => i.getAttribute('src'))")
        assert not broken, f"{name}: images not shown: {broken}"
        ids[url] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        found = page.eval_on_selector_all(
            "a[href], img[src]", "els => els.filter(e => !(e.getAttribute('href') || '').startsWith('#'))"
                                 ".map(e => e.href || e.src)")
        for link in found:
            links.setdefault(link, name)
    local = {link: where for link, where in links.items() if link.startswith(base)}
    unlinked = {base + f"{name}.html" for name in built.pages} - {urldefrag(link)[0] for link in local}
    assert not unlinked, f"pages no page links to: {unlinked}"
    for link, where in sorted(local.items()):
        target, fragment = urldefrag(link)
        response = page.request.get(target)
        assert response.ok, f"{where}: {link} gives HTTP {response.status}"
        if fragment and target in ids:
            assert fragment in ids[target], f"{where}: {link}: no #{fragment} in that page"
    assert not errors, errors
    assert not elsewhere, f"the site loaded from other hosts: {elsewhere}"


def test_search_finds_padding_in_notebook_02(page, site):
    built, base = site
    page.goto(base)
    form = page.locator("form.bd-search").first
    assert form.get_attribute("action").endswith("search.html")
    assert form.locator("input[name=q]").count() == 1
    page.goto(base + "search.html?q=padding")
    results = page.locator("#search-results a[href]")
    results.first.wait_for(timeout=15_000)
    hrefs = [urlsplit(results.nth(i).evaluate("a => a.href")).path for i in range(results.count())]
    assert "/notebooks/02_padding_stride.html" in hrefs, hrefs


def test_next_and_previous_walk_the_course_in_order(page, site):
    built, base = site
    order = _notebook_pages(built)
    page.goto(base + order[0])
    walked = [order[0]]
    while len(walked) < len(order):
        page.locator("a.right-next").first.click()
        page.wait_for_load_state()
        walked.append(urlsplit(page.url).path.lstrip("/"))
    assert walked == order
    back = [walked[-1]]
    while len(back) < len(order):
        page.locator("a.left-prev").first.click()
        page.wait_for_load_state()
        back.append(urlsplit(page.url).path.lstrip("/"))
    assert back == order[::-1]
