"""The form of a username that decides who it is: Unicode-normalised and case-folded.

Two usernames with the same key are the same account name: ``BOB_P``, ``bob_p`` and the
full-width ``ｂｏｂ＿ｐ`` all have the key ``bob_p``. The database keeps the key unique;
the name keeps the case its owner chose.
"""

from __future__ import annotations

import unicodedata

#: Keys of accounts that already shared a key when keys were introduced carry this mark
#: and their id (e.g. ``bob_p#7``); no username can contain ``#``, so no sign-up can take
#: one (see the 0004 migration and ``nba-mlops users rename``).
CLASH_MARK = "#"


def username_key(username: str) -> str:
    """NFKC, case-folded, NFKC again (Unicode's recipe for caseless matching of identifiers)."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    return unicodedata.normalize("NFKC", folded)
