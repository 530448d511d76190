"""Factory provisioning: the device makes its own key once, pins host keys, keeps a signed config.

Portable: runs under pytest and under MicroPython (plain asserts, no pytest import).
"""
# R-DEV-2: the device's key is what makes any change to its ledger detectable, so it is made
# once on the device and never replaced silently.
# R-DEV-17: settings reach the device only signed by a host key pinned at provisioning.
# R-DEV-4: no config may lower the six-month retention floor.

import os

from firmware.agent import FLOOR_SETTING, boot
from firmware.errors import ConfigError, FirmwareError
from firmware.hal import Clock
from firmware.provision import (
    CONFIG_FILE,
    KEY_FILE,
    TRUST_DIR,
    ProvisionError,
    check_id,
    encode_host_keys,
    install_config,
    install_host_keys,
    installed_config,
    load_device_key,
    pinned_host_keys,
    proof_message,
    prove_key,
    provision,
)
from firmware.retention import DEFAULT_FLOOR_DAYS
from protocol.hostconfig import sign_config
from protocol.keys import DeviceKey, decode_key, encode_key
from protocol.signer import make_signer, verify_signature
from tests.portable import TempDir, raises

DEVICE = "SC-0042"
HOST = "agency-host-1"
OTHER_HOST = "agency-host-2"
HOST_SEED = bytes(range(1, 33))
OTHER_SEED = bytes(range(33, 65))
T0 = 1795392000000


def counting_random(start=7):
    """A stand-in for a hardware RNG whose output the test can predict."""

    def random_bytes(n):
        return bytes((start + i * 13) & 0xFF for i in range(n))

    return random_bytes


def host_key(kid=HOST, seed=HOST_SEED):
    return DeviceKey(kid, make_signer(seed).public_key())


def config(settings, issued=T0, device=DEVICE, kid=HOST, seed=HOST_SEED):
    return sign_config(make_signer(seed), kid, device, issued, settings)


def read(path):
    f = open(path, "rb")
    try:
        return f.read()
    finally:
        f.close()


def provisioned(store, with_host=True):
    public = provision(store, DEVICE, counting_random())
    if with_host:
        install_host_keys(store, encode_host_keys([host_key()]))
    return public


class StepClock(Clock):
    def __init__(self):
        self.t = 0

    def wall_ms(self):
        self.t += 10
        return T0 + self.t

    def mono_ms(self):
        return self.t


# --- the device key ---


def test_provision_makes_the_key_on_the_device_and_returns_only_its_public_half():
    with TempDir() as d:
        store = d + "/sealcam"
        public = decode_key(provision(store, DEVICE, counting_random()))
        stored = load_device_key(store)
        assert public.device_id == DEVICE and stored.device_id == DEVICE
        assert public.seed == b""
        assert stored.seed == counting_random()(32)
        assert public.public == make_signer(stored.seed).public_key()
        assert os.listdir(store) == [KEY_FILE]  # no temporary file left behind


def test_a_provisioned_device_is_never_re_keyed():
    with TempDir() as d:
        provision(d, DEVICE, counting_random())
        before = read(d + "/" + KEY_FILE)
        exc = raises(ProvisionError, provision, d, "SC-9999", counting_random(99))
        assert "already provisioned" in str(exc) and DEVICE in str(exc)
        assert read(d + "/" + KEY_FILE) == before
        assert isinstance(exc, FirmwareError)


def test_provision_without_a_random_source_uses_the_systems_or_refuses():
    with TempDir() as d:
        if getattr(os, "urandom", None) is None:
            # A port without an entropy source cannot make a key anyone could trust.
            exc = raises(ProvisionError, provision, d, DEVICE)
            assert "urandom" in str(exc)
            assert os.listdir(d) == []
            return
        first = decode_key(provision(d + "/a", DEVICE))
        second = decode_key(provision(d + "/b", DEVICE))
        assert first.public != second.public


def test_a_broken_random_source_is_refused_before_anything_is_written():
    with TempDir() as d:
        raises(ProvisionError, provision, d, DEVICE, lambda n: bytes(n))
        raises(ProvisionError, provision, d, DEVICE, lambda n: b"\x01" * (n - 1))
        assert os.listdir(d) == []


def test_ids_that_cannot_name_a_key_file_are_refused():
    for bad in ("", "a/b", ".hidden", "x" * 65, "SC 01", "设备"):
        raises(ProvisionError, check_id, bad, "device id")
    for good in ("SC-0001", "agency_host.1", "a"):
        check_id(good, "device id")
    with TempDir() as d:
        raises(ProvisionError, provision, d, "../SC-1", counting_random())


