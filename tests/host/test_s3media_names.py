"""The bucket a ``--media s3://BUCKET`` names, checked before any request (issue 18: bad
input is one line saying what to do, where Ceph's gateway answers only
"InvalidBucketName")."""
# micropython: skip (host code)

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host import i18n
from host.s3media import MediaUnusable, bucket_of

NAME = st.from_regex(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", fullmatch=True)


@given(NAME)
def test_every_name_s3_allows_is_taken(name):
    assert bucket_of("s3://" + name) == name
    assert bucket_of("s3://%s/" % name) == name


@pytest.mark.parametrize(
    "name", ["ev", "a" * 64, "Evidence", "evidence_city", "-evidence", "evidence.", "a..b"]
)
def test_a_name_s3_refuses_is_one_line_saying_what_to_use(name):
    with pytest.raises(MediaUnusable) as refused:
        bucket_of("s3://" + name)
    said = str(refused.value)
    assert "\n" not in said and name in said and "3 to 63" in said
    i18n.use(i18n.ZH)
    try:
        with pytest.raises(MediaUnusable) as refused:
            bucket_of("s3://" + name)
    finally:
        i18n.use(None)
    assert re.search(r"[\u4e00-\u9fff]", str(refused.value))


def test_not_an_s3_address_is_refused_as_before():
    with pytest.raises(MediaUnusable, match="s3://BUCKET"):
        bucket_of("https://evidence")
