"""Result files: atomic writes, data digests, manifests, run folders and their verification."""
