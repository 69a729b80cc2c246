"""up / down / status of the stack: start what is missing, wait until each service answers, stop by pid."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ingest.connections import Connections
from stack.cassandra import Cassandra
from stack.kafka import Kafka
from stack.registry import Registry
from stack.s3 import S3
from stack.secure import ensure_password, secure_file, write_secure_env
from stack.secure_registry import SecureRegistry
from stack.service import Service, port_taken
from stack.settings import StackSettings
from stack.tls import ensure_tls

SERVICE_TYPES = (Kafka, Cassandra, S3, Registry, SecureRegistry)
NAMES = tuple(t.name for t in SERVICE_TYPES)
# Started and stopped with the service it fronts.
COMPANIONS = {"registry": ("registry-tls",)}
# The name column as it always was ("registry   ready"): output that scripts and tests read; registry-tls overflows.
WIDTH = 10


class StackError(SystemExit):
    """A service could not be started; the message says which and shows its log."""


def services(settings: StackSettings, names: list[str] | None = None) -> list[Service]:
    unknown = set(names or ()) - set(NAMES)
    if unknown:
        raise StackError(f"unknown service(s) {', '.join(sorted(unknown))}; allowed: {', '.join(NAMES)}")
    chosen = set(names or ())
    chosen |= {c for name in chosen for c in COMPANIONS.get(name, ())}
    found = [t(settings) for t in SERVICE_TYPES if not names or t.name in chosen]
    if Registry(settings).is_external():  # the TLS proxy fronts the local registry only
        found = [s for s in found if not isinstance(s, SecureRegistry)]
    return found


def write_env_file(settings: StackSettings) -> None:
    """Endpoints of the local services, for clients, tests and `source .stack/env`."""
    lines = ["# Written by ./dev up: endpoints of the local Sluice stack."]
    for svc in services(settings):
        if not svc.is_external():
            lines += [f"{key}={value}" for key, value in svc.env().items()]
    settings.env_file.parent.mkdir(parents=True, exist_ok=True)
    settings.env_file.write_text("\n".join(lines) + "\n")
    local = {svc.name for svc in services(settings) if not svc.is_external()}
    write_secure_env(settings, local, Cassandra(settings).login())


def _prepare_secrets(settings: StackSettings, chosen: list[Service]) -> None:
    """TLS files and the `sluice` password, before any service renders its config. A chosen service that serves TLS
    and was started before its certificates were made (its pid file is older than the CA) is stopped, so that `up`
    starts it with the new ones."""
    files, _ = ensure_tls(settings)
    ensure_password(settings)
    made_at = files.ca.stat().st_mtime
    for svc in chosen:
        if svc.uses_tls and not svc.is_external() and svc.proc.pid() is not None \
                and svc.proc.pid_file.stat().st_mtime < made_at:
            print(f"{svc.name:<{WIDTH}} restarting: new TLS certificates in {files.folder}", flush=True)
            svc.proc.stop()


def _wait_ready(svc: Service, timeout: float) -> str:
    """Poll until the service answers a real request; raise with its log when it dies or times out."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if not svc.is_external() and svc.proc.pid() is None:
            raise StackError(
                f"{svc.name} exited during start-up; last lines of {svc.proc.log_file}:\n"
                f"{svc.proc.log_tail()}"
            )
        if svc.is_external() or svc.listening():
            try:
                return svc.probe(Connections.from_env())
            except Exception as exc:  # not ready yet: any client error; retried until the deadline
                last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(1.0)
    tail = "" if svc.is_external() else f"; last lines of {svc.proc.log_file}:\n{svc.proc.log_tail()}"
    raise StackError(f"{svc.name} did not answer within {timeout:.0f}s ({last_error}){tail}")


