"""What HACS and a user's hub get: requirements installable on every HA install type,
the declared minimum HA version, icons for every action and entity, and brand images
that follow Home Assistant's rules."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path
import re
import subprocess
import sys
from typing import Any

from packaging.utils import parse_wheel_filename
from PIL import Image
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMP = ROOT / "custom_components" / "community_gate"
BRAND = COMP / "brand"

MANIFEST: dict[str, Any] = json.loads((COMP / "manifest.json").read_text(encoding="utf-8"))
ICONS: dict[str, Any] = json.loads((COMP / "icons.json").read_text(encoding="utf-8"))
STRINGS: dict[str, Any] = json.loads((COMP / "strings.json").read_text(encoding="utf-8"))
SERVICES_YAML: dict[str, Any] = yaml.safe_load((COMP / "services.yaml").read_text(encoding="utf-8"))

# The oldest Home Assistant we support and test (.venv-test-minimum): 2026.3.4, the last
# patch of the first release on Python 3.14.
MINIMUM_HA = "2026.3.4"

# Python versions of every HA release we support (2026.3 to 2026.11 all run on 3.14);
# add one here when a supported HA release moves to a newer Python.
SUPPORTED_PYTHONS = ("3.14",)
# HA OS and HA Container are Alpine (musl) images for these CPUs. Alpine's musl is 1.2;
# a wheel tagged musllinux_1_1 installs there too, so both tags are accepted.
MUSL_ARCHES = ("x86_64", "aarch64")
MUSL_TAGS = ("musllinux_1_2", "musllinux_1_1")

# pip's words for "could not reach the index" (as opposed to "no such wheel").
NETWORK_ERRORS = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Max retries exceeded|"
    r"ConnectTimeoutError|ReadTimeoutError|Temporary failure in name resolution|"
    r"Name or service not known|Network is unreachable|ProxyError|SSLError|"
    r"Connection refused|Connection reset|not a trusted or secure host",
)


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


# ------------------------------------------------------------------ requirements
def test_manifest_requirements_equal_requirements_file() -> None:
    assert MANIFEST["requirements"] == _requirement_lines(ROOT / "requirements" / "integration.txt")


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
@pytest.mark.parametrize("arch", MUSL_ARCHES)
@pytest.mark.parametrize("requirement", MANIFEST["requirements"])
def test_requirement_has_a_musllinux_wheel(
    requirement: str, arch: str, python: str, tmp_path: Path
) -> None:
    """HA pip-installs these on the user's hub, where there is no compiler: a wheel
    must exist for each musl platform. A dry run resolves exactly as a download would
    but reads the index's metadata instead of fetching wheels of up to 100 MB."""
    report = tmp_path / "report.json"
    platforms = [arg for tag in MUSL_TAGS for arg in ("--platform", f"{tag}_{arch}")]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--no-deps",
            "--only-binary=:all:",
            *platforms,
            "--python-version",
            python,
            "--implementation",
            "cp",
            "--target",
            str(tmp_path / "target"),
            "--report",
            str(report),
            "--disable-pip-version-check",
            "--retries",
            "1",
            "--timeout",
            "20",
            requirement,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0 and NETWORK_ERRORS.search(proc.stderr):
        pytest.skip(f"package index unreachable: {proc.stderr.strip().splitlines()[-1]}")
    errors = "\n".join(line for line in proc.stderr.splitlines() if line.startswith("ERROR"))
    assert proc.returncode == 0, f"no musllinux {arch} wheel for Python {python}:\n{errors}"
    (item,) = json.loads(report.read_text())["install"]
    filename = item["download_info"]["url"].rsplit("/", 1)[-1]
    _, _, _, tags = parse_wheel_filename(filename)
    assert any(
        t.platform == "any" or t.platform in {f"{m}_{arch}" for m in MUSL_TAGS} for t in tags
    ), filename


# ---------------------------------------------------------- minimum HA version
def test_hacs_declares_the_minimum_home_assistant() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert hacs["homeassistant"] == MINIMUM_HA


def test_minimum_environment_is_the_declared_minimum() -> None:
    assert MINIMUM_HA in (ROOT / "requirements" / "test-minimum.txt").read_text()
    assert (ROOT / "requirements" / f"ha-constraints-{MINIMUM_HA}.txt").is_file()


