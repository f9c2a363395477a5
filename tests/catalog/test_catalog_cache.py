"""The on-disk cache of the packaged catalog: same records as a fresh load, rebuilt when stale or damaged."""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from suanli.catalog import registry
from suanli.catalog.registry import cache_key, cache_path, load_catalog, packaged_catalog
from suanli.errors import DataError

PACKAGE = Path(registry.__file__).resolve().parent


@pytest.fixture()
def cache_home(tmp_path, monkeypatch):
    """A private cache folder, the cache on, no overlays."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(registry.NO_CACHE_ENV, raising=False)
    monkeypatch.delenv(registry.ENV_VAR, raising=False)
    registry._cached.cache_clear()
    yield tmp_path / "cache" / "suanli" / registry.CACHE_FILE
    registry._cached.cache_clear()


def _same(a, b) -> None:
    assert list(a.accelerators) == list(b.accelerators) and dict(a.accelerators) == dict(b.accelerators)
    assert list(a.systems) == list(b.systems) and dict(a.systems) == dict(b.systems)
    assert dict(a.calibrations) == dict(b.calibrations)
    assert a.files == b.files and dict(a.overridden) == dict(b.overridden)


def _fail_load(*_a, **_k):
    raise AssertionError("the catalog was read from YAML although a current cache exists")


def test_cache_path_follows_xdg(cache_home):
    assert cache_path() == cache_home


def test_cache_hit_gives_the_same_catalog_as_a_fresh_load(cache_home, monkeypatch):
    first = packaged_catalog()  # miss: loads and writes
    assert cache_home.is_file()
    fresh = load_catalog(())
    monkeypatch.setattr(registry, "load_catalog", _fail_load)
    hit = packaged_catalog()  # hit: no YAML read
    assert hit is not first
    _same(hit, fresh)
    h200 = hit.accelerator("h200-sxm")
    assert h200 == fresh.accelerator("h200-sxm") and h200.to_dict() == fresh.accelerator("h200-sxm").to_dict()
    assert hit.model("llama-3.1-70b").id == "llama-3.1-70b"  # models still load on use


def test_get_catalog_without_overlays_uses_the_cache(cache_home, monkeypatch):
    packaged_catalog()
    registry._cached.cache_clear()
    monkeypatch.setattr(registry, "load_catalog", _fail_load)
    assert registry.get_catalog().accelerator("h20").id == "h20"


@pytest.mark.parametrize("changed", ["data/accelerators.yaml", "data/systems.yaml", "schema.py", "data/checks.yaml"])
def test_any_changed_byte_of_data_or_code_changes_the_key(tmp_path, changed):
    copy = tmp_path / "catalog"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache_key(copy)
    assert before is not None and before == cache_key(copy)
    f = copy / changed
    f.write_bytes(f.read_bytes() + b" ")  # one byte more
    assert cache_key(copy) != before


def test_a_changed_calibration_overlay_changes_the_key(tmp_path):
    copy = tmp_path / "catalog"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache_key(copy)
    (copy / "data" / "calibrated" / "extra.yaml").write_text("calibrations: []\n", encoding="utf-8")
    assert cache_key(copy) != before


def test_the_packaged_files_are_hashed_where_they_are(tmp_path):
    a, b = tmp_path / "a" / "catalog", tmp_path / "b" / "catalog"
    for d in (a, b):
        shutil.copytree(PACKAGE, d, ignore=shutil.ignore_patterns("__pycache__"))
    assert cache_key(a) != cache_key(b)  # the records name their files: another folder is another catalog


def test_a_stale_cache_is_rebuilt_and_never_hides_a_validation_error(cache_home, monkeypatch):
    packaged_catalog()
    monkeypatch.setattr(registry, "cache_key", lambda: "data changed")
    calls = []

    def bad_data(overlays=()):
        calls.append(overlays)
        raise DataError("suanli/catalog/data/accelerators.yaml", "must be > 0 (got 0)", record="h200-sxm",
                        field="bf16_tflops", line=12)

    monkeypatch.setattr(registry, "load_catalog", bad_data)
    with pytest.raises(DataError, match="bf16_tflops"):
        packaged_catalog()
    assert calls == [()]
    with open(cache_home, "rb") as f:
        assert pickle.load(f) != "data changed"  # nothing written for the bad data


def test_a_stale_cache_is_replaced(cache_home, monkeypatch):
    packaged_catalog()
    monkeypatch.setattr(registry, "cache_key", lambda: "new key")
    packaged_catalog()
    with open(cache_home, "rb") as f:
        assert pickle.load(f) == "new key"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "wrong payload"])
def test_a_corrupt_cache_file_is_ignored_and_rebuilt(cache_home, damage):
    fresh = packaged_catalog()
    key = cache_key()
    good = cache_home.read_bytes()
    if damage == "garbage":
        cache_home.write_bytes(b"\x80\x05not a pickle at all" * 10)
    elif damage == "truncated":
        cache_home.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        cache_home.write_bytes(b"")
    else:
        with open(cache_home, "wb") as f:
            pickle.dump(key, f)
            pickle.dump({"accelerators": {"h20": "not a record"}, "systems": {}}, f)
    assert registry._read_cache(cache_home, key) is None
    _same(packaged_catalog(), fresh)
    assert registry._read_cache(cache_home, key) is not None  # rewritten whole


def test_cache_off_reads_yaml_and_writes_nothing(cache_home, monkeypatch):
    monkeypatch.setenv(registry.NO_CACHE_ENV, "1")
    cat = packaged_catalog()
    assert not cache_home.exists()
    _same(cat, load_catalog(()))
    packaged_catalog_calls = []
    monkeypatch.setattr(registry, "_read_cache", lambda *a: packaged_catalog_calls.append(a))
    packaged_catalog()
    assert packaged_catalog_calls == []
    monkeypatch.setenv(registry.NO_CACHE_ENV, "0")  # "0" means on
    packaged_catalog()
    assert packaged_catalog_calls


def test_an_unwritable_cache_folder_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder should be
    monkeypatch.delenv(registry.NO_CACHE_ENV, raising=False)
    assert packaged_catalog().accelerator("h200-sxm").id == "h200-sxm"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]  # no temporary file left behind


def test_overlays_never_use_the_cache_and_a_changed_overlay_is_read_again(cache_home, tmp_path, monkeypatch):
    packaged_catalog()
    monkeypatch.setattr(registry, "_read_cache", _fail_load)
    monkeypatch.setattr(registry, "_write_cache", _fail_load)
    overlay = tmp_path / "price.yaml"
    for price in (11000, 12500):
        overlay.write_text(f"accelerators:\n- id: h20\n  price_usd: {price}\n", encoding="utf-8")
        registry._cached.cache_clear()
        assert registry.get_catalog(overlay).accelerator("h20").price_usd.value == price
        monkeypatch.setenv(registry.ENV_VAR, str(overlay))
        registry._cached.cache_clear()
        assert registry.get_catalog().accelerator("h20").price_usd.value == price
        monkeypatch.delenv(registry.ENV_VAR)


def test_catalog_show_prints_the_same_bytes_with_and_without_the_cache(cache_home, monkeypatch):
    from typer.testing import CliRunner

    from suanli.cli.main import build_app

    outs = []
    for no_cache in ("1", "", ""):  # off, miss (writes), hit
        monkeypatch.setenv(registry.NO_CACHE_ENV, no_cache)
        registry._cached.cache_clear()
        for json_flag in ([], ["--json"]):
            res = CliRunner().invoke(build_app("catalog"), ["catalog", "show", "h200-sxm", *json_flag])
            assert res.exit_code == 0
            outs.append(res.stdout)
    assert cache_home.is_file()
    assert outs[0] == outs[2] == outs[4] and outs[1] == outs[3] == outs[5]
    assert '"id": "h200-sxm"' in outs[1]


def test_catalog_group_alone_answers_like_the_whole_tree():
    from typer.testing import CliRunner

    from suanli.cli.main import app, build_app

    for args in (["catalog", "show", "nosuch"], ["catalog", "show", "nosuch", "--json"], ["catalog", "--help"],
                 ["models", "--help"], ["catalog", "show", "h200-sxm", "--bogus"]):
        whole, alone = CliRunner().invoke(app, args), CliRunner().invoke(build_app(args[0]), args)
        assert (whole.exit_code, whole.stdout, whole.stderr) == (alone.exit_code, alone.stdout, alone.stderr)
