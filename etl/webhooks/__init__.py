"""Zoom's events instead of polling: a receiver that spools signed deliveries (``receiver``, ``spool``,
``serve``), and the sync that turns spooled events into targeted fetches (``consume``)."""