def test_readme_states_the_minimum() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    version = r"(\d{4}\.\d+\.\d+)"
    stated = re.findall(rf"{version} \(minimum\)", readme)
    stated += re.findall(rf"Minimum Home Assistant version:\s*{version}", readme)
    stated += re.findall(rf"HA {version}, the oldest we support", readme)
    assert stated, "README does not state the minimum Home Assistant version"
    assert set(stated) == {MINIMUM_HA}


# ------------------------------------------------------------------------ icons
def _mdi_names() -> set[str]:
    """Every Material Design icon the installed frontend knows."""
    spec = importlib.util.find_spec("hass_frontend")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("home-assistant-frontend is not installed")
    path = Path(spec.submodule_search_locations[0]) / "static" / "mdi" / "iconList.json"
    return {icon["name"] for icon in json.loads(path.read_text(encoding="utf-8"))}


def _icon_values(tree: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += _icon_values(value, (*path, key))
        else:
            out.append((".".join((*path, key)), value))
    return out


def test_every_service_has_an_icon() -> None:
    assert set(ICONS["services"]) == set(SERVICES_YAML)
    for service, spec in ICONS["services"].items():
        assert set(spec) == {"service"}, service


def test_entity_icons_are_for_entities_that_exist() -> None:
    """Every icon belongs to a translation key in strings.json (no stale entries);
    that every entity has an icon or a device class is checked on a running estate
    (tests/ha/test_brand.py)."""
    for platform, keys in ICONS["entity"].items():
        assert set(keys) <= set(STRINGS["entity"][platform]), platform
        for key, spec in keys.items():
            assert set(spec) <= {"default", "state", "state_attributes", "range"}, key
            assert "default" in spec, key


def test_event_type_icons_cover_every_event_type() -> None:
    for key, spec in ICONS["entity"]["event"].items():
        event_types = STRINGS["entity"]["event"][key]["state_attributes"]["event_type"]["state"]
        assert set(spec["state_attributes"]["event_type"]["state"]) == set(event_types), key


def test_icons_are_material_design_icons() -> None:
    names = _mdi_names()
    values = _icon_values(ICONS)
    assert len(values) > 40
    unknown = [(where, icon) for where, icon in values if icon.removeprefix("mdi:") not in names]
    assert unknown == []
    assert all(icon.startswith("mdi:") for _, icon in values)


# ---------------------------------------------------------------- brand images
ICON_SIZES = {"icon.png": 256, "icon@2x.png": 512}
LOGO_HEIGHTS = {"logo.png": 128, "logo@2x.png": 256}
BRAND_FILES = [
    f"{prefix}{name}" for prefix in ("", "dark_") for name in (*ICON_SIZES, *LOGO_HEIGHTS)
]


def _open(name: str) -> Image.Image:
    img = Image.open(BRAND / name)
    img.load()
    return img


def test_brand_folder_holds_exactly_the_brand_files() -> None:
    assert sorted(p.name for p in BRAND.iterdir()) == sorted(BRAND_FILES)


@pytest.mark.parametrize("name", BRAND_FILES)
def test_brand_image_is_a_transparent_png(name: str) -> None:
    img = _open(name)
    assert img.format == "PNG"
    assert img.mode == "RGBA"
    alpha = img.getchannel("A")
    low, high = alpha.getextrema()
    assert low == 0, "no transparent pixels"
    assert high == 255, "no opaque pixels"
    # Small enough to ship in every install and serve without delay.
    assert (BRAND / name).stat().st_size < 100_000


@pytest.mark.parametrize("name", [n for n in BRAND_FILES if "icon" in n])
def test_brand_icon_size_and_trim(name: str) -> None:
    img = _open(name)
    size = ICON_SIZES[name.removeprefix("dark_")]
    assert img.size == (size, size)
    left, top, right, bottom = img.getchannel("A").getbbox() or (0, 0, 0, 0)
    # The mark fills the square along its longer side and is centred on the other.
    assert (left, right) == (0, size) or (top, bottom) == (0, size)
    assert abs(left - (size - right)) <= 1
    assert abs(top - (size - bottom)) <= 1


@pytest.mark.parametrize("name", [n for n in BRAND_FILES if "logo" in n])
def test_brand_logo_size_and_trim(name: str) -> None:
    img = _open(name)
    height = LOGO_HEIGHTS[name.removeprefix("dark_")]
    assert img.height == height, "shortest side: 128 px, 256 px for @2x"
    assert img.width > img.height, "landscape"
    assert img.getchannel("A").getbbox() == (0, 0, img.width, img.height), "not trimmed"


@pytest.mark.parametrize("name", ["icon.png", "logo.png", "icon@2x.png", "logo@2x.png"])
def test_dark_variant_matches_and_differs(name: str) -> None:
    light, dark = _open(name), _open(f"dark_{name}")
    assert light.size == dark.size
    assert light.getchannel("A").tobytes() == dark.getchannel("A").tobytes()
    assert light.tobytes() != dark.tobytes()


def _luminance(img: Image.Image) -> float:
    """Mean luminance (0-255) of the opaque pixels."""
    rgb, alpha = img.convert("L"), img.getchannel("A")
    mask = alpha.point(lambda a: 255 if a > 200 else 0)
    hist = rgb.histogram(mask)
    return sum(i * n for i, n in enumerate(hist)) / max(1, sum(hist))


def test_brand_images_are_what_the_generator_draws() -> None:
    """Pixels, not bytes: zlib builds differ in how they compress the same image."""
    spec = importlib.util.spec_from_file_location(
        "_make_brand_under_test", ROOT / "scripts" / "dev" / "make_brand.py"
    )
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen  # dataclasses look their module up while defining
    try:
        spec.loader.exec_module(gen)
    finally:
        del sys.modules[spec.name]
    if not any(path.is_file() for path in gen.FONT_FILES):
        pytest.skip("DejaVu Sans Bold is not installed (fonts-dejavu-core)")
    drawn = gen.build()
    assert sorted(drawn) == sorted(BRAND_FILES)
    for name, img in drawn.items():
        assert img.tobytes() == _open(name).tobytes(), f"{name}: run scripts/dev/make_brand.py"


@pytest.mark.parametrize("name", ["icon.png", "logo.png"])
def test_dark_variant_is_legible_on_a_dark_background(name: str) -> None:
    # HA's dark theme is about #111; the light variant is drawn for white.
    assert _luminance(_open(f"dark_{name}")) > 128
    assert _luminance(_open(name)) < 128


# ------------------------------------------------------------------ developer tools
DEVTOOLS = ROOT / "devtools"


def _devtools_imports(path: Path) -> set[str]:
    """The devtools modules a file imports (at any depth: function-level imports too),
    by their name inside the package: ``bench_store``, ``benchlib``, ...; ``""`` for the
    package itself."""
    inside = path.parent == DEVTOOLS
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "devtools" or alias.name.startswith("devtools."):
                    found.add(alias.name.removeprefix("devtools").removeprefix("."))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module != "devtools" and not module.startswith("devtools."):
                continue
            if node.level > 0 and not inside:
                continue
            base = module.removeprefix("devtools").removeprefix(".") if node.level == 0 else module
            if base:
                found.add(base.split(".")[0])
            else:  # from devtools import x / from . import x
                found.update(alias.name for alias in node.names)
    return found


def test_shipped_package_carries_no_developer_tools() -> None:
    assert not (COMP / "tools").exists()
    importing = [
        str(path.relative_to(ROOT)) for path in COMP.rglob("*.py") if _devtools_imports(path)
    ]
    assert importing == []
    assert (DEVTOOLS / "__init__.py").is_file()


def test_benches_share_helpers_only_through_benchlib() -> None:
    benches = {path.stem for path in DEVTOOLS.glob("bench_*.py")}
    assert {"bench_store", "bench_faces", "bench_privacy", "bench_mqtt", "bench_rules"} <= benches
    for path in sorted(DEVTOOLS.glob("*.py")):
        imported = _devtools_imports(path)
        if path.stem == "bench":
            # The dispatcher: the benchmarks' commands and benchlib's types, nothing else.
            assert imported <= benches | {"benchlib"}, path.name
        else:
            assert not imported & (benches | {"bench"}), path.name
    assert _devtools_imports(DEVTOOLS / "benchlib.py") == set()
    # bench.py only dispatches: its functions build the parser and run a subcommand.
    tree = ast.parse((DEVTOOLS / "bench.py").read_text(encoding="utf-8"))
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert functions == {"build_parser", "main"}