def up(settings: StackSettings, names: list[str] | None = None) -> None:
    chosen = services(settings, names)
    for svc in [s for s in chosen if not s.is_external() and s.proc.pid() is None]:
        for var, port in svc.ports().items():
            if port_taken(settings.host, port):
                raise StackError(
                    f"{svc.name}: port {settings.host}:{port} is taken by another program; "
                    f"stop it or choose another port with {var}=..."
                )
    _prepare_secrets(settings, chosen)
    to_start = [s for s in chosen if not s.is_external() and s.proc.pid() is None]
    began = time.monotonic()
    with ThreadPoolExecutor(len(chosen)) as pool:
        list(pool.map(lambda s: s.prepare(), to_start))  # jar resolution of Kafka and Cassandra overlaps
    write_env_file(settings)
    for svc in to_start:
        svc.proc.start(svc.argv(), cwd=settings.root)
        print(f"{svc.name:<{WIDTH}} starting (pid {svc.proc.pid()}, log {svc.proc.log_file})", flush=True)
    failures = []

    def wait(svc: Service) -> None:
        try:
            summary = _wait_ready(svc, settings.start_timeout)
            where = "external" if svc.is_external() else f"pid {svc.proc.pid()}"
            print(
                f"{svc.name:<{WIDTH}} ready at {svc.endpoint} ({where}) after {time.monotonic() - began:.0f}s: "
                f"{summary}",
                flush=True,
            )
            secured = None if svc.is_external() else svc.after_ready()
            if secured:
                print(f"{svc.name:<{WIDTH}} secured: {secured}", flush=True)
        except StackError as exc:
            failures.append(str(exc.code))
        except Exception as exc:  # the secured side could not be set up: fail `up`, naming the service
            failures.append(f"{svc.name}: setting up its secured endpoint failed: {type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(len(chosen)) as pool:
        list(pool.map(wait, chosen))
    if failures:
        raise StackError("\n\n".join(failures))
    print(f"stack ready in {time.monotonic() - began:.0f}s; endpoints in {settings.env_file}, secured endpoints "
          f"in {secure_file(settings)}")


def down(settings: StackSettings, names: list[str] | None = None) -> None:
    def stop(svc: Service) -> None:
        pid = svc.proc.pid()
        stopped = svc.proc.stop()
        print(f"{svc.name:<{WIDTH}} {f'stopped (pid {pid})' if stopped else 'was not running'}", flush=True)

    chosen = [s for s in services(settings, names) if not s.is_external()]
    with ThreadPoolExecutor(len(chosen) or 1) as pool:
        list(pool.map(stop, chosen))


def _state(svc: Service, connections: Connections, pid: int | None) -> tuple[str, str]:
    if not svc.is_external():
        if pid is None:
            return "stopped", ""
        if not svc.listening():
            return "starting", "not listening yet"
    try:
        return "ready", svc.probe(connections)
    except Exception as exc:  # running but not answering: show why
        return ("unreachable" if svc.is_external() else "starting"), f"{type(exc).__name__}: {exc}"


def status(settings: StackSettings) -> bool:
    """Print each service's state; True when all are ready."""
    connections = Connections.from_env()
    all_ready = True
    chosen = services(settings)
    width = max(len(svc.endpoint) for svc in chosen)
    for svc in chosen:
        pid = None if svc.is_external() else svc.proc.pid()
        state, detail = _state(svc, connections, pid)
        all_ready &= state == "ready"
        rss = svc.proc.rss_mib() if pid else None
        where = "external" if svc.is_external() else (f"pid {pid}" if pid else "-")
        mem = f"{rss:.0f} MiB" if rss else "-"
        print(f"{svc.name:<{WIDTH}} {state:<11} {svc.endpoint:<{width}} {where:<11} {mem:>9}  {detail}")
    secured = [svc for svc in chosen if not svc.is_external() and svc.secured()]
    if secured:
        print(f"secured endpoints ({secure_file(settings)}):")
    for svc in secured:
        if svc.proc.pid() is None:
            state, detail = "stopped", ""
        else:
            try:
                state, detail = "ready", svc.probe_secured()
            except Exception as exc:  # running but refusing the secured client: show why
                state, detail = "failing", f"{type(exc).__name__}: {exc}"
        all_ready &= state == "ready"
        print(f"  {svc.name:<{WIDTH}} {state:<11} {svc.secured():<{width}}  {detail}")
    return all_ready
