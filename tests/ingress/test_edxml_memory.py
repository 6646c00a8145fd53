"""Parsing a message near the size cap takes memory bounded by the read chunk, not by the
message (issue 10, item 7). Measured as the growth of a fresh interpreter's peak RSS, which
also counts what expat and the decoder allocate outside Python's allocator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiemchung.ingress.edxml import MIB
from tests.ingress.builders import write_large

REPO = Path(__file__).resolve().parents[2]
ATTACHMENT_BYTES = 40 * MIB
# A whole-message parse holds the text, the stripped text and the decoded bytes: several times
# the message. A streaming parse holds a few chunks.
BOUND_FRACTION = 4
KIB = 1024

# ru_maxrss is a high-water mark: the growth after the imports and the read is the parse's own.
_MEASURE = """
import resource, sys
from pathlib import Path
from kiemchung.ingress import edxml
path = Path(sys.argv[1])
data = path.read_bytes() if sys.argv[2] == "bytes" else b""
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[2] == "bytes":
    doc = edxml.parse_document(data)
else:
    doc = edxml.parse_document_file(path)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
attachment = doc.attachments[0]
print((after - before) * 1024, attachment.size, attachment.data[:8].decode("latin-1"))
"""


@pytest.mark.parametrize("source", ["bytes", "file"])
def test_parse_near_the_cap_stays_far_below_the_message_size(tmp_path: Path, source: str) -> None:
    message = tmp_path / "lon.edxml"
    size = write_large(message, ATTACHMENT_BYTES)
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(message), source],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    growth, decoded, head = run.stdout.split()
    assert int(decoded) == ATTACHMENT_BYTES
    assert head == "%PDF-1.7"
    assert int(growth) < size // BOUND_FRACTION, (
        f"peak RSS grew {int(growth) // KIB} KiB for a {size // KIB} KiB message"
    )
