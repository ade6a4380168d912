import csv
import io
import json
import zipfile

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools import data_rights


def test_number_hash_is_stable_keyed_and_hides_the_number():
    one = data_rights.number_hash("secret", "+393331234567")
    assert one == data_rights.number_hash("secret", "+393331234567")
    assert one != data_rights.number_hash("other secret", "+393331234567")
    assert one != data_rights.number_hash("secret", "+393331234568")
    assert "3331234567" not in one
    assert data_rights.is_hashed(one)
    assert not data_rights.is_hashed("+393331234567")
    assert not data_rights.is_hashed(False)


@given(st.text(min_size=1))
def test_number_hash_has_a_fixed_shape(number):
    hashed = data_rights.number_hash("s", number)
    assert len(hashed) == len(data_rights.HASH_PREFIX) + 64


def test_archive_holds_json_and_safe_csv():
    rows = [{"id": 1, "body": "=HYPERLINK(1)", "partner_id": [7, "Giulia"], "sent": False}]
    blob = data_rights.build_archive([("outbox", ["id", "body", "partner_id", "sent"], rows)], "hi")
    archive = zipfile.ZipFile(io.BytesIO(blob))
    assert sorted(archive.namelist()) == ["README.txt", "outbox.csv", "outbox.json"]
    assert json.loads(archive.read("outbox.json")) == rows
    (row,) = csv.DictReader(io.StringIO(archive.read("outbox.csv").decode()))
    assert row == {"id": "1", "body": "'=HYPERLINK(1)", "partner_id": "Giulia", "sent": ""}
