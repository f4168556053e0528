"""Config as code: `oncall_apply FILE.yaml` and `oncall_export`."""
