"""The leadloop command line: dev stack, API keys, DLQ replay."""
