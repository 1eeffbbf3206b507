"""leadloop shared library."""
