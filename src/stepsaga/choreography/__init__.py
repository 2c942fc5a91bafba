"""Choreography mode: the saga as domain events on EventBridge."""
