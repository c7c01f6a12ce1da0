"""Data Docs that render with no network.

Great Expectations' Data Docs pages load their CSS, JavaScript and fonts from CDNs (Bootstrap,
jQuery, Popper, Font Awesome, bootstrap-table and its filter-control extension,
bootstrap-datepicker, bootstrap-dark, Vega, Vega-Lite and Vega-Embed): with no network a page is
unstyled and its tables stay empty. `make_offline(site)` copies local copies of them into the
site's `static/vendor/`, each library in its folder beside its licence, and rewrites every page
to load them from there. A page that references a CDN stylesheet, script or font with no local
copy makes it fail, naming the URL, rather than leave the page half offline.

The copies come from package registries, at install time, never at run time:

* PyPI, where a package ships the library (dependencies in pyproject.toml): XStatic-Bootstrap
  (Bootstrap 4.5.3, whose bundle has Popper 1.16.1), XStatic-jQuery (3.7.1), fontawesomefree
  (Font Awesome Free 6.6.0) and django-js-lib-vega-embed (Vega 5.33.0, Vega-Lite 5.23.0,
  Vega-Embed 6.29.0: what GX's `vega@5`, `vega-lite@5` and `vega-embed@6` resolve to);
* the npm registry for what no PyPI package ships: bootstrap-table 1.19.1,
  bootstrap-datepicker 1.9.0 (PyPI has only 1.4.0, for Bootstrap 3) and
  @forevolve/bootstrap-dark 1.1.0. Their tarballs are pinned by version and by the registry's
  sha512 integrity, fetched by `python -m oversight.validation.data_docs_offline fetch`
  (`make install`) into the virtualenv, and checked again each time they are copied.

The pages are matched to the copies by library and file name, not by exact URL, so another CDN
or another patch release of the same library still finds its copy; a URL naming another major
version than the copy's fails.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

VENDOR = "static/vendor"  # in the site, beside GX's own static/images and static/styles


class OfflineDocsError(RuntimeError):
    """The Data Docs cannot be made to work offline (an asset with no local copy, a missing or
    altered package)."""


@dataclass(frozen=True)
class PyPI:
    """An installed distribution from PyPI (a dependency in pyproject.toml)."""

    distribution: str

    def describe(self) -> str:
        return f"PyPI package {self.distribution}=={metadata.version(self.distribution)}"


@dataclass(frozen=True)
class Npm:
    """A package tarball from the npm registry, pinned by version and the registry's integrity
    (`npm view NAME@VERSION dist.integrity`)."""

    name: str
    version: str
    integrity: str

    @property
    def tarball(self) -> str:
        """The tarball's file name in the cache (as `npm pack` names it)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    def describe(self) -> str:
        return f"npm package {self.name}@{self.version} ({self.integrity})"


@dataclass(frozen=True)
class Library:
    """A library copied to `static/vendor/<folder>/`.

    `files` maps a path in the folder to a path in the package (for npm, below the tarball's
    top folder); a path ending in `/` copies that folder. `licence_file` is the package's
    licence, copied beside the files (by default, the one in its `.dist-info`); a package that
    ships none has `notices` instead: files whose licence comments (`/*! ... */`) are quoted
    in a NOTICE.txt.
    """

    folder: str
    title: str
    version: str
    licence: str
    source: PyPI | Npm
    files: dict[str, str]
    licence_file: str | None = None
    notices: tuple[str, ...] = ()


BOOTSTRAP_TABLE = Npm(
    "bootstrap-table",
    "1.19.1",
    "sha512-WvV+l1AI/C+zThaKmfHmi/IuayVNB0qdFyEhFx1jyZhO0oLtNJNANkCR3rvJf6Dkh72dsLElxpE/bzK9seEQLA==",
)
BOOTSTRAP_DATEPICKER = Npm(
    "bootstrap-datepicker",
    "1.9.0",
    "sha512-9rYYbaVOheGYxjOr/+bJCmRPihfy+LkLSg4fIFMT9Od8WwWB/MB50w0JO1eBgKUMbb7PFHQD5uAfI3ArAxZRXA==",
)
BOOTSTRAP_DARK = Npm(
    "@forevolve/bootstrap-dark",
    "1.1.0",
    "sha512-A3ucpEpxPoTVO490lZZCfjPXxv832l7mm1IxX3bXyxvgwnPGXDLyh7dWrphXKO8YBAu3EswbBEu3VSW8NRMW3A==",
)
XSTATIC_BOOTSTRAP = "xstatic/pkg/bootstrap/data"
VEGA = PyPI("django-js-lib-vega-embed")
VEGA_DIR = "js_lib_vega_embed/static/js_lib_vega_embed"  # its licence is in its dist-info

