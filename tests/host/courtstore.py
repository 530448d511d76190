"""What the court package tests share: small evidence stores (an fMP4 recording with a pause
and its spoken reason, or a raw one), with accounts and the host key set, and packages made
from them through the command line, in this process."""

import shutil
from pathlib import Path

from host import i18n, settings
from host.cli.auth import PASSWORD_ENV, USER_ENV
from host.cli.main import main
from host.evidence import SqliteEvidenceStore
from tests.host import fmp4
from tests.host.helpers import ACCOUNT_PASSWORD, HOST_SEED, host_keys, with_accounts
from tests.protocol.helpers import DEVICE

CLERK = "li"
APPROVER = "zhang"
ACCOUNTS = [
    ("admin", ("administrator",), None),
    (CLERK, ("evidence-clerk",), None),
    (APPROVER, ("approver",), None),
]
ITEM = "%s/%d"
HOST_PUBLIC_SEED = HOST_SEED


def _finish(path: Path, tmp_path: Path, accounts: bool) -> Path:
    host_keys(tmp_path)
    if accounts:
        ev = SqliteEvidenceStore(path)
        with_accounts(ev, ACCOUNTS)
        with ev.write() as cur:
            settings.put(cur, settings.HOST_KEY, str(tmp_path / "host.key"))
        ev.close()
    return path


def fmp4_store(tmp_path: Path, accounts: bool = True, gops_before: int = 3) -> Path:
    """An evidence store holding one fMP4 recording (GOPs of one second, a pause with its
    spoken reason, 2 more GOPs), the host key in ``tmp_path`` (host.key, host.pub) and, when
    ``accounts``, the host key set and the ACCOUNTS; returns the store's path."""
    rec = fmp4.record(gops_before=gops_before)
    path = tmp_path / "ev"
    fmp4.evidence_store(path, rec).close()
    return _finish(path, tmp_path, accounts)


def raw_store(tmp_path: Path, accounts: bool = True, pause: bool = False) -> Path:
    """An evidence store holding one raw recording (JPEG frames, PCM sound), synced; with
    ``pause``, a pause (weather) and the officer's spoken reason in the middle of it."""
    from tests.host.helpers import evidence, run_pair
    from tests.host.rawrec import synced_recording

    if not pause:
        path, _ = synced_recording(tmp_path)
        return _finish(path, tmp_path, accounts)
    agent = _raw_with_pause(tmp_path / "dev")
    ev = evidence(tmp_path / "ev")
    summary, _, _ = run_pair(agent, ev)
    assert summary["result"] == "done", summary
    ev.close()
    agent.store.close()
    return _finish(tmp_path / "ev", tmp_path, accounts)


def _raw_with_pause(path: Path):
    from firmware.agent import boot
    from protocol.registry import MEDIA_MJPEG, MEDIA_PCM, PAUSE_WEATHER
    from protocol.signer import make_signer
    from simulator.hardware import SceneCamera, SimBattery, SimClock, SimMicrophone
    from tests.host.rawrec import FPS, SIZE
    from tests.protocol.helpers import SEED_A, T0

    clock = SimClock(T0)
    camera = SceneCamera(clock, *SIZE, seed=7)
    mic = SimMicrophone(clock)
    agent = boot(
        str(path),
        make_signer(SEED_A),
        DEVICE,
        "P-0427",
        clock,
        camera,
        None,
        SimBattery(),
        config={"video_media": MEDIA_MJPEG, "audio_media": MEDIA_PCM},
    )

    def film(frames: int) -> None:
        for i in range(frames):
            agent.input("frame", camera.read(agent.recorder.overlay(clock.wall_ms()))[0], True)
            if i % 2 == 0:
                agent.input("audio", mic.read()[0])
            clock.advance(1000 // FPS)

    agent.input("press_record")
    film(2 * FPS)
    agent.input("pause", PAUSE_WEATHER)
    clock.advance(3000)
    agent.input("resume")
    for _ in range(10):  # the officer states the reason
        agent.input("audio", mic.read()[0])
        clock.advance(200)
    agent.input("spoken_reason_done")
    film(2 * FPS)
    agent.input("press_stop")
    return agent


def the_item(path: Path) -> str:
    """The item id of the store's one recording."""
    from host import items
    from host.access import prepare

    ev = SqliteEvidenceStore(path)
    try:
        prepare(ev)
        with ev.write() as cur:
            items.refresh(cur)
            (found,) = [i for i in items.find(cur) if i.kind == items.RECORDING]
        return found.item_id
    finally:
        ev.close()


def export(monkeypatch, store: Path, out: Path, *extra: str, user: str = CLERK) -> int:
    """``sealcam export --evidence STORE --out OUT EXTRA`` as ``user``, in this process."""
    monkeypatch.setenv(PASSWORD_ENV, ACCOUNT_PASSWORD)
    monkeypatch.delenv(USER_ENV, raising=False)
    try:
        return main(["export", "--evidence", str(store), "--out", str(out), "--user", user,
                     *extra])  # fmt: skip
    finally:
        i18n.use(None)


def copy(package: Path, to: Path) -> Path:
    shutil.copytree(package, to)
    return to


__all__ = ["DEVICE"]
