"""deploy/monitoring: alert rules and the dashboard query only metrics (and labels) the code exports.

promtool is not available offline; this checks what breaks silently in practice: a renamed
metric or label makes an alert that can never fire.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.vocabulary import ReasonCode
from kiemchung.runtime import metrics

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
METRIC = re.compile(r"\bkiemchung_[a-z_]+")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"([^\"]*)\"")
SELECTOR = re.compile(r"(kiemchung_[a-z_]+)\{([^}]*)\}")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
REQUIRED_ALERTS = {
    "KiemchungDeadLetterQueueNotEmpty",
    "KiemchungQueueLagGrowing",
    "KiemchungOutboxBacklog",
    "KiemchungVerifierTimeouts",
}


def _labels_of() -> dict[str, set[str]]:
    """Every exported sample name → its label names, from the metric objects themselves."""
    labels: dict[str, set[str]] = {}
    for value in vars(metrics).values():
        names = getattr(value, "_labelnames", None)
        if names is None:
            continue
        for family in value.describe():
            base = family.name + ("_total" if family.type == "counter" else "")
            labels[base] = set(names)
    return labels


def _base(name: str) -> str:
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in metrics.EXPORTED_NAMES:
            return name.removesuffix(suffix)
    return name


def _check_expression(expr: str, where: str) -> None:
    assert expr.count("(") == expr.count(")"), where
    assert expr.count("{") == expr.count("}"), where
    names = {_base(n) for n in METRIC.findall(expr)}
    assert names, f"{where}: queries no kiemchung metric"
    assert names <= metrics.EXPORTED_NAMES, f"{where}: unknown {names - metrics.EXPORTED_NAMES}"
    labels = _labels_of()
    for name, matchers in SELECTOR.findall(expr):
        used = {label for label, _ in MATCHER.findall(matchers)}
        assert used <= labels[_base(name)], f"{where}: {name} has no label {used - labels[_base(name)]}"


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((MONITORING / "alerts.yaml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_alert_rules_query_exported_metrics_and_labels() -> None:
    rules = _rules()
    assert {r["alert"] for r in rules} >= REQUIRED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        _check_expression(rule["expr"], rule["alert"])


def test_the_timeout_alert_counts_the_verifiers_timeout_reason() -> None:
    timeouts = next(r for r in _rules() if r["alert"] == "KiemchungVerifierTimeouts")
    assert f'reason="{ReasonCode.TIMEOUT.value}"' in timeouts["expr"]


def test_a_renamed_metric_would_be_caught() -> None:
    with pytest.raises(AssertionError, match="unknown"):
        _check_expression("sum(rate(kiemchung_messages_handled_total[5m]))", "renamed")
    with pytest.raises(AssertionError, match="no label"):
        _check_expression('sum(kiemchung_outbox_backlog{queue="x"})', "wrong label")


def test_dashboard_panels_query_exported_metrics() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    targets = [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]
    assert len(targets) >= 10
    for title, expr in targets:
        _check_expression(expr, title)
    queried = {_base(n) for _, expr in targets for n in METRIC.findall(expr)}
    # Every exported metric is on the dashboard except the retention counter.
    assert metrics.EXPORTED_NAMES - queried <= {"kiemchung_outbox_pruned_total"}
