"""Slack: Block Kit pages (DM and channel), in-place updates, buttons and /oncall."""
