"""File rules of the central database (docs/domain.md §1.3): default size limits per file kind.

Schools may change them in their parameters; these are the limits when they have not.
"""

from __future__ import annotations

MIB = 1024 * 1024

DEFAULT_FILE_LIMITS: dict[str, int] = {
    "pdf": 4 * MIB,
    "jpg": 4 * MIB,
    "png": 4 * MIB,
    "mp3": 10 * MIB,
    "mp4": 10 * MIB,
}
"""Documents and images up to 4 MB, audio and video up to 10 MB (larger videos go as a link)."""
