"""Scenario files: what loads, and the clear error for what does not."""
# micropython: skip (the simulator runs on CPython only)

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.errors import ScenarioError
from simulator.scenario import CODECS, STEPS, duration_ms, load, parse, parse_time

GOOD = """
name = "t"
[device]
id = "SC-T-1"
start = "2026-11-23T08:00:00+08:00"
[[step]]
do = "power_on"
[[step]]
do = "pause"
reason = "place-change"
[[step]]
do = "wait"
minutes = 2
[expect]
state = "OK"
flags = ["R-DEV-9"]
"""


def write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_a_good_scenario_loads_into_plain_data(tmp_path):
    s = load(write(tmp_path, GOOD))
    assert [x["do"] for x in s.steps] == ["power_on", "pause", "wait"]
    assert [x["n"] for x in s.steps] == [1, 2, 3]
    assert s.start_ms() == parse_time("2026-11-23T00:00:00Z")
    assert s.expect == {"state": "OK", "flags": ["R-DEV-9"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('reason = "place-change"', 'reason = "lunch"'), "'lunch' is not an objective reason"),
        (('do = "power_on"', 'do = "power_onn"'), "step 1: unknown step 'power_onn'"),
        (("minutes = 2", "minutes = true"), "step 3 (wait) minutes must be int/float"),
        (("minutes = 2", "hours = 0"), "needs a duration above zero"),
        (('state = "OK"', 'state = "fine"'), "[expect] state is one of"),
        (('id = "SC-T-1"', 'idd = "SC-T-1"'), "[device] has no key 'idd'"),
        (("08:00:00+08:00", "8 o'clock"), "start must look like"),
        (('name = "t"', 'name = "t"\ncolour = 1'), "unknown top-level key(s) colour"),
    ],
)
def test_a_mistake_is_named_with_the_file_the_step_and_what_would_do(tmp_path, change, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert message in str(err.value)
    assert path in str(err.value)


def test_a_reason_error_lists_the_objective_reasons(tmp_path):  # R-DEV-9
    with pytest.raises(ScenarioError) as err:
        load(write(tmp_path, GOOD.replace('"place-change"', '"bored"')))
    for reason in ("fault", "damage", "weather", "battery", "storage", "obstruction"):
        assert reason in str(err.value)


def test_missing_and_broken_files_are_clear(tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        load(str(tmp_path / "nope.toml"))
    with pytest.raises(ScenarioError, match="is not valid TOML"):
        load(write(tmp_path, "[[step]\ndo ="))
    with pytest.raises(ScenarioError, match="no \\[\\[step\\]\\] tables"):
        load(write(tmp_path, 'name = "empty"'))


def test_durations_add_up():
    assert duration_ms({"seconds": 1.5, "minutes": 1, "hours": 1, "days": 1}) == (
        1500 + 60_000 + 3_600_000 + 86_400_000
    )


_values = st.one_of(
    st.integers(-5, 10**6), st.floats(allow_nan=False), st.text(max_size=12), st.booleans()
)
_steps = st.fixed_dictionaries(
    {"do": st.sampled_from([*STEPS, "bogus"])},
    optional={k: _values for k in ("seconds", "reason", "kind", "at_write", "link", "minutes")},
)


@given(st.lists(_steps, min_size=1, max_size=6))
def test_any_step_list_either_loads_or_raises_a_scenario_error(steps):
    try:
        s = parse({"step": steps})
    except ScenarioError as exc:
        assert str(exc)
    else:
        assert len(s.steps) == len(steps)


def test_a_wav_file_is_found_beside_the_scenario_or_named_as_missing(tmp_path):
    (tmp_path / "reason.wav").write_bytes(b"RIFF")
    text = GOOD + '[[step]]\ndo = "say_reason"\nwav = "reason.wav"\n'
    s = load(write(tmp_path, text))
    assert s.steps[-1]["wav"] == str(tmp_path / "reason.wav")
    with pytest.raises(ScenarioError, match="no WAV file"):
        load(write(tmp_path, text.replace("reason.wav", "missing.wav")))


REPEAT = GOOD.replace(
    '[[step]]\ndo = "wait"\nminutes = 2\n',
    '[[step]]\ndo = "repeat"\ntimes = 3\nsteps = [{ do = "wait", minutes = 2 }, '
    '{ do = "film", seconds = 5 }]\n[[step]]\ndo = "stop"\n',
)


def test_a_repeat_runs_its_steps_that_many_times_numbered_in_order(tmp_path):
    s = load(write(tmp_path, REPEAT))
    assert [x["do"] for x in s.steps] == ["power_on", "pause"] + ["wait", "film"] * 3 + ["stop"]
    assert [x["n"] for x in s.steps] == list(range(1, 10))
    assert [x["at"] for x in s.steps[2:5]] == ["3.1", "3.2", "3.1"]
    s.steps[2]["seconds"] = 1
    assert "seconds" not in s.steps[4]  # each round has its own copy of the step


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("times = 3", "times = 0"), "step 3 (repeat) needs times >= 1"),
        (("seconds = 5", "secs = 5"), "step 3.2 (film) has no key 'secs'"),
        (('do = "film"', 'do = "flim"'), "step 3.2: unknown step 'flim'"),
        (("times = 3", "times = 1000000"), "makes more than 100000 steps"),
        (("times = 3\n", ""), "step 3 (repeat) needs `times`"),
    ],
)
def test_a_mistake_in_a_repeat_names_the_step_inside_it(tmp_path, change, message):
    with pytest.raises(ScenarioError) as err:
        load(write(tmp_path, REPEAT.replace(*change)))
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('id = "SC-T-1"', 'id = "SC-T-1"\ncount = 0'), "count is how many devices alike, 1 to 64"),
        (('id = "SC-T-1"', 'id = "SC-T-1"\ncount = 65'), "count is how many devices alike"),
        (
            (
                '[[step]]\ndo = "power_on"',
                'count = 2\n[host]\nlink = "tcp"\n[[step]]\ndo = "power_on"',
            ),
            'several devices dock at once over pseudo-terminal cables: use link = "pty"',
        ),
    ],
)
def test_several_devices_are_between_one_and_64_on_cables(tmp_path, change, message):
    with pytest.raises(ScenarioError) as err:
        load(write(tmp_path, GOOD.replace(*change)))
    assert message in str(err.value)


