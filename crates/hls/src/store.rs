//! Atomic file writes and delayed deletion of segments.
