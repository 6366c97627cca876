"""report.html: self-contained (no request leaves the page), every chart a valid image, and, in a
real headless Chromium, every image rendered."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.tui.test_compare import _pair


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tui.cli import main

    tmp_path = tmp_path_factory.mktemp("report")
    # Module-scoped: set up before the per-test private registry, so it names its own.
    registry = tmp_path / "home" / "registry.sqlite"
    train, test = _pair(tmp_path)
    out = tmp_path / "comparison"
    settings = ["--set", "max_steps=4", "--set", "per_device_train_batch_size=8", "--set", "logging_steps=1"]
    arms = ["--arms", "rag,head,lora", *settings, "--out", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNEWISE_REGISTRY", str(registry))
        assert main(["compare", "--data", str(train), "--eval", str(test), *arms]) == 0
    return out


def _images(page: str) -> list[str]:
    return re.findall(r'<img alt="[^"]*" src="data:image/svg\+xml;base64,([^"]+)"', page)


def test_the_page_holds_every_chart_and_fetches_nothing(comparison: Path) -> None:
    page = (comparison / "report.html").read_text()
    results = json.loads((comparison / "results.json").read_text())
    ship = results["verdict"]["ship"]
    assert f"<title>Comparison: ship {ship}</title>" in page
    assert f'<tr class="ship"><td>{ship}</td>' in page
    images = _images(page)
    assert len(images) == 4  # intervals, quality against cost, loss curves, confusion matrix (two labels)
    assert page.count("<img") == 4
    for encoded in images:
        root = ET.fromstring(base64.b64decode(encoded))
        assert root.tag.endswith("svg")
    # Nothing outside the file: no scripts, stylesheets or images fetched from anywhere.
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<script" not in page
    lora = next(arm for arm in results["arms"] if arm["name"] == "lora")
    assert lora["curves"]["train_loss"] and lora["curves"]["eval_loss"]
    # lora trains in seconds, so it trained with three seeds: each one's score is in the table and
    # marked on the interval chart.
    assert len(lora["seeds"]) == 3 and "per training seed" in page
    scores = " / ".join(f"{seed['score']:.3f}" for seed in lora["seeds"])
    assert scores in page and "each training seed" in base64.b64decode(images[0]).decode()


def test_many_labels_show_the_top_confusions_as_a_table() -> None:
    from compare.report.html import cheapest_best_front, html_report
    from compare.results import ArmRecord, Results

    labels = [f"intent_{i}" for i in range(20)]
    ids = [f"t.csv:{i}" for i in range(40)]
    gold = [labels[i % 20] for i in range(40)]
    predicted = [labels[(i + 1) % 20] if i < 6 else gold[i] for i in range(40)]
    arm = {
        "name": "head",
        "status": "ok",
        "reason": "",
        "metrics": {"accuracy": 34 / 40, "macro_f1": 0.8},
        "ci95": {"accuracy": [0.7, 0.95], "macro_f1": [0.6, 0.9]},
        "cost": {"setup_seconds": 2.0, "latency_p50": 0.01, "latency_p95": 0.02, "disk_bytes": 1000.0},
        "predictions": predicted,
    }
    results = {
        "format": 1,
        "task": "classification",
        "primary_metric": "accuracy",
        "split": {
            "sizes": {"train": 100, "validation": 10, "test": 40},
            "ids": {"test": ids},
            "validation_fraction": 0.1,
            "seed": 1,
            "test_hash": "x",
        },
        "test_labels": gold,
        "arms": [arm],
        "verdict": {
            "best": "head",
            "ship": "head",
            "significant": False,
            "tied_with_best": ["head"],
            "p_values": {"head": 1.0},
            "advice": "rag",
            "advice_held": None,
            "reason": "rag was not among the arms that ran",
        },
    }
    page = html_report(Results.from_dict(results))
    assert "20 labels: the 6 most frequent confusions" in page
    assert "<tr><td>intent_0</td><td>intent_1</td><td>1</td></tr>" in page
    assert len(_images(page)) == 2  # no matrix image, no loss curves
    cheap = dict(arm, name="rag", metrics={"accuracy": 0.9, "macro_f1": 0.9}, cost=dict(arm["cost"], setup_seconds=1.0))
    dominated = dict(arm, name="full", cost=dict(arm["cost"], setup_seconds=60.0))
    assert cheapest_best_front([ArmRecord.model_validate(a) for a in (arm, cheap, dominated)]) == ["rag"]


CHECK = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const drawn = images.filter((img) => img.complete && img.naturalWidth > 0).length;
  document.body.setAttribute("data-images", images.length + "/" + drawn);
});
</script>"""


@pytest.mark.slow
def test_chromium_renders_the_report_with_every_image(comparison: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium")
    probe = tmp_path / "probe.html"
    probe.write_text((comparison / "report.html").read_text().replace("</body>", CHECK + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]
    dom = subprocess.run([browser, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'data-images="(\d+)/(\d+)"', dom.stdout)
    assert found, dom.stderr[-2000:]
    assert found.group(1) == found.group(2) == "4"
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,2400", (comparison / "report.html").as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 20_000  # a page with charts, not a blank one
