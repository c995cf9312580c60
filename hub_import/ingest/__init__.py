"""The ingest function (`main.on_object_finalized`): one Eventarc event for one object, filtered,
routed, sized (the image probe) and queued on Pub/Sub; with ON_DELETE=delete, a deletion too."""