LIBRARIES: dict[str, Library] = {
    lib.folder: lib
    for lib in (
        Library(
            "bootstrap",
            "Bootstrap (with Popper.js 1.16.1 in its bundle)",
            "4.5.3",
            "MIT",
            PyPI("XStatic-Bootstrap"),
            {
                "css/bootstrap.min.css": f"{XSTATIC_BOOTSTRAP}/css/bootstrap.min.css",
                "js/bootstrap.bundle.min.js": f"{XSTATIC_BOOTSTRAP}/js/bootstrap.bundle.min.js",
            },
            notices=(
                f"{XSTATIC_BOOTSTRAP}/css/bootstrap.min.css",
                f"{XSTATIC_BOOTSTRAP}/js/bootstrap.bundle.js",  # Popper's licence
            ),
        ),
        Library(
            "jquery",
            "jQuery",
            "3.7.1",
            "MIT",
            PyPI("XStatic-jQuery"),
            {"jquery.min.js": "xstatic/pkg/jquery/data/jquery.min.js"},
            notices=("xstatic/pkg/jquery/data/jquery.min.js",),
        ),
        Library(
            "font-awesome",
            "Font Awesome Free",
            "6.6.0",
            "icons CC BY 4.0, fonts SIL OFL 1.1, code MIT",
            PyPI("fontawesomefree"),
            {
                "css/all.min.css": "fontawesomefree/static/fontawesomefree/css/all.min.css",
                "webfonts/": "fontawesomefree/static/fontawesomefree/webfonts/",
            },
            licence_file="fontawesomefree/static/fontawesomefree/LICENSE.txt",
        ),
        Library(
            "vega",
            "Vega",
            "5.33.0",
            "BSD-3-Clause",
            VEGA,
            {"vega.min.js": f"{VEGA_DIR}/vega5.js"},
        ),
        Library(
            "vega-lite",
            "Vega-Lite",
            "5.23.0",
            "BSD-3-Clause",
            VEGA,
            {"vega-lite.min.js": f"{VEGA_DIR}/vega-lite5.js"},
        ),
        Library(
            "vega-embed",
            "Vega-Embed",
            "6.29.0",
            "BSD-3-Clause",
            VEGA,
            {"vega-embed.min.js": f"{VEGA_DIR}/vega-embed6.js"},
        ),
        Library(
            "bootstrap-table",
            "bootstrap-table",
            "1.19.1",
            "MIT",
            BOOTSTRAP_TABLE,
            {
                "bootstrap-table.min.css": "dist/bootstrap-table.min.css",
                "bootstrap-table.min.js": "dist/bootstrap-table.min.js",
                "extensions/filter-control/bootstrap-table-filter-control.min.css": (
                    "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
                ),
                "extensions/filter-control/bootstrap-table-filter-control.min.js": (
                    "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"
                ),
            },
            licence_file="LICENSE",
        ),
        Library(
            "bootstrap-datepicker",
            "bootstrap-datepicker",
            "1.9.0",
            "Apache-2.0",
            BOOTSTRAP_DATEPICKER,
            {
                "css/bootstrap-datepicker.min.css": "dist/css/bootstrap-datepicker.min.css",
                "js/bootstrap-datepicker.min.js": "dist/js/bootstrap-datepicker.min.js",
            },
            licence_file="LICENSE",
        ),
        Library(
            "bootstrap-dark",
            "bootstrap-dark (dark theme when the system prefers it)",
            "1.1.0",
            "MIT",
            BOOTSTRAP_DARK,
            {"css/bootstrap-prefers-dark.css": "dist/css/bootstrap-prefers-dark.css"},
            licence_file="LICENSE",
        ),
    )
}


@dataclass(frozen=True)
class Rule:
    """Where a CDN asset is served from: `file` in `static/vendor/<library>/`, or, with no
    file, by another asset of the page (`note` says which). `major` is the copy's major
    version; `needs` is a word the URL must contain when its file name alone is too common."""

    library: str
    file: str | None
    major: int
    needs: str = ""
    note: str = ""


