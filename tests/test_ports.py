"""The ports the tests' bots listen on: a worker's own, below the ephemeral range, and not
the same from one run to the next."""

from __future__ import annotations

from tests.ports import RANGES, port_order

#: Linux's ephemeral range begins here (outbound connections take their ports from it).
EPHEMERAL = 32_768


def test_the_workers_of_a_run_share_no_port_and_stay_below_the_ephemeral_range() -> None:
    """Twelve workers of one run: no port handed out twice, none at or above 32768."""
    for run in (0, 7, 0x5F3A9C1E2B7D4A60918E3C2B1A0F9D8E, 4_194_303):
        ports = [port for worker in range(RANGES) for port in port_order(worker, run)]
        assert len(set(ports)) == len(ports)
        assert min(ports) >= 1024 and max(ports) < EPHEMERAL


def test_two_runs_begin_their_first_worker_at_different_ports() -> None:
    """Two runs on one machine do not walk the same ports in step."""
    firsts = {port_order(0, run)[0] for run in (1234, 1235, 0xA1B2C3D4E5F6, 0x0F1E2D3C4B5A)}
    assert len(firsts) == 4
