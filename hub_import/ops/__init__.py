"""The operator's CLI (`hub-import`, or `python -m hub_import`): backfill, replay, status, check, trace, audit and a
flush by hand. Run by people, never by the deployed functions."""
