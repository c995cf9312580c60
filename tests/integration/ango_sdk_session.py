"""Run by the official `ango` SDK's own interpreter (.venv-sdk): a typical SDK session against the
Hub stand-in, printed as JSON for tests/integration/hub/test_hub_standin.py to judge."""
import json
import sys

from imerit_ango.sdk import SDK

url, key, project, storage = sys.argv[1:5]
sdk = SDK(api_key=key, host=url)
out = {}
out["storage"] = sdk.get_storages(storage)
out["batch"] = sdk.create_batch(project, "sdk-batch")
out["batches"] = sdk.get_batches(project)
out["upload"] = sdk.upload_files_cloud(project, [
    {"data": "https://storage.googleapis.com/landing/sdk/a%20b.jpg", "externalId": "sdk/a b.jpg",
     "metadata": {"width": 10, "height": 20}},
    {"data": "https://storage.googleapis.com/landing/sdk/c.jpg", "externalId": "sdk/c.jpg", "batches": ["sdk-batch"]},
], storage_id=storage, batches=["sdk-batch"], priority=5)
out["assets"] = sdk.get_assets(project, page=1, limit=10, filters={"externalId": "sdk/c.jpg"})
print(json.dumps(out))
