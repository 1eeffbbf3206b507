"""Text made inert for Markdown: names come from forms and CRMs, so HTML and link or image
syntax in them must render as the characters they are, never as markup."""

from __future__ import annotations

ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Link and image syntax needs brackets and parentheses; emphasis, code spans and table cells
# need the others. A backslash before any ASCII punctuation makes it a literal character.
SPECIALS = frozenset("\\[]()*_`|")


def escape(text: str) -> str:
    """`text` as literal Markdown text on one line: HTML and Markdown syntax inert."""
    out = []
    for char in text.replace("\r", " ").replace("\n", " "):
        if char in ENTITIES:
            out.append(ENTITIES[char])
        elif char in SPECIALS:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)
