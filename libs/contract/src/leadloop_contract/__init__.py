"""The contract every leadloop service lives by: agreement, lifecycle, shared value types."""
