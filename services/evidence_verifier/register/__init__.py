"""The province-wide evidence register and the cross-document checks no single verdict can make.

Every verdict the verifier issues is recorded here with the facts it proved (issuer, number,
issue date, signing time, sha256, the link). The checks (`checks.py`) are pure functions over
the register; `ledger.py` applies them inside the verifier's transaction and re-emits the
verdict of every earlier link whose findings changed, so appraisers see both documents.
"""
