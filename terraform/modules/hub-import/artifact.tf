# What the two functions' source zip holds: the files artifact.json's patterns match under the
# repository root (main.py, requirements.txt, the hub_import package with every subpackage), and
# nothing else. The local stack builds the very same set (deploy/artifact.py, from the same file);
# tests/terraform/test_artifact.py evaluates these lines with `terraform console` against it.
locals {
  source_dir     = coalesce(var.source_dir, "${path.module}/../../..")
  artifact       = jsondecode(file("${path.module}/artifact.json"))
  artifact_files = toset(flatten([for pattern in local.artifact.include : fileset(local.source_dir, pattern)]))
}
