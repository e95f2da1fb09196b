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
    _restart_embedded_worker(settings)
    c.console.print(
        f"lab cluster up in {time.monotonic() - started:.1f}s: {state.conf} "
        f"(ports {state.port_base}+, pool {state.pool})"
    )


@lab_app.command("down")
def down() -> None:
    """Stop the lab cluster and point cephflow back at the configured cluster."""
    from cephflow.cli import console as c
    from cephflow.lab.cluster import lab_down

    settings = get_settings()
    stopped = lab_down(settings.state_dir)
    _restart_embedded_worker(settings)
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


def _restart_embedded_worker(settings) -> None:
    """Stop the embedded worker if it runs: it read its settings before the lab came or went.

    The next ``cephflow run`` starts a fresh one that sees the lab's state file.
    """
    import os
    import signal

    from cephflow.engine import embedded

    for service in embedded.status(settings):
        if service.name == "worker" and service.running and service.pid:
            os.kill(service.pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(
                s.running for s in embedded.status(settings) if s.name == "worker"
            ):
                time.sleep(0.1)
            embedded.paths(settings).worker_pid.unlink(missing_ok=True)


def _confirm_when_asked(settings, wf: str, gate: str, *, timeout: float) -> None:
    """Play the DC technicians: approve ``gate`` once it waits (lab only)."""
    from cephflow.cli import console as c
    from cephflow.cli.launch import engine_client
    from cephflow.engine.state import NodeState

    client = engine_client(services=False)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = client.snapshot(wf)
            if snap.state.terminal:
                return
            node = snap.nodes.get(gate)
            if node is not None and node.attempt >= 1 and node.state is NodeState.RUNNING:
                c.console.print(f"lab demo: the disk is swapped; confirming {gate} as the "
                                "DC technicians would", highlight=False)
                client.approve(wf, gate, user="lab-demo")
                return
            time.sleep(0.5)
    finally:
        client.close()


@lab_app.command("fail-disk")
def fail_disk(
    host: str = typer.Option("lab-b", help="The lab host whose disk dies."),
    osd: int = typer.Option(None, help="The OSD whose disk dies (default: the host's first up)."),
) -> None:
    """Kill one OSD daemon of a lab host, as a dead disk would, and wait until it is down."""
    from cephflow.cli import console as c
    from cephflow.lab.cluster import fail_disk as kill

    victim = kill(get_settings().state_dir, host, osd)
    c.console.print(f"osd.{victim} on {host} is dead (daemon killed, marked down by Ceph)",
                    highlight=False)


@lab_app.command("demo")
def demo(
    host: str = typer.Option("lab-b", help="The lab host whose failed disk is replaced."),
    osd: int = typer.Option(None, help="Replace this OSD's disk instead (failed or not)."),
    auto_approve: bool = typer.Option(
        True, "--auto-approve/--no-auto-approve",
        help="Confirm the disk swap automatically (refused on a cluster that is not a lab).",
    ),
    steps: int = typer.Option(4, help="Steps of the gentle drain and weight-up."),
) -> None:
    """Bring the lab up if needed and run replace-disk on it, followed live to the end."""
    import threading

    from cephflow.cli import console as c
    from cephflow.cli.launch import engine_client, follow_workflow
    from cephflow.errors import ConfigError
    from cephflow.lab.cluster import lab_up
    from cephflow.lab.state import read_state
    from cephflow.runbook.compiler import compile_runbook
    from cephflow.tasks import load_all

    settings = get_settings()
    if auto_approve and settings.ceph.conf is not None and not settings.lab:
        raise ConfigError("--auto-approve is refused: the configured cluster is not a lab")
    if read_state(settings.state_dir) is None:
        c.console.print("lab demo: starting the lab cluster ...", highlight=False)
        lab_up(settings.state_dir)
        _restart_embedded_worker(settings)
    get_settings.cache_clear()
    settings = get_settings()
    if auto_approve and not settings.lab:
        raise ConfigError("--auto-approve is refused: the configured cluster is not a lab")
    load_all()
    monitoring = bool(settings.alertmanager.urls or settings.http_downtime.set_url)
    messaging = bool(settings.smtp.host or settings.webhook.url)
    target = {"osd": osd} if osd is not None else {"host": host}
    dag = compile_runbook("replace-disk", {**target, "downtime": monitoring,
                                           "notify": messaging, "steps": steps})
    client = engine_client()
    wf = client.submit(dag)
    shown = ", ".join(o["name"] for o in dag.discovered["osds"])
    c.console.print(f"workflow {wf} submitted (replace-disk {shown} on the lab)",
                    highlight=False)
    if auto_approve:
        threading.Thread(target=_confirm_when_asked, args=(settings, wf, "disk-replaced"),
                         kwargs={"timeout": 900}, daemon=True).start()
    raise typer.Exit(follow_workflow(client, wf, output="live"))


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
