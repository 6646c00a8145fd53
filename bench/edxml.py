"""edXML ingress benchmark: peak memory and time to parse messages of 10/50/90 MiB.

    .venv/bin/python bench/edxml.py                 # parse from the file (link-edxml's path)
    .venv/bin/python bench/edxml.py --entry bytes   # parse_document(bytes read beforehand)

Each message carries one PDF attachment (base64 in 76-character lines, as senders write it) and
is parsed in a fresh interpreter; "peak" is that interpreter's growth of peak RSS during the
parse, which counts expat's and the decoder's allocations too ("before parse" is the peak after
the imports, and for --entry bytes after the message was read). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiemchung.ingress.edxml import MIB
from tests.ingress.builders import write_large

REPO = Path(__file__).resolve().parent.parent
MESSAGE_MIB = (10, 50, 90)
# base64 in 76-character lines: 57 bytes of data per 77 bytes of text.
DATA_PER_TEXT = 57 / 77

_MEASURE = """
import resource, sys, time
from pathlib import Path
from kiemchung.ingress import edxml
path, entry = Path(sys.argv[1]), sys.argv[2]
limits = edxml.Limits(max_message_bytes=128 * edxml.MIB, max_attachment_bytes=128 * edxml.MIB)
started = time.perf_counter()
data = path.read_bytes() if entry == "bytes" else b""
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if entry == "bytes":
    doc = edxml.parse_document(data, limits)
else:
    doc = edxml.parse_document_file(path, limits)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before * 1024, after * 1024, time.perf_counter() - started, doc.attachments[0].size)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entry", choices=("file", "bytes"), default="file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for mib in MESSAGE_MIB:
            message = Path(work) / f"m{mib}.edxml"
            size = write_large(message, int(mib * MIB * DATA_PER_TEXT))
            run = subprocess.run(
                [sys.executable, "-c", _MEASURE, str(message), args.entry],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            before, after, seconds, decoded = run.stdout.split()
            growth = int(after) - int(before)
            print(
                f"edxml entry={args.entry} message={size / MIB:6.1f} MiB "
                f"attachment={int(decoded) / MIB:6.1f} MiB peak_rss={int(after) / MIB:6.1f} MiB "
                f"(before parse {int(before) / MIB:6.1f}) growth={growth / MIB:6.1f} MiB "
                f"({growth / size:4.2f}x message) seconds={float(seconds):5.2f}"
            )
            message.unlink()


if __name__ == "__main__":
    main()
