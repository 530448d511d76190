"""The bounds' one-pass check agrees with the check that names each problem."""
# micropython: skip (hypothesis is a CPython library)
# issue 10 (verify throughput): entry_problem takes its short path only for entries in which
# the full checks find nothing, and for every such entry.

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.bounds import ENTRY_FIELDS, _named_problem, _plainly_valid, entry_problem
from protocol.ledger import parse_entry
from protocol.registry import CIPHER_SEALED_BOX, F_CIPHER_ALG, F_CIPHER_SHA, F_FRAME_HASHES
from tests.protocol.helpers import make_entries

REAL = [dict(parse_entry(raw).fields) for raw in make_entries(10, sign_every=2)]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.binary(max_size=40),
    st.text(max_size=70),
    st.lists(st.binary(min_size=14, max_size=34), max_size=4),
    st.lists(st.integers(-(2**31), 2**31), max_size=4),
    st.dictionaries(st.text(max_size=3) | st.integers(0, 3), st.integers(0, 5), max_size=3),
)
keys = st.sampled_from(sorted(ENTRY_FIELDS)) | st.integers(-2, 40) | st.just(True)


@settings(max_examples=1500)
@given(st.sampled_from(REAL), st.data())
def test_the_short_path_is_taken_exactly_where_nothing_is_wrong(fields, data):
    fields = dict(fields)
    for _ in range(data.draw(st.integers(0, 3))):
        op = data.draw(st.sampled_from(["set", "drop", "add"]))
        if op == "drop" and fields:
            del fields[data.draw(st.sampled_from(sorted(fields, key=repr)))]
        elif op == "set" and fields:
            fields[data.draw(st.sampled_from(sorted(fields, key=repr)))] = data.draw(values)
        else:
            fields[data.draw(keys)] = data.draw(values)
    named = _named_problem(fields)
    assert _plainly_valid(fields) == (named == "")
    assert entry_problem(fields) == named


def test_the_short_path_needs_both_cipher_fields_or_neither():
    chunk = next(f for f in REAL if F_FRAME_HASHES in f)
    both = dict(chunk)
    both[F_CIPHER_SHA] = bytes(32)
    both[F_CIPHER_ALG] = CIPHER_SEALED_BOX
    assert _plainly_valid(both) and entry_problem(both) == ""
    for missing in (F_CIPHER_SHA, F_CIPHER_ALG):
        one = dict(both)
        del one[missing]
        assert not _plainly_valid(one)
        assert entry_problem(one) == "cipher_sha and cipher come together or not at all"
