"""``cephflow lab up|down|status|fail-disk|demo``: a throwaway real Ceph on this machine."""

from __future__ import annotations

import typer

from cephflow.cli import console as c
from cephflow.cli.follow import follow
from cephflow.errors import ExitStatus

lab_app = typer.Typer(help="A throwaway lab Ceph cluster (1 mon, 1 mgr, 6 OSDs on 3 hosts).",
                      no_args_is_help=True)


@lab_app.command("up")
def up() -> None:
    """Start the lab cluster; cephflow then talks to it until `cephflow lab down`."""
    from cephflow.operations import lab  # lazy: see cephflow.cli.commands

    started = lab.up()
    state = started.state
    c.console.print(
        f"lab cluster up in {started.seconds:.1f}s: {state.conf} "
        f"(ports {state.port_base}+, pool {state.pool})"
    )


@lab_app.command("down")
def down() -> None:
    """Stop the lab cluster and point cephflow back at the configured cluster."""
    from cephflow.operations import lab  # lazy: see cephflow.cli.commands

    c.console.print("lab cluster stopped" if lab.down() else "no lab cluster was up")


@lab_app.command("status")
def status() -> None:
    """Show the lab's daemons and Ceph's health."""
    from cephflow.operations import lab  # lazy: see cephflow.cli.commands

    report = lab.status()
    if report is None:
        c.console.print("no lab cluster is up (cephflow lab up)")
        raise typer.Exit(ExitStatus.UNREACHABLE)
    for name, what in sorted(report.daemons.items()):
        c.console.print(f"{name:8} {what}")
    if report.health is None:
        raise typer.Exit(ExitStatus.UNREACHABLE)
    c.console.print(f"health: {report.health}", highlight=False)
    raise typer.Exit(0 if report.code == 0 else 1)


@lab_app.command("fail-disk")
def fail_disk(
    host: str = typer.Option("lab-b", help="The lab host whose disk dies."),
    osd: int = typer.Option(None, help="The OSD whose disk dies (default: the host's first up)."),
) -> None:
    """Kill one OSD daemon of a lab host, as a dead disk would, and wait until it is down."""
    from cephflow.operations import lab  # lazy: see cephflow.cli.commands

    victim = lab.fail_disk(host, osd)
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
    from cephflow.operations import demo as demo_ops  # lazy: see cephflow.cli.commands

    def progress(event: demo_ops.DemoProgress) -> None:
        if event.stage is demo_ops.DemoStage.LAB_STARTING:
            c.console.print("lab demo: starting the lab cluster ...", highlight=False)
        elif event.stage is demo_ops.DemoStage.GATE_CONFIRMED:
            c.console.print(f"lab demo: the disk is swapped; confirming {event.gate} as the "
                            "DC technicians would", highlight=False)

    started = demo_ops.start(host=host, osd=osd, auto_approve=auto_approve, steps=steps,
                             on_progress=progress)
    wf = started.submitted.workflow_id
    c.console.print(f"workflow {wf} submitted ({demo_ops.RUNBOOK} {', '.join(started.osds)} "
                    "on the lab)", highlight=False)
    raise typer.Exit(follow(started.submitted.client, wf, output="live"))


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
