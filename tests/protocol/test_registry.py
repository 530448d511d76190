"""The registry's one id rule, shared by provisioning, enrolment and the command line."""

from protocol.registry import MAX_ID_LEN, id_problem


def test_an_id_the_protocol_can_carry_has_no_problem():
    # Issue 11 §3 (issue 10 review): one id check for the device, the host and the CLI.
    for good in ("SC-0001", "a", "x" * MAX_ID_LEN, "设备"):
        assert id_problem(good) == ""


def test_an_id_of_no_or_too_many_characters_or_not_text_is_refused_saying_why():
    assert "1 to 64 characters, not 0" in id_problem("")
    assert "1 to 64 characters, not 65" in id_problem("x" * 65, "the device id")
    assert id_problem("x" * 65, "the device id").startswith("the device id must be")
    assert id_problem(7) == "a device id is text, not int"


def test_an_id_that_names_a_file_holds_only_ascii_letters_digits_and_dash_underscore_dot():
    for bad in ("a/b", "..", ".hidden", "SC 01", "设备", "x" * 65, ""):
        assert id_problem(bad, "device id", file_name=True)
    assert "start with '.'" in id_problem(".hidden", "device id", file_name=True)
    assert "ASCII letters" in id_problem("a/b", "device id", file_name=True)
    for good in ("SC-0001", "agency_host.1", "a"):
        assert id_problem(good, "device id", file_name=True) == ""
