"""What a pipeline's ``monitoring:`` block makes of its live endpoint (etl_cli/model/monitoring.py,
``monitoring_of``): each setting written is read (enabled, host, port, ready_max_age_s), each one left out takes
its default (on for a streaming pipeline only), and a bind error points at the port's line, else the host's, else
the block's; ``run --monitoring-port`` switches it on at that port, its bind errors naming the option rather than a
line of the file. No JVM, no socket."""

from __future__ import annotations

import pytest

from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.errors import Location
from etl_cli.model.monitoring import MonitoringSpec, monitoring_of


def spec(text: str, streaming: bool) -> MonitoringSpec:
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    return monitoring_of(document, provenance, streaming)


@pytest.mark.parametrize(
    ("text", "streaming", "expected"),
    [
        pytest.param(
            "name: p\nmonitoring:\n  enabled: false\n  host: 0.0.0.0\n  port: 9464\n  ready_max_age_s: 300\n",
            True,
            MonitoringSpec(False, "0.0.0.0", 9464, 300.0, Location("p.yaml", 5, 9)),
            id="every-setting-written-a-streaming-pipeline-switched-off",
        ),
        pytest.param(
            "name: p\nmonitoring: {enabled: true, host: 10.0.0.5}\n",
            False,
            MonitoringSpec(True, "10.0.0.5", 0, 120.0, Location("p.yaml", 2, 35)),
            id="a-batch-pipeline-switched-on-at-a-host",
        ),
        pytest.param(
            "name: p\nmonitoring: {ready_max_age_s: 45.5}\n",
            True,
            MonitoringSpec(True, "127.0.0.1", 0, 45.5, Location("p.yaml", 2, 1)),
            id="a-streaming-pipeline-with-its-readiness-limit",
        ),
        pytest.param("name: p\n", True, MonitoringSpec(enabled=True), id="a-streaming-pipeline-with-no-block"),
        pytest.param("name: p\n", False, MonitoringSpec(enabled=False), id="a-batch-pipeline-with-no-block"),
    ],
)
def test_the_monitoring_block_gives_the_endpoint_its_settings_and_the_line_a_bind_error_names(
    text: str, streaming: bool, expected: MonitoringSpec
) -> None:
    assert spec(text, streaming) == expected


def test_a_port_given_for_one_run_switches_the_endpoint_on_and_names_the_option_not_the_file() -> None:
    written = spec("name: p\nmonitoring:\n  enabled: false\n  host: 0.0.0.0\n  port: 9464\n", False)
    assert written.on_port(8000) == MonitoringSpec(True, "0.0.0.0", 8000, 120.0, None, "--monitoring-port")