def test_the_key_proves_itself_to_the_host_under_its_own_context():
    with TempDir() as d:
        public = decode_key(provision(d, DEVICE, counting_random())).public
        challenge = bytes(range(32))
        signature = prove_key(d, challenge)
        assert verify_signature(public, proof_message(challenge), signature)
        assert not verify_signature(public, challenge, signature)
        assert not verify_signature(public, proof_message(bytes(32)), signature)


def test_an_unprovisioned_store_has_no_key_to_prove():
    with TempDir() as d:
        exc = raises(ProvisionError, prove_key, d, bytes(32))
        assert "not provisioned" in str(exc)


# --- pinned host keys ---


def test_host_keys_are_pinned_as_the_public_key_files_a_dock_trusts():
    with TempDir() as d:
        keys = encode_host_keys([host_key(), host_key(OTHER_HOST, OTHER_SEED)])
        assert install_host_keys(d, keys) == [HOST, OTHER_HOST]
        assert pinned_host_keys(d) == {
            HOST: host_key().public,
            OTHER_HOST: host_key(OTHER_HOST, OTHER_SEED).public,
        }
        assert read(d + "/" + TRUST_DIR + "/" + HOST + ".pub") == encode_key(host_key())
        # Pinning the same keys again changes nothing.
        install_host_keys(d, keys)
        assert sorted(os.listdir(d + "/" + TRUST_DIR)) == [HOST + ".pub", OTHER_HOST + ".pub"]


def test_a_pinned_host_key_is_never_replaced():
    with TempDir() as d:
        install_host_keys(d, encode_host_keys([host_key()]))
        impostor = encode_host_keys([host_key(HOST, OTHER_SEED)])
        exc = raises(ProvisionError, install_host_keys, d, impostor)
        assert HOST in str(exc)
        assert pinned_host_keys(d) == {HOST: host_key().public}


def test_a_host_private_key_never_reaches_the_device():
    with TempDir() as d:
        private = DeviceKey(HOST, make_signer(HOST_SEED).public_key(), HOST_SEED)
        from protocol import cbor

        exc = raises(ProvisionError, install_host_keys, d, cbor.dumps([encode_key(private)]))
        assert "private" in str(exc)
        for junk in (b"", b"\xff", cbor.dumps([]), cbor.dumps([1]), cbor.dumps({1: 2})):
            raises(ProvisionError, install_host_keys, d, junk)
        assert pinned_host_keys(d) == {}


# --- the provisioning config ---


def test_a_config_signed_by_a_pinned_host_is_installed():
    # R-DEV-17
    with TempDir() as d:
        provisioned(d)
        raw = config({FLOOR_SETTING: 200, "officer_id": "P-0427"})
        settings = install_config(d, raw)
        assert settings == {FLOOR_SETTING: 200, "officer_id": "P-0427"}
        assert installed_config(d) == raw


def test_configs_the_device_must_not_trust_are_refused_and_nothing_changes():
    # R-DEV-17, R-DEV-4
    with TempDir() as d:
        provisioned(d)
        good = config({"officer_id": "P-0427"}, issued=T0 + 5)
        install_config(d, good)
        refused = [
            config({"officer_id": "P-6666"}, issued=T0 + 9, kid=OTHER_HOST, seed=OTHER_SEED),
            config({"officer_id": "P-6666"}, issued=T0 + 9, kid=HOST, seed=OTHER_SEED),
            config({"officer_id": "P-6666"}, issued=T0 + 9, device="SC-0043"),
            config({"officer_id": "P-6666"}, issued=T0 + 5),  # a replay
            config({FLOOR_SETTING: DEFAULT_FLOOR_DAYS - 1}, issued=T0 + 9),
            b"\x00not a config",
        ]
        for raw in refused:
            raises(ConfigError, install_config, d, raw)
        assert installed_config(d) == good


def test_a_config_needs_a_provisioned_device_with_pinned_hosts():
    with TempDir() as d:
        raises(ProvisionError, install_config, d, config({}))
        provisioned(d, with_host=False)
        exc = raises(ProvisionError, install_config, d, config({}))
        assert "host key" in str(exc)
        assert installed_config(d) is None
        assert CONFIG_FILE not in os.listdir(d)


def test_the_agent_boots_from_a_provisioned_store_and_applies_its_config():
    # R-DEV-17: the config installed at provisioning is what the agent applies.
    with TempDir() as d:
        provisioned(d)
        install_config(d, config({FLOOR_SETTING: 365, "officer_id": "P-0427"}))
        key = load_device_key(d)
        agent = boot(
            d,
            make_signer(key.seed),
            key.device_id,
            "",
            StepClock(),
            host_keys=pinned_host_keys(d),
        )
        agent.apply_config(installed_config(d))
        assert agent.retention.floor_days == 365
        assert agent.recorder.officer_id == "P-0427"
        agent.store.close()