# By asset key: the URL's file name without version or `.min` (see asset_key).
RULES: dict[str, Rule] = {
    "bootstrap.css": Rule("bootstrap", "css/bootstrap.min.css", 4),
    "bootstrap.js": Rule("bootstrap", "js/bootstrap.bundle.min.js", 4),
    "bootstrap.bundle.js": Rule("bootstrap", "js/bootstrap.bundle.min.js", 4),
    "popper.js": Rule(
        "bootstrap",
        None,
        1,
        note="Popper.js 1.16.1 is in static/vendor/bootstrap/js/bootstrap.bundle.min.js",
    ),
    "jquery.js": Rule("jquery", "jquery.min.js", 3),
    "all.css": Rule("font-awesome", "css/all.min.css", 6, needs="awesome"),
    "bootstrap-table.css": Rule("bootstrap-table", "bootstrap-table.min.css", 1),
    "bootstrap-table.js": Rule("bootstrap-table", "bootstrap-table.min.js", 1),
    "bootstrap-table-filter-control.css": Rule(
        "bootstrap-table", "extensions/filter-control/bootstrap-table-filter-control.min.css", 1
    ),
    "bootstrap-table-filter-control.js": Rule(
        "bootstrap-table", "extensions/filter-control/bootstrap-table-filter-control.min.js", 1
    ),
    "bootstrap-datepicker.css": Rule("bootstrap-datepicker", "css/bootstrap-datepicker.min.css", 1),
    "bootstrap-datepicker.js": Rule("bootstrap-datepicker", "js/bootstrap-datepicker.min.js", 1),
    "bootstrap-prefers-dark.css": Rule("bootstrap-dark", "css/bootstrap-prefers-dark.css", 1),
    "vega.js": Rule("vega", "vega.min.js", 5),
    "vega-lite.js": Rule("vega-lite", "vega-lite.min.js", 5),
    "vega-embed.js": Rule("vega-embed", "vega-embed.min.js", 6),
}

ASSET_EXTENSIONS = ("js", "mjs", "css")
FONT_OR_CSS = re.compile(r"(?i)\.(css|woff2?|ttf|otf|eot)$|^fonts\.(googleapis|gstatic)\.com$")
EXTERNAL = re.compile(r"(?i)^\s*(https?:)?//")


def asset_key(url: str) -> str:
    """What a CDN URL serves, whatever the CDN and version: its file name without version and
    `.min` (`.../bootstrap/4.3.1/css/bootstrap.min.css` -> `bootstrap.css`,
    `jquery-3.7.1.min.js` -> `jquery.js`); a bare package URL (jsDelivr's `npm/vega@5`) serves
    the package's script (`vega.js`)."""
    last = urlsplit(url.strip()).path.rstrip("/").rsplit("/", 1)[-1]
    name = last.split("@", 1)[0] if "@" in last and not last.startswith("@") else last
    stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() not in ASSET_EXTENSIONS:
        return f"{name.lower()}.js"
    stem = re.sub(r"\.min$", "", stem, flags=re.I)
    stem = re.sub(r"-v?\d+(\.\d+)*$", "", stem)
    return f"{stem.lower()}.{ext.lower()}"


def url_major(url: str) -> int | None:
    """The major version a CDN URL names (`bootstrap@1.19.1` -> 1, `vega@5` -> 5,
    `/bootstrap/4.3.1/` -> 4, `jquery-3.7.1.min.js` -> 3), or None when it names none."""
    path = urlsplit(url.strip()).path
    for segment in path.split("/"):
        tail = segment.split("@", 1)[1] if "@" in segment[1:] else segment
        if re.fullmatch(r"v?\d+(\.\d+)*", tail):
            return int(tail.lstrip("v").split(".")[0])
        found = re.search(r"-v?(\d+)(\.\d+)+(?=\.|$)", segment)
        if found:
            return int(found.group(1))
    return None


def rule_for(url: str) -> Rule:
    """The local copy of a CDN asset; OfflineDocsError when there is none (or only one of
    another major version)."""
    key = asset_key(url)
    rule = RULES.get(key)
    if rule is None or rule.needs.lower() not in url.lower():
        raise OfflineDocsError(
            f"no local copy of {url} (asset {key!r}): add it to RULES and LIBRARIES in "
            "oversight/validation/data_docs_offline.py"
        )
    major = url_major(url)
    if major is not None and major != rule.major:
        lib = LIBRARIES[rule.library]
        raise OfflineDocsError(
            f"{url} asks for major version {major}, the local copy is {lib.title} "
            f"{lib.version}: update LIBRARIES in oversight/validation/data_docs_offline.py"
        )
    return rule


