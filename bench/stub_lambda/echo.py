"""The benchmark's stub Lambda: its own code folder, loaded as Lambda loads it (``echo.handler``)."""


def handler(event, context):
    """Return the event, as moto's Docker-less Lambda backend does."""
    return event
