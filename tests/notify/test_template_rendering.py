"""Templates rendered when a step runs (notification texts, generic downtime requests) fail
as cephflow errors, and cannot build values that would exhaust a worker's memory."""

from __future__ import annotations

import pytest

from cephflow.errors import DeliveryRefused, MonitoringError
from cephflow.monitoring.generic import _render as render_downtime
from cephflow.notify.message import render as render_message

HUGE = ["{{ 'x' * 200000 }}", "{{ [0] * 200000 }}", "{{ 7 ** 100000 }}"]
BROKEN = ["{{ 1 / 0 }}", "{{ host + 1 }}", "{{ host.upper(1, 2) }}"]


@pytest.mark.parametrize("source", HUGE)
def test_a_message_template_cannot_build_a_huge_value(source):
    with pytest.raises(DeliveryRefused, match="notify body: SecurityError"):
        render_message(source, {"host": "osd-1"}, what="notify body")


@pytest.mark.parametrize("source", BROKEN)
def test_a_message_template_that_fails_is_refused_with_its_reason(source):
    with pytest.raises(DeliveryRefused, match=r"notify body: (ZeroDivision|Type)Error"):
        render_message(source, {"host": "osd-1"}, what="notify body")


@pytest.mark.parametrize("source", HUGE)
def test_a_downtime_template_cannot_build_a_huge_value(source):
    with pytest.raises(MonitoringError, match="http downtime: set_url: SecurityError"):
        render_downtime(source, {"host": "osd-1"}, "set_url")


@pytest.mark.parametrize("source", BROKEN)
def test_a_downtime_template_that_fails_is_a_monitoring_error(source):
    with pytest.raises(MonitoringError, match=r"http downtime: set_url: (ZeroDivision|Type)Error"):
        render_downtime(source, {"host": "osd-1"}, "set_url")


def test_plain_templates_still_render():
    text = render_message("{{ host }} {{ 2 * 3 }} {{ 'ab' * 2 }}", {"host": "osd-1"})
    assert text == "osd-1 6 abab"
    assert render_downtime("/dt/{{ host }}", {"host": "osd-1"}, "set_url") == "/dt/osd-1"
