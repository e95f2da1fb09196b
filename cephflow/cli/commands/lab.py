"""``cephflow lab up|down|status``: a throwaway real Ceph on this machine for trying runbooks."""

from __future__ import annotations

import time

import typer

from cephflow.settings import get_settings

lab_app = typer.Typer(help="A throwaway lab Ceph cluster (1 mon, 1 mgr, 6 OSDs on 3 hosts).",
                      no_args_is_help=True)


@lab_app.command("up")
def up() -> None:
    """Start the lab cluster; cephflow then talks to it until `cephflow lab down`."""
    from cephflow.cli import console as c
    from cephflow.lab.cluster import lab_up

    settings = get_settings()
    started = time.monotonic()
    state = lab_up(settings.state_dir)
    c.console.print(
        f"lab cluster up in {time.monotonic() - started:.1f}s: {state.conf} "
        f"(ports {state.port_base}+, pool {state.pool})"
    )


@lab_app.command("down")
def down() -> None:
    """Stop the lab cluster and point cephflow back at the configured cluster."""
    from cephflow.cli import console as c
    from cephflow.lab.cluster import lab_down

    stopped = lab_down(get_settings().state_dir)
    c.console.print("lab cluster stopped" if stopped else "no lab cluster was up")


@lab_app.command("status")
def status() -> None:
    """Show the lab's daemons and Ceph's health."""
    from cephflow.ceph.access import client_for
    from cephflow.cli import console as c
    from cephflow.lab.cluster import LabCluster
    from cephflow.lab.state import read_state

    settings = get_settings()
    state = read_state(settings.state_dir)
    if state is None:
        c.console.print("no lab cluster is up (cephflow lab up)")
        raise typer.Exit(3)
    st = LabCluster(state.dir, port_base=state.port_base).status()
    for name, what in sorted(st.daemons.items()):
        c.console.print(f"{name:8} {what}")
    if st.code == 3:
        raise typer.Exit(3)
    health = client_for(settings).health()
    c.console.print(f"health: {health.summary()}", highlight=False)
    raise typer.Exit(0 if st.code == 0 else 1)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
