"""``territoire demo``: the whole chain on this machine, in one command.

A private Mosquitto (configured by the gateway: per-node users and ACLs), the gateway, and N
emulated ESP32 nodes (real MicroPython VMs) spread over Angers' quartiers, with a live one-screen
view of what the gateway accepts. Ctrl-C or the end of --duration stops every child process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from gateway.broker import free_port
from gateway.config import (
    AggregationSettings,
    FleetSettings,
    HttpSettings,
    MqttSettings,
    OpenDataSettings,
    PrivacySettings,
    PublishSettings,
    Settings,
)
from gateway.fleet_client import enroll
from gateway.service import Gateway
from protocol.credentials import mqtt_password
from tools.demo.local_fleet import DEMO_EPSILON_PER_ZONE_DAY, LocalFleet
from tools.demo.territory import NodePlan, plan_nodes, profile_for, zones, zones_file
from tools.emulator import EmulatedNode
from tools.fleet_client import ClaimedNode, FleetClient, claim
from tools.release.bundle import firmware_files, node_config

__all__ = ["DemoOptions", "run_demo"]


@dataclass
class DemoOptions:
    nodes: int = 24
    duration: float | None = None
    summary: Path | None = None
    workdir: Path | None = None
    interval_s: float = 5.0
    live: bool = True
    zones_file: Path | None = None  # default: tools.demo.territory.zones_file()


@dataclass
class _Demo:
    opts: DemoOptions
    work: Path
    console: Console
    plans: list[NodePlan] = field(default_factory=list)
    fleet: LocalFleet | None = None
    nodes: dict[str, EmulatedNode] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @property
    def zones_path(self) -> Path:
        return self.opts.zones_file or zones_file()


def _table(demo: _Demo, gw: Gateway) -> Table:
    now = time.time()
    t = Table(
        title=f"Territoire demo: {len(demo.nodes)} emulated nodes over Angers "
        f"(gateway http://127.0.0.1:{gw.s.http.port}/metrics)",
        expand=True,
    )
    for col in ("node", "kind", "quartier", "readings", "last seen", "last values"):
        t.add_column(col)
    for plan in demo.plans:
        seen = gw.health.last_seen.get(plan.node_id)
        h = gw.health.health.get(plan.node_id, {})
        t.add_row(
            plan.node_id,
            plan.kind.name,
            plan.zone,
            str(gw.health.accepted.get(plan.node_id, 0)),
            "-" if seen is None else f"{now - seen:.0f} s ago",
            h.get("last_values", ""),
        )
    m = gw.metrics
    t.caption = (
        f"accepted {m.accepted}  duplicates {m.duplicates}  "
        f"rejected {sum(m.rejected.values())}  uptime {now - demo.started:.0f} s"
    )
    return t


def _summary(demo: _Demo, gw: Gateway) -> dict[str, Any]:
    m = gw.metrics
    return {
        "nodes_started": len(demo.nodes),
        "readings_published": m.accepted + m.duplicates + sum(m.rejected.values()),
        "readings_accepted": m.accepted,
        "readings_rejected": sum(m.rejected.values()),
        "rejected_by_reason": dict(m.rejected),
        "accepted_by_node": dict(gw.health.accepted),
        "aggregates_published": m.aggregates_published,
        "publication_outcomes": dict(gw.publisher.outcomes),
        "urls": {  # the public home first: what a resident opens
            "home": demo.fleet.url + "/" if demo.fleet else None,
            "map_json": demo.fleet.url + "/api/v1/public/map?metric=pm25_ugm3"
            if demo.fleet else None,
            "dashboard": demo.fleet.url + "/dashboard" if demo.fleet else None,
            "register_html": demo.fleet.url + "/register" if demo.fleet else None,
            "register": demo.fleet.url + "/api/v1/public/register" if demo.fleet else None,
            "open_data": demo.fleet.url + "/open-data" if demo.fleet else None,
            "gateway_metrics": f"http://127.0.0.1:{gw.s.http.port}/metrics",
            "gateway_health": f"http://127.0.0.1:{gw.s.http.port}/health",
            "open_data_csv": f"http://127.0.0.1:{gw.s.opendata.port}/opendata/aggregates.csv",
            "open_data_ngsi_ld":
                f"http://127.0.0.1:{gw.s.opendata.port}/opendata/aggregates.jsonld",
        },
    }


def _provision(
    fleet: LocalFleet, plans: list[NodePlan], zones_path: Path | None = None
) -> tuple[str, dict[str, ClaimedNode]]:
    """Every quartier with its outline (the public map draws the whole territory, quartiers
    without a node in grey), sensor profiles, the gateway and one claimed node per plan, via
    the API."""
    admin = FleetClient(fleet.url, fleet.token)
    try:
        for z in zones(zones_path):
            admin.ensure_zone(z.id, z.name, z.lat, z.lon, z.boundary)
        for kind in sorted({p.kind.name for p in plans}):
            admin.ensure_profile(profile_for(kind))
        token = admin.create_gateway("gw-demo", "Passerelle de démonstration")
        out: dict[str, ClaimedNode] = {}
        for plan in plans:
            (code,) = admin.claim_codes(zone_id=plan.zone, gateway_id="gw-demo",
                                        profile_id=plan.kind.name, node_id=plan.node_id)
            out[plan.node_id] = claim(fleet.url, code)
        return token, out
    finally:
        admin.close()


def _gateway_settings(demo: _Demo, zones_path: Path) -> Settings:
    return Settings(
        name="demo-gateway",
        data_dir=str(demo.work / "gateway"),
        mqtt=MqttSettings(port=free_port(), client_id="demo-gateway"),
        http=HttpSettings(port=free_port()),
        opendata=OpenDataSettings(port=free_port()),
        # one-minute windows so the demo publishes within its first two minutes, with the
        # budget that matches them (docs/privacy.md, "The demo"): 100 a day, the largest
        # setting, is 0.069 per window (noise scale 29): a demonstration, NOT a privacy setting
        aggregation=AggregationSettings(window_s=60, grace_s=10),
        publish=PublishSettings(interval_s=5.0, zones_file=str(zones_path)),
        privacy=PrivacySettings(epsilon_per_zone_day=DEMO_EPSILON_PER_ZONE_DAY),
    )


async def _run(demo: _Demo) -> dict[str, Any]:
    opts = demo.opts
    settings = _gateway_settings(demo, demo.zones_path)
    demo.plans = plan_nodes(opts.nodes, zones_path=demo.zones_path)
    # Ctrl-C and SIGTERM only ask to stop, from the first second: whatever has started by then
    # (fleet, broker, nodes) is stopped by the finally below, never left running
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    gw: Gateway | None = None
    gw_task: asyncio.Task[None] | None = None
    try:
        # the fleet, then every node provisioned through the same claim API a technician uses
        demo.fleet = LocalFleet(demo.work / "fleet")
        await asyncio.to_thread(demo.fleet.start)
        fleet = demo.fleet
        settings = replace(settings, fleet=FleetSettings(url=fleet.url, gateway_id="gw-demo",
                                                         sync_interval_s=2.0))
        gw = Gateway(settings)
        if stop.is_set():
            return _summary(demo, gw)
        token, claimed = await asyncio.to_thread(_provision, fleet, demo.plans, demo.zones_path)
        await enroll(fleet.url, gw.identity, token)
        keys = {node_id: c.secret for node_id, c in claimed.items()}
        async with httpx.AsyncClient(base_url=fleet.url, timeout=20) as client:
            await gw.sync_fleet_once(client)  # the nodes' credentials, before the broker starts
        gw.start_private_broker()
        _print_addresses(demo, gw)
        gw_task = asyncio.create_task(gw.run(stop), name="demo.gateway")
        bundle = await asyncio.to_thread(firmware_files)
        for plan in demo.plans:
            if stop.is_set():
                break
            node = EmulatedNode(demo.work / "nodes" / plan.node_id, plan.board(speed=60.0),
                                compensate_heap=True)
            await asyncio.to_thread(node.create)
            files = dict(bundle)
            files["node.json"] = node_config(
                node_id=plan.node_id,
                key_id=1,
                secret=keys[plan.node_id],
                mqtt_host="127.0.0.1",
                mqtt_port=settings.mqtt.port,
                mqtt_password=mqtt_password(keys[plan.node_id]),
                sensors=plan.kind.sensors,
                zone=plan.zone, hw="emu-x64",
                interval_s=opts.interval_s,
                status_s=30,
            )
            await asyncio.to_thread(node.write_files, files)
            demo.nodes[plan.node_id] = node
            node.start()
        demo.console.print(f"{len(demo.nodes)} emulated nodes started")
        deadline = None if opts.duration is None else time.monotonic() + opts.duration
        with Live(
            _table(demo, gw), console=demo.console, refresh_per_second=2, transient=not opts.live
        ) as live:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                live.update(_table(demo, gw))
        return _summary(demo, gw)
    finally:
        for node in demo.nodes.values():
            await asyncio.to_thread(node.close)
        stop.set()
        if gw_task is not None:
            await gw_task
        if gw is not None and gw.broker is not None:
            gw.broker.stop()
        if demo.fleet is not None:
            await asyncio.to_thread(demo.fleet.stop)


def _print_addresses(demo: _Demo, gw: Gateway) -> None:
    urls = _summary(demo, gw)["urls"]
    fleet = demo.fleet
    admin = f" (admin {fleet.admin_email} / {fleet.admin_password})" if fleet else ""
    demo.console.print(
        f"[bold]public home[/] {urls['home']}  (the map of the quartiers; JSON: "
        f"{urls['map_json']})\n"
        f"[bold]dashboard[/]  {urls['dashboard']}{admin}\n"
        f"[bold]register[/]   {urls['register_html']}  (JSON: {urls['register']})\n"
        f"[bold]open data[/]  {urls['open_data']}  (gateway: {urls['open_data_csv']} , "
        f"{urls['open_data_ngsi_ld']})\n"
        f"[bold]gateway[/]    {urls['gateway_metrics']}  (Mosquitto on 127.0.0.1:"
        f"{gw.s.mqtt.port})",
        soft_wrap=True,
    )


def run_demo(opts: DemoOptions, console: Console | None = None) -> dict[str, Any]:
    console = console or Console()
    tmp = None
    work = opts.workdir
    if work is None:
        tmp = tempfile.mkdtemp(prefix="territoire-demo-")
        work = Path(tmp)
    try:
        summary = asyncio.run(_run(_Demo(opts, work, console)))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if opts.summary is not None:
        # atomic: a script polling for the file never reads half of it
        tmp_file = opts.summary.with_name(f".{opts.summary.name}.tmp")
        tmp_file.write_text(json.dumps(summary, indent=2) + "\n")
        tmp_file.replace(opts.summary)
    return summary
