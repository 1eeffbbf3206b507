"""python -m leadloop_contract.agreement --schema   # regenerate agreement.schema.json"""

from __future__ import annotations

import sys

from leadloop_contract.agreement.loader import SCHEMA_FILE, render_schema

if __name__ == "__main__":
    if "--schema" in sys.argv:
        SCHEMA_FILE.write_text(render_schema())
        print(f"wrote {SCHEMA_FILE}")
