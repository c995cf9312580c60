"""What lives in the state bucket, shared by the flush and the CLI: the JSON store with its
generation preconditions, the ledger (each object once), the manifests (the import history),
the flush lease (one sender) and the batch budget (the cap on batches a template creates)."""