# Issue 12: [device] codec chooses the recorder's footage; anything else is one clear line.
@pytest.mark.parametrize("codec", ["h264", "h265", "mjpeg"])
def test_a_codec_the_recorder_writes_loads(tmp_path, codec):
    s = load(write(tmp_path, GOOD.replace('id = "SC-T-1"', 'id = "SC-T-1"\ncodec = "%s"' % codec)))
    assert s.device["codec"] == codec


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"vp9"', "[device] codec 'vp9' is not one this recorder writes: give h264 or h265"),
        ('"H264"', "[device] codec 'H264' is not one this recorder writes"),
        ("264", "[device] codec must be str, not 264"),
    ],
)
def test_an_unknown_codec_is_one_clear_line(tmp_path, value, message):
    path = write(tmp_path, GOOD.replace('id = "SC-T-1"', 'id = "SC-T-1"\ncodec = %s' % value))
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert message in str(err.value) and path in str(err.value)
    assert "\n" not in str(err.value)


@given(st.text(max_size=8))
def test_any_codec_text_loads_only_if_it_is_one_of_the_three(codec):
    doc = {"device": {"codec": codec}, "step": [{"do": "power_on"}]}
    try:
        s = parse(doc)
    except ScenarioError as exc:
        assert codec not in CODECS and "codec" in str(exc)
    else:
        assert s.device["codec"] in CODECS


def test_a_board_in_the_loop_refuses_an_encoded_codec_before_touching_the_port(tmp_path):
    # Issue 12: a board records Motion JPEG; an h264 scenario on it is refused in one line,
    # before the serial port is opened (the port named here does not exist).
    from simulator.run import run_file

    path = write(tmp_path, GOOD.replace('id = "SC-T-1"', 'id = "SC-T-1"\ncodec = "h264"'))
    with pytest.raises(ScenarioError) as err:
        run_file(path, str(tmp_path / "run"), device_port=str(tmp_path / "no-such-port"))
    assert "a board records Motion JPEG" in str(err.value) and "\n" not in str(err.value)