def _attr(tag: str, name: str) -> re.Match[str] | None:
    """An attribute's value in a tag; group 2 (quoted) or 3 (bare) is the value."""
    return re.search(
        rf"""(?is)\s{name}\s*=\s*(?:(["'])(.*?)\1|([^\s"'>]+))""",
        tag,
    )


def _value(found: re.Match[str]) -> str:
    return html.unescape(found.group(2) if found.group(1) else found.group(3))


def _set_attr(tag: str, found: re.Match[str], value: str) -> str:
    name = found.group(0).split("=", 1)[0]
    return f'{tag[: found.start()]}{name}="{html.escape(value)}"{tag[found.end() :]}'


def _drop_cdn_attrs(tag: str) -> str:
    """Without `integrity` (a hash of the CDN's file) and `crossorigin` (a file:// page cannot
    load a script in CORS mode)."""
    for name in ("integrity", "crossorigin"):
        tag = re.sub(
            rf"""(?is)\s+{name}(\s*=\s*(["']).*?\2|\s*=\s*[^\s"'>]+)?(?=[\s/>])""", "", tag
        )
    return tag


SCRIPT_OR_LINK = re.compile(r"(?is)<script\b[^>]*>\s*</script\s*>|<link\b[^>]*>|<img\b[^>]*>")
ASSET_RELS = {"stylesheet", "preload", "modulepreload", "prefetch"}


def rewrite_html(html_text: str, to_site: str = "", images: frozenset[str] = frozenset()) -> str:
    """A Data Docs page that loads its CSS, scripts and fonts from `static/vendor/`.

    `to_site` is the relative path from the page's folder to the site's (`""` for the index,
    `"../../"` two folders down). An image from a CDN whose file name is in `images` (GX's own
    `static/images/`) is pointed there too; other images are left. Raises OfflineDocsError,
    naming every URL, when a stylesheet, script or font has no local copy."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        tag = match.group(0)
        kind = tag[1:4].lower()
        found = _attr(tag, "src" if kind in ("scr", "img") else "href")
        if found is None or not EXTERNAL.match(_value(found)):
            return tag
        url = _value(found)
        if kind == "img":
            name = urlsplit(url).path.rsplit("/", 1)[-1]
            return (
                _set_attr(tag, found, f"{to_site}static/images/{name}") if name in images else tag
            )
        if kind == "lin":
            rel = _attr(tag, "rel")
            if rel is None or not ASSET_RELS & set(_value(rel).lower().split()):
                return tag
        try:
            rule = rule_for(url)
        except OfflineDocsError as error:
            missing.append(str(error))
            return tag
        if rule.file is None:
            return f"<!-- {asset_key(url)}: {rule.note} -->"
        local = f"{to_site}{VENDOR}/{rule.library}/{rule.file}"
        return _drop_cdn_attrs(_set_attr(tag, found, local))

    out = SCRIPT_OR_LINK.sub(replace, html_text)
    missing += [f"no local copy of {url} (a font or stylesheet)" for url in _inline_fonts(out)]
    if not missing:  # a safety net: what the rewrite could not parse
        missing += [f"no local copy of {url}" for url in _external_assets(out)]
    if missing:
        raise OfflineDocsError("; ".join(dict.fromkeys(missing)))
    return out


def _inline_fonts(html_text: str) -> list[str]:
    """CDN stylesheets and fonts that inline CSS (`<style>`, `style=""`) imports or uses."""
    css = " ".join(re.findall(r"(?is)<style\b[^>]*>(.*?)</style\s*>", html_text))
    css += " " + " ".join(
        m[1] for m in re.findall(r"""(?is)\sstyle\s*=\s*(["'])(.*?)\1""", html_text)
    )
    urls = re.findall(r"""(?i)url\(\s*["']?([^"')\s]+)""", css)
    urls += re.findall(r"""(?i)@import\s+["']([^"']+)""", css)
    found = []
    for url in urls:
        if EXTERNAL.match(url):
            parts = urlsplit(url)
            if FONT_OR_CSS.search(parts.path) or FONT_OR_CSS.search(parts.netloc):
                found.append(url)
    return found


def _external_assets(html_text: str) -> list[str]:
    """Scripts and stylesheets still loaded from a CDN (none once a page is rewritten)."""
    urls = []
    for tag in re.findall(r"(?is)<script\b[^>]*>|<link\b[^>]*>", html_text):
        found = _attr(tag, "src" if tag[1:7].lower() == "script" else "href")
        rel = _attr(tag, "rel")
        is_asset = tag[1:7].lower() == "script" or (
            rel is not None and ASSET_RELS & set(_value(rel).lower().split())
        )
        if found and is_asset and EXTERNAL.match(_value(found)):
            urls.append(_value(found))
    return urls


def npm_cache() -> Path:
    """Where `fetch` keeps the npm tarballs: in the virtualenv, which `make install` makes."""
    return Path(sys.prefix) / "share" / "contract-oversight" / "npm"


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _npm_sources() -> list[Npm]:
    return list(
        dict.fromkeys(lib.source for lib in LIBRARIES.values() if isinstance(lib.source, Npm))
    )


def fetch(cache: Path | None = None) -> list[Path]:
    """Fetch the pinned npm tarballs into `cache` with `npm pack` (no install, no scripts),
    keeping each only if its sha512 integrity is the pinned one. Tarballs already there and
    intact are not fetched again."""
    cache = cache or npm_cache()
    cache.mkdir(parents=True, exist_ok=True)
    tarballs = []
    for source in _npm_sources():
        target = cache / source.tarball
        if target.exists() and _integrity(target) == source.integrity:
            tarballs.append(target)
            continue
        npm = shutil.which("npm")
        if npm is None:
            raise OfflineDocsError(
                f"npm is needed to fetch {source.name}@{source.version} for the Data Docs "
                "(Debian: apt-get install npm)"
            )
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(
                [npm, "pack", f"{source.name}@{source.version}", "--ignore-scripts"]
                + ["--pack-destination", tmp, "--silent"],
                cwd=tmp,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise OfflineDocsError(
                    f"npm pack {source.name}@{source.version} failed: {done.stderr.strip()}"
                )
            (packed,) = Path(tmp).glob("*.tgz")
            got = _integrity(packed)
            if got != source.integrity:
                raise OfflineDocsError(
                    f"{source.name}@{source.version} from the npm registry has integrity {got}, "
                    f"not the pinned {source.integrity}"
                )
            partial = target.with_name(target.name + ".partial")
            shutil.copyfile(packed, partial)
            os.replace(partial, target)
        tarballs.append(target)
    return tarballs


class _Package:
    """Files of an installed PyPI distribution, or of a cached npm tarball (checked against
    its pinned integrity), by their path in the package."""

    def __init__(self, source: PyPI | Npm, cache: Path) -> None:
        self.source = source
        if isinstance(source, Npm):
            self.tarball = cache / source.tarball
            if not self.tarball.exists():
                raise OfflineDocsError(
                    f"{source.name}@{source.version} is not in {cache}: run `make install` "
                    "(it runs `python -m oversight.validation.data_docs_offline fetch`)"
                )
            if _integrity(self.tarball) != source.integrity:
                raise OfflineDocsError(f"{self.tarball} is not the pinned {source.describe()}")
            with tarfile.open(self.tarball) as tar:  # paths below the tarball's top folder
                self.members = {
                    m.name.split("/", 1)[-1]: m.name for m in tar.getmembers() if m.isfile()
                }
        else:
            try:
                self.dist = metadata.distribution(source.distribution)
            except metadata.PackageNotFoundError:
                raise OfflineDocsError(
                    f"{source.distribution} is not installed: run `make install`"
                ) from None
            self.members = {f.as_posix(): f.as_posix() for f in self.dist.files or []}

    def licence(self) -> str | None:
        """The licence file in the distribution's metadata (`*.dist-info/licenses/LICENSE`)."""
        found = [
            n
            for n in self.members
            if re.fullmatch(r"[^/]+\.dist-info/(licenses/)?(LICEN[CS]E|COPYING)[^/]*", n)
        ]
        return sorted(found)[0] if found else None

    def names(self, path: str) -> list[str]:
        """`path` if the package has it; with a trailing `/`, the files in that folder."""
        if path.endswith("/"):
            return sorted(n for n in self.members if n.startswith(path))
        return [path] if path in self.members else []

    def read(self, name: str) -> bytes:
        if name not in self.members:
            raise OfflineDocsError(f"{name} is not in the {self.source.describe()}")
        if isinstance(self.source, Npm):
            with tarfile.open(self.tarball) as tar:
                return tar.extractfile(self.members[name]).read()
        return Path(self.dist.locate_file(name)).read_bytes()


def _notice(lib: Library, package: _Package) -> str:
    """A NOTICE.txt for a package that ships no licence file: its declared licence and the
    licence comments of its files."""
    comments = []
    for name in lib.notices:
        text = package.read(name).decode("utf-8", "replace")
        comments += re.findall(r"(?s)/\*\*?!.*?\*/", text)
    return "\n\n".join(
        [
            f"{lib.title} {lib.version}, from the {lib.source.describe()}, which ships no "
            f"licence file. Licence: {lib.licence}. The licence notices in its files:",
            *dict.fromkeys(comments),
        ]
    )


def _check_css(css_file: Path) -> None:
    """Every font or image a copied stylesheet uses is copied beside it."""
    for url in re.findall(r"""url\(\s*["']?([^"')]+?)["']?\s*\)""", css_file.read_text("utf-8")):
        if url.startswith(("data:", "#")):
            continue
        if EXTERNAL.match(url) or not (css_file.parent / urlsplit(url).path).exists():
            raise OfflineDocsError(f"{css_file} uses {url}, which has no local copy")


def install_vendor(site: Path, cache: Path | None = None) -> list[Library]:
    """Copy every library in LIBRARIES, with its licence, into `site/static/vendor/` (replacing
    what was there), and a README.txt saying where each comes from."""
    cache = cache or npm_cache()
    vendor = site / VENDOR
    packages: dict[PyPI | Npm, _Package] = {}
    files: dict[Path, bytes] = {}
    readme = [
        "Copies of the libraries the Data Docs pages use, so that they render with no network",
        "(written by oversight/validation/data_docs_offline.py each time the site is built).",
        "",
    ]
    for lib in LIBRARIES.values():
        if lib.source not in packages:
            packages[lib.source] = _Package(lib.source, cache)
        package = packages[lib.source]
        folder = vendor / lib.folder
        for local, inner in lib.files.items():
            names = package.names(inner)
            if not names:
                raise OfflineDocsError(f"{inner} is not in the {lib.source.describe()}")
            for name in names:  # a folder's files keep their paths below it
                files[folder / (local + name[len(inner) :] if inner.endswith("/") else local)] = (
                    package.read(name)
                )
        licence = lib.licence_file or package.licence()
        if licence:
            licence_name = Path(licence).name
            files[folder / licence_name] = package.read(licence)
        else:
            files[folder / "NOTICE.txt"] = _notice(lib, package).encode()
            licence_name = "NOTICE.txt"
        readme.append(
            f"{lib.folder}/: {lib.title} {lib.version}, from the {lib.source.describe()}; "
            f"licence {lib.licence} ({lib.folder}/{licence_name})"
        )
    shutil.rmtree(vendor, ignore_errors=True)
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (vendor / "README.txt").write_text("\n".join(readme) + "\n")
    for css in vendor.rglob("*.css"):
        _check_css(css)
    return list(LIBRARIES.values())


def make_offline(site: Path, cache: Path | None = None) -> list[Path]:
    """Copy the libraries into the site and rewrite its pages to use them; the pages
    rewritten. Nothing is written when a page references a CDN asset with no local copy
    (OfflineDocsError, naming each)."""
    images = frozenset(p.name for p in (site / "static" / "images").glob("*") if p.is_file())
    pages = sorted(site.rglob("*.html"))
    rewritten: dict[Path, str] = {}
    errors = []
    for page in pages:
        if page.is_relative_to(site / VENDOR):
            continue
        text = page.read_text("utf-8")
        to_site = "../" * len(page.relative_to(site).parent.parts)
        try:
            new = rewrite_html(text, to_site, images)
        except OfflineDocsError as error:
            errors.append(f"{page.relative_to(site)}: {error}")
            continue
        if new != text:
            rewritten[page] = new
    if errors:
        raise OfflineDocsError("Data Docs cannot work offline: " + " | ".join(errors))
    install_vendor(site, cache)
    for page, text in rewritten.items():
        page.write_text(text, "utf-8")
    return list(rewritten)


def main(argv: list[str] | None = None) -> None:
    """`python -m oversight.validation.data_docs_offline fetch`: fetch the npm tarballs (make
    install)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["fetch"])
    parser.parse_args(argv)
    for path in fetch():
        print(f"Data Docs assets: {path}")


if __name__ == "__main__":
    main()
